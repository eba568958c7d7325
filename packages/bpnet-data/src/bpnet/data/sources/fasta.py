"""Reference genomes: FASTA (plain or bgzip) through pyfaidx, and chromosome-size files."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from ..chroms import naming_hint
from ..errors import DataError
from ..onehot import encode_codes
from .roles import SequenceSource, SizesSource


class FastaSource(SequenceSource):
    """A reference genome in FASTA. ``codes`` gives whole chromosomes as uint8 codes.

    Codes are 0-3 for A, C, G, T (either case) and 4 for anything else (N), the
    compact form bpnet keeps sequences in (one byte per base, a quarter of one-hot
    int8). pyfaidx builds the ``.fai`` index next to the file on first use.
    """

    name = "fasta"
    suffixes = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz", ".fa.bgz", ".fasta.bgz", ".fna.bgz")

    @cached_property
    def fasta(self):
        import pyfaidx

        try:
            return pyfaidx.Fasta(str(self.path), as_raw=True, sequence_always_upper=False, rebuild=False)
        except pyfaidx.UnsupportedCompressionFormat:
            raise DataError(
                f"{self.label} is gzip-compressed; pyfaidx reads only bgzip: recompress it with `bgzip` (or decompress it)"
            ) from None
        except (pyfaidx.FastaIndexingError, ValueError, OSError) as exc:
            raise DataError(
                f"{self.label}: cannot index it as FASTA ({exc}): check the file is a FASTA genome"
            ) from None

    @cached_property
    def sizes(self) -> dict[str, int]:
        """Chromosome name -> length, in file order."""
        return {name: len(record) for name, record in self.fasta.records.items()}

    def _check(self, chrom: str) -> None:
        if chrom not in self.sizes:
            raise DataError(f"chromosome {chrom!r} is not in the genome {self.label}{naming_hint([chrom], self.sizes)}")

    def sequence(self, chrom: str, start: int, end: int) -> str:
        """The bases of ``chrom[start:end]`` (0-based, half-open) as text."""
        self._check(chrom)
        if start < 0 or end > self.sizes[chrom] or start > end:
            raise DataError(f"{chrom}:{start}-{end} is off the ends of {chrom} ({self.sizes[chrom]} bp) in {self.label}")
        return str(self.fasta[chrom][start:end])

    def codes(self, chrom: str, start: int = 0, end: int | None = None) -> np.ndarray:
        """uint8 codes (A=0, C=1, G=2, T=3, other=4) of ``chrom[start:end]``."""
        end = self.sizes.get(chrom, 0) if end is None else end
        return encode_codes(self.sequence(chrom, start, end))


class ChromSizesSource(SizesSource):
    """Chromosome sizes: a two-column ``chrom<TAB>length`` file or a ``.fai`` index."""

    name = "chrom-sizes"
    suffixes = (".sizes", ".chrom.sizes", ".fai", ".genome")

    @cached_property
    def sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for number, line in enumerate(self.path.read_text().splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split()
            if len(fields) < 2 or not fields[1].isdigit():
                raise DataError(f"{self.label}:{number}: expected 'chromosome length', found {line.strip()!r}")
            sizes[fields[0]] = int(fields[1])
        if not sizes:
            raise DataError(f"{self.label}: no chromosome sizes found")
        return sizes


def genome_sizes(location: str | Path) -> dict[str, int]:
    """Chromosome sizes from a FASTA file, a chromosome-sizes/.fai file, or any other :class:`SizesSource`."""
    from . import open_source

    return open_source(location, SizesSource).sizes
