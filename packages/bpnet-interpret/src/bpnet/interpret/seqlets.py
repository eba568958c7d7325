"""Seqlets: short stretches of high attribution, called with tangermeme's recursive caller.

The steps (the ``seqlets`` stage strings them together):

1. :func:`check_attributions`: the attribution file must be usable as it is (finite
   numbers, a one-hot sequence, non-negative window starts).
2. :func:`call_seqlets`: the observed contribution per position (``Scores.projected``)
   of the central ``window`` bp of every input window goes through
   :func:`tangermeme.seqlet.recursive_seqlets`; each call is mapped to the genome as
   ``loci/start + offset`` and the calls are sorted by attribution sum, largest first.
3. :func:`write_seqlets_bed`: the table as BED6+ with a ``#`` header line.

**What a seqlet is here.** The recursive caller bins the attributions, builds the
distribution of span sums for every length from ``min_seqlet_len`` to
``max_seqlet_len`` from the histogram of all positions, and calls a span only when
every span of at least ``min_seqlet_len`` bp inside it has a p-value below
``threshold``. Calls never overlap, but the ``additional_flanks`` added on each side
afterwards may. Only *positive* seqlets are called. The null distribution is built
from the attributions themselves (all windows together), so the p-values rank spans;
they are not error rates. With a ``window`` narrower than the input, only the central
positions enter the null and the calls.

Seqlet **score** = the sum of the observed attributions over the seqlet, flanks
included (what tangermeme reports).

Memory: the projected attributions, ``8 * N * window`` bytes (float64: 16 MB for
1,000 windows of 2114 bp), plus the attribution file as :func:`read_scores` loads it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpnet.core.atomic import atomic_path
from bpnet.data.errors import DataError

from .scores import Scores

log = logging.getLogger("bpnet.interpret.seqlets")

#: columns of seqlets.bed, in order (the header line names them)
BED_COLUMNS = ("chrom", "start", "end", "name", "score", "strand", "p_value", "window_index")


@dataclass
class Seqlets:
    """Called seqlets, sorted by ``score`` (largest first).

    ``window_index``: row of the attribution file; ``offset``/``offset_end``: span inside
    that input window (0-based, end exclusive); ``start``/``end``: the same span on the
    genome (``loci/start + offset``); ``score``: sum of observed attributions;
    ``p_value``: the span's p-value under the recursive caller's null.
    """

    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    score: np.ndarray
    p_value: np.ndarray
    window_index: np.ndarray
    offset: np.ndarray
    offset_end: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def empty(cls) -> Seqlets:
        ints = np.zeros(0, np.int64)
        return cls(np.zeros(0, str), ints, ints, np.zeros(0), np.zeros(0), ints, ints, ints)


def check_attributions(scores: Scores, label: str) -> None:
    """:class:`DataError` naming ``label`` if the attributions cannot be used as they are.

    Checked beyond :func:`~bpnet.interpret.scores.read_scores`: every attribution is a
    finite number, the sequences are one-hot (0/1, at most one base per position), and
    every window starts at a non-negative position.
    """
    if not len(scores):
        return
    bad = ~np.isfinite(scores.hypothetical).all(axis=(1, 2))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{label}: {int(bad.sum())} window(s) hold NaN or infinite attributions, the first is window {i} "
            f"({scores.chrom[i]}:{scores.start[i]}); re-run the attribute stage (in float32, not a lower precision)"
        )
    one_hot = scores.one_hot
    if not ((one_hot == 0) | (one_hot == 1)).all() or (one_hot.sum(axis=1) > 1).any():
        raise DataError(
            f"{label}: raw/seq is not a one-hot sequence (values other than 0 and 1, or several bases at one position); "
            "the file was altered or written by another program: re-run the attribute stage"
        )
    if (scores.start < 0).any():
        i = int(np.flatnonzero(scores.start < 0)[0])
        raise DataError(f"{label}: loci/start of window {i} is {scores.start[i]}, a negative position; re-run the attribute stage")


def central_span(input_length: int, window: int | None, label: str = "window") -> tuple[int, int]:
    """(first position, width) of the central ``window`` bp of an ``input_length`` bp window.

    ``None`` means the whole window. The span starts at ``(input_length - window) // 2``,
    the same centring the output window of a model has.
    """
    if window is None or window == input_length:
        return 0, input_length
    if window > input_length:
        raise DataError(
            f"{label} is {window} bp but the attribution windows are only {input_length} bp: "
            f"set it to at most {input_length}, or leave it unset for the whole window"
        )
    return (input_length - window) // 2, window


def call_seqlets(
    scores: Scores,
    *,
    threshold: float = 0.01,
    min_seqlet_len: int = 4,
    max_seqlet_len: int = 25,
    additional_flanks: int = 3,
    n_bins: int = 1000,
    window: int | None = None,
) -> Seqlets:
    """Positive seqlets of the observed attributions in ``scores``, sorted by score (largest first).

    The parameters are those of :func:`tangermeme.seqlet.recursive_seqlets`; ``window``
    restricts calling to the central ``window`` bp of each input window (None: all of it).
    Flanks are clipped to that span. No windows, or attributions that are all equal
    (e.g. all zero), give no seqlets.
    """
    first, width = central_span(scores.input_length, window)
    if width < min_seqlet_len:
        raise DataError(f"window is {width} bp, shorter than min_seqlet_len ({min_seqlet_len}): widen the window")
    if not len(scores):
        return Seqlets.empty()
    projected = scores.projected[:, first : first + width].astype(np.float64)
    if projected.max() == projected.min():
        return Seqlets.empty()
    from tangermeme.seqlet import recursive_seqlets

    table = recursive_seqlets(
        projected, threshold=threshold, min_seqlet_len=min_seqlet_len, max_seqlet_len=min(max_seqlet_len, width),
        additional_flanks=additional_flanks, n_bins=n_bins,
    )
    if not len(table):
        return Seqlets.empty()
    index = table["example_idx"].to_numpy(np.int64)
    offset = table["start"].to_numpy(np.int64) + first
    offset_end = table["end"].to_numpy(np.int64) + first
    score = table["attribution"].to_numpy(np.float64)
    p_value = table["p-value"].to_numpy(np.float64)
    order = np.lexsort((p_value, -score))  # score descending, then p-value ascending
    index, offset, offset_end, score, p_value = (a[order] for a in (index, offset, offset_end, score, p_value))
    return Seqlets(
        chrom=scores.chrom[index].astype(str), start=scores.start[index] + offset, end=scores.start[index] + offset_end,
        score=score, p_value=p_value, window_index=index, offset=offset, offset_end=offset_end,
    )


def write_seqlets_bed(path: str | Path, seqlets: Seqlets) -> None:
    """Write ``seqlets`` as BED6+ (columns :data:`BED_COLUMNS`) with a ``#`` header, atomically.

    Names are ``seqlet_0``, ``seqlet_1``, ... in the order given (score descending);
    strand is ``.``. No seqlets give a file with the header line only.
    """
    with atomic_path(Path(path)) as tmp, open(tmp, "w") as out:
        out.write("#" + "\t".join(BED_COLUMNS) + "\n")
        for i in range(len(seqlets)):
            out.write(
                f"{seqlets.chrom[i]}\t{seqlets.start[i]}\t{seqlets.end[i]}\tseqlet_{i}\t{seqlets.score[i]:.6g}\t.\t"
                f"{seqlets.p_value[i]:.6g}\t{seqlets.window_index[i]}\n"
            )


def describe(seqlets: Seqlets, n_windows: int) -> str:
    """One line for the log: how many seqlets, in how many windows, how long."""
    if not len(seqlets):
        return f"no seqlets in {n_windows} window(s)"
    lengths = seqlets.end - seqlets.start
    with_any = len(np.unique(seqlets.window_index))
    return (
        f"{len(seqlets)} seqlet(s) in {with_any} of {n_windows} window(s); length median {np.median(lengths):g} bp "
        f"(range {lengths.min()}-{lengths.max()}); score range {seqlets.score.min():.3g} to {seqlets.score.max():.3g}"
    )


__all__ = ["BED_COLUMNS", "Seqlets", "call_seqlets", "central_span", "check_attributions", "describe", "write_seqlets_bed"]
