"""The reads-to-bigwig stage: BAM/SAM/tsv reads to a track set of per-base count bigWigs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams

from ..errors import DataError
from ..readcount import CountOptions, reads_to_track_set

#: Parameter values each preset stands for (explicit parameters win).
PRESETS: dict[str, dict[str, Any]] = {
    "chip": {"stranded": True, "ends": "five-prime", "paired_end": False, "shift_plus": 0, "shift_minus": 0},
    "atac": {"stranded": False, "ends": "both", "paired_end": True, "shift_plus": 4, "shift_minus": -4},
}


class ReadsToBigwigParams(StageParams):
    reads: list[Input] = Field(
        ...,
        description=(
            "read files to count, summed into one track set: BAM (sorted; indexed if it has no index), SAM, "
            "reads/fragments as .tsv/.tsv.gz (chrom start end), or any file a read source plugin reads"
        ),
    )
    genome: Input = Field(
        ...,
        description="reference FASTA or chromosome-sizes file; the bigWigs cover its chromosomes and reads elsewhere are dropped",
    )
    preset: Literal["chip", "atac"] | None = Field(
        None,
        description=(
            "shorthand: 'chip' = stranded 5' ends; 'atac' = unstranded, both ends of paired-end fragments, shifts "
            "+4/-4 (parameters given explicitly win)"
        ),
    )
    stranded: bool = Field(True, description="write plus.bw and minus.bw (else a single unstranded.bw)")
    ends: Literal["five-prime", "three-prime", "both"] = Field(
        "five-prime", description="which end of each read/fragment to count; 'both' counts both ends (fragments, ATAC cut sites)"
    )
    paired_end: bool = Field(
        False,
        description="count one fragment per proper pair (from the mate with positive TLEN) instead of each read; BAM/SAM only",
    )
    shift_plus: int = Field(0, description="bp added to the left end of each read/fragment (+ strand 5' end); ATAC: 4")
    shift_minus: int = Field(0, description="bp added to the right end of each read/fragment (- strand 5' end); ATAC: -4")
    fragment_format: Literal["sequenced", "10x"] = Field(
        "sequenced",
        description=(
            "rows of text fragment files: 'sequenced' = fragments as sequenced (bpnet simulate, bedtools bamtobed -bedpe); "
            "'10x' = Tn5-adjusted cut sites as Cell Ranger writes them (start + 4, end - 5), turned back into fragments "
            "so that shifts apply as to a BAM (with preset atac the cuts are start and end)"
        ),
    )
    check_shifts: bool = Field(
        True,
        description=(
            "with ends 'both' and a FASTA genome: check the shifts against the base composition around the cut sites of "
            "the first 100,000 fragments of each input (a WARNING when they disagree; the result is in tracks.json)"
        ),
    )
    min_mapq: int = Field(0, ge=0, le=255, description="skip alignments with a lower mapping quality (0 keeps all, like bam2bw)")
    drop_duplicates: bool = Field(False, description="skip reads flagged as duplicates (SAM flag 1024)")
    drop_secondary: bool = Field(
        False, description="skip secondary and supplementary alignments (flags 256, 2048); always done with paired_end"
    )
    processes: int = Field(0, ge=0, description="worker processes per BAM file (0: one per CPU core); small files use one")
    tracks: Output = Field(Path("tracks"), description="track-set folder to write: bigWigs plus tracks.json")

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") in PRESETS:
            return {**PRESETS[data["preset"]], **data}
        return data

    @field_validator("reads")
    @classmethod
    def _known_formats(cls, reads: list[Path]) -> list[Path]:
        from ..sources import ReadSource, find_source

        if not reads:
            raise ValueError("give at least one BAM, SAM or tsv file")
        for path in reads:
            try:
                find_source(path, ReadSource)
            except DataError as exc:
                raise ValueError(str(exc)) from None
        return reads

    @model_validator(mode="after")
    def _fragments_for_10x(self) -> ReadsToBigwigParams:
        from ..sources import ReadSource, find_source
        from ..sources.reads import TsvSource

        if self.fragment_format == "10x" and not any(issubclass(find_source(p, ReadSource), TsvSource) for p in self.reads):
            raise ValueError(
                "fragment_format: 10x is for text fragment files (.tsv, .tsv.gz, .bed, .bed.gz) and reads has none: "
                "leave fragment_format out for BAM/SAM input"
            )
        return self

    def count_options(self) -> CountOptions:
        return CountOptions(
            stranded=self.stranded, ends=self.ends, paired_end=self.paired_end, shift_plus=self.shift_plus,
            shift_minus=self.shift_minus, min_mapq=self.min_mapq, drop_duplicates=self.drop_duplicates,
            drop_secondary=self.drop_secondary, fragment_format=self.fragment_format,
        )


class ReadsToBigwig(Stage):
    """Count read ends of BAM/SAM/tsv files into per-base bigWig tracks (a track set).

    Writes a folder with ``plus.bw`` and ``minus.bw`` (stranded) or ``unstranded.bw``,
    plus ``tracks.json`` recording the strands, the number of reads counted, the
    options and what was dropped. Counting follows bam2bw (bpnet-lite's tool): 5' end
    = left end + ``shift_plus`` on the + strand, right end - 1 + ``shift_minus`` on the
    - strand. Several files are summed. Controls are a second instance of the stage::

        stages:
          chip:
            stage: reads-to-bigwig
            params: {reads: [rep1.bam, rep2.bam], genome: hg38.fa}
          control:
            stage: reads-to-bigwig
            params: {reads: [input.bam], genome: hg38.fa}
          atac:
            stage: reads-to-bigwig
            params: {reads: [atac.bam], genome: hg38.fa, preset: atac}

    Reads on chromosomes the genome lacks (chrM, contigs) are dropped and counted in
    the log; names that do not match at all (``chr1`` vs ``1``) are an error.

    A 10x Genomics / Cell Ranger ``fragments.tsv.gz`` holds Tn5-adjusted cut sites:
    give ``fragment_format: 10x`` with ``preset: atac`` for the BAM's exact +4/-4 cuts.
    With ``ends: both`` and a FASTA genome, the shifts are checked against the base
    composition around the cut sites (:mod:`bpnet.data.cut_sites`); ``tracks.json``
    records the result under ``shift_check``.
    """

    name = "reads-to-bigwig"
    Params = ReadsToBigwigParams

    def run(self, params: ReadsToBigwigParams, context: StageContext) -> None:
        from ..sources import ReadSource, genome_sizes, open_source

        sizes = genome_sizes(params.genome)
        options = params.count_options()
        sources = [open_source(path, ReadSource) for path in params.reads]
        manifest = reads_to_track_set(
            sources, sizes, options, params.tracks, genome_label=str(params.genome), processes=params.processes, logger=context.log,
            description={"stage": self.name, "inputs": [str(p) for p in params.reads], "genome": str(params.genome)},
        )
        ends = manifest.description["ends"]
        context.log.info("%d reads, %d ends into %s", manifest.reads, ends, ", ".join(t.file for t in manifest.tracks))
        if params.check_shifts and params.ends == "both":
            checks = _check_shifts(params, sources, sizes, options, context.log)
            if checks:
                manifest.description["shift_check"] = checks
                manifest.write(params.tracks)


def _check_shifts(
    params: ReadsToBigwigParams, sources: list, sizes: dict[str, int], options: CountOptions, log: logging.Logger
) -> dict:
    """Each input's shift check (:mod:`bpnet.data.cut_sites`) by label; none without a FASTA genome."""
    from ..cut_sites import check_source
    from ..sources import open_source
    from ..sources.roles import SequenceSource

    try:
        genome = open_source(params.genome, SequenceSource)
    except DataError:
        log.info("shift check skipped: it needs the genome's sequence, and %s is not a FASTA", params.genome)
        return {}
    checks = {source.label: check_source(source, genome.codes, sizes, options, log) for source in sources}
    return {label: check for label, check in checks.items() if check is not None}
