"""Genomic intervals in memory: chromosome, start, end (0-based, half-open) and summit.

:class:`Intervals` is the one table every bpnet-data step passes around (peaks,
negatives, loci). Columns are numpy arrays, so selecting, sorting and centring
thousands of loci costs microseconds.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bpnet.core.atomic import atomic_path

from .errors import DataError


def sorted_regions(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Regions of one chromosome prepared for :func:`overlapping`: sorted starts and the
    running maximum of their ends."""
    order = np.argsort(starts, kind="stable")
    return starts[order], np.maximum.accumulate(ends[order])


def overlapping(starts: np.ndarray, ends: np.ndarray, regions: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Boolean mask of intervals ``[starts, ends)`` that overlap any of ``regions``
    (from :func:`sorted_regions`, same chromosome)."""
    region_starts, running_ends = regions
    # the last region starting before each end overlaps it if the running max end passes the start
    last = np.searchsorted(region_starts, ends, side="left") - 1
    hit = np.zeros(len(starts), dtype=bool)
    some = last >= 0
    hit[some] = running_ends[last[some]] > starts[some]
    return hit


@dataclass
class Intervals:
    """A table of intervals.

    ``summit`` is the absolute summit position (narrowPeak column 10 plus start), or -1
    where there is none. ``name`` and ``score`` are kept for writing BED back.
    """

    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    summit: np.ndarray = field(default=None)  # type: ignore[assignment]
    name: np.ndarray = field(default=None)  # type: ignore[assignment]
    score: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = len(self.start)
        self.chrom = np.asarray(self.chrom, dtype=object)
        self.start = np.asarray(self.start, dtype=np.int64)
        self.end = np.asarray(self.end, dtype=np.int64)
        self.summit = np.full(n, -1, np.int64) if self.summit is None else np.asarray(self.summit, dtype=np.int64)
        self.name = np.full(n, ".", dtype=object) if self.name is None else np.asarray(self.name, dtype=object)
        self.score = np.zeros(n, np.float64) if self.score is None else np.asarray(self.score, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def empty(cls) -> Intervals:
        return cls(np.array([], dtype=object), np.array([], np.int64), np.array([], np.int64))

    def subset(self, index: np.ndarray | slice) -> Intervals:
        """Rows selected by a boolean mask, an index array or a slice."""
        return Intervals(self.chrom[index], self.start[index], self.end[index], self.summit[index], self.name[index], self.score[index])

    @staticmethod
    def concat(parts: list[Intervals]) -> Intervals:
        if not parts:
            return Intervals.empty()
        cat = np.concatenate
        return Intervals(
            cat([p.chrom for p in parts]), cat([p.start for p in parts]), cat([p.end for p in parts]),
            cat([p.summit for p in parts]), cat([p.name for p in parts]), cat([p.score for p in parts]),
        )

    def centres(self, use_summits: bool = True) -> np.ndarray:
        """Summit where known (and asked for), else the midpoint ``start + (end - start) // 2``."""
        mid = self.start + (self.end - self.start) // 2
        if use_summits:
            return np.where(self.summit >= 0, self.summit, mid)
        return mid

    def windows(self, width: int, use_summits: bool = True) -> Intervals:
        """Intervals of ``width`` bp centred on each centre (``centre - width // 2`` onwards)."""
        start = self.centres(use_summits) - width // 2
        return Intervals(self.chrom, start, start + width, self.centres(use_summits), self.name, self.score)

    def sorted(self) -> Intervals:
        order = np.lexsort((self.end, self.start, self.chrom.astype(str)))
        return self.subset(order)

    def chromosomes(self) -> list[str]:
        return sorted(set(self.chrom.tolist()))

    def within(self, sizes: Mapping[str, int]) -> np.ndarray:
        """Boolean mask of rows that lie on a known chromosome, inside its ends."""
        length = np.array([sizes.get(c, -1) for c in self.chrom], dtype=np.int64)
        return (length >= 0) & (self.start >= 0) & (self.end <= length)

    def check_within(self, sizes: Mapping[str, int], *, file: str, reference_file: str) -> None:
        """Raise :class:`DataError` naming the first row off a chromosome's end."""
        from .chroms import check_chromosomes

        check_chromosomes(self.chromosomes(), sizes, file=file, reference_file=reference_file)
        bad = np.flatnonzero(~self.within(sizes))
        if len(bad):
            i = bad[0]
            raise DataError(
                f"{file}: {len(bad)} interval(s) run off a chromosome end, the first {self.chrom[i]}:{self.start[i]}-{self.end[i]} "
                f"({self.chrom[i]} has {sizes[self.chrom[i]]} bp in {reference_file}): drop such loci or use a smaller window"
            )

    def overlaps(self, other: Intervals) -> np.ndarray:
        """Boolean mask of rows of ``self`` that overlap any interval of ``other``."""
        hit = np.zeros(len(self), dtype=bool)
        for chrom in set(self.chrom.tolist()) & set(other.chrom.tolist()):
            mine = np.flatnonzero(self.chrom == chrom)
            theirs = other.chrom == chrom
            regions = sorted_regions(other.start[theirs], other.end[theirs])
            hit[mine] = overlapping(self.start[mine], self.end[mine], regions)
        return hit

    def write_bed(self, path: str | Path, *, narrowpeak: bool = False) -> None:
        """Write BED (or narrowPeak, with the summit offset in column 10) atomically."""
        path = Path(path)
        opener = gzip.open if path.suffix == ".gz" else open
        with atomic_path(path) as tmp, opener(tmp, "wt") as out:
            for i in range(len(self)):
                row = f"{self.chrom[i]}\t{self.start[i]}\t{self.end[i]}"
                if narrowpeak:
                    offset = self.summit[i] - self.start[i] if self.summit[i] >= 0 else -1
                    row += f"\t{self.name[i]}\t{int(min(self.score[i], 1000))}\t.\t{self.score[i]:g}\t-1\t-1\t{offset}"
                out.write(row + "\n")
