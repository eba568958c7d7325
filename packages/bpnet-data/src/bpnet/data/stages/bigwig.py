"""The reads-to-bigwig stage: BAM/SAM/tsv reads to a track set of per-base count bigWigs."""

from __future__ import annotations

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

    def count_options(self) -> CountOptions:
        return CountOptions(
            stranded=self.stranded, ends=self.ends, paired_end=self.paired_end, shift_plus=self.shift_plus,
            shift_minus=self.shift_minus, min_mapq=self.min_mapq, drop_duplicates=self.drop_duplicates,
            drop_secondary=self.drop_secondary,
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
