"""The synthetic genome: chromosomes made of GC isochores, written as FASTA + .fai + sizes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError

if TYPE_CHECKING:
    from .config import GcDomains

#: FASTA line width (bases per line).
LINE_WIDTH = 60
_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)


@dataclass
class Isochores:
    """Blocks of constant base composition: chromosome index, start, end (local), GC, copy number,
    and (with GC domains only) whether the block lies in a GC-rich domain."""

    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    gc: np.ndarray
    copy: np.ndarray
    rich: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.start)

    def block_at(self, chrom: np.ndarray, position: np.ndarray) -> np.ndarray:
        """Index of the block holding each (chromosome index, position) pair."""
        key = self.chrom * (1 << 40) + self.start  # blocks are sorted by chromosome, then start
        return np.searchsorted(key, np.asarray(chrom) * (1 << 40) + np.asarray(position), side="right") - 1

    def per_base(self, values: np.ndarray, chrom: int) -> np.ndarray:
        """A per-base array of ``values`` (one per block) along chromosome ``chrom``."""
        keep = self.chrom == chrom
        return np.repeat(values[keep], (self.end - self.start)[keep])


@dataclass
class Genome:
    """Chromosome names, their uint8 codes (A0 C1 G2 T3) and the isochore blocks."""

    names: list[str]
    codes: list[np.ndarray]
    isochores: Isochores

    @property
    def sizes(self) -> dict[str, int]:
        return {name: len(c) for name, c in zip(self.names, self.codes)}

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(c) for c in self.codes], dtype=np.int64)

    def texts(self) -> list[str]:
        """Each chromosome's bases as an upper-case string."""
        return [_LETTERS[c].tobytes().decode("ascii") for c in self.codes]


def chromosome_sizes(genome_size: int, n_chroms: int) -> np.ndarray:
    """Sizes that shrink linearly from chr1 to chrN (chrN is 60% of chr1) and sum to ``genome_size``."""
    weights = 1.0 - 0.4 * np.arange(n_chroms) / max(n_chroms - 1, 1)
    sizes = np.floor(genome_size * weights / weights.sum()).astype(np.int64)
    sizes[0] += genome_size - sizes.sum()
    return sizes


def make_genome(
    rng: np.random.Generator,
    genome_size: int,
    n_chroms: int,
    *,
    gc_range: tuple[float, float] = (0.35, 0.60),
    isochore_size: int = 50_000,
    amplified_fraction: float = 0.05,
    amplification: float = 1.5,
    domains: GcDomains | None = None,
) -> Genome:
    """Draw a genome of ``genome_size`` bp in ``n_chroms`` chromosomes named chr1..chrN.

    Each chromosome is cut into isochores of exponential length (mean
    ``isochore_size``, at least a fifth of it); each isochore gets a GC fraction
    uniform in ``gc_range`` and its bases are drawn independently (G = C = gc/2,
    A = T = (1 - gc)/2). A fraction ``amplified_fraction`` of isochores has copy number
    ``amplification`` (relative to 1), which scales background reads (ChIP and control).

    With ``domains``, each chromosome is first cut into GC domains (see
    :func:`_domains`), then each domain into isochores; an isochore's GC is uniform in
    the lower half of ``gc_range`` in a poor domain, in the upper half in a rich one.
    """
    sizes = chromosome_sizes(genome_size, n_chroms)
    names = [f"chr{i + 1}" for i in range(n_chroms)]
    if domains is None:
        blocks = [(*_isochores(rng, i, int(size), isochore_size), None) for i, size in enumerate(sizes)]
    else:
        blocks = [_domain_isochores(rng, i, int(size), isochore_size, domains) for i, size in enumerate(sizes)]
    chrom, start, end, rich = (np.concatenate([b[k] for b in blocks]) if blocks[0][k] is not None else None for k in range(4))
    if rich is None:
        gc = rng.uniform(gc_range[0], gc_range[1], size=len(start))
    else:
        half = (gc_range[1] - gc_range[0]) / 2
        gc = gc_range[0] + half * (rich + rng.random(len(start)))  # poor: lower half of gc_range, rich: upper half
    copy = np.where(rng.random(len(start)) < amplified_fraction, amplification, 1.0)
    isochores = Isochores(chrom, start, end, gc, copy, rich)
    codes = [_bases(rng, isochores, i) for i in range(n_chroms)]
    return Genome(names, codes, isochores)


def _isochores(rng: np.random.Generator, chrom: int, size: int, mean: int) -> tuple[np.ndarray, ...]:
    lengths: list[np.ndarray] = []
    total = 0
    minimum = max(mean // 5, 1)
    while total < size:
        draw = np.maximum(rng.exponential(mean, size=max(8, 2 * size // mean + 2)).astype(np.int64), minimum)
        lengths.append(draw)
        total += int(draw.sum())
    ends = np.cumsum(np.concatenate(lengths))
    ends = ends[: np.searchsorted(ends, size) + 1]
    ends[-1] = size
    starts = np.concatenate([[0], ends[:-1]])
    return np.full(len(ends), chrom, dtype=np.int64), starts.astype(np.int64), ends.astype(np.int64)


def _domains(rng: np.random.Generator, size: int, domains: GcDomains) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, end, rich) of alternating GC-poor and GC-rich domains along ``size`` bp.

    The first domain's kind is drawn (rich with probability ``rich_fraction``); lengths
    are uniform between 0.5 and 1.5 times ``2 * size * share`` of their kind, so rich
    domains cover close to ``rich_fraction`` of each chromosome (exponential lengths
    made that share, hence the peak density in rich domains, vary too much between
    seeds of a small genome).
    """
    means = {True: 2 * domains.size * domains.rich_fraction, False: 2 * domains.size * (1 - domains.rich_fraction)}
    rich = bool(rng.random() < domains.rich_fraction)
    starts, ends, kinds = [], [], []
    position = 0
    while position < size:
        length = max(int(means[rich] * rng.uniform(0.5, 1.5)), 1)
        starts.append(position)
        position = min(position + length, size)
        ends.append(position)
        kinds.append(rich)
        rich = not rich
    return np.array(starts, np.int64), np.array(ends, np.int64), np.array(kinds, bool)


def _domain_isochores(
    rng: np.random.Generator, chrom: int, size: int, isochore_size: int, domains: GcDomains
) -> tuple[np.ndarray, ...]:
    """Isochores (chrom, start, end, rich) of one chromosome cut first into GC domains."""
    parts = []
    for lo, hi, rich in zip(*_domains(rng, size, domains)):
        c, s, e = _isochores(rng, chrom, int(hi - lo), isochore_size)
        parts.append((c, s + lo, e + lo, np.full(len(s), rich)))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))


def _bases(rng: np.random.Generator, isochores: Isochores, chrom: int) -> np.ndarray:
    """Bases of one chromosome: G/C with each block's probability, a random bit picks which."""
    threshold = np.round(isochores.gc * 32768).astype(np.uint16)
    per_base = isochores.per_base(threshold, chrom)
    draws = rng.integers(0, 65536, size=len(per_base), dtype=np.uint16)
    is_gc = (draws >> 1) < per_base
    bit = (draws & 1).astype(np.uint8)
    return np.where(is_gc, 1 + bit, 3 * bit).astype(np.uint8)


def write_fasta(folder: Path, genome: Genome, name: str = "genome.fa") -> Path:
    """Write ``genome.fa`` (60 bases a line), its ``.fai`` index and ``genome.sizes``."""
    path = folder / name
    index_lines, size_lines = [], []
    offset = 0
    with open(path, "wb") as out:
        for chrom, codes in zip(genome.names, genome.codes):
            header = f">{chrom}\n".encode()
            out.write(header)
            offset += len(header)
            body = _fasta_body(codes)
            out.write(body)
            index_lines.append(f"{chrom}\t{len(codes)}\t{offset}\t{LINE_WIDTH}\t{LINE_WIDTH + 1}\n")
            size_lines.append(f"{chrom}\t{len(codes)}\n")
            offset += len(body)
    (folder / f"{name}.fai").write_text("".join(index_lines))
    (folder / "genome.sizes").write_text("".join(size_lines))
    return path


def _fasta_body(codes: np.ndarray) -> bytes:
    letters = _LETTERS[codes]
    n_full = len(letters) // LINE_WIDTH
    full = np.empty((n_full, LINE_WIDTH + 1), dtype=np.uint8)
    full[:, :LINE_WIDTH] = letters[: n_full * LINE_WIDTH].reshape(n_full, LINE_WIDTH)
    full[:, LINE_WIDTH] = ord("\n")
    rest = letters[n_full * LINE_WIDTH :]
    return full.tobytes() + (rest.tobytes() + b"\n" if len(rest) else b"")


def check_size(genome_size: int, n_chroms: int) -> None:
    """Refuse genomes too small to hold a 2114 bp window with margins on each chromosome."""
    smallest = int(chromosome_sizes(genome_size, n_chroms).min())
    if smallest < 10_000:
        raise DataError(
            f"genome of {genome_size} bp in {n_chroms} chromosomes gives a chromosome of {smallest} bp: "
            "each needs at least 10000 bp; raise --genome-size or lower --chroms"
        )
