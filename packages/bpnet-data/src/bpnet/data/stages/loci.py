"""The ``loci`` stage: sequence and signal windows of peaks and negatives into ``loci.h5``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams


class ExtractLociParams(StageParams):
    genome: Input = Field(..., description="reference genome FASTA")
    peaks: Input = Field(..., description="peaks (narrowPeak or BED); windows centre on the summit where there is one")
    negatives: Input | None = Field(
        None, description="negative (background) loci as BED, e.g. from the negatives stage; centred on their midpoints"
    )
    signals: list[Input] = Field(
        ...,
        description="signal track sets (folders with tracks.json) or bigWig files; the model's targets, in this order",
    )
    controls: list[Input] = Field(
        default_factory=list, description="control track sets or bigWig files (e.g. ChIP input); none for ATAC/DNase"
    )
    splits: Input | None = Field(
        None,
        description="splits.json from the splits stage; loci are labelled train/valid/test by chromosome (without it: 'unassigned')",
    )
    fold: str = Field("fold_0", description="which fold of the split file labels the loci")
    input_length: int = Field(2114, ge=1, description="sequence window (bp) the model takes")
    output_length: int = Field(1000, ge=1, description="signal window (bp) the model predicts")
    control_length: int | None = Field(
        None, ge=1, description="control window (bp); default output_length (bpnet's BPNet crops controls to it)"
    )
    max_jitter: int = Field(
        128,
        ge=0,
        description="extra bp stored on each side for jitter augmentation (128 BPNet, 500 official ChromBPNet)",
    )
    use_summits: bool = Field(True, description="centre peaks on the narrowPeak summit (column 10) rather than the interval midpoint")
    off_chrom: Literal["drop", "error"] = Field(
        "drop", description="loci whose windows run off a chromosome end: drop them (logged) or stop with an error"
    )
    outlier_quantile: float | None = Field(
        0.99,
        gt=0,
        le=1,
        description=(
            "drop training peaks whose counts exceed outlier_factor x this quantile of training-peak counts "
            "(bpnet-lite); null keeps all"
        ),
    )
    outlier_factor: float = Field(1.2, gt=0, description="multiplier of the outlier quantile")
    loci: Output = Field(Path("loci.h5"), description="HDF5 file of the extracted loci (bpnet.data.loci.LociSet)")

    @field_validator("signals")
    @classmethod
    def _some_signal(cls, signals: list[Path]) -> list[Path]:
        if not signals:
            raise ValueError("give at least one signal track set or bigWig")
        return signals


class ExtractLoci(Stage):
    """Extract sequence and signal windows of peaks and negatives (loci.h5)."""

    name = "loci"
    Params = ExtractLociParams

    def run(self, params: ExtractLociParams, context: StageContext) -> None:
        from ..loci import count_outliers, describe, extract_loci
        from ..splits import read_splits

        fold = read_splits(params.splits).fold(params.fold, file=str(params.splits)) if params.splits else None
        with extract_loci(
            params.genome, params.peaks, params.negatives, params.signals, params.controls,
            input_length=params.input_length, output_length=params.output_length,
            control_length=params.control_length, max_jitter=params.max_jitter, use_summits=params.use_summits,
            fold=fold, fold_name=params.fold if fold else None, off_chrom=params.off_chrom, lazy=True,
        ) as extracted:  # windows are read a chunk of rows at a time, while loci.h5 is written
            loci = extracted
            if params.outlier_quantile is not None:
                outliers = count_outliers(loci, quantile=params.outlier_quantile, factor=params.outlier_factor)
                if outliers.any():
                    context.log.info(
                        "dropped %d training peak(s) with counts above %g x quantile %g",
                        int(outliers.sum()), params.outlier_factor, params.outlier_quantile,
                    )
                    loci = loci.subset(~outliers)
            for line in describe(loci):
                context.log.info(line)
            loci.save(params.loci)
