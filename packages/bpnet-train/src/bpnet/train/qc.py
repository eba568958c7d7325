"""The official ChromBPNet QC rules, in one place for training, ``evaluate`` and the report.

Read from kundajelab/chrombpnet (``pipelines.py``, the report templates of
``helpers/generate_reports`` and ``evaluation/marginal_footprints``):

* a **bias model**'s count Pearson r on non-peaks should be above 0 (it learned the
  background); on peaks it should stay above -0.3 (below, it likely learned GC- or
  AT-rich sequence that anti-correlates with accessibility), and below -0.5 the
  official pipeline stops. Here -0.5 is a failure the user can override. bpnet adds one
  rule: above 0.5 on peaks the bias model explains accessibility itself (it learned TF
  motifs), the mirror image of the official failure;
* a **ChromBPNet**'s count Pearson r on test peaks should be above 0.5;
* **bias correction**: the de-biased model's largest marginal footprint of any bias
  motif must stay below 0.003 ("corrected"), else "uncorrected".

Each rule gives a :class:`Verdict`, which records its value, its threshold and what it
means, so a report can show it without knowing the rules.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

BIAS_NONPEAKS_MIN_PEARSON = 0.0
BIAS_PEAKS_ADVISED_MIN_PEARSON = -0.3
BIAS_PEAKS_FAIL_PEARSON = -0.5
BIAS_PEAKS_MAX_PEARSON = 0.5
CHROMBPNET_PEAKS_MIN_PEARSON = 0.5
FOOTPRINT_CORRECTED_MAX = 0.003

Level = Literal["pass", "advice", "fail"]


@dataclass(frozen=True)
class Verdict:
    """One QC rule applied to one value: ``level`` is pass, advice (a warning) or fail."""

    rule: str
    value: float
    threshold: float
    level: Level
    meaning: str

    @property
    def passed(self) -> bool:
        return self.level == "pass"

    def record(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""
        out = asdict(self)
        out["value"] = None if math.isnan(self.value) else self.value
        return out


def _verdict(rule: str, value: float, threshold: float, bad: bool, level: Level, meaning: str) -> Verdict:
    return Verdict(rule, value, threshold, level if bad else "pass", meaning if bad else "")


def bias_verdicts(peaks_pearson: float, nonpeaks_pearson: float, max_peaks_pearson: float = BIAS_PEAKS_MAX_PEARSON) -> list[Verdict]:
    """The bias-model rules on its count Pearson r on peaks and on non-peaks (NaN fails the non-peak rule)."""
    return [
        _verdict(
            "bias count r on non-peaks", nonpeaks_pearson, BIAS_NONPEAKS_MIN_PEARSON,
            not nonpeaks_pearson > BIAS_NONPEAKS_MIN_PEARSON, "fail",
            "the bias model does not follow the background's counts: it learned no enzyme bias",
        ),
        _verdict(
            "bias count r on peaks (failure)", peaks_pearson, BIAS_PEAKS_FAIL_PEARSON,
            peaks_pearson < BIAS_PEAKS_FAIL_PEARSON, "fail",
            "the bias model's counts anti-correlate with peaks: it likely learned GC/AT-rich sequence",
        ),
        _verdict(
            "bias count r on peaks (advised)", peaks_pearson, BIAS_PEAKS_ADVISED_MIN_PEARSON,
            BIAS_PEAKS_FAIL_PEARSON <= peaks_pearson < BIAS_PEAKS_ADVISED_MIN_PEARSON, "advice",
            "below the advised -0.3: check the bias model's TF-MoDISco motifs for GC/AT-rich patterns",
        ),
        _verdict(
            "bias count r on peaks (accessibility)", peaks_pearson, max_peaks_pearson,
            peaks_pearson > max_peaks_pearson, "fail",
            "the bias model explains peak counts: it likely learned TF motifs; lower bias_threshold_factor",
        ),
    ]


def chrombpnet_verdict(peaks_pearson: float) -> Verdict:
    """The ChromBPNet rule on its count Pearson r on test peaks."""
    return _verdict(
        "ChromBPNet count r on peaks", peaks_pearson, CHROMBPNET_PEAKS_MIN_PEARSON,
        not peaks_pearson > CHROMBPNET_PEAKS_MIN_PEARSON, "advice",
        "the model predicts peak counts poorly: check read depth, peak calls and the bias model",
    )


def footprint_verdict(max_footprint: float) -> Verdict:
    """Bias correction: the largest marginal footprint of any bias motif in the de-biased model."""
    return _verdict(
        "bias motif footprint (max)", max_footprint, FOOTPRINT_CORRECTED_MAX,
        not max_footprint < FOOTPRINT_CORRECTED_MAX, "fail",
        "uncorrected: the de-biased model still predicts the enzyme's footprint at its motif",
    )
