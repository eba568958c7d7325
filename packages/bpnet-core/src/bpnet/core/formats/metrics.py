"""The evaluate stage's ``metrics.json``.

An object with ``model``, ``architecture`` and ``split``; ``peaks`` (required) and
``negatives`` (null without negatives): each a block of :data:`METRIC_KEYS` (``n``, the
means over loci of the profile metrics, the across-loci count metrics, the official
ChromBPNet medians of the per-locus Jensen-Shannon distance and normalised distance;
an undefined value is null); ``rc_averaged``: null, or ``peaks`` and ``negatives``
(null without negatives) blocks of the same keys for the mean of each window's
forward prediction and its reverse complement's; ``chrombpnet``: null, or

* ``bias_on_peaks`` and ``bias_on_negatives`` (null without negatives): blocks for the
  bias model alone;
* ``bias_motif``: null, or ``motif`` and the ``{bias,accessibility,combined}_profile_corr``
  of the first bias motif's match track;
* ``qc``: the official QC verdicts, a list of records with ``rule``, ``value``,
  ``threshold``, ``level`` (pass, advice or fail) and ``meaning`` (empty when passed);
* ``footprints``: null, or the footprint test of bias correction: ``motifs_file``,
  ``n_loci``, ``output_length``, ``reference_output_length`` (the output length the
  threshold is for), ``window_start``, ``without_motif`` (mean footprint, a list of
  numbers from ``window_start``), ``max_without_motif``, ``motifs`` (per motif ``motif``,
  ``name``, ``consensus``, ``max_footprint``, ``scaled_max_footprint``, ``verdict`` (a
  record as in ``qc``) and ``with_motif``) and the overall ``verdict``.

Files written before ``rc_averaged``, ``bias_on_negatives``, ``qc``, ``footprints`` and the
two median keys existed lack them; readers treat a missing key as null. Written indented by 2 with
a final newline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from .json_npz import read_json, write_json

#: keys of each block of metrics (``peaks``, ``negatives``, ``bias_on_peaks``, ``bias_on_negatives``), in order
METRIC_KEYS = (
    "n", "profile_mnll", "profile_jsd", "profile_pearson", "profile_spearman",
    "count_pearson", "count_spearman", "count_mse", "profile_median_jsd", "profile_median_norm_jsd",
)
#: blocks that are an object or null
OPTIONAL_BLOCKS = ("negatives", "rc_averaged", "chrombpnet")


def layout_problem(metrics: dict[str, Any]) -> str | None:
    """What keeps ``metrics`` from being a metrics.json the report can read (None: nothing)."""
    if not isinstance(metrics.get("peaks"), dict):
        return "metrics.json has no 'peaks' metrics; give the metrics.json of an evaluate stage"
    for key in OPTIONAL_BLOCKS:
        if metrics.get(key) is not None and not isinstance(metrics[key], dict):
            return f"metrics.json '{key}' should be an object or null, not {type(metrics[key]).__name__}"
    chrombpnet = metrics.get("chrombpnet") or {}
    for key, kind, name in (("qc", list, "a list"), ("footprints", dict, "an object")):
        value = chrombpnet.get(key)
        if value is not None and not isinstance(value, kind):
            return f"metrics.json 'chrombpnet.{key}' should be {name} or null, not {type(value).__name__}"
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
