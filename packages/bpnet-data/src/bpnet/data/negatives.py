"""GC-matched negatives: background windows whose GC content follows that of the peaks.

The recipe (:func:`gc_matched_negatives`):

1. **Peak GC.** Each peak's ``width``-bp window centred on its summit (column 10 of a
   narrowPeak; the midpoint without one) gives the reference GC distribution. Windows
   that run off a chromosome end or have more than ``max_n_fraction`` Ns are left out
   of the reference (counted in the report), but their peaks are still excluded below.
2. **Candidates.** Every chromosome used is tiled with ``width``-bp windows every
   ``stride`` bp. A tile is dropped if more than ``max_n_fraction`` of it is N, or if
   it overlaps an *excluded region*:

   * each peak's BED interval widened by ``padding`` bp on both sides (default
     ``width // 2``, as ChromBPNet does), so no negative overlaps a peak nor comes
     within ``padding`` bp of one. As a summit lies inside its peak, the default also
     keeps negatives off every peak's summit-centred ``width`` window; ``padding=0``
     only keeps them off the peak intervals (as bpnet-lite does), which leaves more
     room on genomes dense in peaks;
   * each blacklist interval and each ``exclude`` interval, widened by ``padding``.
3. **Matching.** GC is binned into ``bins`` equal bins over [0, 1]. Each bin asks for
   ``ratio`` times its number of peaks (rounded so the total is
   ``round(ratio * n_peaks)``); tiles are drawn at random without replacement from
   the same bin (a nearest-GC 1:1 match at the bins' resolution). First every bin
   serves its demand with tiles that overlap no drawn negative (with ``stride <
   width`` a drawn tile passes over its overlapping neighbours). With
   ``allow_overlap="auto"`` (the default), what a bin cannot serve so it serves with
   its passed-over tiles, which overlap other negatives: where every bin has disjoint
   tiles enough nothing changes (every negative is disjoint, as before), while where
   peaks crowd the GC-rich background the GC match holds instead of falling short or
   borrowing from GC-poorer bins. What is still unmet is
   borrowed from the nearest bins with tiles left. ``allow_overlap=False`` never
   overlaps (the set may fall short, or borrow far); ``True`` ignores overlaps, as
   ChromBPNet's candidate tiles do. A tile is never drawn twice.
4. **Report.** :class:`MatchReport` gives the two-sample Kolmogorov-Smirnov
   statistic between peak and negative GC (smaller is better; below 0.05 is a good
   match), the means and both histograms, how many negatives overlap another and, for
   a short set, why; :func:`plot_gc_match` draws them. A short set or a poor match is
   logged as a WARNING that says what to do.

Everything is deterministic for a given ``seed`` (one ``numpy.random.default_rng``).
Memory: the largest chromosome about three times over (its text and its codes), plus
about 30 bytes per candidate tile (genome size / ``stride`` tiles: 3 million, 90 MB,
for a human genome at the default stride of 1000).
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from .errors import DataError
from .gc import tile_starts, window_fractions
from .intervals import Intervals, overlapping, sorted_regions
from .sources import SequenceSource, open_source, read_bed

logger = logging.getLogger("bpnet.data.negatives")

IntervalsLike = Intervals | str | Path
#: may negatives overlap each other: "auto" (only where it improves the GC match), True, False
Overlap = Literal["auto"] | bool
#: a KS statistic below this is a good GC match
GOOD_KS = 0.05


class MatchReport(BaseModel):
    """How well the negatives' GC content matches the peaks' (written as ``gc_match.json``)."""

    n_peaks: int = Field(description="peaks whose GC content is the reference")
    n_peaks_left_out: int = Field(description="peaks left out of the reference (window off a chromosome end, or too many Ns)")
    n_candidates: int = Field(description="candidate background tiles after exclusions")
    n_requested: int = Field(description="round(ratio * n_peaks)")
    n_negatives: int = Field(description="negatives drawn")
    n_borrowed: int = Field(description="negatives drawn from a neighbouring GC bin because their own ran out")
    # the three fields below are newer than the report: their defaults describe reports written before them
    allow_overlap: Literal["auto"] | bool = Field(False, description="the allow_overlap setting the negatives were drawn with")
    n_overlapping: int = Field(0, description="negatives that overlap at least one other negative")
    shortfall_reason: str | None = Field(
        None, description="why fewer than n_requested negatives were drawn, and what to do; null when the request was met"
    )
    ratio: float
    width: int
    stride: int
    padding: int
    seed: int
    ks_statistic: float = Field(description="two-sample Kolmogorov-Smirnov statistic, peak vs negative GC (0 = identical)")
    ks_pvalue: float
    peak_gc_mean: float
    negative_gc_mean: float
    candidate_gc_mean: float = Field(description="mean GC of all candidate tiles: what unmatched background would have")
    bin_edges: list[float] = Field(description="GC bin edges (bins + 1 values from 0 to 1)")
    peak_histogram: list[int]
    negative_histogram: list[int]
    candidate_histogram: list[int]

    def write(self, path: str | Path) -> None:
        """Write the report as JSON, atomically."""
        from bpnet.core.atomic import write_text_atomic

        write_text_atomic(path, self.model_dump_json(indent=2) + "\n")

    def summary(self) -> str:
        return (
            f"{self.n_negatives} negatives for {self.n_peaks} peaks (asked {self.n_requested}, {self.n_borrowed} from "
            f"a neighbouring GC bin, {self.n_overlapping} overlapping another negative); "
            f"GC mean {self.peak_gc_mean:.3f} (peaks) vs {self.negative_gc_mean:.3f} (negatives), KS statistic {self.ks_statistic:.4f}"
        )


def gc_matched_negatives(
    genome: SequenceSource | str | Path,
    peaks: IntervalsLike,
    *,
    width: int = 2114,
    ratio: float = 2.0,
    stride: int = 500,
    padding: int | None = None,
    blacklist: IntervalsLike | None = None,
    exclude: Sequence[IntervalsLike] = (),
    chroms: Sequence[str] | None = None,
    bins: int = 500,
    max_n_fraction: float = 0.1,
    allow_overlap: Overlap = "auto",
    seed: int = 0,
    log: logging.Logger | None = None,
) -> tuple[Intervals, MatchReport]:
    """Background windows matched to the GC content of ``peaks`` (see the module docstring).

    Args:
        genome: the reference genome (FASTA path, URL, or a :class:`SequenceSource` such as ``FastaSource``).
        peaks: peaks (BED/narrowPeak path or :class:`Intervals`). They must lie on the
            genome's chromosomes, inside their ends (else :class:`DataError`).
        width: window width in bp, for the peaks' GC and the negatives (2114: the
            ChromBPNet/BPNet input window).
        ratio: negatives per peak. Default 2, ChromBPNet's ``prep nonpeaks`` default
            (bpnet-lite matches 1:1).
        stride: bp between candidate tiles (500; ChromBPNet uses 1000). A stride below
            ``width`` gives more candidates, which matters in GC-rich regions that
            peaks deplete.
        padding: bp kept clear around peaks, blacklist and ``exclude`` regions
            (default ``width // 2``).
        blacklist: regions no negative may overlap (e.g. the ENCODE blacklist);
            chromosomes the genome lacks are ignored.
        exclude: further regions to avoid (e.g. peaks of other samples).
        chroms: chromosomes to draw negatives from (default: those that hold peaks).
        bins: GC bins over [0, 1] (500: 0.002 wide).
        max_n_fraction: largest share of Ns in a window (peaks and candidates).
        allow_overlap: may negatives overlap each other? ``"auto"`` (default): only
            where a GC bin has no disjoint candidate left for its demand, so sparse
            genomes keep disjoint negatives and dense ones keep the GC match;
            ``False``: never (may fall short or borrow from other bins); ``True``:
            overlaps are ignored, as ChromBPNet's tiles are. Never a duplicate.
        seed: seed of the random draws; the same inputs and seed give the same output.
        log: where to log (default: the ``bpnet.data.negatives`` logger).

    Returns:
        The negatives (``width`` bp, summit at the centre, sorted) and a :class:`MatchReport`.
    """
    log = log or logger
    _check_arguments(width, ratio, stride, padding, bins, max_n_fraction, allow_overlap)
    padding = width // 2 if padding is None else padding
    fasta = genome if isinstance(genome, SequenceSource) else open_source(genome, SequenceSource)
    sizes = fasta.sizes
    peaks, peaks_label = _intervals(peaks, "peaks")
    if not len(peaks):
        raise DataError(f"{peaks_label}: no peaks: GC-matched negatives need at least one")
    peaks.check_within(sizes, file=peaks_label, reference_file=fasta.label)
    scan, draw_from = _chromosomes(chroms, peaks, sizes, fasta.label)
    avoid = _excluded_regions(peaks, padding, [blacklist, *exclude], sizes)

    peak_gc, candidates = _scan_genome(fasta, peaks, scan, draw_from, avoid, width, stride, max_n_fraction)
    cand_chrom, cand_start, cand_gc = candidates
    n_left_out = len(peaks) - len(peak_gc)
    if not len(peak_gc):
        raise DataError(
            f"{peaks_label}: no peak has a {width} bp window inside its chromosome with <= {max_n_fraction:.0%} Ns: "
            "check the genome or use a smaller width"
        )
    if not len(cand_start):
        raise DataError(
            f"no background window of {width} bp is left in {fasta.label} once peaks and blacklist (with {padding} bp "
            "padding) are excluded: lower padding, width or stride, or draw from more chromosomes"
        )
    if n_left_out:
        log.warning(
            "%d of %d peaks left out of the GC reference (window off a chromosome end or > %.0f%% Ns)",
            n_left_out,
            len(peaks),
            100 * max_n_fraction,
        )

    edges = np.linspace(0.0, 1.0, bins + 1)
    peak_bin, cand_bin = _bin(peak_gc, bins), _bin(cand_gc, bins)
    targets = _targets(np.bincount(peak_bin, minlength=bins), ratio)
    if not targets.sum():
        raise DataError(f"ratio {ratio} asks for no negatives for {len(peak_gc)} peaks: raise it")
    reach = math.ceil(width / stride)  # tiles this many positions apart or more do not overlap
    tiles = _tile_ids(cand_chrom, cand_start, stride, reach)
    rng = np.random.default_rng(seed)
    chosen, borrowed = _draw(cand_bin, tiles, targets, reach, allow_overlap, rng)

    neg_gc = cand_gc[chosen]
    names = np.array(scan, dtype=object)
    start = cand_start[chosen]
    negatives = Intervals(names[cand_chrom[chosen]], start, start + width, start + width // 2).sorted()
    report = _report(
        peak_gc, neg_gc, cand_gc, edges, int(targets.sum()), borrowed, n_left_out, ratio, width, stride, padding, seed,
        allow_overlap=allow_overlap, n_overlapping=_n_overlapping(negatives),
    )
    _warn(report, log)
    log.info("%s", report.summary())
    return negatives, report


def plot_gc_match(report: MatchReport, path: str | Path) -> None:
    """Overlay the peak and negative GC distributions (densities) in a PNG, atomically."""
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend alone

    from bpnet.core.atomic import atomic_path

    edges = np.asarray(report.bin_edges)
    fig = Figure(figsize=(6.4, 4), dpi=100)
    ax = fig.subplots()
    styles = (
        (report.candidate_histogram, f"all candidate tiles (n={report.n_candidates})", dict(color="0.55", linestyle="--", linewidth=1)),
        (report.peak_histogram, f"peaks (n={report.n_peaks})", dict(color="#1f77b4", fill=True, alpha=0.35)),
        (report.negative_histogram, f"negatives (n={report.n_negatives})", dict(color="#d62728", linewidth=1.5)),
    )
    for counts, label, style in styles:
        counts, coarse = _coarsen(np.asarray(counts, float), edges)
        density = counts / max(counts.sum(), 1) / np.diff(coarse)
        ax.stairs(density, coarse, label=label, **style)
    lo, hi = _support(report)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("GC fraction")
    ax.set_ylabel("density")
    ax.set_title(f"GC content: peaks vs negatives (KS statistic {report.ks_statistic:.4f})")
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


# --- steps -------------------------------------------------------------------------


def _check_arguments(
    width: int, ratio: float, stride: int, padding: int | None, bins: int, max_n_fraction: float, allow_overlap: Overlap
) -> None:
    problems = [
        (
            not (allow_overlap == "auto" or isinstance(allow_overlap, bool)),
            f"allow_overlap must be 'auto', true or false, got {allow_overlap!r}",
        ),
        (width < 1, f"width must be >= 1 bp, got {width}"),
        (stride < 1, f"stride must be >= 1 bp, got {stride}"),
        (not ratio > 0, f"ratio must be > 0, got {ratio}"),
        (padding is not None and padding < 0, f"padding must be >= 0 bp, got {padding}"),
        (bins < 1, f"bins must be >= 1, got {bins}"),
        (not 0 <= max_n_fraction <= 1, f"max_n_fraction must be between 0 and 1, got {max_n_fraction}"),
    ]
    for bad, message in problems:
        if bad:
            raise DataError(message)


def _intervals(value: IntervalsLike, what: str) -> tuple[Intervals, str]:
    if isinstance(value, Intervals):
        return value, what
    return read_bed(value), str(value)


def _chromosomes(chroms: Sequence[str] | None, peaks: Intervals, sizes: dict[str, int], genome_label: str) -> tuple[list[str], set[str]]:
    """(chromosomes to scan in genome order, those to draw negatives from).

    Scanned are those to draw from plus those holding peaks (for the peaks' GC).
    """
    with_peaks = set(peaks.chrom.tolist())
    if chroms is not None:
        from .chroms import check_chromosomes

        check_chromosomes(chroms, sizes, file="chroms (negatives)", reference_file=genome_label)
    draw = set(with_peaks if chroms is None else chroms)
    return [c for c in sizes if c in draw or c in with_peaks], draw


def _excluded_regions(
    peaks: Intervals, padding: int, others: list[IntervalsLike | None], sizes: dict[str, int]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per chromosome: sorted region starts and the running maximum of their ends."""
    parts = [(peaks.chrom, peaks.start - padding, peaks.end + padding)]
    for other in others:
        if other is None:
            continue
        regions, _ = _intervals(other, "exclude")
        parts.append((regions.chrom, regions.start - padding, regions.end + padding))
    chrom = np.concatenate([p[0] for p in parts])
    lo = np.concatenate([p[1] for p in parts])
    hi = np.concatenate([p[2] for p in parts])
    mine = {name: chrom == name for name in set(chrom.tolist()) & set(sizes)}
    return {name: sorted_regions(lo[m], hi[m]) for name, m in mine.items()}


def _free(starts: np.ndarray, width: int, regions: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Mask of windows ``[s, s + width)`` that overlap no region."""
    if regions is None:
        return np.ones(len(starts), bool)
    return ~overlapping(starts, starts + width, regions)


def _scan_genome(fasta, peaks, chromosomes, draw_from, regions, width, stride, max_n_fraction):
    """Peak-window GC (reference) and candidate tiles (chromosome index, start, GC), one chromosome at a time."""
    from bpnet.core.console import track

    windows = peaks.windows(width)
    peak_gc, cand_chrom, cand_start, cand_gc = [], [], [], []
    for index, chrom in enumerate(track(chromosomes, "GC content of windows")):
        length = fasta.sizes[chrom]
        starts = windows.start[windows.chrom == chrom]
        starts = starts[(starts >= 0) & (starts + width <= length)]
        tiles = tile_starts(length, width, stride) if chrom in draw_from else np.zeros(0, np.int64)
        tiles = tiles[_free(tiles, width, regions.get(chrom))]
        gc, n = window_fractions(fasta.codes(chrom), np.concatenate([starts, tiles]), width)  # one pass for both
        ok = n <= max_n_fraction
        peak_gc.append(gc[: len(starts)][ok[: len(starts)]])
        keep = ok[len(starts) :]
        cand_chrom.append(np.full(int(keep.sum()), index, np.int32))
        cand_start.append(tiles[keep])
        cand_gc.append(gc[len(starts) :][keep])
    cat = np.concatenate
    return cat(peak_gc), (cat(cand_chrom), cat(cand_start), cat(cand_gc))


def _bin(gc: np.ndarray, bins: int) -> np.ndarray:
    return np.minimum((gc * bins).astype(np.int64), bins - 1)


def _targets(peak_counts: np.ndarray, ratio: float) -> np.ndarray:
    """Negatives per bin: ``ratio`` times the peaks, rounded by largest remainder to ``round(ratio * n)``."""
    wanted = peak_counts * ratio
    targets = np.floor(wanted).astype(np.int64)
    missing = int(round(ratio * peak_counts.sum())) - int(targets.sum())
    if missing > 0:
        order = np.argsort(-(wanted - targets), kind="stable")
        targets[order[:missing]] += 1
    return targets


def _tile_ids(chrom: np.ndarray, start: np.ndarray, stride: int, reach: int) -> np.ndarray:
    """Tile numbers such that two tiles overlap only if their numbers differ by less than ``reach``.

    Chromosomes are laid end to end with a gap of ``reach``, so tiles of different
    chromosomes never look like neighbours; the first tile number is ``reach``.
    """
    if not len(start):
        return start
    per_chrom = np.zeros(int(chrom.max()) + 1, np.int64)
    np.maximum.at(per_chrom, chrom, start // stride + 1)
    offsets = reach + np.concatenate([[0], np.cumsum(per_chrom + reach)[:-1]])
    return offsets[chrom] + start // stride


class _Pool:
    """Each GC bin's candidates in a random order, drawn without replacement.

    ``disjoint(b)`` gives the next candidate of bin ``b`` that overlaps no drawn one
    (those it passes over stay in the bin); ``any(b)`` the next one not drawn yet,
    overlapping or not. Both return -1 when the bin has none left.
    """

    def __init__(self, cand_bin: np.ndarray, tiles: np.ndarray, n_bins: int, reach: int, rng: np.random.Generator):
        order = rng.permutation(len(cand_bin))
        order = order[np.argsort(cand_bin[order], kind="stable")]
        bounds = np.searchsorted(cand_bin[order], np.arange(n_bins + 1))
        self.pool, self.tile, self.reach = order.tolist(), tiles.tolist(), reach
        self.cursor, self.stop = bounds[:-1].tolist(), bounds[1:].tolist()
        self.second = bounds[:-1].tolist()  # cursor of any(): the passed-over candidates are still there
        self.drawn = bytearray(int(tiles.max()) + reach + 1 if len(tiles) else 1)  # 1 where a drawn tile sits

    def disjoint(self, b: int) -> int:
        reach, drawn = self.reach, self.drawn
        while self.cursor[b] < self.stop[b]:
            c = self.pool[self.cursor[b]]
            self.cursor[b] += 1
            t = self.tile[c]
            if drawn.find(1, t - reach + 1, t + reach) < 0:  # no drawn tile overlaps this one
                drawn[t] = 1
                return c
        return -1

    def any(self, b: int) -> int:
        while self.second[b] < self.stop[b]:
            c = self.pool[self.second[b]]
            self.second[b] += 1
            if not self.drawn[self.tile[c]]:
                self.drawn[self.tile[c]] = 1
                return c
        return -1

    def disjoint_first(self, b: int) -> int:
        c = self.disjoint(b)
        return c if c >= 0 else self.any(b)


def _draw(
    cand_bin: np.ndarray, tiles: np.ndarray, targets: np.ndarray, reach: int, overlap: Overlap, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Indices of the drawn candidates, and how many came from another bin than asked.

    Each bin's candidates are visited in a random order (sampling without
    replacement). First every bin serves its own demand with candidates that overlap
    no drawn one, the demands interleaved at random. With ``overlap="auto"``, what a
    bin cannot serve so is then served by its own overlapping candidates. What is
    still unmet is borrowed from the nearest bins with candidates left (ties broken at
    random), a disjoint candidate first where ``overlap`` is "auto". ``overlap=True``
    ignores overlaps altogether (every candidate is drawable, as ChromBPNet's tiles are).
    """
    pool = _Pool(cand_bin, tiles, len(targets), 1 if overlap is True else reach, rng)
    demand = np.repeat(np.arange(len(targets)), targets)
    rng.shuffle(demand)
    chosen, unmet = [], []
    for b in demand.tolist():
        c = pool.disjoint(b)
        (chosen if c >= 0 else unmet).append(c if c >= 0 else b)
    if overlap == "auto":
        still = []
        for b in unmet:
            c = pool.any(b)
            (chosen if c >= 0 else still).append(c if c >= 0 else b)
        unmet = still
        borrowed = _borrow(unmet, pool.disjoint_first, pool.second, pool.stop, rng, chosen)
    else:
        borrowed = _borrow(unmet, pool.disjoint, pool.cursor, pool.stop, rng, chosen)
    return np.asarray(chosen, dtype=np.int64), borrowed


def _borrow(
    unmet: list[int], take: Callable[[int], int], cursor: list[int], stop: list[int], rng: np.random.Generator, chosen: list[int]
) -> int:
    """Serve each unmet bin from the nearest bins that ``take`` still draws from; append to ``chosen``.

    A bin is tried while its ``cursor`` is below its ``stop``, and dropped once ``take`` finds nothing in it.
    """
    live = [b for b in range(len(stop)) if cursor[b] < stop[b]]
    coin = (rng.random(len(unmet)) < 0.5).tolist()
    borrowed = 0
    for b, heads in zip(unmet, coin):
        while live:
            i = bisect.bisect_left(live, b)
            below = live[i - 1] if i > 0 else None
            above = live[i] if i < len(live) else None
            if below is None or (above is not None and (above - b < b - below or (above - b == b - below and heads))):
                pick, at = above, i
            else:
                pick, at = below, i - 1
            c = take(pick)
            if c >= 0:
                chosen.append(c)
                borrowed += 1
                break
            del live[at]
        else:
            break
    return borrowed


def _n_overlapping(negatives: Intervals) -> int:
    """Intervals of a sorted, equal-width set that overlap at least one other."""
    touch = (negatives.chrom[1:] == negatives.chrom[:-1]) & (negatives.start[1:] < negatives.end[:-1])
    flags = np.zeros(len(negatives), bool)
    flags[1:] |= touch
    flags[:-1] |= touch
    return int(flags.sum())


def _shortfall_reason(n_negatives: int, n_requested: int, n_candidates: int, padding: int, allow_overlap: Overlap) -> str | None:
    """Why ``n_negatives < n_requested`` and what to do, or None when the request was met."""
    if n_negatives >= n_requested:
        return None
    if n_candidates < n_requested:  # the only way to fall short unless allow_overlap is false
        disjoint = " (and allow_overlap: false draws only disjoint ones)" if allow_overlap is False else ""
        return (
            f"only {n_candidates} candidate tiles are left once peaks, blacklist and exclude regions (with {padding} bp "
            f"padding) are taken out{disjoint}: lower padding, stride or ratio, or draw from more chromosomes"
        )
    return (
        f"negatives may not overlap each other (allow_overlap: false) and the {n_candidates} candidate tiles hold only "
        f"{n_negatives} disjoint ones: set allow_overlap to auto, or lower padding, stride or ratio"
    )


def _warn(report: MatchReport, log: logging.Logger) -> None:
    """A WARNING for a short set (both numbers and the reason) and for a poor GC match."""
    if report.shortfall_reason:
        log.warning("only %d of the %d negatives asked for could be drawn: %s", report.n_negatives, report.n_requested,
                    report.shortfall_reason)
    if report.ks_statistic >= GOOD_KS:
        cause = (
            "the disjoint candidates of the peaks' GC ran out: set allow_overlap to auto"
            if report.allow_overlap is False and report.n_borrowed
            else "the candidate tiles lack the peaks' GC: lower padding, stride or ratio, or draw from more chromosomes"
        )
        log.warning(
            "negatives match the peaks' GC poorly (KS statistic %.3f, good is below %.2f; GC mean %.3f for peaks, %.3f for "
            "negatives, %.3f over all %d candidate tiles): %s",
            report.ks_statistic, GOOD_KS, report.peak_gc_mean, report.negative_gc_mean, report.candidate_gc_mean,
            report.n_candidates, cause,
        )


def _report(
    peak_gc, neg_gc, cand_gc, edges, n_requested, borrowed, n_left_out, ratio, width, stride, padding, seed, *, allow_overlap,
    n_overlapping,
) -> MatchReport:
    from scipy.stats import ks_2samp

    bins = len(edges) - 1
    if len(neg_gc):
        exact = len(peak_gc) * len(neg_gc) <= 10_000  # scipy's exact method is slow and may not converge beyond
        ks = ks_2samp(peak_gc, neg_gc, method="exact" if exact else "asymp")
        statistic, pvalue = float(ks.statistic), float(ks.pvalue)
    else:
        statistic, pvalue = 1.0, 0.0
    return MatchReport(
        n_peaks=len(peak_gc), n_peaks_left_out=n_left_out, n_candidates=len(cand_gc), n_requested=n_requested,
        n_negatives=len(neg_gc), n_borrowed=borrowed, allow_overlap=allow_overlap, n_overlapping=n_overlapping,
        shortfall_reason=_shortfall_reason(len(neg_gc), n_requested, len(cand_gc), padding, allow_overlap),
        ratio=ratio, width=width, stride=stride, padding=padding, seed=seed,
        ks_statistic=statistic, ks_pvalue=pvalue,
        peak_gc_mean=float(peak_gc.mean()), negative_gc_mean=float(neg_gc.mean()) if len(neg_gc) else float("nan"),
        candidate_gc_mean=float(cand_gc.mean()),
        bin_edges=[round(float(e), 6) for e in edges],
        peak_histogram=np.bincount(_bin(peak_gc, bins), minlength=bins).tolist(),
        negative_histogram=np.bincount(_bin(neg_gc, bins), minlength=bins).tolist(),
        candidate_histogram=np.bincount(_bin(cand_gc, bins), minlength=bins).tolist(),
    )


def _coarsen(counts: np.ndarray, edges: np.ndarray, target: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Merge runs of neighbouring bins so a plot shows about ``target`` of them: (counts, edges)."""
    factor = max(1, len(counts) // target)
    starts = np.arange(0, len(counts), factor)
    return np.add.reduceat(counts, starts), np.append(edges[starts], edges[-1])


def _support(report: MatchReport) -> tuple[float, float]:
    edges = np.asarray(report.bin_edges)
    used = np.flatnonzero(
        np.asarray(report.peak_histogram)
        + np.asarray(report.negative_histogram)
        + np.asarray(report.candidate_histogram)
    )
    if not len(used):
        return 0.0, 1.0
    return max(0.0, edges[used[0]] - 0.05), min(1.0, edges[used[-1] + 1] + 0.05)
