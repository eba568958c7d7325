"""Signal tracks in bigWig through pyBigWig."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..chroms import naming_hint
from ..errors import DataError
from .roles import SignalSource


class BigWigSource(SignalSource):
    """A bigWig track. ``values`` returns float32 with missing data as 0."""

    name = "bigwig"
    suffixes = (".bw", ".bigwig", ".bigWig")

    @cached_property
    def handle(self):
        import pyBigWig

        try:
            handle = pyBigWig.open(str(self.path))
        except RuntimeError:
            handle = None
        if handle is None or not handle.isBigWig():
            raise DataError(f"{self.label}: not a readable bigWig file: check the path, or convert bedGraph with bedGraphToBigWig")
        return handle

    @cached_property
    def sizes(self) -> dict[str, int]:
        return dict(self.handle.chroms())

    def values(self, chrom: str, start: int, end: int) -> np.ndarray:
        """float32 values of ``chrom[start:end]``; positions without data are 0."""
        if chrom not in self.sizes:
            raise DataError(f"chromosome {chrom!r} is not in the bigWig {self.label}{naming_hint([chrom], self.sizes)}")
        if start < 0 or end > self.sizes[chrom] or start > end:
            raise DataError(f"{chrom}:{start}-{end} is off the ends of {chrom} ({self.sizes[chrom]} bp) in {self.label}")
        values = np.asarray(self.handle.values(chrom, int(start), int(end), numpy=True), dtype=np.float32)
        return np.nan_to_num(values, nan=0.0, copy=False)

    def close(self) -> None:
        if "handle" in self.__dict__:
            self.handle.close()
            del self.__dict__["handle"]
