"""ATAC-seq-like fragments: Tn5 cuts drawn from accessibility x sequence bias.

Coordinates: a *cut* is the 0-based position of a Tn5 insertion as bpnet counts it.
A fragment with cuts ``left < right`` is sequenced as a + read starting at ``left - 4``
and a - read ending at ``right + 5`` (exclusive; its 5' base is ``right + 4``), so the
usual shift, + strand 5' end + 4 and - strand 5' end - 4, gives back the cuts. In
``fragments.tsv.gz`` the fragment is ``[left - 4, right + 5)``, i.e. unshifted, as a
BAM-to-BED conversion gives it: cuts are ``start + 4`` and ``end - 5`` (= ``end - 1 - 4``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

from ..motifs import Motif, read_meme, scan
from .genome import Genome
from .layout import Sites

#: Read start = cut - PLUS_SHIFT on +; read 5' end = cut + MINUS_SHIFT on -.
PLUS_SHIFT = 4
MINUS_SHIFT = 4
#: Candidate partner cuts drawn per fragment (importance resampling).
PARTNER_CANDIDATES = 8


def tn5_motif() -> Motif:
    """The bundled, designed Tn5-like bias motif (``tn5_bias.meme``; 11 bp, insertion at the middle)."""
    with resources.as_file(resources.files(__package__) / "tn5_bias.meme") as path:
        return read_meme(path)[0]


@dataclass
class Fragments:
    """Paired-end fragments as Tn5 cut positions (``left < right``, 0-based) on a chromosome."""

    chrom: np.ndarray
    left: np.ndarray
    right: np.ndarray

    def __len__(self) -> int:
        return len(self.left)

    @property
    def start(self) -> np.ndarray:
        """0-based start of the fragment as sequenced (leftmost base of the + read)."""
        return self.left - PLUS_SHIFT

    @property
    def end(self) -> np.ndarray:
        """Exclusive end of the fragment as sequenced (one past the - read's 5' base)."""
        return self.right + MINUS_SHIFT + 1


def bias_weights(codes: np.ndarray, motif: Motif, strength: float) -> np.ndarray:
    """Tn5 cut weight at each base: ``2 ** (strength * score)`` of the motif window centred there.

    Bases closer to a chromosome end than half the motif width get weight 0 (no cuts).
    """
    half = motif.width // 2
    weights = np.zeros(len(codes), dtype=np.float32)
    if len(codes) >= motif.width:
        scores = scan(codes, motif, both_strands=False)
        weights[half : half + len(scores)] = np.exp2(strength * scores)
    return weights


def cut_distances(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Cut-to-cut distances: 55% nucleosome-free (30 + Gamma(2, 25)), 35% mono- (N(185, 20)),
    10% di-nucleosomal (N(360, 30)), clipped to [30, 800]."""
    kind = rng.random(shape)
    distance = np.empty(shape)
    free, mono = kind < 0.55, (kind >= 0.55) & (kind < 0.9)
    di = ~(free | mono)
    distance[free] = 30.0 + rng.gamma(2.0, 25.0, int(free.sum()))
    distance[mono] = rng.normal(185.0, 20.0, int(mono.sum()))
    distance[di] = rng.normal(360.0, 30.0, int(di.sum()))
    return np.clip(np.round(distance), 30, 800).astype(np.int64)


def cut_weights(
    genome: Genome,
    sites: Sites,
    *,
    bias: Motif,
    bias_strength: float,
    frip: float,
    accessibility_sd: float,
    footprint: float,
    gc_bias: float,
    gc_range: tuple[float, float],
) -> list[np.ndarray]:
    """Per-base cut weight ``W = bias * (background + s * accessibility) * protection`` per chromosome.

    ``background`` is 1 + ``gc_bias`` * (isochore GC scaled to [-1, 1]); ``accessibility``
    is a sum of Gaussians (sd ``accessibility_sd``) centred on the planted sites, each
    weighted by the site's strength; ``protection`` is 1 - ``footprint`` on the bases
    of bound sites (the TF shields them from Tn5), 1 elsewhere. The scale ``s`` makes
    a fraction ``frip`` of all cut weight come from accessibility.
    """
    iso = genome.isochores
    mid, half = (gc_range[0] + gc_range[1]) / 2, max((gc_range[1] - gc_range[0]) / 2, 1e-9)
    level = np.clip(1.0 + gc_bias * (iso.gc - mid) / half, 0.05, None).astype(np.float32)
    radius = int(np.ceil(4 * accessibility_sd))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / accessibility_sd) ** 2)
    parts, background_total, open_total = [], 0.0, 0.0
    for i, codes in enumerate(genome.codes):
        size = len(codes)
        b = bias_weights(codes, bias, bias_strength)
        on = np.flatnonzero(sites.chrom == i)
        where = (sites.centre[on][:, None] + offsets[None, :]).ravel()
        amount = (sites.strength[on][:, None] * kernel[None, :]).ravel()
        inside = (where >= 0) & (where < size)
        acc = np.bincount(where[inside], weights=amount[inside], minlength=size).astype(np.float32)
        protect = np.ones(size, dtype=np.float32)
        for s, e in zip(sites.start[on].tolist(), sites.end[on].tolist()):
            protect[s:e] = 1.0 - footprint
        b *= protect
        g = iso.per_base(level, i)
        background_total += float(np.dot(b.astype(np.float64), g))
        open_total += float(np.dot(b.astype(np.float64), acc))
        parts.append((b, g, acc))
    scale = np.float32(frip / (1.0 - frip) * background_total / max(open_total, 1e-300))
    weights = []
    while parts:  # in place, freeing each chromosome's arrays as it goes
        b, g, acc = parts.pop(0)
        acc *= scale
        acc += g
        b *= acc
        weights.append(b)
    return weights


def draw_fragments(rng: np.random.Generator, genome: Genome, weights: list[np.ndarray], n: int) -> Fragments:
    """``n`` fragments (fewer after removing duplicates) from the cut weights.

    One cut ``x`` is drawn from ``W`` over the genome; the other end is ``x + d`` or
    ``x - d`` (direction at random), chosen among ``PARTNER_CANDIDATES`` distances
    ``d`` (:func:`cut_distances`) with probability proportional to ``W`` there, so both
    ends follow accessibility x bias. Identical fragments are kept once (a
    deduplicated library), so every fragment has count 1.
    """
    totals = np.array([float(w.sum(dtype=np.float64)) for w in weights])
    per_chrom = rng.multinomial(n, totals / totals.sum())
    chroms, lefts, rights = [], [], []
    for i, (w, k) in enumerate(zip(weights, per_chrom.tolist())):
        if k == 0:
            continue
        cdf = np.cumsum(w, dtype=np.float64)
        x = np.searchsorted(cdf, rng.random(k) * cdf[-1], side="right")
        x = np.minimum(x, len(w) - 1)
        direction = np.where(rng.random(k) < 0.5, -1, 1)
        y = x[:, None] + direction[:, None] * cut_distances(rng, (k, PARTNER_CANDIDATES))
        valid = (y >= 0) & (y < len(w))
        wy = np.where(valid, w[np.clip(y, 0, len(w) - 1)], 0.0).astype(np.float64)
        cum = np.cumsum(wy, axis=1)
        total = cum[:, -1]
        pick = (cum < (rng.random(k) * total)[:, None]).sum(axis=1)
        pick = np.minimum(pick, PARTNER_CANDIDATES - 1)
        keep = total > 0
        partner = y[np.arange(k), pick]
        chroms.append(np.full(int(keep.sum()), i, dtype=np.int64))
        lefts.append(np.minimum(x, partner)[keep])
        rights.append(np.maximum(x, partner)[keep])
    return _deduplicated(genome, np.concatenate(chroms), np.concatenate(lefts), np.concatenate(rights))


def _deduplicated(genome: Genome, chrom: np.ndarray, left: np.ndarray, right: np.ndarray) -> Fragments:
    offsets = np.concatenate([[0], np.cumsum(genome.lengths)])
    key = ((offsets[chrom] + left) << 11) | (right - left)
    key = np.unique(key)
    distance = key & ((1 << 11) - 1)
    position = key >> 11
    chrom = np.searchsorted(offsets, position, side="right") - 1
    left = position - offsets[chrom]
    return Fragments(chrom, left, left + distance)


def cut_counts(genome: Genome, fragments: Fragments) -> dict[str, np.ndarray]:
    """Per-base counts of cuts (both ends of every fragment), one dense array per chromosome."""
    counts = {}
    for i, name in enumerate(genome.names):
        on = fragments.chrom == i
        size = len(genome.codes[i])
        counts[name] = (
            np.bincount(fragments.left[on], minlength=size) + np.bincount(fragments.right[on], minlength=size)
        ).astype(np.float64)
    return counts
