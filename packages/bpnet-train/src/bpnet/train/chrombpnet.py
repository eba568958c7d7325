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
* **Bias check and choice** (bpnet's: the official pipeline trains one factor and stops
  when the bias model's count r on peaks is below -0.5): each candidate bias model (one
  per factor) gets the official verdicts (:func:`bpnet.train.qc.bias_verdicts`) and
  :func:`choose_bias` picks one: no failure, then no advice, then the highest
  specificity (r on a shared background minus the positive part of r on peaks), then the
  smallest factor; or the one the user names.
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

from bpnet.core.outputs import call_model, total_log_counts
from bpnet.data.errors import DataError
from bpnet.data.loci import LociSet

from .qc import Level, Verdict, bias_verdicts

if TYPE_CHECKING:  # pragma: no cover
    from .session import FinishedRun

log = logging.getLogger("bpnet.train.chrombpnet")

FIT_SPLITS = ("train", "valid")
#: verdict levels, best first: bias candidates rank by their worst
LEVEL_ORDER: tuple[Level, ...] = ("pass", "advice", "fail")
#: below this ``count_separation`` (predicted peak-vs-negative gap / observed gap) training warns
MIN_COUNT_SEPARATION = 0.25
#: windows per forward pass of :func:`predicted_log_counts` (bias checks and scaling)
PREDICT_BATCH_SIZE = 256


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
    model: torch.nn.Module, loci: LociSet, rows: np.ndarray, device: torch.device, batch_size: int = PREDICT_BATCH_SIZE,
) -> np.ndarray:
    """The model's total log counts on the centred windows of ``rows`` (of a lazy set: only
    those rows are read, streamed within its budget)."""
    from .samplers import make_batches

    model.eval().to(device)
    batches = make_batches(loci.subset(rows), None, batch_size, device, train=False)
    out = [total_log_counts(call_model(model, b.X, b.X_ctl)[1].float()).cpu() for b in batches]
    return torch.cat(out).numpy() if out else np.zeros(0, np.float32)


def scale_bias_counts(bias: torch.nn.Module, loci: LociSet, rows: np.ndarray, device: torch.device) -> float:
    """Shift the bias model's count head by the mean log-count residual on ``rows``; returns the shift."""
    from .calibration import linear_count_head

    linear = linear_count_head(bias, "the bias model's count head cannot be scaled")
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
    """Step 1: a bias model, the background it trained on (``factor`` chose it), and its run (None when it was given)."""

    model: torch.nn.Module
    selection: Selection
    factor: float
    run: FinishedRun | None = None
    source: str | None = None
    hyperparameters: dict[str, Any] | None = None
    #: the run logs of a model read from a bias candidates folder
    logs: Path | None = None


@dataclass
class BiasCheck:
    """Step 2: a bias model's count Pearson r on validation peaks and validation background, and the
    official verdicts on them (:func:`bpnet.train.qc.bias_verdicts`).

    ``shared_background_count_pearson`` is its r on the validation background of the lowest
    candidate threshold, which every candidate counts as background: unlike its r on its own
    background (whose count range, and so r, grows with the threshold), it compares candidates.
    """

    peaks_count_pearson: float
    background_count_pearson: float
    max_peaks_count_pearson: float
    shared_background_count_pearson: float

    @property
    def verdicts(self) -> list[Verdict]:
        return bias_verdicts(self.peaks_count_pearson, self.background_count_pearson, self.max_peaks_count_pearson)

    @property
    def level(self) -> Level:
        """The worst verdict: pass, advice or fail."""
        return max((v.level for v in self.verdicts), key=LEVEL_ORDER.index)

    @property
    def passed(self) -> bool:
        return self.level != "fail"

    @property
    def specificity(self) -> float:
        """How much better the counts follow the background than the peaks: shared-background r minus
        the positive part of the peak r (a bias model must not explain accessibility); NaN ranks last."""
        peaks = self.peaks_count_pearson
        return self.shared_background_count_pearson - (peaks if peaks > 0 else 0.0)

    def problems(self) -> str:
        """The verdicts that did not pass, with values and thresholds ("" when all passed)."""
        return "; ".join(f"{v.level}: {v.rule} {v.value:.3f} (threshold {v.threshold:g})" for v in self.verdicts if not v.passed)

    def record(self) -> dict[str, Any]:
        return {
            "peaks_count_pearson": self.peaks_count_pearson, "background_count_pearson": self.background_count_pearson,
            "shared_background_count_pearson": self.shared_background_count_pearson,
            "max_peaks_count_pearson": self.max_peaks_count_pearson, "specificity": self.specificity, "level": self.level,
            "passed": self.passed, "verdicts": [v.record() for v in self.verdicts],
        }


def check_bias(
    bias: torch.nn.Module, loci: LociSet, background: Selection, max_peak_pearson: float, device: torch.device,
    shared_background: np.ndarray | None = None,
) -> BiasCheck:
    """How well the bias model's counts follow validation peaks (should be low), its own validation
    background and ``shared_background`` (default: its own)."""
    own = background.rows[loci.split[background.rows] == "valid"]
    background_r = count_pearson(bias, loci, own, device)
    same = shared_background is None or np.array_equal(shared_background, own)
    shared_r = background_r if same else count_pearson(bias, loci, shared_background, device)
    return BiasCheck(count_pearson(bias, loci, loci.select("valid", peaks=True), device), background_r, max_peak_pearson, shared_r)


@dataclass(eq=False)
class BiasCandidate:
    """A bias model and its check: one of the models :func:`choose_bias` picks from (compared by identity)."""

    bias: BiasModel
    check: BiasCheck

    @property
    def factor(self) -> float:
        return self.bias.factor

    def summary(self) -> str:
        """One clause with the candidate's numbers and verdict, for log lines and errors."""
        c, s = self.check, self.bias.selection
        text = (
            f"factor {self.factor:g} (threshold {s.threshold:.4g}, {len(s.rows)} loci): count r on peaks "
            f"{c.peaks_count_pearson:.3f}, on background {c.background_count_pearson:.3f}, specificity {c.specificity:.3f}"
        )
        return f"{text}, {c.problems()}" if c.level != "pass" else f"{text}, passes"


def assess_bias_candidates(biases: list[BiasModel], loci: LociSet, max_peak_pearson: float, device: torch.device) -> list[BiasCandidate]:
    """Check every bias model, on a background they all share (see :class:`BiasCheck`); in factor order."""
    lowest = min(biases, key=lambda b: b.selection.threshold or 0.0).selection.rows
    shared = lowest[loci.split[lowest] == "valid"]
    ordered = sorted(biases, key=lambda b: b.factor)
    return [BiasCandidate(b, check_bias(b.model, loci, b.selection, max_peak_pearson, device, shared)) for b in ordered]


def _rank(candidate: BiasCandidate) -> tuple[int, float, float]:
    specificity = candidate.check.specificity
    return LEVEL_ORDER.index(candidate.check.level), -specificity if np.isfinite(specificity) else np.inf, candidate.factor


@dataclass
class BiasChoice:
    """Which candidate the accessibility model uses, whether the user forced it, and why each one was or was not chosen."""

    candidates: list[BiasCandidate]
    chosen: BiasCandidate
    forced: bool
    why: list[str]

    def records(self) -> list[dict[str, Any]]:
        """Every candidate's background, checks and choice, for ``chrombpnet.json`` and ``candidates.json``."""
        return [
            {
                "factor": c.factor, "threshold": c.bias.selection.threshold, "n_loci": int(len(c.bias.selection.rows)),
                "count_loss_weight": c.bias.selection.count_loss_weight,
                "bounds": [c.bias.selection.lower, c.bias.selection.upper], **c.check.record(),
                "chosen": c is self.chosen, "why": why,
            }
            for c, why in zip(self.candidates, self.why)
        ]


def choose_bias(candidates: list[BiasCandidate], choice: float | Literal["auto"] = "auto") -> BiasChoice:
    """The candidate ``choice`` names (a ``bias_threshold_factor``) or, with ``"auto"``, the first by:
    no failed check, then no advice, then the highest :attr:`BiasCheck.specificity`, then the
    smallest factor (docs/training.md explains why not the largest factor or the highest own-background r)."""
    from bpnet.core.errors import InputError

    if choice == "auto":
        chosen, forced = min(candidates, key=_rank), False
    else:
        matches = [c for c in candidates if np.isclose(c.factor, float(choice), rtol=1e-9, atol=0)]
        if not matches:
            factors = ", ".join(f"{c.factor:g}" for c in candidates)
            raise InputError(
                f"bias_choice {float(choice):g}: no bias candidate was trained with that bias_threshold_factor "
                f"(candidates: {factors}); choose one of them or auto"
            )
        chosen, forced = matches[0], True
    return BiasChoice(candidates, chosen, forced, [_why(c, chosen, forced, len(candidates)) for c in candidates])


def _why(candidate: BiasCandidate, chosen: BiasCandidate, forced: bool, n: int) -> str:
    check = candidate.check
    if candidate is chosen:
        if forced:
            return "chosen by bias_choice" + (f" despite {check.problems()}" if check.level != "pass" else "")
        if check.level == "fail":
            return "chosen although it fails: every candidate fails; highest specificity among them"
        best = "the only candidate" if n == 1 else "highest specificity"
        if check.level == "advice":
            return f"chosen: no candidate passes every check; {best} among those without a failure"
        return f"chosen: passes every check; {best}"
    if forced:
        return f"not chosen: bias_choice is {chosen.factor:g}"
    if LEVEL_ORDER.index(check.level) > LEVEL_ORDER.index(chosen.check.level):
        return f"not chosen: {check.problems()}"
    if _rank(candidate)[1] > _rank(chosen)[1]:
        return f"not chosen: specificity {check.specificity:.3f} < {chosen.check.specificity:.3f}"
    return f"not chosen: same specificity as factor {chosen.factor:g}, which is smaller"


def enforce_bias_check(choice: BiasChoice, action: Literal["warn", "error", "off"], logger: logging.Logger) -> None:
    """Step 2's verdict on the chosen bias model: quiet when it passes (or ``action="off"``), a warning,
    or, when every candidate fails and nobody forced one, with ``action="error"`` an error listing them all."""
    from bpnet.core.errors import BpnetError

    chosen = choice.chosen
    if chosen.check.level == "pass" or action == "off":
        return
    if choice.forced:
        logger.warning("bias_choice %g: used because you chose it, despite %s", chosen.factor, chosen.check.problems())
    elif chosen.check.level == "advice":
        logger.warning(
            "bias model (factor %g) gets %s: check its motifs (attribute + modisco on the bias model) before trusting "
            "the de-biased model", chosen.factor, chosen.check.problems(),
        )
    elif action == "error":
        listed = "; ".join(c.summary() for c in choice.candidates)
        raise BpnetError(
            f"every bias candidate fails the official bias checks: {listed}. Choose one anyway with bias_choice: <factor>, "
            "train other bias_threshold_factor values (lower ones when the peak r is high), or set bias_check: warn"
        )
    else:
        logger.warning(
            "EVERY bias candidate fails the official bias checks; using factor %g, the first by the documented order: %s. "
            "The accessibility model may absorb or lose real signal; choose another with bias_choice, train other "
            "bias_threshold_factor values, or set bias_check: error to stop here", chosen.factor, chosen.summary(),
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


def chrombpnet_record(choice: BiasChoice, accessibility: AccessibilityModel, count_check: CountCheck) -> dict[str, Any]:
    """What ``chrombpnet.json`` records about a train-chrombpnet run, from the steps' results
    (the keys are listed in :mod:`bpnet.core.formats.training`)."""
    bias = choice.chosen.bias
    chosen = bias.selection
    record: dict[str, Any] = {
        "bias_count_threshold": chosen.threshold, "bias_count_bounds": [chosen.lower, chosen.upper],
        "bias_count_loss_weight": chosen.count_loss_weight, "n_bias_training_loci": int(len(chosen.rows)),
    }
    if bias.source is not None:
        record["bias_model_source"] = bias.source
    if bias.hyperparameters is not None:
        record["bias_hyperparameters"] = bias.hyperparameters
    record["bias_check"] = choice.chosen.check.record()
    record["bias_threshold_factor"] = bias.factor
    record["bias_choice"] = {
        "rule": "forced" if choice.forced else "auto", "factor": bias.factor,
        "why": choice.why[choice.candidates.index(choice.chosen)],
    }
    record["bias_candidates"] = choice.records()
    record.update(
        bias_count_shift=accessibility.bias_count_shift, count_loss_weight=accessibility.count_loss_weight,
        count_bounds=[accessibility.selection.lower, accessibility.selection.upper],
        n_validation_loci=int(accessibility.n_validation_loci), hyperparameters=accessibility.hyperparameters,
        count_check=count_check.record(),
    )
    return record
