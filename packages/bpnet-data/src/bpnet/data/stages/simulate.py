"""The ``simulate`` stage: a simulated ChIP or ATAC experiment as the first step of a pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams

#: Parameters given by their own fields; everything else of SimulationConfig goes in ``options``.
_OWN = {"kind", "seed", "genome_size", "n_chroms", "n_peaks", "depth", "frip", "reads"}


class SimulateParams(StageParams):
    kind: Literal["chip", "atac"] = Field("chip", description="chip: stranded single-end reads + control; atac: paired-end Tn5 fragments")
    seed: int = Field(0, ge=0, description="seed of every random draw (same seed, same files)")
    genome_size: int = Field(8_000_000, ge=40_000, description="total genome length (bp)")
    chroms: int = Field(4, ge=1, le=1000, description="number of chromosomes, chr1..chrN")
    n_peaks: int | None = Field(None, ge=1, description="number of true peaks (default: one per 20 kb)")
    depth: int | None = Field(None, ge=1, description="chip: reads (default genome_size/10); atac: fragments (default genome_size/8)")
    frip: float | None = Field(None, gt=0.0, lt=1.0, description="expected fraction of reads (chip, 0.65) or cuts (atac, 0.5) from peaks")
    motifs: Input | None = Field(None, description="MEME file of motifs to plant (default: the bundled JASPAR 2024 motifs)")
    reads: bool = Field(True, description="simulate reads; false writes only genome, motifs, sites and peaks")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="further simulator parameters (fields of bpnet.data.simulate.SimulationConfig, e.g. max_sites, read_length, tn5_strength)",
    )
    out: Output = Field(Path("simulation"), description="simulation folder (genome.fa, peaks.narrowPeak, reads.bam, signal/, ...)")

    @field_validator("options")
    @classmethod
    def _known_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        from bpnet.data.simulate.simulator import SimulationConfig

        allowed = set(SimulationConfig.model_fields) - _OWN
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise ValueError(f"unknown simulator option(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")
        return options


class Simulate(Stage):
    """Simulate a genome, planted motifs, true peaks and ChIP or ATAC reads (see bpnet simulate)."""

    name = "simulate"
    Params = SimulateParams

    def run(self, params: SimulateParams, context: StageContext) -> None:
        from bpnet.data.simulate.simulator import simulate

        result = simulate(
            params.out, params.kind, params.seed, genome_size=params.genome_size, n_chroms=params.chroms,
            n_peaks=params.n_peaks, motifs=params.motifs, reads=params.reads, depth=params.depth, frip=params.frip,
            overwrite=True, **params.options,
        )
        counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
        context.log.info("simulated %s (seed %d): %s", params.kind, params.seed, counts)
