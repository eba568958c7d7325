"""The ``negatives`` stage: background loci matched to the GC content of the peaks."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams


class GcMatchedNegativesParams(StageParams):
    genome: Input = Field(..., description="reference genome FASTA (plain or bgzip)")
    peaks: Input = Field(..., description="peaks, BED or narrowPeak (summit in column 10); they must lie on the genome's chromosomes")
    blacklist: Input | None = Field(
        None, description="BED of regions no negative may come near (e.g. the ENCODE blacklist); none by default"
    )
    exclude: list[Input] = Field(
        default_factory=list,
        description="more BED files of regions to avoid, like the blacklist (e.g. peaks of other samples)",
    )
    width: int = Field(
        2114,
        ge=1,
        description="window width in bp: the peaks' GC is measured over it (centred on the summit) and negatives are this wide",
    )
    ratio: float = Field(2.0, gt=0, description="negatives per peak (2: ChromBPNet's prep nonpeaks default; bpnet-lite uses 1)")
    stride: int = Field(
        500,
        ge=1,
        description="bp between candidate background tiles (ChromBPNet: 1000; 500 gives more candidates, so GC matches better)",
    )
    padding: int | None = Field(
        None,
        ge=0,
        description=(
            "bp kept clear around each peak interval, blacklist and exclude region (default width // 2, as "
            "ChromBPNet; 0 keeps negatives off the peaks only, as bpnet-lite)"
        ),
    )
    chroms: list[str] | None = Field(None, description="chromosomes to draw negatives from; default: those holding peaks")
    bins: int = Field(
        500,
        ge=1,
        description="GC bins over [0, 1] for the matching (500: 0.002 wide); a bin that runs out borrows from its nearest neighbours",
    )
    max_n_fraction: float = Field(0.1, ge=0, le=1, description="largest share of N bases in a peak window or a candidate tile")
    allow_overlap: Literal["auto"] | bool = Field(
        "auto",
        description=(
            "may negatives overlap each other? auto: only where a GC bin has no disjoint candidate left (sparse genomes "
            "keep disjoint negatives, dense GC-rich ones keep the GC match); false: never (the set may fall short); "
            "true: overlaps are ignored, as in ChromBPNet"
        ),
    )
    seed: int = Field(0, description="seed of the random draws; the same inputs and seed give the same negatives")
    negatives: Output = Field(
        Path("negatives.bed"),
        description="negatives, narrowPeak-style BED (summit offset width // 2 in column 10), sorted",
    )
    report: Output = Field(
        Path("gc_match.json"),
        description="match report: KS statistic, GC means and histograms of peaks and negatives, counts asked and drawn, "
        "overlapping negatives, why a set fell short",
    )
    plot: Output = Field(
        Path("gc_match.png"),
        description="GC distributions of peaks, negatives and all candidate tiles overlaid, KS statistic in the title",
    )


class GcMatchedNegatives(Stage):
    """Background loci matched to the GC content of the peaks (ChromBPNet / bpnet-lite negatives)."""

    name = "negatives"
    Params = GcMatchedNegativesParams

    def run(self, params: GcMatchedNegativesParams, context: StageContext) -> None:
        from ..negatives import gc_matched_negatives, plot_gc_match

        negatives, report = gc_matched_negatives(
            params.genome, params.peaks,
            width=params.width, ratio=params.ratio, stride=params.stride, padding=params.padding,
            blacklist=params.blacklist, exclude=params.exclude, chroms=params.chroms,
            bins=params.bins, max_n_fraction=params.max_n_fraction, allow_overlap=params.allow_overlap, seed=params.seed,
            log=context.log,
        )
        negatives.write_bed(params.negatives, narrowpeak=True)
        report.write(params.report)
        plot_gc_match(report, params.plot)
        context.log.info(
            "GC match: KS statistic %.4f (p = %.3g) over %d peaks and %d negatives (%d asked, %d overlapping another)",
            report.ks_statistic,
            report.ks_pvalue,
            report.n_peaks,
            report.n_negatives,
            report.n_requested,
            report.n_overlapping,
        )
