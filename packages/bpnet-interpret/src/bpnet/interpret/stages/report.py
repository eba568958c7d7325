"""The ``report`` stage: one self-contained HTML page of training, evaluation and interpretation results.

It reads only the files the other stages saved (``training/``, ``metrics.json``,
``predictions.npz`` and, optionally, attribution files, TF-MoDISco results, pattern
annotations and marginalization tables), never a model, so it runs on a CPU in seconds
and can be re-run with other names or a new title without touching the stages before it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams


class ReportParams(StageParams):
    title: str = Field("bpnet report", description="title at the top of the page and in the browser tab")
    names: list[str] = Field(..., min_length=1, description="one section per model, in this order, e.g. ['ChIP BPNet', 'ATAC ChromBPNet']")
    training: list[Input] = Field(
        default_factory=list,
        description="the training/ folder of each model's train-bpnet or train-chrombpnet stage, in the order of names"
        "; leave empty for models without one, such as imported models: their loss curves then show as not available",
    )
    metrics: list[Input] = Field(..., description="each model's metrics.json from its evaluate stage, in the order of names")
    predictions: list[Input] = Field(..., description="each model's predictions.npz from its evaluate stage, in the order of names")
    attributions: list[Input] = Field(
        default_factory=list,
        description="optional: one head's attribution file of each model's attribute stage, in the order of names, e.g. "
        "'@chip-attribute.scores/counts.h5'; shows the peaks with the largest attributions as logos and tracks",
    )
    modisco: list[Input] = Field(
        default_factory=list,
        description="optional: each model's TF-MoDISco results file, in the order of names, e.g. '@chip-modisco.results'; "
        "shows the top patterns' logos",
    )
    annotations: list[Input] = Field(
        default_factory=list,
        description="optional: each model's patterns.tsv of its annotate stage, in the order of names, e.g. "
        "'@chip-annotate.patterns_table'; names the patterns after their best database matches",
    )
    marginalization: list[Input] = Field(
        default_factory=list,
        description="optional: each model's marginalization.tsv of its marginalize stage, in the order of names, e.g. "
        "'@chip-marginalize.table'; shows the ranked motif effects",
    )
    marginalization_effects: list[Input] = Field(
        default_factory=list,
        description="optional: each model's effects.npz of its marginalize stage, in the order of names, e.g. "
        "'@chip-marginalize.effects'; adds the mean profile change of the top motifs",
    )
    report: Output = Field(Path("report.html"), description="the report: one HTML file, figures embedded, readable offline")

    @model_validator(mode="after")
    def _one_per_name(self) -> "ReportParams":
        n = len(self.names)
        for field, what in (
            ("metrics", "metrics.json"), ("predictions", "predictions.npz"), ("training", "training/ folder"),
            ("attributions", "attribution file"), ("modisco", "TF-MoDISco results file"), ("annotations", "patterns.tsv"),
            ("marginalization", "marginalization.tsv"), ("marginalization_effects", "effects.npz"),
        ):
            given = len(getattr(self, field))
            if field not in ("metrics", "predictions") and given == 0:
                continue
            if given != n:
                raise ValueError(f"{field} has {given} entr{'y' if given == 1 else 'ies'} but names has {n}: give one {what} per name, in the same order")
        if len(set(self.names)) != n:
            raise ValueError("names must be distinct: each names one section of the report")
        return self


class Report(Stage):
    """A self-contained HTML report of training, evaluation and interpretation (loss curves, metrics with guidance, counts, profiles, motifs)."""

    name = "report"
    Params = ReportParams

    def run(self, params: ReportParams, context: StageContext) -> None:
        from ..report import build_report
        from ..report.inputs import read_model_inputs
        from ..report.interpret_inputs import read_interpretation

        n = len(params.names)
        trainings = params.training or [None] * n
        models = [
            read_model_inputs(name, training, metrics, predictions)
            for name, training, metrics, predictions in zip(params.names, trainings, params.metrics, params.predictions)
        ]
        optional = ("attributions", "modisco", "annotations", "marginalization", "marginalization_effects")
        if any(getattr(params, field) for field in optional):
            columns = [getattr(params, field) or [None] * n for field in optional]
            for model, paths in zip(models, zip(*columns)):
                model.interpretation = read_interpretation(*paths)
        page = build_report(params.title, models)
        params.report.parent.mkdir(parents=True, exist_ok=True)
        params.report.write_text(page, encoding="utf-8")
        context.log.info("report: %d model section%s, %.1f MB", len(models), "" if len(models) == 1 else "s", len(page) / 1e6)
