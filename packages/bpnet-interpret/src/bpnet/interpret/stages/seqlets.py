"""The ``seqlets`` stage: recursive seqlet calls on one head's attributions, as BED.

Output ``seqlets.bed`` (BED6+, one ``#`` header line naming the columns): ``chrom``,
``start``, ``end`` (genome coordinates: the window's ``loci/start`` plus the offset in
the window), ``name`` (``seqlet_<i>``), ``score`` (sum of observed attributions),
``strand`` (``.``), ``p_value``, ``window_index`` (row of the attribution file), sorted
by score, largest first. See :mod:`bpnet.interpret.seqlets` for the calling.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams


class SeqletsParams(StageParams):
    attributions: Input = Field(..., description="one head's attribution file from an attribute stage, e.g. '@attribute.scores/counts.h5'")
    threshold: float = Field(
        0.01,
        gt=0,
        le=1,
        description=(
            "p-value every internal span of a seqlet must beat (a ranking cutoff, not an error rate: lower it for "
            "fewer, stronger seqlets)"
        ),
    )
    min_seqlet_len: int = Field(4, ge=1, description="shortest seqlet (bp), and the shortest internal span that must be significant")
    max_seqlet_len: int = Field(25, ge=1, description="longest seqlet (bp) before flanks are added")
    additional_flanks: int = Field(3, ge=0, description="bp added on each side of every call (flanks may overlap a neighbouring seqlet)")
    n_bins: int = Field(1000, ge=2, description="bins of the attribution histogram the null distribution of span sums is built from")
    window: int | None = Field(
        None,
        ge=1,
        description=(
            "call seqlets only in the central window of this width (bp), e.g. 1000 for the output window; empty: the "
            "whole input window"
        ),
    )
    seqlets: Output = Field(
        Path("seqlets.bed"),
        description=(
            "BED6+ with a '#' header: chrom, start, end, name, score (attribution sum), strand, p_value, "
            "window_index; largest score first"
        ),
    )

    @model_validator(mode="after")
    def _lengths(self) -> SeqletsParams:
        if self.max_seqlet_len < self.min_seqlet_len:
            raise ValueError(f"max_seqlet_len ({self.max_seqlet_len}) must be at least min_seqlet_len ({self.min_seqlet_len})")
        if self.window is not None and self.window < self.min_seqlet_len:
            raise ValueError(f"window ({self.window}) must be at least min_seqlet_len ({self.min_seqlet_len})")
        return self


class Seqlets(Stage):
    """Seqlets (short high-attribution spans) of one head's attributions, with tangermeme's recursive caller (BED)."""

    name = "seqlets"
    Params = SeqletsParams

    def run(self, params: SeqletsParams, context: StageContext) -> None:
        from ..scores import read_scores
        from ..seqlets import call_seqlets, check_attributions, describe, write_seqlets_bed

        label = f"attributions: {params.attributions}"
        scores = read_scores(params.attributions, label="attributions")
        check_attributions(scores, label)
        context.log.info(
            "calling seqlets on %d window(s) of %d bp (%s head)%s", len(scores), scores.input_length, scores.head or "unknown",
            f", central {params.window} bp" if params.window else "",
        )
        seqlets = call_seqlets(
            scores, threshold=params.threshold, min_seqlet_len=params.min_seqlet_len, max_seqlet_len=params.max_seqlet_len,
            additional_flanks=params.additional_flanks, n_bins=params.n_bins, window=params.window,
        )
        write_seqlets_bed(params.seqlets, seqlets)
        if len(seqlets):
            context.log.info("%s", describe(seqlets, len(scores)))
        else:
            why = "the file holds no windows" if not len(scores) else (
                "no span passed the threshold (or every attribution is the same value)"
            )
            context.log.warning(
                "no seqlets called in %d window(s): %s; wrote a header-only %s. Raise threshold or check the attribute stage",
                len(scores), why, params.seqlets.name,
            )
