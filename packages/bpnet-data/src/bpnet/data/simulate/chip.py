"""ChIP-seq-like single-end reads: stranded footprints at bound sites plus background."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .genome import Genome
from .hotspots import Hotspots
from .layout import Sites


@dataclass
class SingleReads:
    """Single-end reads: chromosome index, reference start (0-based, leftmost base), strand."""

    chrom: np.ndarray
    start: np.ndarray
    reverse: np.ndarray
    length: int

    def __len__(self) -> int:
        return len(self.start)

    @property
    def five_prime(self) -> np.ndarray:
        """0-based 5' end: the start on +, the last aligned base on -."""
        return np.where(self.reverse, self.start + self.length - 1, self.start)

    @staticmethod
    def concat(parts: list[SingleReads]) -> SingleReads:
        return SingleReads(
            np.concatenate([p.chrom for p in parts]),
            np.concatenate([p.start for p in parts]),
            np.concatenate([p.reverse for p in parts]),
            parts[0].length,
        )


@dataclass
class FragmentModel:
    """Fragment lengths ~ Normal(mean, sd), clipped to [read length, 3 * mean]."""

    mean: float
    sd: float
    read_length: int

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        lengths = np.round(rng.normal(self.mean, self.sd, size=n)).astype(np.int64)
        return np.clip(lengths, self.read_length, max(int(3 * self.mean), self.read_length))


def bound_reads(
    rng: np.random.Generator,
    genome: Genome,
    sites: Sites,
    n_expected: float,
    fragments: FragmentModel,
    centre_sd: float,
    shift: np.ndarray | None = None,
) -> SingleReads:
    """Reads from fragments crosslinked at bound sites.

    Site ``i`` yields Poisson(``n_expected * strength_i / sum(strength)``) fragments.
    A fragment of length L (:class:`FragmentModel`) is centred at the site centre plus
    ``shift_i`` (bp, genome coordinates; see :func:`footprint_shift`) plus
    Normal(0, ``centre_sd``); it is sequenced from one end, strand at random: a +
    read starts at the fragment start (5' end about L/2 upstream of the site), a -
    read ends at the fragment end (5' end about L/2 downstream).
    """
    weight = sites.strength / sites.strength.sum()
    n = rng.poisson(n_expected * weight)
    site = np.repeat(np.arange(len(weight)), n)
    total = len(site)
    length = fragments.draw(rng, total)
    centre = sites.centre[site] + np.round(rng.normal(0.0, centre_sd, size=total)).astype(np.int64)
    if shift is not None:
        centre += shift[site]
    return _read_one_end(rng, genome, sites.chrom[site], centre, length, fragments.read_length)


def background_reads(
    rng: np.random.Generator, genome: Genome, n: int, fragments: FragmentModel, gc_bias: float, gc_range: tuple[float, float]
) -> SingleReads:
    """Reads from random fragments: uniform within isochores weighted by length, copy number and GC.

    An isochore's weight is ``length * copy * (1 + gc_bias * z)``, ``z`` its GC scaled
    to [-1, 1] over ``gc_range`` (mild GC bias, as in real libraries).
    """
    iso = genome.isochores
    mid, half = (gc_range[0] + gc_range[1]) / 2, max((gc_range[1] - gc_range[0]) / 2, 1e-9)
    weight = (iso.end - iso.start) * iso.copy * np.clip(1.0 + gc_bias * (iso.gc - mid) / half, 0.05, None)
    block = rng.choice(len(weight), size=n, p=weight / weight.sum())
    length = fragments.draw(rng, n)
    chrom = iso.chrom[block]
    chrom_length = genome.lengths[chrom]
    frag_start = iso.start[block] + (rng.random(n) * (iso.end - iso.start)[block]).astype(np.int64)
    frag_start = np.clip(frag_start, 0, chrom_length - length)
    reverse = rng.random(n) < 0.5
    start = np.where(reverse, frag_start + length - fragments.read_length, frag_start)
    return SingleReads(chrom, start, reverse, fragments.read_length)


def footprint_shift(sites: Sites, motif_shift: np.ndarray) -> np.ndarray:
    """Per site, its motif's ``motif_shift`` (bp) along the site's strand, in genome coordinates.

    Fragments centred there put the lobe of reads on the site's own strand closer to
    the site and the other lobe farther (for a positive shift), mirrored with the
    site's orientation: an asymmetric, orientation-dependent footprint (as ChIP-exo
    shows), which a model can learn from the sequence.
    """
    return np.where(sites.reverse, -1, 1) * np.asarray(motif_shift, dtype=np.int64)[sites.motif]


def hotspot_reads(
    rng: np.random.Generator, genome: Genome, hotspots: Hotspots, n_background: int, fragments: FragmentModel
) -> SingleReads:
    """Extra reads from artefact hotspots, drawn alike for ChIP and control.

    A hotspot of width w yields Poisson(``strength * w * n_background / genome bp``)
    fragments (``strength`` times the library's mean background density) centred
    uniformly in it, read from one end with the strand at random.
    """
    width = hotspots.end - hotspots.start
    n = rng.poisson(hotspots.strength * width * n_background / genome.lengths.sum())
    spot = np.repeat(np.arange(len(hotspots)), n)
    total = len(spot)
    length = fragments.draw(rng, total)
    centre = hotspots.start[spot] + (rng.random(total) * width[spot]).astype(np.int64)
    return _read_one_end(rng, genome, hotspots.chrom[spot], centre, length, fragments.read_length)


def _read_one_end(
    rng: np.random.Generator, genome: Genome, chrom: np.ndarray, centre: np.ndarray, length: np.ndarray, read_length: int
) -> SingleReads:
    """One read per fragment (centre, length), from a random end; reads off a chromosome are dropped."""
    frag_start = centre - length // 2
    reverse = rng.random(len(centre)) < 0.5
    start = np.where(reverse, frag_start + length - read_length, frag_start)
    return _inside(genome, SingleReads(chrom, start, reverse, read_length))


def _inside(genome: Genome, reads: SingleReads) -> SingleReads:
    ok = (reads.start >= 0) & (reads.start + reads.length <= genome.lengths[reads.chrom])
    return SingleReads(reads.chrom[ok], reads.start[ok], reads.reverse[ok], reads.length)


def five_prime_counts(genome: Genome, reads: SingleReads) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-base counts of 5' ends on + and on - strand, one dense array per chromosome."""
    five = reads.five_prime
    plus, minus = {}, {}
    for i, name in enumerate(genome.names):
        on = reads.chrom == i
        size = len(genome.codes[i])
        plus[name] = np.bincount(five[on & ~reads.reverse], minlength=size).astype(np.float64)
        minus[name] = np.bincount(five[on & reads.reverse], minlength=size).astype(np.float64)
    return plus, minus
