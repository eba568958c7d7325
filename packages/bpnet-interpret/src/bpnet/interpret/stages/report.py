"""The ``report`` stage: one self-contained HTML page of training, evaluation and interpretation results.

It reads only the files the other stages saved (``training/``, ``metrics.json``,
``predictions.npz`` and, optionally, attribution files, TF-MoDISco results, pattern
annotations, the profile head's TF-MoDISco results and annotations beside them (a
BPNet's ``profile_modisco`` and ``profile_annotations``) and marginalization tables; for
a ChromBPNet, its bias model's TF-MoDISco patterns and their annotations, checked by
:mod:`bpnet.interpret.bias_patterns`), never a model, so it runs on a CPU in seconds and
can be re-run with other names or a new title without touching the stages before it.
Each entry of ``models`` is one section of the page::

    models:
      - name: ChIP BPNet
        training: "@chip-bpnet.training"
        metrics: "@chip-evaluate.metrics"
        predictions: "@chip-evaluate.predictions"
        modisco: "@chip-modisco.results"

The form before ``models`` (parallel lists ``names``, ``training``, ``metrics``, ...) is
still accepted for one release: it is converted, with a warning that shows the new form.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams

log = logging.getLogger(__name__)

#: the optional interpretation files of a section, in the order of :func:`read_interpretation`
INTERPRETATION_FILES = (
    "attributions", "modisco", "annotations", "marginalization", "marginalization_effects", "profile_modisco", "profile_annotations",
)


class ModelSection(BaseModel):
    """One model's section of the report: its heading and the files it is drawn from."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., description="the section's heading, e.g. 'ChIP BPNet'; distinct for each model")
    training: Input | None = Field(
        None,
        description="the training/ folder of the model's train-bpnet or train-chrombpnet stage; null (or left out) for "
        "models without one, such as imported models: their loss curves then show as not available",
    )
    metrics: Input = Field(..., description="the model's metrics.json from its evaluate stage")
    predictions: Input = Field(..., description="the model's predictions.npz from its evaluate stage")
    folds: Input | None = Field(
        None,
        description="optional, a model trained per fold: the folds.json of a summarize-folds stage, e.g. '@fold-summary.summary'; "
        "a table with one row per fold and the mean ± sd (metrics and predictions then show one fold, e.g. the first)",
    )
    attributions: Input | None = Field(
        None,
        description="optional: one head's attribution file of the model's attribute stage, e.g. "
        "'@chip-attribute.scores/counts.h5'; shows the peaks with the largest attributions as logos and tracks",
    )
    modisco: Input | None = Field(
        None,
        description="optional: the model's TF-MoDISco results file, e.g. '@chip-modisco.results' (bpnet init: the count "
        "head's); shows the top patterns' logos, titled by the head they came from",
    )
    annotations: Input | None = Field(
        None,
        description="optional: the patterns.tsv of the model's annotate stage, e.g. '@chip-annotate.patterns_table'; "
        "names the patterns after their best database matches",
    )
    profile_modisco: Input | None = Field(
        None,
        description="optional: TF-MoDISco results of the profile head when modisco holds the count head's, e.g. "
        "'@profile-modisco.results'; its patterns are shown beside the count head's (a ChIP-seq BPNet's motifs live in its "
        "profile head)",
    )
    profile_annotations: Input | None = Field(
        None,
        description="optional: the patterns.tsv of an annotate stage of profile_modisco's patterns, e.g. "
        "'@profile-annotate.patterns_table'; names them after their best database matches",
    )
    marginalization: Input | None = Field(
        None,
        description="optional: the marginalization.tsv of the model's marginalize stage, e.g. '@chip-marginalize.table'; "
        "shows the ranked motif effects",
    )
    marginalization_effects: Input | None = Field(
        None,
        description="optional: the effects.npz of the model's marginalize stage, e.g. '@chip-marginalize.effects'; "
        "adds the mean profile change of the top motifs",
    )

    bias_modisco: Input | None = Field(
        None,
        description="optional, ChromBPNet: the TF-MoDISco results of its bias model, e.g. '@bias-modisco.results'; logos "
        "of the bias model's top patterns",
    )
    bias_annotations: Input | None = Field(
        None,
        description="optional, ChromBPNet: the patterns.tsv of an annotate stage of the bias model's patterns against the "
        "bias motifs and TF motifs, e.g. '@bias-annotate.patterns_table'; checks that its top patterns are the enzyme's "
        "bias motifs, not TF motifs",
    )
    bias_motifs: Input | None = Field(
        None,
        description="which motifs of bias_annotations' database are the enzyme's: tn5 or dnase (built in) or a MEME file; "
        "empty: those of every built-in set",
    )

    @field_validator("bias_motifs", mode="before")
    @classmethod
    def _builtin_motifs(cls, value: object) -> object:
        from bpnet.data.motifs import motifs_location

        return motifs_location(value) if isinstance(value, str) else value  # a built-in set's name becomes its MEME file

    def interpretation_files(self) -> tuple[Path | None, ...]:
        return tuple(getattr(self, name) for name in INTERPRETATION_FILES)


class ReportParams(StageParams):
    title: str = Field("bpnet report", description="title at the top of the page and in the browser tab")
    models: list[ModelSection] = Field(
        ..., min_length=1,
        description="one section per model, in this order: name, metrics and predictions (required), training and the "
        "interpretation files (optional)",
    )
    report: Output = Field(Path("report.html"), description="the report: one HTML file, figures embedded, readable offline")

    @model_validator(mode="before")
    @classmethod
    def _accept_parallel_lists(cls, data: Any) -> Any:
        return sections_from_parallel_lists(data)

    @model_validator(mode="after")
    def _distinct_names(self) -> ReportParams:
        names = [section.name for section in self.models]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"model names must be distinct: each names one section of the report ({', '.join(repeated)} repeats)")
        return self


# --- the form before `models` (deprecated) ----------------------------------------------------------------

#: list parameter of the old form -> the field of a section it fills, and what one entry is
PARALLEL_LISTS = {
    "names": ("name", "name"),
    "training": ("training", "training/ folder"),
    "metrics": ("metrics", "metrics.json"),
    "predictions": ("predictions", "predictions.npz"),
    "attributions": ("attributions", "attribution file"),
    "modisco": ("modisco", "TF-MoDISco results file"),
    "annotations": ("annotations", "patterns.tsv"),
    "marginalization": ("marginalization", "marginalization.tsv"),
    "marginalization_effects": ("marginalization_effects", "effects.npz"),
}
#: lists the old form required
REQUIRED_LISTS = ("names", "metrics", "predictions")
_deprecation_logged = False


def sections_from_parallel_lists(data: Any) -> Any:
    """``data`` with the old parallel lists (``names``, ``metrics``, ...) turned into ``models``.

    Logs a deprecation warning, once per process, showing the converted parameters.
    Anything else comes back unchanged.
    """
    if not isinstance(data, dict) or not any(key in data for key in PARALLEL_LISTS):
        return data
    if "models" in data:
        raise ValueError(f"give models, not the deprecated lists {', '.join(k for k in PARALLEL_LISTS if k in data)} as well")
    lists = {key: data[key] for key in PARALLEL_LISTS if key in data}
    for key in REQUIRED_LISTS:
        if key not in lists:
            raise ValueError(f"{key} is missing (the deprecated form needs names, metrics and predictions); better, write models")
    for key, value in lists.items():
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{key} should be a list with one entry per name; better, write models")
    n = len(lists["names"])
    for key, value in lists.items():
        if key not in REQUIRED_LISTS and not value:
            continue
        if len(value) != n:
            what = PARALLEL_LISTS[key][1]
            raise ValueError(
                f"{key} has {len(value)} entr{'y' if len(value) == 1 else 'ies'} but names has {n}: give one {what} "
                "per name, in the same order"
            )
    models = [{PARALLEL_LISTS[key][0]: value[i] for key, value in lists.items() if value} for i in range(n)]
    _log_deprecation(models)
    return {**{key: value for key, value in data.items() if key not in PARALLEL_LISTS}, "models": models}


def _log_deprecation(models: list[dict[str, Any]]) -> None:
    global _deprecation_logged
    if _deprecation_logged:
        return
    _deprecation_logged = True
    shown = yaml.safe_dump({"models": [{k: str(v) for k, v in m.items()} for m in models]}, sort_keys=False, width=1000)
    log.warning(
        "report: the parallel lists names, training, metrics, predictions, ... are deprecated and will be removed in the "
        "next release; write one entry per model instead:\n%s", shown.rstrip(),
    )


class Report(Stage):
    """A self-contained HTML report of training, evaluation and interpretation (loss curves, metrics with guidance, counts, profiles, motifs)."""  # noqa: E501  (the first line is the stage's summary in `bpnet plugins`)

    name = "report"
    Params = ReportParams

    def run(self, params: ReportParams, context: StageContext) -> None:
        from ..report import build_report
        from ..report.inputs import read_model_inputs
        from ..report.interpret_inputs import read_bias_patterns, read_interpretation

        models = [read_model_inputs(s.name, s.training, s.metrics, s.predictions, s.folds) for s in params.models]
        if any(any(s.interpretation_files()) for s in params.models):  # then every section shows what is missing
            for model, section in zip(models, params.models):
                model.interpretation = read_interpretation(*section.interpretation_files())
        for model, section in zip(models, params.models):
            if section.bias_modisco is not None or section.bias_annotations is not None:
                model.bias_patterns = read_bias_patterns(section.bias_modisco, section.bias_annotations, section.bias_motifs)
        page = build_report(params.title, models)
        params.report.parent.mkdir(parents=True, exist_ok=True)
        params.report.write_text(page, encoding="utf-8")
        context.log.info("report: %d model section%s, %.1f MB", len(models), "" if len(models) == 1 else "s", len(page) / 1e6)
