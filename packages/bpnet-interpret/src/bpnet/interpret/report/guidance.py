"""How to read each number of the report, and a pass / warn / fail verdict for it.

The thresholds are rules of thumb from BPNet and ChromBPNet practice, not hard limits:
what counts as good depends on the assay, its read depth and the peak set. Each
:class:`Guide` says what its number measures and how to read it; its ``judge`` turns a
value into a :class:`Verdict` (numbers without a sensible fixed threshold are ``INFO``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from ..bias_patterns import TF_MATCH_Q, TOP_PATTERNS


class Verdict(str, Enum):  # noqa: UP042  (a StrEnum would change what str() of a member gives)
    """A marker next to a number; ``INFO`` has no threshold, ``NA`` means no value."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    INFO = "info"
    NA = "n/a"


_SEVERITY = {Verdict.FAIL: 3, Verdict.WARN: 2, Verdict.PASS: 1}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most severe of ``verdicts`` (fail > warn > pass); ``NA`` when none is judged."""
    judged = [v for v in verdicts if v in _SEVERITY]
    return max(judged, key=_SEVERITY.__getitem__) if judged else Verdict.NA


Judge = Callable[[float], Verdict]


def at_least(good: float, fair: float) -> Judge:
    """Higher is better: pass from ``good``, warn from ``fair``, fail below."""
    return lambda value: Verdict.PASS if value >= good else Verdict.WARN if value >= fair else Verdict.FAIL


def at_most(good: float, fair: float) -> Judge:
    """Lower is better: pass up to ``good``, warn up to ``fair``, fail above."""
    return lambda value: Verdict.PASS if value <= good else Verdict.WARN if value <= fair else Verdict.FAIL


def near_zero(good: float, fair: float) -> Judge:
    """Closer to 0 is better, either sign: pass within ``good``, warn within ``fair``."""
    return lambda value: at_most(good, fair)(abs(value))


@dataclass(frozen=True)
class Guide:
    """What a number means and how to read it; ``judge`` is ``None`` for information only."""

    label: str
    reading: str
    judge: Judge | None = None

    def verdict(self, value: float | None) -> Verdict:
        if value is None or not isinstance(value, (int, float)) or math.isnan(value):
            return Verdict.NA
        return self.judge(float(value)) if self.judge else Verdict.INFO


#: held-out peaks: the numbers a BPNet / ChromBPNet model is judged by
PEAK_GUIDES: dict[str, Guide] = {
    "count_pearson": Guide(
        "count Pearson r",
        "Correlation across peaks of predicted and observed log(1 + total counts). Pass from 0.5, warn from 0.3; "
        "well-trained models on deep data usually reach 0.5 to 0.8.",
        at_least(0.5, 0.3),
    ),
    "count_spearman": Guide(
        "count Spearman ρ",
        "Rank correlation of predicted and observed counts: like Pearson but blind to outliers and scale. Pass from 0.5, warn from 0.3.",
        at_least(0.5, 0.3),
    ),
    "count_mse": Guide(
        "count MSE",
        "Mean squared error of the log counts; lower is better. Its scale depends on the data: compare it with the variance "
        "of the observed log counts (below), the MSE of always predicting the mean.",
    ),
    "profile_pearson": Guide(
        "profile Pearson r",
        "Mean over peaks of the correlation between the predicted and observed base-resolution profile. Pass from 0.3, "
        "warn from 0.1; shallow, sparse data keeps it low even for a good model.",
        at_least(0.3, 0.1),
    ),
    "profile_spearman": Guide(
        "profile Spearman ρ",
        "Rank version of the profile correlation. Sparse counts are full of ties, so read it next to the Pearson value, not alone.",
    ),
    "profile_jsd": Guide(
        "profile JSD",
        "Jensen-Shannon divergence (natural log) between the predicted and observed profile shapes: 0 means identical, "
        "log 2 ≈ 0.69 means no overlap; lower is better. "
        "Read depth sets its floor, so compare models on the same data or with the flat-profile baseline below.",
    ),
    "profile_mnll": Guide(
        "profile MNLL",
        "Multinomial negative log-likelihood of the observed reads under the predicted profile (the profile loss). "
        "Lower is better; it grows with read depth, so compare only models on the same data.",
    ),
    "profile_median_jsd": Guide(
        "median JS distance (official)",
        "The official ChromBPNet profile number: the median over loci of the Jensen-Shannon distance (the square root "
        "of the divergence above) between the predicted and observed profile. Lower is better; like every profile "
        "number it depends on read depth.",
    ),
    "profile_median_norm_jsd": Guide(
        "median normalised JSD (official)",
        "The official normalised number: per locus 1 minus the distance over that of a flat prediction, clipped to "
        "[0, 1] (1 is perfect, 0 no better than a flat line); the median over loci. Higher is better; it rises with "
        "read depth.",
    ),
}

#: GC-matched background loci: little signal, so correlations are expected to be lower
NEGATIVE_GUIDES: dict[str, Guide] = {
    key: Guide(
        guide.label,
        {
            "count_pearson": "Count correlation on background loci. They carry little signal, so values well below the "
            "peaks' are normal; the peak vs negative AUROC above is the check that matters.",
            "count_spearman": "Rank correlation of counts on background loci; low values are normal here.",
            "count_mse": "Log-count error on background loci; it should be of the same order as on peaks.",
        }.get(key, "Profile metric on background loci, where profiles are mostly noise: for reference only."),
    )
    for key, guide in PEAK_GUIDES.items()
}

#: the ChromBPNet bias model alone, on peaks
BIAS_GUIDES: dict[str, Guide] = {
    "count_pearson": Guide(
        "count Pearson r",
        "How well the bias model alone predicts peak counts. It is trained on background only and should not explain "
        "accessibility: pass below 0.3, warn up to 0.5; higher means it learned more than the enzyme's preference.",
        at_most(0.3, 0.5),
    ),
    "count_spearman": Guide(
        "count Spearman ρ", "Rank version of the above; for the bias model alone it should also be low."
    ),
    "profile_pearson": Guide(
        "profile Pearson r",
        "Correlation of the bias model's profile with the observed one on peaks. Some correlation is expected (the "
        "enzyme's cut preference shapes every profile); compare it with the combined model's.",
    ),
    "profile_jsd": Guide(
        "profile JSD",
        "Profile divergence of the bias model alone; it should be higher (worse) than the combined model's.",
    ),
}

@dataclass(frozen=True)
class QcGuide:
    """One official ChromBPNet QC rule: what it checks and what to do when it is not met."""

    reading: str
    remedy: str


#: the official QC rules of metrics.json ``chrombpnet.qc`` (and the footprint test), by their ``rule``
QC_GUIDES: dict[str, QcGuide] = {
    "bias count r on non-peaks": QcGuide(
        "The bias model alone should follow the counts of background (non-peak) loci: that is what it was trained on. "
        "The official bar is r above 0.",
        "The bias model learned no enzyme preference. Check its loss curves (did it train?), that the negatives are "
        "background (GC-matched, away from peaks) and hold enough reads, and that the reads were shifted as the assay "
        "needs (+4/-4 bp for ATAC); then retrain the bias model, with more epochs or more background loci.",
    ),
    "bias count r on peaks (failure)": QcGuide(
        "The bias model alone should not anti-correlate strongly with peak counts: the official pipeline stops below -0.5.",
        "The bias model most likely learned GC- or AT-rich sequence that is depleted in peaks, and would push that "
        "pattern into the de-biased model. Retrain it with other bias_threshold_factor values (a list tries several; "
        "a higher factor lets more high-count background into its training), or use a bias model trained on another "
        "sample of the same assay. Its TF-MoDISco motifs should be the enzyme's, not GC/AT runs.",
    ),
    "bias count r on peaks (advised)": QcGuide(
        "Between -0.5 and -0.3 the official code still trains the model but warns.",
        "Look at the TF-MoDISco motifs of the de-biased model: several GC-rich patterns among the top ten mean the "
        "bias model's GC preference differs from the peaks'; then retrain the bias model with a higher "
        "bias_threshold_factor (or a list of them). Otherwise the model can be used.",
    ),
    "bias count r on peaks (accessibility)": QcGuide(
        "bpnet's mirror rule: above 0.5 the bias model alone explains peak counts, which an enzyme preference cannot.",
        "The bias model learned TF motifs from high-count background loci, and the de-biased model would lose them. "
        "Retrain it with a lower bias_threshold_factor (or a list of lower values) so its training leaves out more "
        "peak-like background, and check its TF-MoDISco motifs: they should show only the enzyme's motif.",
    ),
    "ChromBPNet count r on peaks": QcGuide(
        "The combined model's count Pearson r on held-out peaks should be above 0.5 (the official bar).",
        "Peak counts are predicted poorly. More reads help most (merge replicates, sequence deeper); check the peak "
        "calls (reproducible peaks, not noise) and that the bias model passed its checks; train longer if the "
        "validation loss was still falling.",
    ),
    "bias motif footprint (max)": QcGuide(
        "The de-biased model's footprint at each bias motif put into background: its largest value (on the official "
        "1,000 bp scale, rounded to 3 decimals) must stay below 0.003 for the model to count as corrected.",
        "The de-biased model still predicts the enzyme's cut pattern, so the bias model captured too little of it. "
        "Check that the reads were shifted as the assay needs (+4/-4 bp for ATAC), retrain the bias model with other "
        "bias_threshold_factor values (or use one trained on another sample of the same assay), and look for the "
        "bias motif among the de-biased model's TF-MoDISco motifs.",
    ),
}

#: the levels of the official QC records, as report markers
QC_LEVELS = {"pass": Verdict.PASS, "advice": Verdict.WARN, "fail": Verdict.FAIL}


def qc_marker(record: dict) -> Verdict:
    """The marker of one QC record of metrics.json: its ``level`` (pass, advice or fail) as the
    evaluate stage judged it (a missing value can fail a rule); NA for a record without one."""
    level = record.get("level") if isinstance(record, dict) else None
    return QC_LEVELS.get(level, Verdict.NA) if isinstance(level, str) else Verdict.NA


#: how to read the bias-model candidates of chrombpnet.json (train-chrombpnet's bias_threshold_factor list or bias_models folder)
BIAS_CANDIDATES_READING = (
    "One bias model per bias_threshold_factor, each trained on the background loci with fewer counts than the factor "
    "times the 1% quantile of peak counts (the count threshold), and each checked on the validation split: its count r "
    "on peaks should be low, on its own background and on the background every candidate shares high; specificity is "
    "the shared-background r minus the positive part of the peak r. bias_choice: auto takes the first with no failed "
    "check, then no advice, then the highest specificity, then the smallest factor. To use another candidate, set "
    "bias_choice: <factor> in train-chrombpnet: with a train-chrombpnet-bias stage only the accessibility model is "
    "trained again."
)

#: the check of the bias model's TF-MoDISco patterns (bpnet.interpret.bias_patterns)
BIAS_PATTERNS_GUIDE = QcGuide(
    f"The official rule: TF-MoDISco on the bias model's contribution scores should find the enzyme's bias motifs (Tn5 "
    f"for ATAC-seq, DNase-I for DNase-seq) as its first 3 to 5 patterns (the top {TOP_PATTERNS} by seqlets are checked). "
    f"A top pattern whose best TOMTOM match is a TF motif with q < {TF_MATCH_Q:g} means the bias model learned TF "
    "motifs; a weaker TF match is tolerated.",
    "The bias model learned TF motifs from accessible sites in its training background, and the de-biased model would "
    "lose them. Use a lower bias_threshold_factor: choose a smaller candidate with bias_choice in train-chrombpnet (with "
    "a train-chrombpnet-bias stage only the accessibility model is trained again), or train smaller factors (e.g. "
    "[0.2, 0.3, 0.4]).",
)
#: what to do when no top pattern of the bias model matches a bias motif
NO_BIAS_MOTIF_REMEDY = (
    "Check that the bias annotate stage's database holds the assay's bias motifs (tn5 for ATAC-seq, dnase for DNase-seq) "
    "and that the report's bias_motifs names them, that the reads were shifted as the assay needs (+4/-4 bp for ATAC), "
    "and the bias model's QC above. Unmatched patterns may be partial bias motifs: look at their logos."
)

#: the bias motif (e.g. the Tn5 motif) inserted into background: who responds to it
MOTIF_GUIDES: dict[str, Guide] = {
    "bias_profile_corr": Guide(
        "bias model vs bias motif",
        "How closely the bias model's predicted profile follows the bias motif (the enzyme's sequence preference, e.g. "
        "Tn5's) inserted into background sequence. It should be clearly positive (pass from 0.5, warn from 0.2): the bias "
        "model has learned the enzyme's preference.",
        at_least(0.5, 0.2),
    ),
    "accessibility_profile_corr": Guide(
        "accessibility model vs bias motif",
        "The same correlation for the bias-free accessibility model. It should be near 0 (pass within ±0.2, warn within "
        "±0.4): otherwise bias leaked into the model that is meant to be interpreted.",
        near_zero(0.2, 0.4),
    ),
    "combined_profile_corr": Guide(
        "combined model vs bias motif",
        "The same correlation for the combined model, which predicts the observed data and so should follow the bias "
        "motif about as much as the bias model does.",
    ),
}

#: numbers the report derives from predictions.npz itself
DERIVED_GUIDES: dict[str, Guide] = {
    "mse_vs_variance": Guide(
        "count MSE / variance of observed",
        "Count MSE on peaks divided by the variance of the observed log counts on peaks: 1 is no better than predicting "
        "the mean, 0 is perfect. Pass below 0.75, warn below 1.",
        at_most(0.75, 1.0),
    ),
    "separation_auroc": Guide(
        "peak vs negative AUROC",
        "How well the predicted counts alone rank peaks above negatives (0.5 is chance, 1 perfect). Pass from 0.9, warn from 0.75.",
        at_least(0.9, 0.75),
    ),
    "jsd_vs_flat": Guide(
        "JSD / flat-profile JSD",
        "Profile JSD of the model on the example loci divided by that of a flat profile on the same loci: below 1 means "
        "the model predicts shape beyond a flat line. Pass below 0.9, warn below 1.",
        at_most(0.9, 1.0),
    ),
    "all_loci_count_pearson": Guide(
        "count Pearson r, peaks and negatives",
        "Count correlation over peaks and negatives together; it mostly measures whether high- and low-signal loci are told "
        "apart. Pass from 0.6, warn from 0.4.",
        at_least(0.6, 0.4),
    ),
}


#: interpretation: attributions, TF-MoDISco patterns and their database matches
INTERPRETATION_GUIDES: dict[str, Guide] = {
    "n_pos_patterns": Guide(
        "positive patterns found",
        "TF-MoDISco patterns made of seqlets that raise the explained output. A model that learned motifs gives at least "
        "one (pass); none (warn) means too few or too weak seqlets: attribute more peaks, or check that the model learned "
        "anything (its held-out metrics above).",
        at_least(1, 0),
    ),
    "top_pattern_seqlets": Guide(
        "seqlets of the largest positive pattern",
        "Support of the best-supported pattern. Hundreds to thousands of seqlets is usual for a good model on a few "
        "thousand peaks; fewer than 100 (warn) is weak evidence for any pattern.",
        at_least(100, 0),
    ),
    "n_matched": Guide(
        "patterns matching a database motif (q < 0.05)",
        "Patterns whose best TOMTOM match in the motif database has a q-value below 0.05: these are known motifs. "
        "Patterns without a match may be novel, composites of two motifs (e.g. a dimer site), or partial motifs.",
    ),
    "delta_max_abs": Guide(
        "largest |convergence delta| of a window",
        "DeepLIFT/SHAP's check: the sum of a window's attributions minus the change of the explained output, averaged "
        "over references and models. It should be near 0 (pass up to 0.001, warn up to 0.01); larger values mean the "
        "attributions do not add up to the prediction (an operation the explainer does not handle exactly).",
        at_most(1e-3, 1e-2),
    ),
}

#: significance below which a pattern's best database match names it
MATCH_Q_VALUE = 0.05
#: patterns with fewer seqlets than this are flagged as weakly supported
LOW_SEQLET_SUPPORT = 100
