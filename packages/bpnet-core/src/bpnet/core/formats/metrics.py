"""The evaluate stage's ``metrics.json``.

An object with ``model``, ``architecture`` and ``split``; ``peaks`` (required) and
``negatives`` (null without negatives): each a block of :data:`METRIC_KEYS` (``n``, the
means over loci of the profile metrics, the across-loci count metrics; an undefined
value is null); ``chrombpnet``: null, or ``bias_on_peaks`` (a block for the bias model
alone) and ``bias_motif`` (null, or ``motif`` and the ``{bias,accessibility,combined}_profile_corr``
of its match track). Written indented by 2 with a final newline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from .json_npz import read_json, write_json

#: keys of each block of metrics (``peaks``, ``negatives``, ``bias_on_peaks``), in order
METRIC_KEYS = (
    "n", "profile_mnll", "profile_jsd", "profile_pearson", "profile_spearman",
    "count_pearson", "count_spearman", "count_mse",
)
#: blocks that are an object or null
OPTIONAL_BLOCKS = ("negatives", "chrombpnet")


def layout_problem(metrics: dict[str, Any]) -> str | None:
    """What keeps ``metrics`` from being a metrics.json the report can read (None: nothing)."""
    if not isinstance(metrics.get("peaks"), dict):
        return "metrics.json has no 'peaks' metrics; give the metrics.json of an evaluate stage"
    for key in OPTIONAL_BLOCKS:
        if metrics.get(key) is not None and not isinstance(metrics[key], dict):
            return f"metrics.json '{key}' should be an object or null, not {type(metrics[key]).__name__}"
    return None


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    """Write ``metrics`` (NaN already as None) as ``metrics.json``."""
    problem = layout_problem(metrics)
    if problem:
        raise ValueError(f"{path}: {problem}")  # a bug in the writer, not the user's doing
    write_json(path, metrics)


def read_metrics(path: Path) -> dict[str, Any]:
    """An evaluate ``metrics.json``; it must at least hold the ``peaks`` metrics."""
    metrics = read_json(path, "evaluation metrics")
    problem = layout_problem(metrics)
    if problem:
        raise InputError(f"{path}: {problem}")
    return metrics


__all__ = ["METRIC_KEYS", "OPTIONAL_BLOCKS", "layout_problem", "read_metrics", "write_metrics"]
