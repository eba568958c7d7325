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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bpnet.core.outputs import total_log_counts
from bpnet.data.errors import DataError
from bpnet.data.loci import LociSet

log = logging.getLogger("bpnet.train.chrombpnet")

FIT_SPLITS = ("train", "valid")


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
        raise DataError(f"{path}: the 1% quantile of peak counts is 0, so no background locus is below the bias threshold; check the signal bigWig")
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
def predicted_log_counts(model: torch.nn.Module, loci: LociSet, rows: np.ndarray, device: torch.device, batch_size: int = 256) -> np.ndarray:
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


def count_separation(model: torch.nn.Module, loci: LociSet, peaks: np.ndarray, negatives: np.ndarray, device: torch.device) -> dict[str, float]:
    """How far the model's log counts tell ``peaks`` from ``negatives``, against the data.

    ``separation`` is the gap of the mean predicted log(1 + counts) between peaks and
    negatives divided by the observed gap: about 1 for a count head that learned what
    makes a peak, about 0 for one that predicts the same count everywhere (NaN when the
    data show no gap or a set is empty).
    """
    observed = [float(np.log1p(loci.total_counts(rows)).mean()) if len(rows) else float("nan") for rows in (peaks, negatives)]
    predicted = [float(predicted_log_counts(model, loci, rows, device).mean()) if len(rows) else float("nan") for rows in (peaks, negatives)]
    gap = observed[0] - observed[1]
    separation = (predicted[0] - predicted[1]) / gap if gap > 0 else float("nan")
    return {"observed_peaks": observed[0], "observed_negatives": observed[1], "predicted_peaks": predicted[0],
            "predicted_negatives": predicted[1], "separation": separation}
