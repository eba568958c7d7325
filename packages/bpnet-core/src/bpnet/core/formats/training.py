"""The ``training/`` folder of train-bpnet and train-chrombpnet.

A run (BPNet: the folder itself; ChromBPNet: ``bias/`` and ``accessibility/``, in
training order) holds:

* ``epochs.csv``: one row per epoch, the columns :data:`EPOCH_COLUMNS` (floats rounded
  to 6 decimals; ``improved`` is 0/1);
* ``batches.jsonl``: one JSON object per training batch (``epoch``, ``batch``, ``loss``,
  ``profile_loss``, ``count_loss``, ``lr``, ``examples``, ``seconds``);
* ``summary.json``: what the run did (device, epochs, best epoch and loss, settings, ...);
* ``last/``: the model of the last epoch (the stage's ``model`` output is the best one).

A ChromBPNet folder adds ``chrombpnet.json``, the record of the recipe (bias
threshold, count shift, checks), written by :func:`write_chrombpnet_record`. Its
``bias/`` run is absent when train-chrombpnet was given one trained bias model
(``bias_model:`` a model folder): it has no training logs to copy.
The report reads it all with :func:`read_training`. Its keys: ``bias_count_threshold``,
``bias_count_bounds``, ``bias_count_loss_weight``, ``n_bias_training_loci``,
``bias_model_source`` (a given bias model), ``bias_hyperparameters``, ``bias_check``
(the chosen bias model's count r on validation peaks and background and the official
verdicts), ``bias_count_shift``, ``count_loss_weight``, ``count_bounds``,
``n_validation_loci``, ``hyperparameters``, ``count_check``; since the bias-model choice,
also ``bias_threshold_factor`` (the chosen one's), ``bias_choice`` (``rule``: auto or
forced, ``factor``, ``why``) and ``bias_candidates`` (one object per candidate, the
fields of ``candidates.json`` below). Older files lack those three; readers take them as
optional.

A **bias candidates** folder (train-chrombpnet-bias's ``bias_models``; with several
``bias_threshold_factor`` values also train-chrombpnet's ``training/bias_candidates``)
holds ``candidates.json`` and one sub-folder per candidate (:func:`bias_candidate_folder`)
with the bias model (``model/``) and its run's logs (``training/``, the layout above).
``candidates.json``: ``loci`` (what they trained on), ``chosen`` (the factor train-chrombpnet
chose; for train-chrombpnet-bias, the one ``bias_choice: auto`` picks under the default
checks) and ``candidates``: per candidate
``factor``, ``folder``, ``threshold``, ``n_loci``, ``count_loss_weight``, ``bounds``,
``peaks_count_pearson``, ``background_count_pearson``, ``shared_background_count_pearson``,
``specificity``, ``level`` (pass, advice or fail), ``verdicts``, ``chosen`` and ``why``.
train-chrombpnet reads it with :func:`read_bias_candidates`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path
from ..errors import InputError
from .json_npz import read_json, write_json

EPOCHS_FILE = "epochs.csv"
BATCHES_FILE = "batches.jsonl"
SUMMARY_FILE = "summary.json"
#: folder of the last epoch's model
LAST_MODEL = "last"
#: columns of ``epochs.csv``, in order
EPOCH_COLUMNS = (
    "epoch", "lr", "train_loss", "train_profile_loss", "train_count_loss", "valid_loss", "valid_profile_loss",
    "valid_count_loss", "valid_count_pearson", "valid_profile_jsd", "seconds", "train_examples_per_s", "improved",
)
#: columns of ``epochs.csv`` the loss curves cannot do without
REQUIRED_EPOCH_COLUMNS = ("epoch", "train_loss", "valid_loss")
BIAS_RUN, ACCESSIBILITY_RUN = "bias", "accessibility"
#: the runs of a train-chrombpnet ``training/`` folder (sub-folders), in training order
CHROMBPNET_RUNS = (BIAS_RUN, ACCESSIBILITY_RUN)
CHROMBPNET_RECORD = "chrombpnet.json"
#: train-chrombpnet's sub-folder of bias candidates (when it trained several)
BIAS_CANDIDATES = "bias_candidates"
BIAS_CANDIDATES_FILE = "candidates.json"
#: a candidate's sub-folders: its bias model and its run's logs
BIAS_CANDIDATE_MODEL, BIAS_CANDIDATE_LOGS = "model", "training"
_RETRAIN_CANDIDATES = "re-run the train-chrombpnet-bias stage that wrote it"
#: what a folder lacking both layouts should be
_WHICH_FOLDER = "give the training/ folder of a train-bpnet or train-chrombpnet stage"


# --- writing ------------------------------------------------------------------------------------


def epochs_text(history: Iterable[dict[str, Any]]) -> str:
    """``epochs.csv`` of per-epoch records (keys beyond :data:`EPOCH_COLUMNS` are left out)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EPOCH_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in history:
        writer.writerow({key: _round(value) for key, value in record.items()})
    return buffer.getvalue()


def write_epochs(path: Path, history: Iterable[dict[str, Any]]) -> None:
    """Write ``epochs.csv`` atomically (it is rewritten after every epoch)."""
    text = epochs_text(history)
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _round(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) and math.isfinite(value) else value


def write_run_logs(folder: Path, epochs: Path, batches: Path, summary: dict[str, Any]) -> None:
    """One run's logs in ``folder``: copies of ``epochs`` and ``batches`` (empty when
    absent) as ``epochs.csv`` and ``batches.jsonl``, and ``summary`` as ``summary.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    for source, name in ((epochs, EPOCHS_FILE), (batches, BATCHES_FILE)):
        (folder / name).write_bytes(source.read_bytes() if source.exists() else b"")
    write_json(folder / SUMMARY_FILE, summary)


def write_chrombpnet_record(folder: Path, record: dict[str, Any]) -> None:
    """``chrombpnet.json`` in a train-chrombpnet ``training/`` folder (numpy numbers as floats)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / CHROMBPNET_RECORD, record, default=float)


def bias_candidate_folder(factor: float) -> str:
    """The sub-folder of a bias candidates folder holding the model trained at ``bias_threshold_factor`` ``factor``."""
    return f"factor-{factor:g}"


def write_bias_candidates(folder: Path, record: dict[str, Any]) -> None:
    """``candidates.json`` of a bias candidates folder (the candidates' sub-folders are written by the caller)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / BIAS_CANDIDATES_FILE, record, default=float)


# --- reading ------------------------------------------------------------------------------------


@dataclass
class TrainingLog:
    """One run's logs: its per-epoch table and its summary (``None`` if absent)."""

    label: str
    folder: Path
    epochs: dict[str, np.ndarray]
    summary: dict[str, Any] | None

    @property
    def n_epochs(self) -> int:
        return len(self.epochs["epoch"])


@dataclass
class TrainingFolder:
    """A ``training/`` folder: one run (BPNet) or a bias and an accessibility run (ChromBPNet; no bias run
    when train-chrombpnet was given one trained bias model)."""

    folder: Path
    runs: list[TrainingLog]
    chrombpnet: dict[str, Any] | None
    is_chrombpnet: bool


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


def read_run(folder: Path, label: str) -> TrainingLog:
    """One run's ``epochs.csv`` (required) and ``summary.json`` (optional)."""
    epochs = read_epochs(folder / EPOCHS_FILE)
    summary_path = folder / SUMMARY_FILE
    summary = read_json(summary_path, "training summary") if summary_path.exists() else None
    return TrainingLog(label, folder, epochs, summary)


def read_chrombpnet_record(folder: Path) -> dict[str, Any] | None:
    """The ``chrombpnet.json`` of a train-chrombpnet ``training/`` folder (``None`` if absent)."""
    path = folder / CHROMBPNET_RECORD
    return read_json(path, "ChromBPNet training record") if path.exists() else None


def read_training(folder: Path) -> TrainingFolder:
    """A train-bpnet or train-chrombpnet ``training/`` folder (its stage folder works too)."""
    if not folder.is_dir():
        raise InputError(f"{folder}: training folder not found; {_WHICH_FOLDER}")
    if not is_training_folder(folder) and is_training_folder(folder / "training"):
        folder = folder / "training"
    if _is_chrombpnet_folder(folder):
        runs = [read_run(folder / name, name) for name in CHROMBPNET_RUNS if (folder / name).is_dir()]
        return TrainingFolder(folder, runs, read_chrombpnet_record(folder), is_chrombpnet=True)
    if (folder / EPOCHS_FILE).exists():
        return TrainingFolder(folder, [read_run(folder, "")], None, is_chrombpnet=False)
    raise InputError(f"{folder}: neither {EPOCHS_FILE} nor an {ACCESSIBILITY_RUN}/ folder in it; {_WHICH_FOLDER}")


@dataclass
class BiasCandidateEntry:
    """One candidate of a bias candidates folder: its factor, model folder, run logs (``None`` if absent) and record."""

    factor: float
    model: Path
    logs: Path | None
    record: dict[str, Any]


def is_bias_candidates_folder(folder: Path) -> bool:
    """``folder`` is a bias candidates folder (it holds ``candidates.json``)."""
    return (folder / BIAS_CANDIDATES_FILE).is_file()


def read_bias_candidates(folder: Path) -> tuple[dict[str, Any], list[BiasCandidateEntry]]:
    """``candidates.json`` of a bias candidates folder and its candidates, each with an existing model folder."""
    path = folder / BIAS_CANDIDATES_FILE
    record = read_json(path, "bias candidates record")
    candidates = record.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        raise InputError(f"{path}: 'candidates' should be a non-empty list of bias candidates; {_RETRAIN_CANDIDATES}")
    entries = []
    for i, item in enumerate(candidates):
        factor = item.get("factor") if isinstance(item, dict) else None
        name = item.get("folder") if isinstance(item, dict) else None
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not factor > 0 or not isinstance(name, str):
            raise InputError(f"{path}: candidates[{i}] needs a positive 'factor' and a 'folder'; {_RETRAIN_CANDIDATES}")
        model = folder / name / BIAS_CANDIDATE_MODEL
        if not model.is_dir():
            raise InputError(f"{path}: candidates[{i}] (factor {factor:g}): model folder {model} not found; {_RETRAIN_CANDIDATES}")
        logs = folder / name / BIAS_CANDIDATE_LOGS
        entries.append(BiasCandidateEntry(float(factor), model, logs if logs.is_dir() else None, item))
    return record, entries


def is_training_folder(folder: Path) -> bool:
    """``folder`` holds one run's ``epochs.csv`` or a ChromBPNet's run folders."""
    return (folder / EPOCHS_FILE).exists() or _is_chrombpnet_folder(folder)


def _is_chrombpnet_folder(folder: Path) -> bool:
    """A train-chrombpnet ``training/`` folder: its accessibility run (the bias run is absent with a given bias model)."""
    return (folder / ACCESSIBILITY_RUN).is_dir()


__all__ = [
    "ACCESSIBILITY_RUN", "BATCHES_FILE", "BIAS_CANDIDATES", "BIAS_CANDIDATES_FILE", "BIAS_CANDIDATE_LOGS", "BIAS_CANDIDATE_MODEL",
    "BIAS_RUN", "CHROMBPNET_RECORD", "CHROMBPNET_RUNS", "EPOCHS_FILE", "EPOCH_COLUMNS", "LAST_MODEL", "REQUIRED_EPOCH_COLUMNS",
    "SUMMARY_FILE", "BiasCandidateEntry", "TrainingFolder", "TrainingLog", "bias_candidate_folder", "epochs_text",
    "is_bias_candidates_folder", "is_training_folder", "read_bias_candidates", "read_chrombpnet_record", "read_epochs",
    "read_run", "read_training", "write_bias_candidates", "write_chrombpnet_record", "write_epochs", "write_run_logs",
]
