"""Where peaks and motif instances go: peak centres, planted sites, their strengths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..motifs import Motif, sample_sites, score_sites
from .genome import Genome

#: Motif instances of a peak sit in this many slots around its centre.
N_SLOTS = 9
#: Bases added on each side of the outermost sites to make a peak region.
PEAK_PAD = 100
MIN_PEAK_WIDTH = 200


@dataclass
class Sites:
    """Planted motif instances (arrays, one entry per instance)."""

    peak: np.ndarray  # index of the peak
    chrom: np.ndarray  # chromosome index
    start: np.ndarray  # 0-based start on the chromosome
    width: np.ndarray
    motif: np.ndarray  # index into the motif list
    reverse: np.ndarray  # bool: planted on the minus strand
    score: np.ndarray  # log-odds (bits) of the planted bases on the site's strand
    strength: np.ndarray  # binding strength (activity x affinity x weight); drives the signal

    @property
    def centre(self) -> np.ndarray:
        return self.start + self.width // 2

    @property
    def end(self) -> np.ndarray:
        return self.start + self.width


@dataclass
class Peaks:
    """True peaks: region, summit (absolute) and total strength, sorted by chromosome and start."""

    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    summit: np.ndarray
    strength: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


def default_n_peaks(genome_size: int) -> int:
    """One peak per 20 kb (400 for the default 8 Mb)."""
    return max(1, genome_size // 20_000)


def place_centres(
    rng: np.random.Generator,
    genome: Genome,
    n_peaks: int,
    *,
    min_distance: int,
    margin: int,
    gc_preference: float,
    gc_range: tuple[float, float],
    peak_share: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(chromosome index, centre) of ``n_peaks`` peaks at least ``min_distance`` apart.

    Candidates fall in isochores with probability proportional to their usable length
    times ``exp(gc_preference * z)``, ``z`` the block's GC scaled to [-1, 1] over
    ``gc_range`` (GC-rich regions hold more peaks, as in real genomes); they are at
    least ``margin`` bp from chromosome ends. Sorted candidates closer than
    ``min_distance`` to the previous kept one are dropped; ``n_peaks`` of the kept
    ones are chosen at random. With GC domains (``genome.isochores.rich``) and
    ``peak_share``, a share ``peak_share`` of the candidates falls in GC-rich domains
    and ``round(peak_share * n_peaks)`` peaks are chosen among the kept rich ones, the
    rest among the poor ones (so thinning, which bites where candidates crowd, cannot
    dilute the clustering).
    """
    iso = genome.isochores
    lengths = genome.lengths
    lo = np.maximum(iso.start, margin)
    hi = np.minimum(iso.end, lengths[iso.chrom] - margin)
    usable = np.maximum(hi - lo, 0)
    mid, half = (gc_range[0] + gc_range[1]) / 2, max((gc_range[1] - gc_range[0]) / 2, 1e-9)
    weight = usable * np.exp(gc_preference * (iso.gc - mid) / half)
    if weight.sum() <= 0:
        raise DataError("the chromosomes are too short for peaks: raise --genome-size or lower --chroms")
    share = peak_share if iso.rich is not None else None
    if share is not None:
        weight = _share_weights(weight, iso.rich, share)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    for factor in (3, 6, 12):
        n = factor * n_peaks + 16
        block = rng.choice(len(weight), size=n, p=weight / weight.sum())
        pos = lo[block] + (rng.random(n) * usable[block]).astype(np.int64)
        kept = _thin(np.sort(offsets[iso.chrom[block]] + pos), min_distance)
        if share is None and len(kept) >= n_peaks:
            chosen = np.sort(rng.choice(kept, size=n_peaks, replace=False))
        elif share is not None:
            chrom = np.searchsorted(offsets, kept, side="right") - 1
            rich = iso.rich[iso.block_at(chrom, kept - offsets[chrom])]
            chosen = _choose_by_kind(rng, kept, rich, n_peaks, share)
        else:
            continue
        if chosen is not None:
            chrom = np.searchsorted(offsets, chosen, side="right") - 1
            return chrom, chosen - offsets[chrom]
    raise DataError(
        f"cannot place {n_peaks} peaks at least {min_distance} bp apart in {int(lengths.sum())} bp"
        + (f" with {share:.0%} of them in GC-rich domains" if share is not None else "")
        + ": lower --n-peaks or raise --genome-size" + (" (or lower gc_domains.peak_share)" if share else "")
    )


def _choose_by_kind(rng: np.random.Generator, kept: np.ndarray, rich: np.ndarray, n: int, share: float) -> np.ndarray | None:
    """``round(share * n)`` of the ``rich`` positions and the rest from the others, sorted; None if either has too few."""
    n_rich = round(share * n)
    if rich.sum() < n_rich or (~rich).sum() < n - n_rich:
        return None
    return np.sort(np.concatenate([rng.choice(kept[rich], n_rich, replace=False), rng.choice(kept[~rich], n - n_rich, replace=False)]))


def _share_weights(weight: np.ndarray, rich: np.ndarray, share: float) -> np.ndarray:
    """``weight`` rescaled so that GC-rich blocks hold ``share`` of the total, poor ones the rest."""
    total_rich, total_poor = weight[rich].sum(), weight[~rich].sum()
    for wanted, total, kind in ((share, total_rich, "GC-rich"), (1 - share, total_poor, "GC-poor")):
        if wanted > 0 and total <= 0:
            raise DataError(
                f"gc_domains: no {kind} domain has room for peaks in this genome: raise genome_size, lower "
                f"gc_domains.size, or set gc_domains.peak_share to {int(kind != 'GC-rich')}"
            )
    return np.where(rich, share * weight / max(total_rich, 1e-300), (1 - share) * weight / max(total_poor, 1e-300))


def _thin(sorted_positions: np.ndarray, min_distance: int) -> np.ndarray:
    """Greedy left-to-right: keep a position if it is ``min_distance`` past the last kept."""
    keep = np.zeros(len(sorted_positions), dtype=bool)
    last = -(1 << 62)
    for i, p in enumerate(sorted_positions.tolist()):
        if p - last >= min_distance:
            keep[i] = True
            last = p
    return sorted_positions[keep]


def plant_sites(
    rng: np.random.Generator,
    genome: Genome,
    motifs: list[Motif],
    chrom: np.ndarray,
    centre: np.ndarray,
    *,
    max_sites: int,
    activity_sd: float,
    min_score: float,
    affinity_strength: float,
) -> tuple[Peaks, Sites]:
    """Plant 1..``max_sites`` motif instances in each peak; write them into ``genome``.

    Instances take distinct slots (spaced by the widest motif + 4 bp, the central ones
    preferred) around the peak centre; motifs are dealt evenly across all instances,
    strands at random. Each site's bases are drawn from its motif's probabilities and
    redrawn (up to 50 times, then the consensus) while the site scores below
    ``min_score`` of the motif's score range (0 its lowest, 1 its highest log-odds). A
    site's strength is ``activity * exp(affinity_strength * (r - 1))``, ``r`` its relative
    score and ``activity`` a per-peak log-normal factor (``activity_sd``) for variation the
    sequence does not explain.
    """
    n_peaks = len(centre)
    n_sites = rng.integers(1, max_sites + 1, size=n_peaks)
    peak = np.repeat(np.arange(n_peaks), n_sites)
    total = len(peak)
    motif = rng.permutation(np.resize(np.arange(len(motifs)), total))
    reverse = rng.random(total) < 0.5
    slot_width = max(m.width for m in motifs) + 4
    rank = np.abs(np.arange(N_SLOTS) - N_SLOTS // 2)
    keys = rng.random((n_peaks, N_SLOTS)) + 0.35 * rank
    slots = np.argsort(keys, axis=1)
    within = np.arange(total) - np.repeat(np.cumsum(n_sites) - n_sites, n_sites)
    slot = slots[peak, within]
    width = np.array([m.width for m in motifs], dtype=np.int64)[motif]
    start = centre[peak] + (slot - N_SLOTS // 2) * slot_width - width // 2
    score = np.zeros(total)
    relative = np.zeros(total)
    for m, mot in enumerate(motifs):
        idx = np.flatnonzero(motif == m)
        codes, score[idx], relative[idx] = _draw_sites(rng, mot, len(idx), min_score)
        codes = np.where(reverse[idx, None], 3 - codes[:, ::-1], codes).astype(np.uint8)
        for i, site in zip(idx.tolist(), codes):
            genome.codes[chrom[peak[i]]][start[i] : start[i] + mot.width] = site
    activity = rng.lognormal(0.0, activity_sd, size=n_peaks)
    strength = activity[peak] * np.exp(affinity_strength * (relative - 1.0))
    sites = Sites(peak, chrom[peak], start, width, motif, reverse, score, strength)
    return _peaks(chrom, centre, sites), sites


def _draw_sites(rng: np.random.Generator, motif: Motif, n: int, min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    low, high = motif.score_range()
    codes = sample_sites(motif, n, rng)
    for _ in range(50):
        relative = (score_sites(codes, motif) - low) / (high - low)
        bad = np.flatnonzero(relative < min_score)
        if not len(bad):
            break
        codes[bad] = sample_sites(motif, len(bad), rng)
    else:
        relative = (score_sites(codes, motif) - low) / (high - low)
        codes[relative < min_score] = motif.pwm.argmax(axis=1)
    score = score_sites(codes, motif)
    return codes, score, (score - low) / (high - low)


def _peaks(chrom: np.ndarray, centre: np.ndarray, sites: Sites) -> Peaks:
    n = len(centre)
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, sites.peak, sites.start)
    np.maximum.at(last, sites.peak, sites.end)
    start, end = first - PEAK_PAD, last + PEAK_PAD
    short = end - start < MIN_PEAK_WIDTH
    mid = (start + end) // 2
    start = np.where(short, mid - MIN_PEAK_WIDTH // 2, start)
    end = np.where(short, start + MIN_PEAK_WIDTH, end)
    strength = np.bincount(sites.peak, weights=sites.strength, minlength=n)
    order = np.lexsort((-sites.strength, sites.peak))  # strongest site of each peak first
    best = order[np.searchsorted(sites.peak[order], np.arange(n))]
    return Peaks(chrom, start, end, sites.centre[best], strength)


def write_peaks(path: Path, names: list[str], peaks: Peaks) -> None:
    """narrowPeak: name ``peak_N``, score 1-1000 by strength, signalValue = strength, summit offset."""
    top = peaks.strength.max() if len(peaks) else 1.0
    score = np.clip(np.round(1000 * peaks.strength / top), 1, 1000).astype(np.int64)
    lines = [
        f"{names[c]}\t{s}\t{e}\tpeak_{i + 1}\t{sc}\t.\t{v:.4f}\t-1\t-1\t{m - s}\n"
        for i, (c, s, e, sc, v, m) in enumerate(
            zip(
                peaks.chrom.tolist(),
                peaks.start.tolist(),
                peaks.end.tolist(),
                score.tolist(),
                peaks.strength.tolist(),
                peaks.summit.tolist(),
            )
        )
    ]
    path.write_text("".join(lines))


def write_sites(path: Path, names: list[str], motifs: list[Motif], sites: Sites) -> None:
    """BED6: chrom, start, end, motif name, log-odds score (bits), strand; sorted by position."""
    order = np.lexsort((sites.start, sites.chrom))
    motif_names = [m.name for m in motifs]
    lines = [
        f"{names[c]}\t{s}\t{s + w}\t{motif_names[m]}\t{sc:.3f}\t{'-' if r else '+'}\n"
        for c, s, w, m, sc, r in zip(
            sites.chrom[order].tolist(), sites.start[order].tolist(), sites.width[order].tolist(),
            sites.motif[order].tolist(), sites.score[order].tolist(), sites.reverse[order].tolist(),
        )
    ]
    path.write_text("".join(lines))
