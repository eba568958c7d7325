"""Reading fixed-width windows of the genome and of bigWig tracks, many at a time.

:func:`read_windows` reads sequence windows with one FASTA read per block of nearby
windows; :func:`read_track_windows` reads the windows of several bigWigs in one figwig
call. :class:`SequenceWindows` and :class:`TrackWindows` wrap them as
:class:`~bpnet.data.rows.LazyRows`: the windows of a set of loci, read only when rows
are asked for, so the loci stage writes ``loci.h5`` a chunk of rows at a time instead
of holding every window (:func:`bpnet.data.loci.extract_loci` with ``lazy=True``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cached_property

import numpy as np

from .rows import LazyRows
from .sources.bigwig import BigWigSource
from .sources.fasta import FastaSource

#: the largest stretch of a chromosome read at once (bp); longer runs of windows are read in pieces
MAX_BLOCK = 8_000_000
#: windows closer than this (bp) are read with one call per file
BLOCK_GAP = 32_768


def blocks(starts: np.ndarray, width: int, gap: int, cap: int = MAX_BLOCK) -> list[tuple[int, int]]:
    """Split sorted window ``starts`` (all ``width`` bp) into read blocks: (first, last+1) pairs.

    A new block starts where the next window begins more than ``gap`` bp after the
    previous one ends, or where the block would grow past ``cap`` bp.
    """
    if not len(starts):
        return []
    breaks = np.flatnonzero(starts[1:] > starts[:-1] + width + gap) + 1
    bounds = np.concatenate([[0], breaks, [len(starts)]])
    found = []
    for first, last in zip(bounds[:-1], bounds[1:]):
        while starts[last - 1] + width - starts[first] > cap:
            split = int(np.searchsorted(starts, starts[first] + cap - width, side="right", sorter=None))
            split = max(split, first + 1)
            found.append((int(first), split))
            first = split
        found.append((int(first), int(last)))
    return found


def read_windows(
    read: Callable[[int, int], np.ndarray], rows: np.ndarray, starts: np.ndarray, width: int, gap: int, out: np.ndarray
) -> None:
    """``out[rows[i]] = read(starts[i], starts[i] + width)``, one ``read`` call per block."""
    order = np.argsort(starts, kind="stable")
    rows, starts = rows[order], starts[order]
    for first, last in blocks(starts, width, gap):
        lo, hi = int(starts[first]), int(starts[last - 1]) + width
        if last - first == 1:  # a lone window (sparse loci): the block is the window
            windows = read(lo, hi)[None]
        else:
            windows = np.lib.stride_tricks.sliding_window_view(read(lo, hi), width)[starts[first:last] - lo]
        out[rows[first:last]] = windows


def read_track_windows(readers: list, chroms: np.ndarray, starts: np.ndarray, width: int, out: np.ndarray) -> None:
    """``out[i, t] = track t[chroms[i]][starts[i]:starts[i] + width]``, no data as 0.

    ``readers`` are figwig ``BigWigReader`` objects (:func:`figwig_readers`). figwig reads
    all windows of all files in one call, straight into ``out`` (shape ``(n, len(readers),
    width)``): it decodes only the data blocks the windows touch, on every core, so sparse
    windows (peaks tens of kb apart) cost a fraction of a pyBigWig call each. Callers check
    that no window runs off a chromosome, so no NaN appears.
    """
    import figwig

    if not len(starts) or not readers:
        return
    if out.flags.c_contiguous:
        figwig.read_bigwig(readers, chroms, starts, width, out=out, n_jobs=-1, missing=0.0)
    else:
        out[...] = figwig.read_bigwig(readers, chroms, starts, width, n_jobs=-1, missing=0.0)


def figwig_readers(tracks: list[BigWigSource]) -> list:
    """figwig readers of ``tracks`` (they hold no open file; each keeps its index once read)."""
    import figwig

    return [figwig.BigWigReader(str(track.path)) for track in tracks]


class SequenceWindows(LazyRows):
    """uint8 codes of the genome windows ``[starts[i], starts[i] + width)`` on ``chroms[i]``, read on demand."""

    name = "codes"

    def __init__(self, fasta: FastaSource, chroms: np.ndarray, starts: np.ndarray, width: int, gap: int = BLOCK_GAP):
        super().__init__((len(starts), width), np.uint8)
        self.fasta, self.chroms, self.starts, self.width, self.gap = fasta, chroms, starts, width, gap

    def _read_sorted(self, rows: np.ndarray, out: np.ndarray, staging_rows: int | None) -> None:
        chroms, starts = self.chroms[rows], self.starts[rows]
        for chrom in sorted(set(chroms.tolist())):
            here = np.flatnonzero(chroms == chrom)
            read_windows(functools.partial(self.fasta.codes, chrom), here, starts[here], self.width, self.gap, out)


class TrackWindows(LazyRows):
    """float32 values of bigWig ``tracks`` over the windows ``[starts[i], starts[i] + width)``: shape ``(n, tracks, width)``."""

    name = "tracks"

    def __init__(self, tracks: list[BigWigSource], chroms: np.ndarray, starts: np.ndarray, width: int):
        super().__init__((len(starts), len(tracks), width), np.float32)
        self.tracks, self.chroms, self.starts, self.width = tracks, chroms.astype(str), starts, width

    @cached_property
    def readers(self) -> list:
        return figwig_readers(self.tracks)

    def _read_sorted(self, rows: np.ndarray, out: np.ndarray, staging_rows: int | None) -> None:
        read_track_windows(self.readers, self.chroms[rows], self.starts[rows], self.width, out)


class WindowFiles:
    """The genome and bigWig files a lazily extracted set reads from; :meth:`close` closes them."""

    def __init__(self, fasta: FastaSource, tracks: list[BigWigSource]):
        self.fasta, self.tracks = fasta, tracks

    def close(self) -> None:
        for track in self.tracks:
            track.close()


__all__ = [
    "BLOCK_GAP", "MAX_BLOCK", "SequenceWindows", "TrackWindows", "WindowFiles", "blocks", "figwig_readers",
    "read_track_windows", "read_windows",
]
