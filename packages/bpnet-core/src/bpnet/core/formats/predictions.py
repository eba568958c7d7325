"""The evaluate stage's ``predictions.npz``: per-locus observed and predicted counts, and example profiles.

One row per locus, the split's peaks then its negatives, each in the order of loci.h5:
``chrom``, ``centre``, ``is_peak``, ``loci_index`` (row in loci.h5), ``obs_log_counts``
(log(1 + total counts)), ``pred_log_counts``; ``signal_names``; ``example_index`` (k rows
of those arrays: the peaks with the most counts, most first), ``example_observed`` and
``example_predicted`` (k, tracks, length: counts and expected counts). A ChromBPNet adds
``bias_pred_log_counts`` and ``example_bias``. Plain arrays only (no pickle),
compressed, in the order of :data:`ARRAYS`. (The predict stage's ``predictions.npz``
is another layout: :mod:`bpnet.train.prediction`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .json_npz import read_npz

#: every array, in the order they are written
ARRAYS = (
    "chrom", "centre", "is_peak", "loci_index", "obs_log_counts", "pred_log_counts", "signal_names",
    "example_index", "example_observed", "example_predicted", "bias_pred_log_counts", "example_bias",
)
#: arrays the report's scatter and derived checks cannot do without
REQUIRED = ("is_peak", "obs_log_counts", "pred_log_counts")
#: arrays with one value per locus (as many as ``is_peak``)
PER_LOCUS = ("chrom", "centre", "loci_index", "obs_log_counts", "pred_log_counts", "bias_pred_log_counts")
#: the example profiles come as these three (``example_bias`` joins them for a ChromBPNet)
EXAMPLES = ("example_index", "example_observed", "example_predicted")
_FROM_EVALUATE = "give the predictions.npz of an evaluate stage"


@dataclass
class Predictions:
    """The arrays of ``predictions.npz`` (optional ones ``None``); ``path``: where it was read from."""

    is_peak: np.ndarray
    obs_log_counts: np.ndarray
    pred_log_counts: np.ndarray
    chrom: np.ndarray | None = None
    centre: np.ndarray | None = None
    loci_index: np.ndarray | None = None
    signal_names: list[str] | None = None
    example_index: np.ndarray | None = None
    example_observed: np.ndarray | None = None
    example_predicted: np.ndarray | None = None
    bias_pred_log_counts: np.ndarray | None = None
    example_bias: np.ndarray | None = None
    path: Path | None = None

    @property
    def has_examples(self) -> bool:
        return self.example_observed is not None and len(self.example_observed) > 0

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to write, in the order of :data:`ARRAYS`."""
        arrays = {key: getattr(self, key) for key in ARRAYS if getattr(self, key) is not None}
        if "signal_names" in arrays:
            arrays["signal_names"] = np.asarray(arrays["signal_names"], dtype=str)
        return arrays


def layout_problem(arrays: dict[str, np.ndarray]) -> str | None:
    """What keeps ``arrays`` from being a predictions.npz the report can read (None: nothing)."""
    missing = [key for key in REQUIRED if key not in arrays]
    if missing:
        return f"predictions.npz lacks {', '.join(missing)}; {_FROM_EVALUATE}"
    n = len(arrays["is_peak"])
    for key in PER_LOCUS:
        if key in arrays and arrays[key].shape != (n,):
            return f"{key} has shape {arrays[key].shape}; expected ({n},) like is_peak"
    if not all(key in arrays for key in EXAMPLES):
        return None
    index, observed, predicted = (arrays[key] for key in EXAMPLES)
    if observed.ndim != 3 or observed.shape != predicted.shape or len(index) != len(observed):
        return (
            f"example_observed {observed.shape}, example_predicted {predicted.shape} and example_index "
            f"{index.shape} should be (k, T, L), (k, T, L) and (k,)"
        )
    if len(index) and (index.min() < 0 or index.max() >= n):
        return f"example_index points outside the {n} loci"
    bias = arrays.get("example_bias")
    if bias is not None and bias.shape != observed.shape:
        return f"example_bias has shape {bias.shape}; expected {observed.shape} like example_observed"
    return None


def write_predictions(path: Path, predictions: Predictions) -> None:
    """Write ``predictions`` as a compressed ``predictions.npz``."""
    arrays = predictions.arrays()
    problem = layout_problem(arrays)
    if problem:
        raise ValueError(f"{path}: {problem}")  # a bug in the writer, not the user's doing
    with open(path, "wb") as out:
        np.savez_compressed(out, **arrays)


def read_predictions(path: Path) -> Predictions:
    """An evaluate ``predictions.npz`` (plain arrays only: no pickled objects); floats come as float64."""
    if not path.is_file():
        raise InputError(f"{path}: predictions.npz not found; {_FROM_EVALUATE}")
    arrays = read_npz(path, f"{path}", "re-run the evaluate stage")
    problem = layout_problem(arrays)
    if problem:
        raise InputError(f"{path}: {problem}")
    floats = {key: arrays[key].astype(float) for key in ("obs_log_counts", "pred_log_counts", "bias_pred_log_counts") if key in arrays}
    predictions = Predictions(
        is_peak=arrays["is_peak"].astype(bool), **floats, chrom=arrays.get("chrom"), centre=arrays.get("centre"),
        loci_index=arrays.get("loci_index"), path=path,
        signal_names=[str(name) for name in np.atleast_1d(arrays["signal_names"])] if "signal_names" in arrays else None,
    )
    if all(key in arrays for key in EXAMPLES):
        bias = arrays.get("example_bias")
        predictions.example_index = arrays["example_index"].astype(np.int64)
        predictions.example_observed = arrays["example_observed"].astype(float)
        predictions.example_predicted = arrays["example_predicted"].astype(float)
        predictions.example_bias = None if bias is None else bias.astype(float)
    return predictions


__all__ = [
    "ARRAYS",
    "EXAMPLES",
    "PER_LOCUS",
    "REQUIRED",
    "Predictions",
    "layout_problem",
    "read_predictions",
    "write_predictions",
]
