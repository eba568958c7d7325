"""Numbers the report derives from ``predictions.npz`` to put the saved metrics in context.

Each one answers "compared with what?": the count MSE against the variance of the
observed counts, the profile JSD against a flat profile, and how well predicted counts
tell peaks from negatives. ``None`` means the inputs cannot give the number.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from bpnet.core.formats.predictions import Predictions
from bpnet.core.metrics import jensen_shannon, pearson_along


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation of the finite pairs, or ``None`` with fewer than 3 of them or a constant input."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return None
    r = float(pearson_along(torch.from_numpy(x[keep]), torch.from_numpy(y[keep])))
    return None if math.isnan(r) else r


def auroc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve of ``scores`` for the ``positive`` labels (ties count half)."""
    scores, positive = np.asarray(scores, float), np.asarray(positive, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    # 1-based ranks, ties sharing the average of the ranks they span
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def mean_jsd(observed: np.ndarray, predicted: np.ndarray) -> float | None:
    """Mean Jensen-Shannon divergence (natural log) between the shapes of (k, T, L) profiles.

    Tracks without observed or predicted counts are left out; ``None`` if none is left.
    """
    obs = observed.reshape(-1, observed.shape[-1]).astype(float)
    pred = predicted.reshape(-1, predicted.shape[-1]).astype(float)
    keep = (obs.sum(1) > 0) & (pred.sum(1) > 0)
    if not keep.any():
        return None
    p = obs[keep] / obs[keep].sum(1, keepdims=True)
    q = pred[keep] / pred[keep].sum(1, keepdims=True)
    return float(np.mean(jensen_shannon(p, q)))


def derived_numbers(metrics: dict[str, Any], predictions: Predictions) -> dict[str, float | None]:
    """The report's derived checks (keys of :data:`~.guidance.DERIVED_GUIDES`) and their context."""
    peaks = predictions.is_peak
    obs, pred = predictions.obs_log_counts, predictions.pred_log_counts
    variance = float(np.var(obs[peaks])) if peaks.sum() >= 2 else None
    mse = metrics.get("peaks", {}).get("count_mse")
    numbers: dict[str, float | None] = {
        "observed_variance": variance,
        "mse_vs_variance": mse / variance if isinstance(mse, (int, float)) and variance else None,
        "separation_auroc": auroc(pred, peaks),
        "all_loci_count_pearson": pearson(obs, pred) if (~peaks).any() else None,
        "example_jsd": None,
        "flat_jsd": None,
        "jsd_vs_flat": None,
    }
    if predictions.has_examples:
        observed, predicted = predictions.example_observed, predictions.example_predicted
        model = mean_jsd(observed, predicted)
        flat = mean_jsd(observed, np.ones_like(observed))
        numbers.update(example_jsd=model, flat_jsd=flat, jsd_vs_flat=model / flat if model is not None and flat else None)
    return numbers
