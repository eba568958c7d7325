"""The roles a data source plays: what bpnet-data needs from the file it opens.

bpnet-data opens every file for a purpose, through :func:`bpnet.data.sources.open_source`
with the role's class: only registered sources derived from that class are considered,
so a third party's source is used wherever a file of its suffix plays its role. The
roles and the built-in sources that play them:

* reads to count: :class:`bpnet.data.sources.reads.ReadSource` (BAM, SAM, tsv);
* a genome's chromosome sizes: :class:`SizesSource` (chromosome-sizes files, and
  every :class:`SequenceSource`);
* a genome's sequence: :class:`SequenceSource` (FASTA);
* intervals (peaks, negatives, blacklists, regions): :class:`IntervalSource` (BED,
  narrowPeak);
* signal tracks: :class:`SignalSource` (bigWig).

A source plugin derives from one of these classes, sets ``name`` and ``suffixes`` and
implements the abstract methods. ``role`` names the role in error messages;
``fallback`` names the source that reads a file whose suffix no source claims (as
bpnet always read any genome as FASTA and any peaks file as BED), or None to refuse it.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar

from .base import Source

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..intervals import Intervals


class SizesSource(Source):
    """A genome's chromosome sizes."""

    role: ClassVar[str] = "chromosome sizes"
    fallback: ClassVar[str | None] = "fasta"

    @property
    @abstractmethod
    def sizes(self) -> dict[str, int]:
        """Chromosome name -> length in bp, in the file's order."""


class SequenceSource(SizesSource):
    """A genome's sequence (and so its chromosome sizes)."""

    role: ClassVar[str] = "a genome sequence"
    fallback: ClassVar[str | None] = "fasta"

    @abstractmethod
    def sequence(self, chrom: str, start: int, end: int) -> str:
        """The bases of ``chrom[start:end]`` (0-based, half-open) as text; off the ends is a DataError."""

    @abstractmethod
    def codes(self, chrom: str, start: int = 0, end: int | None = None) -> np.ndarray:
        """uint8 codes (A=0, C=1, G=2, T=3, other=4) of ``chrom[start:end]`` (to the end by default)."""


class IntervalSource(Source):
    """Genomic intervals: peaks, negatives, blacklists, regions to predict."""

    role: ClassVar[str] = "intervals"
    fallback: ClassVar[str | None] = "bed"

    @abstractmethod
    def read(self) -> Intervals:
        """Every interval of the file, in file order (bad lines are a DataError naming the line)."""


class SignalSource(Source):
    """A per-base signal track."""

    role: ClassVar[str] = "a signal track"
    fallback: ClassVar[str | None] = "bigwig"

    @property
    @abstractmethod
    def sizes(self) -> dict[str, int]:
        """Chromosome name -> length in bp of the genome the track was made on."""

    @abstractmethod
    def values(self, chrom: str, start: int, end: int) -> np.ndarray:
        """float32 values of ``chrom[start:end]``; positions without data are 0."""

    def chromosome(self, chrom: str) -> np.ndarray:
        """The whole chromosome as float32 (zeros where there is no data)."""
        return self.values(chrom, 0, self.sizes[chrom])

    def close(self) -> None:
        """Release open file handles (the source may be read again after)."""


__all__ = ["IntervalSource", "SequenceSource", "SignalSource", "SizesSource"]
