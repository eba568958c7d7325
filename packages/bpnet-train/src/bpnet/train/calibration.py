"""Count-head calibration: an affine map of the predicted log counts fitted on held-out peaks.

A count head can rank loci well (high count Pearson r) and still sit off the observed
scale: trained on peaks and negatives mixed, early-stopped on a loss dominated by the
profile, its log counts may be shifted or compressed on peaks, which is what count MSE
punishes. :func:`fit_count_calibration` fits ``observed = scale x predicted + shift``
by least squares on the log(1 + count) of one split's peaks (the validation peaks: never
the test split), and :func:`apply_count_calibration` folds it into the final Linear layer
of the count head (``weight x scale``, ``bias x scale + shift``), so the saved model
predicts calibrated counts with no extra step, and the Pearson r, invariant to a
positive affine map, is unchanged. The profile head is not touched.

:func:`linear_count_head` is the count head check shared with the ChromBPNet bias
model's count scaling (:func:`bpnet.train.chrombpnet.scale_bias_counts`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from bpnet.data.errors import DataError
from bpnet.data.loci import LociSet

#: below this many peaks the fit is not trusted and the model is left as it is
MIN_PEAKS = 20


def linear_count_head(model: torch.nn.Module, what: str) -> torch.nn.Linear:
    """The count head's final layer: a Linear named ``linear`` with one output and a bias, else a DataError."""
    linear = getattr(model, "linear", None)
    if not isinstance(linear, torch.nn.Linear) or linear.bias is None or linear.out_features != 1:
        raise DataError(
            f"{what}: it needs a Linear 'linear' layer with one output and a bias "
            "(a BPNet with n_count_outputs: 1 and count_output_bias: true)"
        )
    return linear


@dataclass
class CountCalibration:
    """``observed ≈ scale x predicted + shift`` on ``n`` peaks, with the count MSE before and after."""

    scale: float
    shift: float
    n: int
    mse_before: float
    mse_after: float

    def record(self) -> dict[str, float | int]:
        return asdict(self)


def fit_count_calibration(predicted: np.ndarray, observed_counts: np.ndarray) -> CountCalibration:
    """Least-squares ``scale`` and ``shift`` mapping ``predicted`` log counts onto log(1 + ``observed_counts``).

    A non-positive or undefined slope (a count head that does not rank the peaks, or
    constant predictions) keeps the scale at 1 and fits the shift alone, so calibration
    never turns the ranking around.
    """
    x = np.asarray(predicted, np.float64)
    y = np.log1p(np.asarray(observed_counts, np.float64))
    scale, shift = 1.0, float(np.mean(y - x)) if len(x) else 0.0
    if len(x) > 1 and np.var(x) > 0:
        slope = float(np.cov(x, y, bias=True)[0, 1] / np.var(x))
        if math.isfinite(slope) and slope > 0:
            scale, shift = slope, float(np.mean(y) - slope * np.mean(x))
    before = float(np.mean((x - y) ** 2)) if len(x) else math.nan
    after = float(np.mean((scale * x + shift - y) ** 2)) if len(x) else math.nan
    return CountCalibration(scale, shift, len(x), before, after)


@torch.no_grad()
def apply_count_calibration(model: torch.nn.Module, calibration: CountCalibration) -> None:
    """Fold ``calibration`` into the model's count head (:func:`linear_count_head`)."""
    linear = linear_count_head(model, "count calibration")
    linear.weight.mul_(calibration.scale)
    linear.bias.mul_(calibration.scale).add_(calibration.shift)


def calibrate_counts(
    model: torch.nn.Module, loci: LociSet, split: str, device: torch.device, batch_size: int = 64,
) -> CountCalibration | None:
    """Fit the calibration on the peaks of ``split`` (predicted ``batch_size`` windows at a time: a
    streamed set's budget was checked for the training batch) and apply it; None (model unchanged)
    with fewer than :data:`MIN_PEAKS` peaks there."""
    from .chrombpnet import predicted_log_counts

    linear_count_head(model, "calibrate_counts")
    rows = loci.select(split, peaks=True)
    if len(rows) < MIN_PEAKS:
        return None
    calibration = fit_count_calibration(predicted_log_counts(model, loci, rows, device, batch_size), loci.total_counts(rows))
    apply_count_calibration(model, calibration)
    return calibration


__all__ = ["CountCalibration", "apply_count_calibration", "calibrate_counts", "fit_count_calibration", "linear_count_head"]
