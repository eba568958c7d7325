"""Read the files a report is built from: training folders, ``metrics.json``, ``predictions.npz``.

Every problem with a file raises :class:`~bpnet.core.errors.InputError` naming the file
(and the line or key) and what to do. Pieces the formats allow to be absent (negatives,
the ChromBPNet block, the bias motif, example profiles, a run's ``summary.json``) come
back as ``None`` and the report shows them as "not available".
"""

from __future__ import annotations

import csv
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bpnet.core.errors import InputError

from .interpret_inputs import Interpretation

#: columns of ``epochs.csv`` the loss curves cannot do without
REQUIRED_EPOCH_COLUMNS = ("epoch", "train_loss", "valid_loss")
#: arrays of ``predictions.npz`` the scatter and the derived checks cannot do without
REQUIRED_PREDICTIONS = ("is_peak", "obs_log_counts", "pred_log_counts")
#: the sub-runs of a train-chrombpnet ``training/`` folder, in training order
CHROMBPNET_RUNS = ("bias", "accessibility")


@dataclass
class TrainingRun:
    """One training run: its per-epoch table and its summary (``None`` if absent)."""

    label: str
    folder: Path
    epochs: dict[str, np.ndarray]
    summary: dict[str, Any] | None

    @property
    def n_epochs(self) -> int:
        return len(self.epochs["epoch"])


@dataclass
class Training:
    """A ``training/`` folder: one run (BPNet) or a bias and an accessibility run (ChromBPNet)."""

    folder: Path
    runs: list[TrainingRun]
    chrombpnet: dict[str, Any] | None
    is_chrombpnet: bool


@dataclass
class Predictions:
    """The arrays of ``predictions.npz`` the report uses; optional ones are ``None``."""

    path: Path
    is_peak: np.ndarray
    obs_log_counts: np.ndarray
    pred_log_counts: np.ndarray
    chrom: np.ndarray | None = None
    centre: np.ndarray | None = None
    signal_names: list[str] | None = None
    bias_pred_log_counts: np.ndarray | None = None
    example_index: np.ndarray | None = None
    example_observed: np.ndarray | None = None
    example_predicted: np.ndarray | None = None
    example_bias: np.ndarray | None = None

    @property
    def has_examples(self) -> bool:
        return self.example_observed is not None and len(self.example_observed) > 0


@dataclass
class ModelInputs:
    """Everything one section of the report is drawn from."""

    name: str
    training: Training | None
    metrics: dict[str, Any]
    metrics_path: Path
    predictions: Predictions
    #: attributions, TF-MoDISco patterns, annotations, marginalization (``None``: none requested)
    interpretation: Interpretation | None = None


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path``; ``what`` names the file's role in error messages."""
    if not path.is_file():
        raise InputError(f"{path}: {what} not found; give the file the stage that makes it wrote")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: {what} is not valid JSON ({exc.msg}); re-run the stage that wrote it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read {what} ({exc}); re-run the stage that wrote it") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: {what} should hold a JSON object, not {type(data).__name__}")
    return data


def read_epochs(path: Path) -> dict[str, np.ndarray]:
    """The columns of an ``epochs.csv`` as float arrays (an empty cell is NaN)."""
    if not path.is_file():
        raise InputError(f"{path}: epochs.csv not found; give the training/ folder of a finished train-bpnet or train-chrombpnet stage")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read epochs.csv ({exc})") from None
    if not rows:
        raise InputError(f"{path}: epochs.csv is empty; it needs a header line and one row per epoch")
    header = [name.strip() for name in rows[0]]
    missing = [name for name in REQUIRED_EPOCH_COLUMNS if name not in header]
    if missing:
        raise InputError(f"{path}: epochs.csv lacks the column(s) {', '.join(missing)} (header: {', '.join(header)})")
    body = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    if not body:
        raise InputError(f"{path}: epochs.csv has no epoch rows; did training run for at least one epoch?")
    columns: dict[str, list[float]] = {name: [] for name in header}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{path}:{line}: {len(row)} fields where the header has {len(header)}")
        for name, cell in zip(header, row):
            columns[name].append(_number(cell, path, line, name))
    return {name: np.asarray(values, dtype=float) for name, values in columns.items()}


def _number(cell: str, path: Path, line: int, column: str) -> float:
    cell = cell.strip()
    if cell == "":
        return math.nan
    try:
        return float(cell)
    except ValueError:
        raise InputError(f"{path}:{line}: column {column} holds {cell!r}, not a number") from None


def read_run(folder: Path, label: str) -> TrainingRun:
    """One run's ``epochs.csv`` (required) and ``summary.json`` (optional)."""
    epochs = read_epochs(folder / "epochs.csv")
    summary_path = folder / "summary.json"
    summary = read_json(summary_path, "training summary") if summary_path.exists() else None
    return TrainingRun(label, folder, epochs, summary)


def read_training(folder: Path) -> Training:
    """A train-bpnet or train-chrombpnet ``training/`` folder (its stage folder works too)."""
    if not folder.is_dir():
        raise InputError(f"{folder}: training folder not found; give the training/ folder of a train-bpnet or train-chrombpnet stage")
    if not _is_training_folder(folder) and _is_training_folder(folder / "training"):
        folder = folder / "training"
    if all((folder / name).is_dir() for name in CHROMBPNET_RUNS):
        runs = [read_run(folder / name, name) for name in CHROMBPNET_RUNS]
        info_path = folder / "chrombpnet.json"
        info = read_json(info_path, "ChromBPNet training record") if info_path.exists() else None
        return Training(folder, runs, info, is_chrombpnet=True)
    if (folder / "epochs.csv").exists():
        return Training(folder, [read_run(folder, "")], None, is_chrombpnet=False)
    raise InputError(
        f"{folder}: neither epochs.csv nor bias/ and accessibility/ folders in it; "
        "give the training/ folder of a train-bpnet or train-chrombpnet stage"
    )


def _is_training_folder(folder: Path) -> bool:
    return (folder / "epochs.csv").exists() or all((folder / name).is_dir() for name in CHROMBPNET_RUNS)


def read_metrics(path: Path) -> dict[str, Any]:
    """An evaluate ``metrics.json``; it must at least hold the ``peaks`` metrics."""
    metrics = read_json(path, "evaluation metrics")
    if not isinstance(metrics.get("peaks"), dict):
        raise InputError(f"{path}: metrics.json has no 'peaks' metrics; give the metrics.json of an evaluate stage")
    for key in ("negatives", "chrombpnet"):
        if metrics.get(key) is not None and not isinstance(metrics[key], dict):
            raise InputError(f"{path}: metrics.json '{key}' should be an object or null, not {type(metrics[key]).__name__}")
    return metrics


def read_npz(path: Path, where: str, todo: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` of plain arrays (no pickle), or an :class:`InputError`
    starting with ``where`` and ending with ``todo``."""
    try:
        # our own handle: numpy leaves its handle open when the file is not a zip
        with open(path, "rb") as handle:
            loaded = np.load(handle, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError("a single .npy array, not an .npz archive")
            with loaded as npz:
                return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"{where}: not a readable .npz of plain arrays ({exc}); {todo}") from None


def read_predictions(path: Path) -> Predictions:
    """An evaluate ``predictions.npz`` (plain arrays only: no pickled objects)."""
    if not path.is_file():
        raise InputError(f"{path}: predictions.npz not found; give the predictions.npz of an evaluate stage")
    arrays = read_npz(path, f"{path}", "re-run the evaluate stage")
    missing = [key for key in REQUIRED_PREDICTIONS if key not in arrays]
    if missing:
        raise InputError(f"{path}: predictions.npz lacks {', '.join(missing)}; give the predictions.npz of an evaluate stage")
    n = len(arrays["is_peak"])
    for key in ("obs_log_counts", "pred_log_counts", "bias_pred_log_counts", "chrom", "centre"):
        if key in arrays and arrays[key].shape != (n,):
            raise InputError(f"{path}: {key} has shape {arrays[key].shape}; expected ({n},) like is_peak")
    predictions = Predictions(
        path=path,
        is_peak=arrays["is_peak"].astype(bool),
        obs_log_counts=arrays["obs_log_counts"].astype(float),
        pred_log_counts=arrays["pred_log_counts"].astype(float),
        chrom=arrays.get("chrom"),
        centre=arrays.get("centre"),
        signal_names=[str(name) for name in np.atleast_1d(arrays["signal_names"])] if "signal_names" in arrays else None,
        bias_pred_log_counts=arrays["bias_pred_log_counts"].astype(float) if "bias_pred_log_counts" in arrays else None,
    )
    _add_examples(predictions, arrays, n)
    return predictions


def _add_examples(predictions: Predictions, arrays: dict[str, np.ndarray], n: int) -> None:
    """Attach the example profiles when all of their arrays are present and agree."""
    path = predictions.path
    if not all(key in arrays for key in ("example_index", "example_observed", "example_predicted")):
        return
    index, observed, predicted = arrays["example_index"], arrays["example_observed"], arrays["example_predicted"]
    if observed.ndim != 3 or observed.shape != predicted.shape or len(index) != len(observed):
        raise InputError(
            f"{path}: example_observed {observed.shape}, example_predicted {predicted.shape} and example_index "
            f"{index.shape} should be (k, T, L), (k, T, L) and (k,)"
        )
    if len(index) and (index.min() < 0 or index.max() >= n):
        raise InputError(f"{path}: example_index points outside the {n} loci")
    bias = arrays.get("example_bias")
    if bias is not None and bias.shape != observed.shape:
        raise InputError(f"{path}: example_bias has shape {bias.shape}; expected {observed.shape} like example_observed")
    predictions.example_index = index.astype(np.int64)
    predictions.example_observed = observed.astype(float)
    predictions.example_predicted = predicted.astype(float)
    predictions.example_bias = None if bias is None else bias.astype(float)


def read_model_inputs(name: str, training: Path | None, metrics: Path, predictions: Path) -> ModelInputs:
    """Read one section's files."""
    return ModelInputs(
        name=name,
        training=read_training(training) if training is not None else None,
        metrics=read_metrics(metrics),
        metrics_path=metrics,
        predictions=read_predictions(predictions),
    )
