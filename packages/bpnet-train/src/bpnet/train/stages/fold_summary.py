"""The ``summarize-folds`` stage: every fold's held-out metrics side by side, with mean and sd.

Its ``metrics`` are the metrics.json files of a per-fold evaluate stage; written as
``metrics: ["@evaluate.metrics"]`` in a spec with folds, that list holds every fold's
file. Outputs: ``folds.json`` (:mod:`bpnet.core.formats.folds`) and ``folds.tsv``, one
row per fold and block (peaks, negatives, and for a ChromBPNet its bias model alone) and
rows ``mean`` and ``sd``; the report shows the table.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams


class SummarizeFoldsParams(StageParams):
    metrics: list[Input] = Field(
        ..., min_length=1, description="every fold's metrics.json from its evaluate stage, e.g. ['@evaluate.metrics'] in a spec with folds",
    )
    names: list[str] | None = Field(
        None,
        description="a name per metrics file, in the same order; empty: each file's folder name (a per-fold stage's folder is its fold)",
    )
    summary: Output = Field(Path("folds.json"), description="per-fold metrics with their mean, sd, min and max")
    table: Output = Field(Path("folds.tsv"), description="the same as a table: a row per fold and block, then mean and sd")

    @model_validator(mode="after")
    def _one_name_each(self) -> SummarizeFoldsParams:
        if self.names is not None:
            if len(self.names) != len(self.metrics):
                raise ValueError(f"names has {len(self.names)} entries but metrics has {len(self.metrics)}: give one name per metrics file")
            _check_distinct(self.names, "names")
        return self

    def fold_names(self) -> list[str]:
        """``names``, else each metrics file's folder name (checked distinct: call it on resolved paths)."""
        if self.names is not None:
            return list(self.names)
        names = [Path(p).parent.name for p in self.metrics]
        try:
            _check_distinct(names, "the metrics files' folder names")
        except ValueError as exc:
            from bpnet.core.errors import InputError

            raise InputError(f"metrics: {exc}") from None
        return names


def _check_distinct(names: list[str], what: str) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"fold names must be distinct ({what}: {', '.join(repeated)} repeats): set names")


class SummarizeFolds(Stage):
    """Every fold's held-out metrics side by side, with their mean and sd (folds.json, folds.tsv)."""

    name = "summarize-folds"
    Params = SummarizeFoldsParams

    def run(self, params: SummarizeFoldsParams, context: StageContext) -> None:
        from bpnet.core.formats.folds import fold_summary, write_fold_summary
        from bpnet.core.formats.metrics import read_metrics

        names = params.fold_names()
        summary = fold_summary(names, list(params.metrics), [read_metrics(p) for p in params.metrics])
        write_fold_summary(params.summary, summary)
        params.table.write_text(fold_table(summary))
        peaks = summary["summary"].get("peaks", {})
        for key in ("count_pearson", "count_mse", "profile_median_jsd"):
            stats = peaks.get(key)
            if stats:
                sd = f" ± {stats['sd']:.3f}" if stats["sd"] is not None else ""
                context.log.info(
                    "%d folds, test peaks %s: %.3f%s (%.3f to %.3f)", len(names), key, stats["mean"], sd, stats["min"], stats["max"],
                )


def fold_table(summary: dict) -> str:
    """``folds.tsv``: columns row, block, n and the metric keys; a row per fold and block, then mean and sd."""
    from bpnet.core.formats.folds import FOLD_BLOCKS
    from bpnet.core.formats.metrics import METRIC_KEYS

    def cell(value) -> str:
        return "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)

    keys = METRIC_KEYS[1:]
    lines = ["\t".join(["row", "block", "n", *keys])]
    for record in summary["folds"]:
        for block in FOLD_BLOCKS:
            values = record.get(block)
            if isinstance(values, dict):
                lines.append("\t".join([record["fold"], block, cell(values.get("n")), *(cell(values.get(k)) for k in keys)]))
    for stat in ("mean", "sd"):
        for block, stats in summary["summary"].items():
            lines.append("\t".join([stat, block, "", *(cell((stats.get(k) or {}).get(stat)) for k in keys)]))
    return "\n".join(lines) + "\n"
