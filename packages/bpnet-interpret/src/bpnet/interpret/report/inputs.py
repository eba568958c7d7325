"""Read one model section's files: its training folder, ``metrics.json`` and ``predictions.npz``.

The layouts and their readers are those of :mod:`bpnet.core.formats` (the stages that
write the files use the same definitions). Every problem with a file raises
:class:`~bpnet.core.errors.InputError` naming the file (and the line or key) and what to
do. Pieces the formats allow to be absent (negatives, the ChromBPNet block, the bias
motif, example profiles, a run's ``summary.json``) come back as ``None`` and the report
shows them as "not available".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpnet.core.formats.folds import read_fold_summary
from bpnet.core.formats.metrics import read_metrics
from bpnet.core.formats.predictions import Predictions, read_predictions
from bpnet.core.formats.training import TrainingFolder, read_training

from .interpret_inputs import BiasPatterns, Interpretation


@dataclass
class ModelInputs:
    """Everything one section of the report is drawn from."""

    name: str
    training: TrainingFolder | None
    metrics: dict[str, Any]
    metrics_path: Path
    predictions: Predictions
    #: attributions, TF-MoDISco patterns, annotations, marginalization (``None``: none requested)
    interpretation: Interpretation | None = None
    #: a ChromBPNet's bias-model TF-MoDISco patterns and their check (``None``: not given)
    bias_patterns: BiasPatterns | None = None
    #: a model trained per fold: the summarize-folds stage's folds.json (``None``: not given)
    folds: dict[str, Any] | None = None


def read_model_inputs(name: str, training: Path | None, metrics: Path, predictions: Path, folds: Path | None = None) -> ModelInputs:
    """Read one section's files."""
    return ModelInputs(
        name=name,
        training=read_training(training) if training is not None else None,
        metrics=read_metrics(metrics),
        metrics_path=metrics,
        predictions=read_predictions(predictions),
        folds=read_fold_summary(folds) if folds is not None else None,
    )
