"""Writing per-base count tracks to bigWig."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from bpnet.core.atomic import atomic_path


@contextlib.contextmanager
def bigwig_writer(path: str | Path, sizes: Mapping[str, int]) -> Iterator:
    """An open pyBigWig file at ``path`` with its header (every chromosome, no zoom levels).

    Add entries chromosome by chromosome in header order; the file is closed on exit.
    Wrap ``path`` in :func:`bpnet.core.atomic.atomic_path` for an atomic write.
    """
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    try:
        bw.addHeader([(c, int(n)) for c, n in sizes.items()], maxZooms=0)
        yield bw
    finally:
        bw.close()


def write_bigwig_entries(path: str | Path, sizes: Mapping[str, int], entries: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Write single-base entries (sorted positions, values per chromosome) to a bigWig, atomically.

    Storing only the positions that hold a value (two numbers each, no spans) keeps
    read-count tracks small and writing fast. Chromosomes missing from ``entries`` are
    declared in the header but hold no data.
    """
    with atomic_path(path) as tmp, bigwig_writer(tmp, sizes) as bw:
        for chrom in sizes:
            positions, values = entries.get(chrom, ((), ()))
            if len(positions):
                bw.addEntries(chrom, np.asarray(positions, np.int64), values=np.asarray(values, np.float64), span=1)


def write_bigwig(path: str | Path, sizes: Mapping[str, int], tracks: Mapping[str, np.ndarray]) -> None:
    """Write per-base values (one dense array per chromosome) to a bigWig, atomically.

    Only non-zero positions are stored (see :func:`write_bigwig_entries`).
    """
    entries = {}
    for chrom, values in tracks.items():
        nonzero = np.flatnonzero(values)
        entries[chrom] = (nonzero, values[nonzero])
    write_bigwig_entries(path, sizes, entries)


def owned_spans(starts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """For windows ``[starts, starts + length)`` of one chromosome, sorted by start with no
    duplicate starts: the span ``[lo, hi)`` of bases each window keeps.

    A base goes to the covering window with the nearest centre (the left one on a tie).
    With equal lengths the border between neighbours ``a`` and ``b`` is the first base
    ``x`` with ``2x > a + b + length - 1``. A window may keep nothing (``lo >= hi``).
    """
    starts = np.asarray(starts, np.int64)
    borders = (starts[:-1] + starts[1:] + length - 1) // 2 + 1
    lo = np.concatenate([starts[:1], np.maximum(starts[1:], borders)])
    hi = np.concatenate([np.minimum(starts[:-1] + length, borders), starts[-1:] + length])
    return lo, hi


def write_window_values(
    path: str | Path, sizes: Mapping[str, int], chrom: np.ndarray, start: np.ndarray, values: np.ndarray,
) -> None:
    """Per-base ``values`` ``(N, L)`` of windows ``[start, start + L)`` on ``chrom`` as one bigWig, atomically.

    Where windows overlap, each base is taken from the window whose centre is nearest
    (:func:`owned_spans`), so the file has no overlapping entries and each base shows the
    value computed with the most context around it; windows with the same start are
    written once (the first). Every chromosome of ``sizes`` is in the header, in its
    order, so genome browsers show the file on that assembly.
    """
    chrom, start = np.asarray(chrom), np.asarray(start, np.int64)
    length = values.shape[-1]
    with atomic_path(path) as tmp, bigwig_writer(tmp, sizes) as bw:
        for name in sizes:
            rows = np.flatnonzero(chrom == name)
            if not len(rows):
                continue
            rows = rows[np.argsort(start[rows], kind="stable")]
            first = np.concatenate([[True], start[rows][1:] != start[rows][:-1]])
            rows = rows[first]
            lo, hi = owned_spans(start[rows], length)
            for i, a, b in zip(rows, lo, hi):
                if b > a:
                    offset = int(a - start[i])
                    bw.addEntries(name, int(a), values=values[i, offset : offset + int(b - a)].astype(np.float64), span=1, step=1)
