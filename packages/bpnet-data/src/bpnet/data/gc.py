"""GC and N content of genome windows, vectorised over uint8 base codes.

Works on the codes :meth:`bpnet.data.sources.FastaSource.codes` returns (A=0, C=1,
G=2, T=3, anything else 4). A window's GC fraction is its number of C and G bases
divided by its width (Ns count as non-GC, as in ChromBPNet and tangermeme); its N
fraction is the share of bases that are not A, C, G or T.

Counting sums the bases between consecutive window edges in one pass over the
chromosome (a chunk of 8 Mb at a time, so temporaries stay near 20 MB), whatever the
number of windows or how much they overlap.
"""

from __future__ import annotations

import numpy as np

#: bases per chunk (about 20 MB of temporaries)
CHUNK = 1 << 23
_SEGMENT = 1 << 15


def tile_starts(length: int, width: int, stride: int) -> np.ndarray:
    """Starts of the ``width``-bp windows every ``stride`` bp that fit in ``length`` bp."""
    if width < 1 or stride < 1:
        raise ValueError(f"width ({width}) and stride ({stride}) must be >= 1")
    return np.arange(0, max(length - width + 1, 0), stride, dtype=np.int64)


def window_counts(
    codes: np.ndarray, starts: np.ndarray, width: int, *, chunk: int = CHUNK, segment: int = _SEGMENT
) -> tuple[np.ndarray, np.ndarray]:
    """``(gc, n)`` base counts (int64) of the windows ``codes[s:s + width]`` for ``s`` in ``starts``.

    ``starts`` may be in any order; every window must lie inside ``codes``. The bases
    are summed once between consecutive window edges (``numpy.add.reduceat``), and a
    window's count is the difference of two running totals of those sums. ``chunk``
    and ``segment`` (at most 65535) only trade memory for speed.
    """
    starts = np.asarray(starts, dtype=np.int64)
    if not len(starts):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    length = len(codes)
    if starts.min() < 0 or starts.max() + width > length:
        raise ValueError(f"windows of {width} bp at {starts.min()}..{starts.max()} do not fit in {length} bases")
    segment = min(segment, 65535)
    chunk = max(segment, chunk - chunk % segment)  # chunk edges fall on the grid below
    ends = starts + width
    # segments end at every window edge and at least every `segment` bases, so uint16 sums cannot overflow
    edges = np.unique(np.concatenate([np.arange(0, length, segment), starts, ends[ends < length]]))
    gc_sums = np.zeros(len(edges), np.int64)
    n_sums = np.zeros(len(edges), np.int64)
    for first in range(0, length, chunk):
        lo, hi = np.searchsorted(edges, [first, first + chunk])
        part = codes[first : first + chunk]
        local = edges[lo:hi] - first
        gc_sums[lo:hi] = np.add.reduceat(((part - np.uint8(1)) < 2).view(np.uint8), local, dtype=np.uint16)  # C=1, G=2
        if part.max(initial=0) > 3:
            n_sums[lo:hi] = np.add.reduceat((part > 3).view(np.uint8), local, dtype=np.uint16)
    gc_total = np.concatenate([[0], np.cumsum(gc_sums)])
    n_total = np.concatenate([[0], np.cumsum(n_sums)])
    first_edge = np.searchsorted(edges, starts)
    last_edge = np.searchsorted(edges, ends)  # len(edges) for windows that end at the chromosome end
    return gc_total[last_edge] - gc_total[first_edge], n_total[last_edge] - n_total[first_edge]


def window_fractions(codes: np.ndarray, starts: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(gc_fraction, n_fraction)`` (float64, 0-1) of the ``width``-bp windows at ``starts``."""
    gc, n = window_counts(codes, starts, width)
    return gc / width, n / width
