"""The simulator's parameters: one pydantic model, light to import (the stage and the
command line describe their options from it)."""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class GcDomains(BaseModel):
    """Opt-in GC structure: long GC-poor and GC-rich domains alternate, and peaks crowd into the rich ones.

    Real genomes are like this (isochores of hundreds of kb, peaks dense in the GC-rich
    ones), and it is what makes GC matching hard: the peaks and their padding take up
    much of the GC-rich background.
    """

    model_config = ConfigDict(extra="forbid")

    size: int = Field(
        300_000, ge=10_000,
        description="mean domain length (bp): rich domains average 2 * size * rich_fraction, poor ones 2 * size * (1 - rich_fraction)",
    )
    rich_fraction: float = Field(0.3, gt=0.0, lt=1.0, description="expected share of the genome in GC-rich domains")
    peak_share: float = Field(
        0.9, ge=0.0, le=1.0,
        description="share of the peaks placed in GC-rich domains: round(peak_share * n_peaks) peaks in about "
        "rich_fraction * genome_size bp, so n_peaks sets their density",
    )


#: ``exp(AFFINITY_DEFAULT * (r - 1))``: how site strength has always grown with the relative motif score r.
AFFINITY_DEFAULT = 4.0

#: Named bundles of options: ``preset: <name>`` fills these fields unless they are given too.
PRESETS: dict[str, dict[str, Any]] = {
    # a second ChIP dataset built unlike the default one: no depleted background, peaks
    # clustered in GC domains, artefact hotspots in ChIP and control, motif- and
    # orientation-dependent footprints, and sites from weak to strong
    "independent": {
        "motif_names": ["CTCF", "GATA1"],
        "deplete_above": None,
        "min_site_score": 0.75,
        "affinity_strength": 8.0,
        "activity_sd": 0.6,
        "gc_domains": {},
        "hotspots": 20,
        "strand_shift": {"CTCF": 15, "GATA1": -10},
    },
}


def preset(name: str) -> dict[str, Any]:
    """A copy of the options of preset ``name`` (see :data:`PRESETS`); pass them as
    ``simulate(..., **preset(name))``, or give ``preset=name`` to the simulator."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[name])


class SimulationConfig(BaseModel):
    """Every parameter of a simulation (lengths in bp; see :mod:`bpnet.data.simulate`)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["chip", "atac"] = Field("chip", description="chip: stranded single-end reads + control; atac: Tn5 fragments")
    seed: int = Field(0, ge=0, description="seed of every random draw")
    genome_size: int = Field(8_000_000, ge=40_000, description="total genome length (bp)")
    n_chroms: int = Field(4, ge=1, le=1000, description="number of chromosomes, chr1..chrN")
    n_peaks: int | None = Field(None, ge=1, description="number of true peaks (default: one per 20 kb)")
    reads: bool = Field(True, description="simulate reads; False writes only genome, motifs, sites and peaks")
    depth: int | None = Field(
        None,
        ge=1,
        description="chip: reads in reads.bam (default genome_size/10); atac: fragments (default genome_size/8)",
    )
    control_depth: int | None = Field(None, ge=0, description="chip: reads in control.bam (default: depth)")
    frip: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="expected fraction of reads (chip, default 0.65) or cuts (atac, default 0.5) from peaks",
    )
    max_sites: int = Field(3, ge=1, le=9, description="motif instances per peak: uniform in 1..max_sites")
    min_distance: int = Field(1000, ge=0, description="minimum distance between peak centres (bp)")
    gc_range: tuple[float, float] = Field((0.35, 0.60), description="range of isochore GC fractions")
    isochore_size: int = Field(50_000, ge=1000, description="mean isochore (constant-GC block) length (bp)")
    gc_preference: float = Field(1.0, description="peaks favour GC-rich isochores by exp(gc_preference * z), z in [-1, 1]")
    gc_domains: GcDomains | None = Field(
        None,
        description="opt-in: isochores grouped in alternating GC-poor domains (GC in the lower half of gc_range) and GC-rich "
        "ones (upper half), peaks clustered in the rich ones; {} or true for the defaults; null (default): no domains",
    )
    gc_bias: float = Field(0.2, ge=0.0, le=0.95, description="background read/cut density 1 + gc_bias * z")
    amplified_fraction: float = Field(0.05, ge=0.0, le=1.0, description="chip: fraction of isochores with extra copies")
    amplification: float = Field(1.5, gt=0.0, description="chip: copy number of amplified isochores (relative)")
    min_site_score: float = Field(
        0.9, ge=0.0, le=1.0,
        description="planted sites are drawn from the motif's probabilities and redrawn while they score below this relative score "
        "(0 the motif's lowest log-odds, 1 its consensus); above deplete_above, so planted sites stand out of the background",
    )
    deplete_above: float | None = Field(
        0.8, ge=0.0, le=1.0,
        description="background windows matching a planted motif at this relative score or more (0 lowest, 1 best; either strand) "
        "are swapped away before planting, so only planted sites match strongly; null keeps the random background as drawn",
    )
    activity_sd: float = Field(0.25, ge=0.0, description="sd of the per-peak log-normal activity")
    affinity_strength: float = Field(
        AFFINITY_DEFAULT, ge=0.0,
        description="a site's strength is activity * exp(affinity_strength * (r - 1)), r its relative motif score: "
        "0 makes every site equally strong, larger values widen the range (with a lower min_site_score)",
    )
    motif_names: list[str] | None = Field(
        None, min_length=1,
        description="opt-in: plant only these motifs of the motif file (names or alt names, e.g. [CTCF, GATA1]); null: all",
    )
    read_length: int = Field(50, ge=10, le=500, description="read length (bp)")
    fragment_length: float = Field(200.0, ge=20.0, description="chip: mean fragment length (bp)")
    fragment_sd: float = Field(60.0, ge=0.0, description="chip: fragment length sd (bp)")
    centre_sd: float = Field(30.0, ge=0.0, description="chip: sd of the fragment centre around the site centre (bp)")
    strand_shift: dict[str, int] = Field(
        default_factory=dict,
        description="chip, opt-in: motif name (or alt name) -> bp by which the fragments of that motif's sites are centred "
        "downstream of the site centre along the site's strand (negative: upstream), so the + and - read lobes sit at "
        "unequal distances from the site, mirrored with the site's orientation (as in ChIP-exo); {} (default): none",
    )
    hotspots: int = Field(
        0, ge=0, le=100_000,
        description="chip, opt-in: number of artefact hotspots, narrow regions away from the peaks with extra reads "
        "in ChIP and control alike (written to hotspots.bed); 0 (default): none",
    )
    hotspot_strength: float = Field(
        20.0, gt=0.0,
        description="chip: a hotspot adds this many times the mean background read density of each library (ChIP, control)",
    )
    hotspot_width: tuple[int, int] = Field((300, 3000), description="chip: hotspot widths are log-uniform in this range (bp)")
    accessibility_sd: float = Field(60.0, gt=0.0, description="atac: sd of each site's Gaussian of accessibility (bp)")
    footprint: float = Field(0.5, ge=0.0, lt=1.0, description="atac: fraction of cuts a bound site's bases lose")
    tn5_strength: float = Field(1.0, ge=0.0, description="atac: cut weight is 2 ** (tn5_strength * Tn5 log-odds in bits)")

    preset: Literal[tuple(PRESETS)] | None = Field(  # type: ignore[valid-type]
        None,
        description=f"opt-in: a named bundle of options ({', '.join(PRESETS)}; see bpnet.data.simulate.config.PRESETS), "
        "filling the fields it names unless they are given too",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, values: Any) -> Any:
        """Fill in the preset's fields; the fields given explicitly win (an unknown name fails as the field's value)."""
        if not isinstance(values, dict) or values.get("preset") not in PRESETS:
            return values
        return {**preset(values["preset"]), **values}

    @field_validator("gc_domains", mode="before")
    @classmethod
    def _domains_switch(cls, value: object) -> object:
        """``true`` turns the domains on with their defaults, ``false`` leaves them off."""
        if value is True:
            return {}
        return None if value is False else value

    @model_validator(mode="after")
    def _check(self) -> SimulationConfig:
        lo, hi = self.gc_range
        if not 0.0 < lo <= hi < 1.0:
            raise ValueError(f"gc_range must satisfy 0 < low <= high < 1, got {self.gc_range}")
        if not 1 <= self.hotspot_width[0] <= self.hotspot_width[1] <= 100_000:
            raise ValueError(f"hotspot_width must satisfy 1 <= low <= high <= 100000, got {self.hotspot_width}")
        far = {name: shift for name, shift in self.strand_shift.items() if abs(shift) > 500}
        if far:
            raise ValueError(f"strand_shift must stay within 500 bp of the site, got {far}")
        if self.kind != "chip" and (self.hotspots or self.strand_shift):
            given_by = f" (preset {self.preset} sets them)" if self.preset else ""
            raise ValueError(f"hotspots and strand_shift shape ChIP reads: use them with kind chip{given_by}")
        if self.deplete_above is not None and self.min_site_score <= self.deplete_above:
            raise ValueError(
                f"min_site_score ({self.min_site_score}) must be above deplete_above ({self.deplete_above}): planted sites "
                "must score higher than anything left in the depleted background"
            )
        return self

    def inactive_options(self) -> list[str]:
        """Opt-in fields left off (or at the value the simulator always used): simulation.json leaves them
        out, so runs without them keep the manifest they always had."""
        off = {
            "motif_names": self.motif_names is None,
            "affinity_strength": self.affinity_strength == AFFINITY_DEFAULT,
            "gc_domains": self.gc_domains is None,
            "strand_shift": not self.strand_shift,
            "hotspots": not self.hotspots,
            "hotspot_strength": not self.hotspots,
            "hotspot_width": not self.hotspots,
            "preset": self.preset is None,
        }
        return [name for name, is_off in off.items() if is_off]

    def resolved(self) -> SimulationConfig:
        """A copy with the defaults that depend on other parameters filled in."""
        from .layout import default_n_peaks

        n_peaks = self.n_peaks or default_n_peaks(self.genome_size)
        depth = self.depth or max(1, self.genome_size // (10 if self.kind == "chip" else 8))
        control = self.control_depth if self.control_depth is not None else depth
        frip = self.frip if self.frip is not None else (0.65 if self.kind == "chip" else 0.5)
        return self.model_copy(update={"n_peaks": n_peaks, "depth": depth, "control_depth": control, "frip": frip})
