"""The ``simulate`` stage: a simulated ChIP or ATAC experiment as the first step of a pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams

from ..simulate.config import SimulationConfig

#: the simulator's own definitions (type, default, bounds, description) of the stage's fields
_CONFIG = SimulationConfig.model_fields
#: Parameters given by their own fields; everything else of SimulationConfig goes in ``options``.
_OWN = {"kind", "seed", "genome_size", "n_chroms", "n_peaks", "depth", "frip", "reads"}


class SimulateParams(StageParams):
    kind: Literal["chip", "atac"] = _CONFIG["kind"]
    seed: int = _CONFIG["seed"]
    genome_size: int = _CONFIG["genome_size"]
    chroms: int = _CONFIG["n_chroms"]
    n_peaks: int | None = _CONFIG["n_peaks"]
    depth: int | None = _CONFIG["depth"]
    frip: float | None = _CONFIG["frip"]
    motifs: Input | None = Field(None, description="MEME file of motifs to plant (default: the bundled JASPAR 2024 motifs)")
    reads: bool = _CONFIG["reads"]
    options: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "further simulator parameters (fields of bpnet.data.simulate.SimulationConfig, e.g. max_sites, "
            "read_length, tn5_strength)"
        ),
    )
    out: Output = Field(Path("simulation"), description="simulation folder (genome.fa, peaks.narrowPeak, reads.bam, signal/, ...)")

    @field_validator("options")
    @classmethod
    def _known_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        allowed = set(_CONFIG) - _OWN
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise ValueError(f"unknown simulator option(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")
        return options

    @model_validator(mode="after")
    def _valid_simulation(self) -> SimulateParams:
        """Check the whole simulation (option values, rules between fields) when the spec is validated, not at run time."""
        try:
            SimulationConfig(
                kind=self.kind, seed=self.seed, genome_size=self.genome_size, n_chroms=self.chroms, n_peaks=self.n_peaks,
                depth=self.depth, frip=self.frip, reads=self.reads, **self.options,
            )
        except ValidationError as error:
            problems = "; ".join(
                (f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
                for e in error.errors()
            )
            raise ValueError(f"simulation parameters: {problems}") from None
        return self


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
