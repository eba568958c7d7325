"""One section per model (training, metrics, counts, examples, bias diagnostics, interpretation) and the summary.

:func:`build_report` turns the read inputs (:class:`~.inputs.ModelInputs`) into the page.
Missing optional pieces become "not available" lines; nothing here raises on them.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Sequence
from typing import Any

from bpnet.core.console import format_duration
from bpnet.core.formats.training import BIAS_RUN, TrainingLog
from bpnet.core.versions import package_version

from . import bias as bias_parts
from . import plots
from .derived import derived_numbers
from .guidance import (
    BIAS_GUIDES,
    DERIVED_GUIDES,
    MOTIF_GUIDES,
    NEGATIVE_GUIDES,
    PEAK_GUIDES,
    QC_GUIDES,
    Guide,
    Verdict,
    qc_marker,
    worst,
)
from .html import badge, document, esc, figure, not_available, number, table
from .inputs import ModelInputs
from .interpretation import InterpretationSection

#: summary.json fields shown per training run, with their labels
RUN_FIELDS = (
    ("device", "device"),
    ("precision", "precision"),
    ("epochs_run", "epochs run"),
    ("best_epoch", "best epoch"),
    ("best_valid_loss", "best validation loss"),
    ("stopped_early", "stopped early"),
    ("count_loss_weight", "count loss weight"),
    ("seconds", "training time"),
    ("train_examples_per_s", "examples / s"),
    ("n_parameters", "parameters"),
    ("architecture", "architecture"),
)

#: chrombpnet.json fields, with what they mean
CHROMBPNET_FIELDS = {
    "bias_count_threshold": (
        "background loci with more counts than this were left out of the bias model's training, so it learns the "
        "enzyme's preference rather than accessibility"
    ),
    "n_bias_training_loci": "background loci the bias model was trained on",
    "bias_count_loss_weight": "weight of the count loss when training the bias model",
    "count_loss_weight": "weight of the count loss when training the accessibility model",
    "bias_count_shift": "shift of the bias model's log counts recorded by train-chrombpnet for combining it with the accessibility model",
    "count_check.separation": "gap of the predicted log counts between validation peaks and negatives over the observed gap: "
    "near 1, the count head learned what makes a peak; near 0, it predicts one count everywhere (then raise negative_ratio "
    "and count_loss_weight)",
    "count_check.passed": "whether the separation reached count_check.min_separation",
    "bias_threshold_factor": "the chosen bias model's factor: its count threshold is this times the 1% quantile of peak counts",
    "bias_model_source": "the bias model given to train-chrombpnet (bias_model), not trained by it",
    "bias_check.level": "the chosen bias model's official verdict on the validation split: pass, advice or fail",
    "bias_check.specificity": "count r on the shared background minus the positive part of the count r on peaks (higher is better)",
}
#: chrombpnet.json keys shown as tables of their own (the candidates and the chosen one's verdicts)
CHROMBPNET_TABLES = ("bias_candidates", "bias_choice", "bias_check.verdicts")

HOW_TO_READ = """
<p>Each model has its own section: training curves, held-out metrics with a marker and a note on how to read each
number, predicted vs observed counts, example profiles and, for ChromBPNet, the bias-model diagnostics; where
interpretation outputs were given, example attribution tracks, TF-MoDISco motifs with their database matches and
marginalization effects follow, each with a note on how to read it.
Metrics are computed on the held-out (test) loci by the <code>evaluate</code> stage.</p>
<p class="legend">{pass_} meets the usual bar &nbsp; {warn} borderline: look closer &nbsp; {fail} below the usual bar &nbsp;
{info} no fixed threshold: compare models on the same data &nbsp; {na} value not available</p>
<p class="sub">The marker beside each model's name (and in the summary's last column) is the most severe of its section.
The thresholds are rules of thumb from BPNet and ChromBPNet practice; what is good depends on the assay,
read depth and peak set. A model can fail a marker and still be useful; read the plots before deciding.</p>
"""


class ModelSection:
    """The report's part for one model: its verdicts, summary row and section HTML."""

    def __init__(self, model: ModelInputs, index: int):
        self.model = model
        self.anchor = f"model-{index + 1}-" + (re.sub(r"[^a-z0-9]+", "-", model.name.lower()).strip("-") or "model")
        self.metrics = model.metrics
        self.peaks = model.metrics.get("peaks") or {}
        self.negatives = model.metrics.get("negatives") or None
        self.rc_peaks = (model.metrics.get("rc_averaged") or {}).get("peaks") or None
        self.chrombpnet = model.metrics.get("chrombpnet") or None
        self.derived = derived_numbers(model.metrics, model.predictions)
        self.interpretation = InterpretationSection(model.interpretation)

    @property
    def is_chrombpnet(self) -> bool:
        training = self.model.training
        return (
            self.chrombpnet is not None
            or str(self.metrics.get("architecture", "")).lower() == "chrombpnet"
            or (training is not None and training.is_chrombpnet)
            or self.model.predictions.bias_pred_log_counts is not None
        )

    # --- verdicts ---------------------------------------------------------------------

    def verdicts(self) -> list[Verdict]:
        """Every marker of the section (the summary shows the worst)."""
        found = [guide.verdict(self.peaks.get(key)) for key, guide in PEAK_GUIDES.items()]
        found += [guide.verdict(self.derived.get(key)) for key, guide in DERIVED_GUIDES.items()]
        if self.chrombpnet:
            bias = self.chrombpnet.get("bias_on_peaks") or {}
            found += [guide.verdict(bias.get(key)) for key, guide in BIAS_GUIDES.items()]
            motif = self.chrombpnet.get("bias_motif") or {}
            found += [guide.verdict(motif.get(key)) for key, guide in MOTIF_GUIDES.items()]
            found += [qc_marker(record) for record in self._qc_records()]
        if self.model.bias_patterns is not None:
            found.append(bias_parts.patterns_verdict(self.model.bias_patterns))
        return found + self.interpretation.verdicts()

    def _qc_records(self) -> list[dict[str, Any]]:
        """The official QC verdicts of metrics.json: ``chrombpnet.qc`` and the overall footprint verdict."""
        chrombpnet = self.chrombpnet or {}
        records = [r for r in chrombpnet.get("qc") or [] if isinstance(r, dict)]
        footprints = chrombpnet.get("footprints")
        if isinstance(footprints, dict) and isinstance(footprints.get("verdict"), dict):
            records.append(footprints["verdict"])
        return records

    def summary_row(self, motifs: bool = False) -> list[str]:
        """The summary table's row; ``motifs`` adds the patterns column before the overall marker."""
        runs = self.model.training.runs if self.model.training else []
        epochs = " + ".join(_epochs_text(run) for run in runs) or "n/a"
        negatives = self.negatives or {}
        return [
            f'<a href="#{esc(self.anchor)}">{esc(self.model.name)}</a>',
            esc(self.metrics.get("architecture", "n/a")),
            esc(self.metrics.get("split", "n/a")),
            esc(epochs),
            _marked(PEAK_GUIDES["count_pearson"], self.peaks.get("count_pearson")) + self._rc_cell("count_pearson"),
            _marked(PEAK_GUIDES["profile_pearson"], self.peaks.get("profile_pearson")) + self._rc_cell("profile_pearson"),
            number(self.peaks.get("profile_jsd")) + self._rc_cell("profile_jsd"),
            number(negatives.get("count_pearson")),
            _marked(DERIVED_GUIDES["separation_auroc"], self.derived["separation_auroc"]),
            *([self.interpretation.summary_cell()] if motifs else []),
            badge(worst(self.verdicts())),
        ]

    def _rc_cell(self, key: str) -> str:
        """`` / value`` of the reverse-complement-averaged metric, where metrics.json has one."""
        return f" / {number(self.rc_peaks.get(key))}" if self.rc_peaks else ""

    def summary_values(self) -> dict[str, float | None]:
        """The summary table's numbers (plain and reverse-complement averaged), for the spread over models."""
        rc, negatives = self.rc_peaks or {}, self.negatives or {}
        values = {key: self.peaks.get(key) for key in SPREAD_KEYS}
        values.update({f"rc_{key}": rc.get(key) for key in SPREAD_KEYS})
        values["negatives_count_pearson"] = negatives.get("count_pearson")
        values["separation_auroc"] = self.derived.get("separation_auroc")
        return values

    # --- the section ------------------------------------------------------------------

    def html(self) -> str:
        overall = badge(worst(self.verdicts()))
        parts = [f'<section class="card" id="{esc(self.anchor)}"><h2>{esc(self.model.name)} {overall}</h2>', self._sources()]
        parts += ["<h3>Training</h3>", self._training()]
        parts += ["<h3>Held-out metrics</h3>", self._metrics()]
        if self.model.folds is not None:
            parts += ["<h3>Folds</h3>", _folds_table(self.model.folds)]
        parts += ["<h3>Predicted vs observed counts</h3>", self._counts()]
        parts += ["<h3>Example profiles</h3>", self._examples()]
        if self.is_chrombpnet:
            parts += ["<h3>Bias model diagnostics</h3>", self._bias()]
        parts += self.interpretation.html()
        parts.append("</section>")
        return "\n".join(parts)

    def _sources(self) -> str:
        model = self.model
        bits = [
            f"architecture <b>{esc(self.metrics.get('architecture', 'n/a'))}</b>",
            f"split <b>{esc(self.metrics.get('split', 'n/a'))}</b>",
        ]
        if self.metrics.get("model"):
            bits.append(f"model <code>{esc(self.metrics['model'])}</code>")
        sources = [f"metrics <code>{esc(model.metrics_path)}</code>", f"predictions <code>{esc(model.predictions.path)}</code>"]
        if model.training is not None:
            sources.insert(0, f"training <code>{esc(model.training.folder)}</code>")
        return f'<p class="sub">{" · ".join(bits)}</p><p class="sub">{" · ".join(sources)}</p>'

    def _training(self) -> str:
        training = self.model.training
        if training is None:
            return not_available("Training curves (no training folder was given for this model)")
        parts = [_runs_table(training.runs)]
        if training.is_chrombpnet and all(run.label != BIAS_RUN for run in training.runs):
            parts.append('<p class="sub">The bias model was given to train-chrombpnet (bias_model), not trained by it: '
                         "only the accessibility model's training is shown.</p>")
        for run in training.runs:
            what = f"{run.label} model" if run.label else "model"
            caption = (
                f"Per-epoch losses of the {esc(what)} ({run.n_epochs} epochs). Validation loss should fall and then flatten; "
                "validation rising while training keeps falling means over-fitting. The dotted line marks the epoch whose "
                "weights were kept (lowest validation loss)."
            )
            if run.label:
                parts.append(f"<h4>{esc(run.label.capitalize())} model</h4>")
            parts.append(figure(plots.loss_figure(run), f"loss curves of the {what}", caption))
        for run in training.runs:
            settings = {key: (run.summary or {}).get(key) for key in ("architecture", "hyperparameters")}
            settings = {key: value for key, value in settings.items() if isinstance(value, (dict, list)) and value}
            if settings:
                label = f" of the {run.label} model" if run.label else ""
                text = esc(json.dumps(settings, indent=2, default=str))
                parts.append(f"<details><summary>Architecture and hyperparameters{esc(label)}</summary><pre>{text}</pre></details>")
        return "\n".join(parts)

    def _metrics(self) -> str:
        n = self.peaks.get("n")
        parts = [f"<h4>Peaks{f' (n = {number(n)})' if n is not None else ''}</h4>", _metric_table(self.peaks, PEAK_GUIDES)]
        if self.rc_peaks:
            parts += [
                "<h4>Peaks, reverse-complement averaged</h4>",
                '<p class="sub">The mean of each window\'s prediction and its reverse complement\'s, turned back '
                "(strand tracks swapped). A model that learned strand-symmetric grammar scores a little better here; a "
                "large gain means the two strands' predictions disagree.</p>",
                _metric_table(self.rc_peaks, PEAK_GUIDES),
            ]
        parts += ["<h4>In context (from predictions.npz)</h4>", self._derived_table()]
        if self.negatives:
            n = self.negatives.get("n")
            parts += [f"<h4>Negatives{f' (n = {number(n)})' if n is not None else ''}</h4>", _metric_table(self.negatives, NEGATIVE_GUIDES)]
        else:
            parts += ["<h4>Negatives</h4>", not_available("Metrics on negatives (none were evaluated)")]
        return "\n".join(parts)

    def _derived_table(self) -> str:
        d = self.derived
        context = {
            "mse_vs_variance": f"variance of observed log counts on peaks: {number(d['observed_variance'])}",
            "jsd_vs_flat": f"model {number(d['example_jsd'])} vs flat {number(d['flat_jsd'])} on the example loci",
            "separation_auroc": "",
            "all_loci_count_pearson": "",
        }
        rows = []
        for key, guide in DERIVED_GUIDES.items():
            note = esc(guide.reading) + (f"<br><i>{esc(context[key])}</i>" if context.get(key) else "")
            rows.append([esc(guide.label), number(d.get(key)), badge(guide.verdict(d.get(key))), note])
        return table(["check", "value", "marker", "how to read it"], rows, numeric=(1,), guide=(3,), css="metrics")

    def _counts(self) -> str:
        p = self.model.predictions
        shown = min(len(p.is_peak), plots.MAX_SCATTER_POINTS)
        sampled = f" ({shown:,} of {len(p.is_peak):,} loci drawn, chosen at random)" if shown < len(p.is_peak) else ""
        caption = (
            "Each dot is a held-out locus: observed vs predicted log(1 + total counts), peaks blue, negatives orange, "
            f"with the Pearson r of each group{sampled}. Points should hug the dashed diagonal; peaks should sit above negatives."
        )
        if p.bias_pred_log_counts is not None:
            caption += " Middle: the bias model alone, which should explain far less of the peaks' counts than the combined model."
        caption += " Right: the predicted log counts of peaks and negatives, which should barely overlap."
        return figure(plots.counts_figure(p), "predicted vs observed log counts", caption)

    def _examples(self) -> str:
        p = self.model.predictions
        if not p.has_examples:
            return not_available("Example profiles (predictions.npz holds none)")
        k, tracks, _ = p.example_observed.shape
        shown = min(k, plots.MAX_EXAMPLES)
        strands = {1: "", 2: " Two tracks are the + (up) and − (down, mirrored) strands."}.get(tracks, " Each track has its own colour.")
        bias = " Dashed red: the bias model alone." if p.example_bias is not None else ""
        caption = (
            f"Observed counts (shaded) and predicted expected counts (line) at {shown} of the {k} example held-out loci.{strands}{bias} "
            "The predicted profile should follow the shape and position of the observed one; observed profiles are noisy, "
            "predictions smooth."
        )
        return figure(plots.examples_figure(p), "example profiles, observed vs predicted", caption)

    def _bias(self) -> str:
        parts = ["<h4>Bias model alone vs combined, on peaks</h4>"]
        bias = (self.chrombpnet or {}).get("bias_on_peaks")
        if bias:
            rows = []
            for key, guide in BIAS_GUIDES.items():
                rows.append(
                    [
                        esc(guide.label),
                        number(self.peaks.get(key)),
                        number(bias.get(key)),
                        badge(guide.verdict(bias.get(key))),
                        esc(guide.reading),
                    ]
                )
            parts.append(
                table(
                    ["metric", "combined", "bias model alone", "marker", "how to read it"],
                    rows,
                    numeric=(1, 2),
                    guide=(4,),
                    css="metrics wide",
                )
            )
        else:
            parts.append(not_available("Bias model metrics on peaks"))
        parts.append("<h4>Bias motif</h4>")
        motif = (self.chrombpnet or {}).get("bias_motif")
        if motif:
            rows = [
                [esc(g.label), number(motif.get(key)), badge(g.verdict(motif.get(key))), esc(g.reading)]
                for key, g in MOTIF_GUIDES.items()
            ]
            parts.append(f'<p class="sub">motif <code>{esc(motif.get("motif", "n/a"))}</code></p>')
            parts.append(table(["correlation", "value", "marker", "how to read it"], rows, numeric=(1,), guide=(3,), css="metrics"))
        else:
            parts.append(not_available("Bias-motif correlations (no bias motif was given to evaluate)"))
        parts += ["<h4>Official QC</h4>", self._qc()]
        parts += ["<h4>Footprint test of bias correction</h4>", self._footprints()]
        parts.append("<h4>Bias model training</h4>")
        info = self.model.training.chrombpnet if self.model.training else None
        parts.append(_chrombpnet_table(info) if info else not_available("chrombpnet.json (threshold and count shift)"))
        candidates = bias_parts.candidates_html(info or {})
        parts += ["<h4>Bias model candidates</h4>", candidates] if candidates else []
        parts += ["<h4>Bias model motifs</h4>", bias_parts.patterns_html(self.model.bias_patterns)]
        return "\n".join(parts)


    def _qc(self) -> str:
        records = [r for r in (self.chrombpnet or {}).get("qc") or [] if isinstance(r, dict)]  # the footprints: below
        if not records:
            return not_available("Official QC verdicts (metrics.json predates them: re-run evaluate)")
        intro = (
            '<p class="sub">The rules of the official ChromBPNet pipeline, on the held-out split: the bias model alone on '
            "peaks and on non-peaks, the combined model on peaks, and the footprint test below. Advice is a warning; a "
            "failure means the model should not be used as it is.</p>"
        )
        return intro + bias_parts.qc_table(records)

    def _footprints(self) -> str:
        footprints = (self.chrombpnet or {}).get("footprints")
        if not isinstance(footprints, dict) or not footprints.get("motifs"):
            return not_available("Footprint test (give evaluate bias_motifs, and a split with negatives)")
        verdict = footprints.get("verdict") or {}
        corrected = verdict.get("level") == "pass"
        word = "corrected" if corrected else "uncorrected"
        parts = [
            f'<p>Bias correction: <b>{word}</b> {badge(qc_marker(verdict))} (largest footprint {number(verdict.get("value"))}, '
            f'threshold {number(verdict.get("threshold"))}). Motifs from <code>{esc(footprints.get("motifs_file", "n/a"))}</code>, '
            f'inserted into {number(footprints.get("n_loci"))} held-out non-peak windows.</p>'
        ]
        rows = [
            [esc(m.get("motif", "")), f"<code>{esc(m.get('consensus', ''))}</code>", number(m.get("max_footprint")),
             number((m.get("verdict") or {}).get("value")), badge(qc_marker(m.get("verdict") or {}))]
            for m in footprints["motifs"]
        ]
        parts.append(table(["motif", "inserted sequence", "max footprint", "on the 1,000 bp scale", "marker"], rows, numeric=(2, 3)))
        caption = (
            "The de-biased (accessibility) model's mean footprint around each bias motif put at the centre of background "
            "windows (coloured), and without it (dashed grey): the predicted profile times the predicted count, forward and reverse "
            "strands together, normalised per window and averaged. A corrected model barely reacts to the motif; a peak or "
            "dip at the insertion is the enzyme's preference left in the model. The dotted line is the threshold on this "
            "model's scale (maxima are rounded to 3 decimals before comparing, as the official does)."
        )
        parts.append(figure(plots.footprint_figure(footprints), "footprints of the bias motifs", caption))
        guide = QC_GUIDES["bias motif footprint (max)"]
        if not corrected:
            parts.append(f"<p><b>What to do:</b> {esc(guide.remedy)}</p>")
        return "\n".join(parts)


def _marked(guide: Guide, value: Any) -> str:
    return f"{number(value)} {badge(guide.verdict(value))}"


def _epochs_text(run: TrainingLog) -> str:
    best = plots.best_epoch(run)
    label = f"{run.label}: " if run.label else ""
    return f"{label}{run.n_epochs} (best {number(best) if best is None else f'{best:g}'})"


#: (block, metric key, column heading) of the report's fold table
FOLD_COLUMNS = (
    ("peaks", "n", "test peaks"),
    ("peaks", "count_pearson", "count r"),
    ("peaks", "count_mse", "count MSE"),
    ("peaks", "profile_median_jsd", "median JSD"),
    ("peaks", "profile_pearson", "profile r"),
    ("rc_averaged_peaks", "count_pearson", "count r, rc-averaged"),
    ("rc_averaged_peaks", "profile_pearson", "profile r, rc-averaged"),
    ("negatives", "count_pearson", "negatives' count r"),
    ("bias_on_peaks", "count_pearson", "bias model count r"),
)


def _folds_table(summary: dict[str, Any]) -> str:
    """One row per fold (each on its own test chromosomes), then the mean ± sd over folds."""
    rows = []
    for record in summary["folds"]:
        cells = [number((record.get(block) or {}).get(key)) for block, key, _ in FOLD_COLUMNS]
        rows.append([esc(record.get("fold", "?")), esc(record.get("split", "n/a")), *cells])
    stats = summary.get("summary") or {}
    mean_row = []
    for block, key, _ in FOLD_COLUMNS:
        found = (stats.get(block) or {}).get(key)
        if not found:
            mean_row.append(number(None))
        elif found.get("sd") is None:
            mean_row.append(number(found["mean"]))
        else:
            mean_row.append(f"{number(found['mean'])} ± {number(found['sd'])}")
    rows.append(["<b>mean ± sd</b>", "", *mean_row])
    headers = ["fold", "split", *(heading for _, _, heading in FOLD_COLUMNS)]
    note = (
        f'<p class="sub">{len(summary["folds"])} folds, each scored on its own held-out chromosomes (the summarize-folds '
        "stage's folds.json). The rest of this section shows one fold's files; attribution and TF-MoDISco use every "
        "fold's model, averaged.</p>"
    )
    return note + table(headers, rows, numeric=tuple(range(2, len(headers))), css="metrics")


def _metric_table(values: dict[str, Any], guides: dict[str, Guide]) -> str:
    rows = [[esc(g.label), number(values.get(key)), badge(g.verdict(values.get(key))), esc(g.reading)] for key, g in guides.items()]
    extra = [key for key in values if key not in guides and key != "n"]
    rows += [[esc(key), number(values[key]), badge(Verdict.INFO), ""] for key in extra]
    return table(["metric", "value", "marker", "how to read it"], rows, numeric=(1,), guide=(3,), css="metrics")


def _runs_table(runs: Sequence[TrainingLog]) -> str:
    """One row per run (bias and accessibility for ChromBPNet), one column per summary.json field."""
    if all(run.summary is None for run in runs):
        return not_available("Training summary (summary.json)")
    fields = [(key, label) for key, label in RUN_FIELDS if any(key in (run.summary or {}) for run in runs)]
    headers = ["run", *[label for _, label in fields]]
    rows = [
        [esc(f"{run.label} model" if run.label else "model"), *[_run_value(key, (run.summary or {}).get(key)) for key, _ in fields]]
        for run in runs
    ]
    numeric = tuple(i + 1 for i, (key, _) in enumerate(fields) if key not in ("device", "precision", "architecture"))
    return table(headers, rows, numeric=numeric)


def _run_value(key: str, value: Any) -> str:
    if key == "seconds" and isinstance(value, (int, float)):
        return esc(format_duration(float(value)))
    if isinstance(value, (dict, list)):
        return '<span class="na">see below</span>' if key == "architecture" else f"<code>{esc(json.dumps(value, default=str))}</code>"
    return number(value)


def _chrombpnet_table(info: dict[str, Any]) -> str:
    rows = []
    for key, value in _flatten(info):
        if key in CHROMBPNET_TABLES or key.startswith("bias_choice."):
            continue
        meaning = CHROMBPNET_FIELDS.get(key, "")
        rows.append([f"<code>{esc(key)}</code>", _run_value(key, value), esc(meaning)])
    return table(["field", "value", "meaning"], rows, numeric=(1,), guide=(2,), css="metrics")


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            items += _flatten(value, name + ".")
        else:
            items.append((name, value))
    return items


#: peak metrics of the summary table (plain / reverse-complement averaged) whose spread over models is shown
SPREAD_KEYS = ("count_pearson", "profile_pearson", "profile_jsd")


def _spread_row(sections: Sequence[ModelSection], motifs: bool) -> list[str]:
    """Mean ± sd (sample) over the models of each summary number, for several models (seeds, folds)."""
    from bpnet.core.formats.folds import summarize

    values = [s.summary_values() for s in sections]
    rc = any(s.rc_peaks for s in sections)

    def cell(key: str) -> str:
        stats = summarize([v[key] for v in values])  # over the defined values
        if stats is None:
            return number(None)
        return number(stats["mean"]) + (f" ± {number(stats['sd'])}" if stats["sd"] is not None else "")

    def plain_rc(key: str) -> str:
        return cell(key) + (f" / {cell(f'rc_{key}')}" if rc else "")

    return [
        f"<b>mean ± sd over {len(sections)} models</b>", "", "", "",
        *(plain_rc(key) for key in SPREAD_KEYS), cell("negatives_count_pearson"), cell("separation_auroc"),
        *([""] if motifs else []), "",
    ]


def build_report(title: str, models: Sequence[ModelInputs]) -> str:
    """The whole self-contained HTML page for ``models``, one section each; with several, a row of the
    mean ± sd over them (e.g. seeds) closes the summary table."""
    sections = [ModelSection(model, i) for i, model in enumerate(models)]
    motifs = any(s.interpretation.has_motifs for s in sections)
    rc = " (plain / rc-averaged)" if any(s.rc_peaks for s in sections) else ""
    summary_headers = [
        "model", "architecture", "split", "epochs (best)", f"peaks count r{rc}", f"peaks profile r{rc}", f"peaks profile JSD{rc}",
        "negatives count r", "peak vs negative AUROC", *(["TF-MoDISco patterns"] if motifs else []), "overall",
    ]
    rows = [s.summary_row(motifs) for s in sections]
    if len(sections) > 1:
        rows.append(_spread_row(sections, motifs))
    summary = table(summary_headers, rows, numeric=(4, 5, 6, 7, 8))
    legend = HOW_TO_READ.format(
        pass_=badge(Verdict.PASS), warn=badge(Verdict.WARN), fail=badge(Verdict.FAIL), info=badge(Verdict.INFO), na=badge(Verdict.NA)
    )
    body = [
        f'<section class="card" id="summary"><h2>Summary</h2>{summary}</section>',
        f'<section class="card" id="how-to-read"><h2>How to read this report</h2>{legend}</section>',
        *[s.html() for s in sections],
    ]
    page_body = "\n".join(body)
    generated = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = (
        f"{len(sections)} model{'s' if len(sections) != 1 else ''} · generated {generated} · bpnet-interpret "
        f"{esc(package_version('bpnet-interpret'))}"
    )
    nav = [("summary", "Summary"), ("how-to-read", "How to read"), *[(s.anchor, s.model.name) for s in sections]]
    footer = "Self-contained report: every figure is embedded; no network access needed."
    return document(title, meta, nav, page_body, page_body.count("<img "), footer)
