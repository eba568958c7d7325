"""The summarize-folds stage's ``folds.json``: each fold's held-out metrics and their mean and sd.

An object with:

* ``folds``: one record per fold, in the order given: ``fold`` (its name), ``metrics``
  (the evaluate stage's metrics.json it came from), ``model``, ``split``, and the blocks
  of :data:`FOLD_BLOCKS` that fold has (each the metrics.json block: ``n`` and
  :data:`bpnet.core.formats.metrics.METRIC_KEYS`; null where absent);
* ``summary``: per block, per metric key: ``mean``, ``sd`` (sample standard deviation,
  ``n - 1``; null for one fold), ``min``, ``max`` and ``n_folds`` over the folds where
  the value is defined (a metric no fold defines is null).

Each fold is scored on its own held-out (test) chromosomes, so the summary describes
how well the recipe generalises across folds; no ensemble is scored here because
every chromosome trains some fold's model.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from ..errors import InputError
from .json_npz import read_json, write_json
from .metrics import METRIC_KEYS

#: metrics.json blocks summarised across folds, by where they sit in metrics.json: the model's, its
#: reverse-complement-averaged ones, ChromBPNet's bias model alone
BLOCK_PATHS: dict[str, tuple[str, ...]] = {
    "peaks": ("peaks",), "negatives": ("negatives",),
    "rc_averaged_peaks": ("rc_averaged", "peaks"), "rc_averaged_negatives": ("rc_averaged", "negatives"),
    "bias_on_peaks": ("chrombpnet", "bias_on_peaks"), "bias_on_negatives": ("chrombpnet", "bias_on_negatives"),
}
FOLD_BLOCKS = tuple(BLOCK_PATHS)


def fold_blocks(metrics: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """The :data:`FOLD_BLOCKS` of one metrics.json (null where a file lacks one)."""
    found = {}
    for block, path in BLOCK_PATHS.items():
        value: Any = metrics
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        found[block] = value
    return found


def summarize(values: list[float | None]) -> dict[str, Any] | None:
    """Mean, sample sd, min, max and count of the defined (non-null, finite) values."""
    defined = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not defined:
        return None
    sd = statistics.stdev(defined) if len(defined) > 1 else None
    return {"mean": statistics.fmean(defined), "sd": sd, "min": min(defined), "max": max(defined), "n_folds": len(defined)}


def fold_summary(names: list[str], metrics_files: list[Path], metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """``folds.json``'s content for these folds' metrics.json contents (see the module docstring)."""
    records = []
    for name, path, data in zip(names, metrics_files, metrics):
        records.append(
            {"fold": name, "metrics": str(path), "model": data.get("model"), "split": data.get("split"), **fold_blocks(data)}
        )
    summary: dict[str, Any] = {}
    for block in FOLD_BLOCKS:
        present = [r[block] for r in records if isinstance(r[block], dict)]
        if present:
            summary[block] = {key: summarize([b.get(key) for b in present]) for key in METRIC_KEYS}
    return {"folds": records, "summary": summary}


def write_fold_summary(path: Path, summary: dict[str, Any]) -> None:
    write_json(path, summary)


def read_fold_summary(path: Path) -> dict[str, Any]:
    """A ``folds.json``; it must list at least one fold."""
    data = read_json(path, "fold summary")
    if not isinstance(data.get("folds"), list) or not data["folds"] or not isinstance(data.get("summary"), dict):
        raise InputError(f"{path}: not a fold summary (no 'folds' list or 'summary'); give the folds.json of a summarize-folds stage")
    return data


__all__ = ["FOLD_BLOCKS", "fold_blocks", "fold_summary", "read_fold_summary", "summarize", "write_fold_summary"]
