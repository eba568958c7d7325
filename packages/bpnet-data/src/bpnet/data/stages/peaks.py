"""The ``call-peaks`` stage: MACS3 peaks (narrowPeak) from reads, fragments and controls."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams
from bpnet.core.versions import distribution_version

from ..errors import DataError
from ..peaks import GENOME_SHORTCUTS, call_peaks, check_extra_args, macs3_version


class CallPeaksParams(StageParams):
    reads: list[Input] = Field(
        ...,
        description=(
            "reads to call peaks on, pooled: BAM (single- or paired-end), SAM, BED reads (tagAlign) or fragments "
            "(tsv/tsv.gz, BEDPE)"
        ),
    )
    controls: list[Input] = Field(
        default_factory=list, description="control reads (ChIP input), pooled; same formats as reads; none by default",
    )
    genome: Input = Field(
        ...,
        description=(
            "genome FASTA (or chromosome sizes): chromosome names must match the reads; sets the genome size when "
            "genome_size is auto"
        ),
    )
    preset: Literal["chip", "atac"] = Field(
        "chip",
        description="chip: MACS3 defaults with its shift model, -q 0.01 (bpnet-lite); atac: ENCODE/ChromBPNet, Tn5 cut sites with "
        "-p 0.01 --nomodel --shift -75 --extsize 150 --keep-dup all --call-summits",
    )
    format: Literal["auto", "BAM", "BAMPE", "SAM", "BED", "BEDPE"] = Field(
        "auto",
        description="format of reads and controls: auto reads it from each file's content (never from its name); BED = reads with a "
        "strand in column 6, BEDPE = fragments (chrom start end ...)",
    )
    qvalue: float | None = Field(None, gt=0, le=1, description="q-value threshold (MACS3 -q); default: the preset's (chip 0.01)")
    pvalue: float | None = Field(
        None,
        gt=0,
        le=1,
        description="p-value threshold (MACS3 -p), instead of qvalue; default: the preset's (atac 0.01)",
    )
    genome_size: str | int = Field(
        "auto",
        description="effective genome size (MACS3 -g): auto counts the non-N bases of genome; or hs, mm, ce, dm, or a number of bases",
    )
    keep_duplicates: Literal["auto", "all"] | int | None = Field(
        None, description="MACS3 --keep-dup: auto, all, or at most this many reads per position; default: chip 1, atac all",
    )
    call_summits: bool | None = Field(
        None, description="split peaks with several summits (MACS3 --call-summits); default: atac yes, chip no"
    )
    tn5_shift: tuple[int, int] = Field(
        (4, -5),
        description="atac preset: bp added to the 5' end of + and - strand BAM/SAM reads (Tn5 offset); fragment files are not shifted",
    )
    max_peaks: int | None = Field(
        None, ge=1, description="keep only the strongest peaks by p-value (ENCODE ATAC keeps 300000); default: all"
    )
    extra_args: list[str] = Field(
        default_factory=list,
        description="more `macs3 callpeak` options, passed through as given, e.g. ['--nolambda'] or ['--max-gap', '100']; options the "
        "stage sets itself (-t, -c, -f, -g, -q, -p, --keep-dup, --call-summits, -n, --outdir) are refused",
    )
    peaks: Output = Field(
        Path("peaks.narrowPeak"),
        description="peaks, narrowPeak sorted by chromosome and start, summit offset in column 10",
    )
    summits: Output | None = Field(None, description="also keep MACS3's summits BED here (one line per summit); default: not kept")
    macs3_log: Output = Field(Path("macs3.log"), description="MACS3's full log (parameters, read counts, fragment length)")

    @field_validator("reads")
    @classmethod
    def _some_reads(cls, reads: list[Path]) -> list[Path]:
        if not reads:
            raise ValueError("give at least one reads file")
        return reads

    @field_validator("genome_size")
    @classmethod
    def _genome_size(cls, value: str | int) -> str | int:
        if isinstance(value, int):
            if value <= 0:
                raise ValueError("genome_size must be a positive number of bases")
            return value
        if value == "auto" or value in GENOME_SHORTCUTS:
            return value
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"genome_size {value!r}: use auto, {', '.join(GENOME_SHORTCUTS)} or a number of bases") from None
        if number <= 0:
            raise ValueError("genome_size must be a positive number of bases")
        return int(number)

    @field_validator("extra_args")
    @classmethod
    def _extra_args(cls, value: list[str]) -> list[str]:
        try:
            check_extra_args(value)
        except DataError as exc:
            raise ValueError(str(exc).removeprefix("extra_args: ")) from None
        return value

    @model_validator(mode="after")
    def _one_threshold(self) -> CallPeaksParams:
        if self.qvalue is not None and self.pvalue is not None:
            raise ValueError("give qvalue or pvalue, not both (MACS3 takes one threshold)")
        return self


class CallPeaks(Stage):
    """Call peaks with MACS3 (narrowPeak, summit in column 10), on reads with optional controls.

    MACS3 runs from bpnet's own environment (install bpnet-data with its ``peaks`` extra). Two
    presets: ``chip`` (bpnet-lite: MACS3's shift model, ``-q 0.01``) and ``atac``
    (the ENCODE ATAC-seq pipeline that ChromBPNet's peaks come from: Tn5 insertion
    sites, ``-p 0.01 --nomodel --shift -75 --extsize 150 --keep-dup all
    --call-summits``). The format of every file is read from its content and given
    to MACS3 explicitly, so ``fragments.tsv.gz`` works. MACS3's messages go to the
    run log; a failure reports MACS3's last messages and the command.

    Bring your own peaks instead: this stage is optional. Give your BED/narrowPeak
    file (e.g. ENCODE IDR peaks) straight to the ``negatives`` and ``loci`` stages.
    """

    name = "call-peaks"
    Params = CallPeaksParams

    @classmethod
    def code_version(cls) -> str:
        """The package version plus MACS3's, so a new MACS3 re-calls the peaks."""
        return f"{distribution_version(cls.__module__)}+macs3=={macs3_version() or 'missing'}"

    def run(self, params: CallPeaksParams, context: StageContext) -> None:
        result = call_peaks(
            params.reads,
            params.peaks,
            genome=params.genome,
            controls=params.controls,
            preset=params.preset,
            format=params.format,
            qvalue=params.qvalue,
            pvalue=params.pvalue,
            genome_size=params.genome_size,
            keep_duplicates=params.keep_duplicates,
            call_summits=params.call_summits,
            tn5_shift=params.tn5_shift,
            max_peaks=params.max_peaks,
            extra_args=params.extra_args,
            summits_out=params.summits,
            log_out=params.macs3_log,
            logger=context.log,
        )
        context.log.info("%d peaks (MACS3 format %s, genome size %s)", result.n_peaks, result.macs3_format, result.genome_size)
