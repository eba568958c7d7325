"""The official ChromBPNet recipe: which loci train each model, count weights, bias scaling.

Read from kundajelab/chrombpnet (``find_bias_hyperparams.py``,
``find_chrombpnet_hyperparams.py``, the batch generator and ``train.py``):

* **Bias model data**: negatives (non-peaks) of the train and valid chromosomes whose
  total count is below ``bias_threshold_factor x`` the 1% quantile of the peaks' counts
  (0.5 for ATAC, 0.8 for DNase), then without outliers outside the
  ``(1 - q, q)`` quantiles of those counts (q = 0.9999; the bounds are strict, so
  zero-count windows drop out). Its count-loss weight is their median count / 10 (at least 1).
* **Accessibility model data**: outlier bounds from the quantiles of the peaks' counts
  plus ``negative_ratio x n_peaks`` random negatives' counts; peaks and negatives outside
  them are dropped. Count-loss weight: the median of those counts / 10 (at least 1).
  It validates on the validation peaks plus ``negative_ratio x n_peaks`` validation
  negatives, drawn once (the official generator redraws them, unseeded, every epoch).
* **Bias scaling**: before the accessibility model trains, the frozen bias model's count
  head is shifted by ``mean(log(1 + counts) - predicted log counts)`` over the kept
  negatives (the official ``bias_model_scaled.h5``), so the bias model explains the
  background's depth and the accessibility model only the excess.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from bpnet.core.outputs import total_log_counts
from bpnet.data.errors import DataError
from bpnet.data.loci import LociSet

if TYPE_CHECKING:  # pragma: no cover
    from .session import FinishedRun

log = logging.getLogger("bpnet.train.chrombpnet")

FIT_SPLITS = ("train", "valid")
#: below this ``count_separation`` (predicted peak-vs-negative gap / observed gap) training warns
MIN_COUNT_SEPARATION = 0.25


@dataclass
class Selection:
    """Loci rows chosen for one model, the bounds that chose them and its count weight."""

    rows: np.ndarray
    lower: float
    upper: float
    count_loss_weight: float
    threshold: float | None = None


def median_count_weight(counts: np.ndarray, what: str) -> float:
    """The official count-loss weight: the median total count / 10, at least 1."""
    weight = float(np.median(counts)) / 10 if len(counts) else 0.0
    if weight < 1.0:
        log.warning("%s: count-loss weight %.3g < 1 (low read depth); using 1 as the official code does", what, weight)
        return 1.0
    return weight


def _inside(counts: np.ndarray, lower: float, upper: float) -> np.ndarray:
    return (counts > lower) & (counts < upper)


def select_bias_loci(loci: LociSet, path: Path, threshold_factor: float = 0.5, outlier_quantile: float = 0.9999) -> Selection:
    """Background loci the bias model trains on (see the module docstring)."""
    peaks = loci.select(FIT_SPLITS, peaks=True)
    negatives = loci.select(FIT_SPLITS, peaks=False)
    if not len(negatives):
        raise DataError(f"{path}: no negatives in the train/valid splits; the bias model trains on negatives (run the negatives stage)")
    threshold = float(np.quantile(loci.total_counts(peaks), 0.01)) * threshold_factor
    if threshold <= 0:
        raise DataError(
            f"{path}: the 1% quantile of peak counts is 0, so no background locus is below the bias threshold; check the signal bigWig"
        )
    counts = loci.total_counts(negatives)
    below = counts < threshold
    if not below.any():
        raise DataError(
            f"{path}: none of {len(negatives)} negatives has fewer than {threshold:.4g} reads "
            f"(bias_threshold_factor {threshold_factor} x the 1% quantile of peak counts); raise bias_threshold_factor"
        )
    upper = float(np.quantile(counts[below], outlier_quantile))
    lower = float(np.quantile(counts[below], 1 - outlier_quantile))
    keep = below & _inside(counts, lower, upper)
    for split in FIT_SPLITS:
        if not np.any(loci.split[negatives[keep]] == split):
            raise DataError(
                f"{path}: no '{split}' negative is left for the bias model after the count threshold "
                f"{threshold:.4g} and outlier bounds ({lower:.4g}, {upper:.4g}); raise bias_threshold_factor or add negatives"
            )
    return Selection(negatives[keep], lower, upper, median_count_weight(counts[keep], "bias model"), threshold)


def _draw(values: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``k`` of ``values`` (at most all of them) drawn without replacement, seeded."""
    k = min(len(values), k)
    return np.random.default_rng(seed).choice(values, size=k, replace=False) if k else values[:0]


def pooled_counts(peak_counts: np.ndarray, negative_counts: np.ndarray, negative_ratio: float, seed: int = 0) -> np.ndarray:
    """The peaks' counts plus those of ``negative_ratio x n_peaks`` negatives drawn at random."""
    return np.concatenate([peak_counts, _draw(negative_counts, int(negative_ratio * len(peak_counts)), seed)])


def select_accessibility_loci(
    loci: LociSet, negative_ratio: float = 0.1, outlier_quantile: float = 0.9999, seed: int = 0,
) -> Selection:
    """Peaks and negatives the accessibility model trains on; the test split is kept whole."""
    peaks = loci.select(FIT_SPLITS, peaks=True)
    negatives = loci.select(FIT_SPLITS, peaks=False)
    peak_counts, negative_counts = loci.total_counts(peaks), loci.total_counts(negatives)
    pooled = pooled_counts(peak_counts, negative_counts, negative_ratio, seed)
    upper, lower = float(np.quantile(pooled, outlier_quantile)), float(np.quantile(pooled, 1 - outlier_quantile))
    weight = median_count_weight(pooled[(pooled >= lower) & (pooled <= upper)], "accessibility model")
    kept = np.concatenate([
        peaks[_inside(peak_counts, lower, upper)], negatives[_inside(negative_counts, lower, upper)], loci.select("test"),
    ])
    return Selection(np.sort(kept), lower, upper, weight)


def validation_rows(loci: LociSet, rows: np.ndarray, negative_ratio: float, seed: int = 0) -> np.ndarray:
    """The accessibility model's validation loci among ``rows``: every validation peak
    plus ``negative_ratio x n_peaks`` validation negatives drawn once (seeded).

    The official generator validates on the same peak/negative mix it trains on; all
    negatives (two per peak from the negatives stage) would let the background, which
    training barely sees, decide early stopping.
    """
    valid = rows[loci.split[rows] == "valid"]
    is_peak = loci.is_peak[valid].astype(bool)
    peaks, negatives = valid[is_peak], valid[~is_peak]
    return np.sort(np.concatenate([peaks, _draw(negatives, round(negative_ratio * len(peaks)), seed)]))


@torch.no_grad()
def predicted_log_counts(
    model: torch.nn.Module, loci: LociSet, rows: np.ndarray, device: torch.device, batch_size: int = 256
) -> np.ndarray:
    """The model's total log counts on the centred windows of ``rows``."""
    from .samplers import make_batches

    model.eval().to(device)
    batches = make_batches(loci.subset(rows), None, batch_size, device, train=False)
    out = [total_log_counts(model(b.X)[1].float()).cpu() for b in batches]
    return torch.cat(out).numpy() if out else np.zeros(0, np.float32)


def scale_bias_counts(bias: torch.nn.Module, loci: LociSet, rows: np.ndarray, device: torch.device) -> float:
    """Shift the bias model's count head by the mean log-count residual on ``rows``; returns the shift."""
    linear = getattr(bias, "linear", None)
    if not isinstance(linear, torch.nn.Linear) or linear.bias is None or linear.out_features != 1:
        raise DataError(
            "the bias model's count head cannot be scaled: it needs a Linear 'linear' layer with one output "
            "and a bias (a BPNet with count_output_bias: true)"
        )
    observed = np.log1p(loci.total_counts(rows))
    shift = float(np.mean(observed - predicted_log_counts(bias, loci, rows, device)))
    with torch.no_grad():
        linear.bias.add_(shift)
    return shift


def count_pearson(model: torch.nn.Module, loci: LociSet, rows: np.ndarray, device: torch.device) -> float:
    """Pearson r of predicted and observed log(1 + counts) on ``rows`` (NaN if too few or constant)."""
    from bpnet.core.metrics import pearson_along

    predicted = torch.from_numpy(predicted_log_counts(model, loci, rows, device))
    return float(pearson_along(predicted, torch.from_numpy(np.log1p(loci.total_counts(rows)))))


def count_separation(
    model: torch.nn.Module, loci: LociSet, peaks: np.ndarray, negatives: np.ndarray, device: torch.device
) -> dict[str, float]:
    """How far the model's log counts tell ``peaks`` from ``negatives``, against the data.

    ``separation`` is the gap of the mean predicted log(1 + counts) between peaks and
    negatives divided by the observed gap: about 1 for a count head that learned what
    makes a peak, about 0 for one that predicts the same count everywhere (NaN when the
    data show no gap or a set is empty).
    """
    observed = [float(np.log1p(loci.total_counts(rows)).mean()) if len(rows) else float("nan") for rows in (peaks, negatives)]
    predicted = [
        float(predicted_log_counts(model, loci, rows, device).mean()) if len(rows) else float("nan")
        for rows in (peaks, negatives)
    ]
    gap = observed[0] - observed[1]
    separation = (predicted[0] - predicted[1]) / gap if gap > 0 else float("nan")
    return {"observed_peaks": observed[0], "observed_negatives": observed[1], "predicted_peaks": predicted[0],
            "predicted_negatives": predicted[1], "separation": separation}


# ---------------------------------------------------------------------- the recipe's steps


@dataclass
class BiasModel:
    """Step 1: the bias model, the background it trained on, and its run (None when it was given)."""

    model: torch.nn.Module
    selection: Selection
    run: FinishedRun | None = None
    source: str | None = None
    hyperparameters: dict[str, Any] | None = None


@dataclass
class BiasCheck:
    """Step 2: the bias model's count Pearson r on validation peaks and validation background."""

    peaks_count_pearson: float
    background_count_pearson: float
    max_peaks_count_pearson: float

    @property
    def passed(self) -> bool:
        return not (self.peaks_count_pearson > self.max_peaks_count_pearson)

    def message(self) -> str:
        return (
            f"bias model count r on validation peaks {self.peaks_count_pearson:.3f} "
            f"(limit {self.max_peaks_count_pearson}), on background {self.background_count_pearson:.3f}"
        )

    def report(self, action: Literal["warn", "error", "off"], logger: logging.Logger) -> None:
        """Log the check; a failed one warns, or with ``action="error"`` stops training."""
        from bpnet.core.errors import BpnetError

        if self.passed or action == "off":
            logger.info("%s", self.message())
        elif action == "error":
            raise BpnetError(f"{self.message()}: the bias model explains accessibility; lower bias_threshold_factor")
        else:
            logger.warning("%s: the bias model may capture accessibility; consider a lower bias_threshold_factor", self.message())

    def record(self) -> dict[str, Any]:
        return {
            "peaks_count_pearson": self.peaks_count_pearson, "background_count_pearson": self.background_count_pearson,
            "max_peaks_count_pearson": self.max_peaks_count_pearson, "passed": self.passed,
        }


def check_bias(bias: torch.nn.Module, loci: LociSet, background: Selection, max_peak_pearson: float, device: torch.device) -> BiasCheck:
    """How well the bias model's counts follow validation peaks (should be low) and its own validation background."""
    valid_background = background.rows[loci.split[background.rows] == "valid"]
    return BiasCheck(
        count_pearson(bias, loci, loci.select("valid", peaks=True), device),
        count_pearson(bias, loci, valid_background, device),
        max_peak_pearson,
    )


@dataclass
class AccessibilityModel:
    """Steps 3 and 4: the combined model (scaled, frozen bias + trained accessibility model) and how it was made."""

    model: torch.nn.Module
    selection: Selection
    run: FinishedRun
    bias_count_shift: float
    count_loss_weight: float
    n_validation_loci: int
    hyperparameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class CountCheck:
    """Step 5: mean predicted and observed log counts of validation peaks and negatives (:func:`count_separation`)."""

    observed_peaks: float
    observed_negatives: float
    predicted_peaks: float
    predicted_negatives: float
    separation: float
    min_separation: float = MIN_COUNT_SEPARATION

    @property
    def passed(self) -> bool:
        return not (self.separation < self.min_separation)

    def report(self, logger: logging.Logger) -> None:
        """Log the check; a count head that barely tells peaks from background warns and says what helps."""
        message = (
            f"predicted log counts {self.predicted_peaks:.2f} on validation peaks and {self.predicted_negatives:.2f} "
            f"on validation negatives (observed {self.observed_peaks:.2f} and {self.observed_negatives:.2f}): "
            f"separation {self.separation:.2f}"
        )
        if self.passed:
            logger.info("%s", message)
        else:
            logger.warning(
                "%s: the count head barely tells peaks from background; with few peaks, raise negative_ratio "
                "(e.g. 0.5) and count_loss_weight (e.g. 500), as examples/quickstart.yaml does", message,
            )

    def record(self) -> dict[str, Any]:
        return {
            "observed_peaks": self.observed_peaks, "observed_negatives": self.observed_negatives,
            "predicted_peaks": self.predicted_peaks, "predicted_negatives": self.predicted_negatives,
            "separation": self.separation, "min_separation": self.min_separation, "passed": self.passed,
        }


def check_counts(model: torch.nn.Module, loci: LociSet, device: torch.device) -> CountCheck:
    """Step 5 on the validation split."""
    return CountCheck(**count_separation(model, loci, loci.select("valid", peaks=True), loci.select("valid", peaks=False), device))


def chrombpnet_record(bias: BiasModel, bias_check: BiasCheck, accessibility: AccessibilityModel, count_check: CountCheck) -> dict[str, Any]:
    """What ``chrombpnet.json`` records about a train-chrombpnet run, from the steps' results."""
    chosen = bias.selection
    record: dict[str, Any] = {
        "bias_count_threshold": chosen.threshold, "bias_count_bounds": [chosen.lower, chosen.upper],
        "bias_count_loss_weight": chosen.count_loss_weight, "n_bias_training_loci": int(len(chosen.rows)),
    }
    if bias.source is not None:
        record["bias_model_source"] = bias.source
    if bias.hyperparameters is not None:
        record["bias_hyperparameters"] = bias.hyperparameters
    record["bias_check"] = bias_check.record()
    record.update(
        bias_count_shift=accessibility.bias_count_shift, count_loss_weight=accessibility.count_loss_weight,
        count_bounds=[accessibility.selection.lower, accessibility.selection.upper],
        n_validation_loci=int(accessibility.n_validation_loci), hyperparameters=accessibility.hyperparameters,
        count_check=count_check.record(),
    )
    return record
