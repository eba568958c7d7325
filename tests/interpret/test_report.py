"""The report stage: one self-contained HTML page from saved training and evaluation files.

The inputs are small but valid files in the formats train-bpnet, train-chrombpnet and
evaluate write (epochs.csv, summary.json, chrombpnet.json, metrics.json, predictions.npz).
"""

from __future__ import annotations

import csv
import json
import logging
import re
import shutil
import subprocess
from html import escape as html_escape
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from bpnet.core.cli.main import run_cli
from bpnet.core.errors import InputError
from bpnet.core.formats.metrics import METRIC_KEYS
from bpnet.core.formats.training import EPOCH_COLUMNS
from bpnet.core.stages.base import StageContext
from bpnet.interpret.report.derived import auroc, mean_jsd
from bpnet.interpret.stages import report as report_stage
from bpnet.interpret.stages.report import Report

from .browser import chromium_command, rendered_body

# --- fake but valid inputs ------------------------------------------------------------------


def write_run(folder: Path, n_epochs: int = 6, seed: int = 0, summary: bool = True) -> Path:
    """epochs.csv, batches.jsonl and summary.json of one training run."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    best = 0
    with open(folder / "epochs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EPOCH_COLUMNS)
        for epoch in range(n_epochs):
            profile, count = 300 / (epoch + 2) + rng.random(), 2 / (epoch + 1) + 0.1 * rng.random()
            valid_profile, valid_count = profile * 1.05 + 0.2 * max(0, epoch - 3), count * 1.1
            best = epoch if epoch <= 3 else best
            writer.writerow([
                epoch, 1e-3, profile + 10 * count, profile, count, valid_profile + 10 * valid_count, valid_profile,
                valid_count, 0.3 + 0.08 * epoch, 0.5 - 0.02 * epoch, 12.5, 800.0, int(epoch <= 3),
            ])
    (folder / "batches.jsonl").write_text(
        json.dumps(
            {
                "epoch": 0,
                "batch": 0,
                "loss": 1.0,
                "profile_loss": 0.5,
                "count_loss": 0.05,
                "lr": 1e-3,
                "examples": 64,
                "seconds": 0.1,
            }
        )
        + "\n"
    )
    if summary:
        (folder / "summary.json").write_text(json.dumps({
            "device": "cpu", "precision": "float32", "epochs_run": n_epochs, "best_epoch": best, "best_valid_loss": 80.5,
            "stopped_early": False, "count_loss_weight": 10.0, "seconds": 75.0, "train_examples_per_s": 800.0,
            "n_parameters": 123456, "architecture": "bpnet", "hyperparameters": {"n_filters": 64, "n_layers": 9, "lr": 1e-3},
        }))
    return folder


def metric_block(n: int, count_pearson: float) -> dict:
    values = dict(zip(METRIC_KEYS[1:], (250.0, 0.35, 0.42, 0.30, count_pearson, count_pearson - 0.05, 0.4)))
    return {"n": n, **values}


def write_metrics(path: Path, architecture: str = "bpnet", negatives: bool = True, chrombpnet: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "model": str(path.parent / "model"), "architecture": architecture, "split": "test",
        "peaks": metric_block(100, 0.71), "negatives": metric_block(200, 0.25) if negatives else None, "chrombpnet": chrombpnet,
    }))
    return path


def write_predictions(path: Path, tracks: int = 2, examples: int = 4, negatives: bool = True, bias: bool = False, seed: int = 0) -> Path:
    """predictions.npz: 100 peaks (and 200 negatives) with examples of shape (k, tracks, 200)."""
    rng = np.random.default_rng(seed)
    n_peaks, n_neg, length = 100, 200 if negatives else 0, 200
    is_peak = np.r_[np.ones(n_peaks, bool), np.zeros(n_neg, bool)]
    obs = np.where(is_peak, rng.normal(5.0, 0.8, len(is_peak)), rng.normal(2.0, 0.6, len(is_peak))).clip(0)
    pred = 0.8 * obs + 0.6 + rng.normal(0, 0.4, len(obs))
    arrays = {
        "chrom": np.array([f"chr{1 + i % 3}" for i in range(len(obs))]),
        "centre": rng.integers(10_000, 1_000_000, len(obs)).astype(np.int64),
        "is_peak": is_peak,
        "obs_log_counts": obs.astype(np.float32),
        "pred_log_counts": pred.astype(np.float32),
        "signal_names": np.array(["signal"]),
    }
    if examples:
        index = np.arange(examples, dtype=np.int64)
        x = np.arange(length)
        shape = np.stack([np.exp(-0.5 * ((x - 100 - 8 * (1 - 2 * t)) / 10) ** 2) for t in range(tracks)]) + 0.02
        expected = np.stack([shape / shape.sum() * np.expm1(obs[i]) for i in index])
        arrays |= {
            "example_index": index,
            "example_observed": rng.poisson(expected).astype(np.float32),
            "example_predicted": (expected * rng.uniform(0.8, 1.2, (examples, 1, 1))).astype(np.float32),
        }
        if bias:
            arrays["example_bias"] = (np.full_like(expected, 1.0 / length) * np.expm1(obs[index])[:, None, None] * 0.3).astype(np.float32)
    if bias:
        arrays["bias_pred_log_counts"] = (0.2 * obs + 2 + rng.normal(0, 0.5, len(obs))).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def write_chrombpnet_training(folder: Path, info: bool = True) -> Path:
    write_run(folder / "bias", n_epochs=4, seed=1)
    write_run(folder / "accessibility", n_epochs=7, seed=2)
    if info:
        (folder / "chrombpnet.json").write_text(json.dumps({
            "bias_count_threshold": 55.0, "bias_count_loss_weight": 4.2, "count_loss_weight": 31.0, "bias_count_shift": -0.35,
            "n_bias_training_loci": 1800, "bias_check": {"bias_on_peaks_count_pearson": 0.18, "passed": True},
        }))
    return folder


def qc_record(rule: str, value: float, threshold: float, level: str = "pass", meaning: str = "") -> dict:
    return {"rule": rule, "value": value, "threshold": threshold, "level": level, "meaning": meaning}


def footprints_block(maxima: dict[str, float], length: int = 200) -> dict:
    """A chrombpnet.footprints block: one motif per entry of ``maxima`` (max footprint on the 1,000 bp scale)."""
    x = np.arange(length)
    flat = np.full(length, 1.0 / length)
    motifs = []
    for name, scaled in maxima.items():
        peak = scaled * 1000 / length
        with_motif = flat + (peak - 1.0 / length) * np.exp(-0.5 * ((x - length // 2) / 3) ** 2)
        level = "pass" if round(scaled, 3) < 0.003 else "fail"
        verdict = qc_record("bias motif footprint (max)", round(scaled, 3), 0.003, level, "" if level == "pass" else "uncorrected: ...")
        motifs.append({"motif": name, "name": name, "consensus": "GCACAGTACAGAGCTG", "max_footprint": float(with_motif.max()),
                       "scaled_max_footprint": round(scaled, 3), "verdict": verdict, "with_motif": with_motif.tolist()})
    worst = max(motifs, key=lambda m: m["scaled_max_footprint"])["verdict"]
    return {"motifs_file": "tn5.meme", "n_loci": 200, "output_length": length, "reference_output_length": 1000,
            "window_start": 0, "without_motif": flat.tolist(), "max_without_motif": 1.0 / length, "motifs": motifs, "verdict": worst}


CHROMBPNET_METRICS = {
    "bias_on_peaks": metric_block(100, 0.18),
    "bias_on_negatives": metric_block(200, 0.42),
    "bias_motif": {"motif": "Tn5", "bias_profile_corr": 0.82, "accessibility_profile_corr": 0.04, "combined_profile_corr": 0.79},
    "qc": [
        qc_record("bias count r on non-peaks", 0.42, 0.0),
        qc_record("bias count r on peaks (failure)", -0.41, -0.5),
        qc_record("bias count r on peaks (advised)", -0.41, -0.3, "advice", "below the advised -0.3: check motifs"),
        qc_record("bias count r on peaks (accessibility)", -0.41, 0.5),
        qc_record("ChromBPNet count r on peaks", 0.71, 0.5),
    ],
    "footprints": footprints_block({"tn5_1": 0.0011, "tn5_2": 0.0052}),
}


def write_two_models(folder: Path) -> dict:
    """A BPNet (ChIP, two strands) and a ChromBPNet (ATAC, one track) with every piece present: the ``models`` parameter."""
    chip, atac = folder / "chip", folder / "atac"
    return {"models": [
        {"name": "ChIP BPNet", "training": write_run(chip / "training"), "metrics": write_metrics(chip / "eval/metrics.json"),
         "predictions": write_predictions(chip / "eval/predictions.npz")},
        {"name": "ATAC ChromBPNet", "training": write_chrombpnet_training(atac / "training"),
         "metrics": write_metrics(atac / "eval/metrics.json", "chrombpnet", chrombpnet=CHROMBPNET_METRICS),
         "predictions": write_predictions(atac / "eval/predictions.npz", tracks=1, bias=True, seed=1)},
    ]}


def parallel_lists(models: list[dict]) -> dict:
    """The same models in the deprecated form: one list per file kind, in the order of names."""
    lists = {"names": [m["name"] for m in models]}
    for key in ("training", "metrics", "predictions"):
        lists[key] = [m[key] for m in models if key in m]
    return lists


@pytest.fixture
def two_models(tmp_path) -> dict:
    return write_two_models(tmp_path)


def run_report(tmp_path: Path, **params) -> str:
    params.setdefault("report", tmp_path / "out" / "report.html")
    stage = Report()
    context = StageContext("report", tmp_path / "out", tmp_path / "resume", logging.getLogger("test"))
    stage.run(Report.Params(**params), context)
    return Path(params["report"]).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, str]:
    """The two-model report, rendered once for the tests that only read it: (its path, its HTML)."""
    folder = tmp_path_factory.mktemp("report")
    html = run_report(folder, title="test report", **write_two_models(folder))
    return folder / "out" / "report.html", html


def image_sources(html: str) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)


def undated(html: str) -> str:
    """The page without the minute it was generated."""
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", html)


# --- the page ------------------------------------------------------------------------------------


def test_report_has_a_section_per_model_every_plot_embedded_and_no_external_url(rendered):
    _, html = rendered
    for heading in ("Summary", "How to read this report", "ChIP BPNet", "ATAC ChromBPNet", "Training", "Held-out metrics",
                    "Predicted vs observed counts", "Example profiles"):
        assert heading in html
    assert html.count("<h3>Bias model diagnostics</h3>") == 1  # the ChromBPNet section only
    # BPNet: 1 loss figure + counts + examples; ChromBPNet: bias and accessibility losses + counts + examples + footprints
    sources = image_sources(html)
    assert len(sources) == 8 and all(src.startswith("data:image/png;base64,") for src in sources)
    assert 'data-plots-expected="8"' in html
    assert "http://" not in html and "https://" not in html and "<link" not in html and "@import" not in html
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', html))
    assert "<style>" in html and "plotsLoaded" in html


def test_report_shows_metrics_guidance_and_bias_diagnostics(rendered):
    _, html = rendered
    assert "count Pearson r" in html and "0.710" in html and "Pass from 0.5" in html
    assert '<span class="badge pass">pass</span>' in html
    assert "bias model alone" in html and "0.180" in html  # bias count Pearson on peaks
    assert "Tn5" in html and "accessibility model vs bias motif" in html
    assert "bias_count_threshold" in html and "bias_count_shift" in html and "-0.350" in html
    assert "bias_check.passed" in html
    assert "peak vs negative AUROC" in html and "1 min 15 s" in html  # summary.json seconds
    assert "median normalised JSD (official)" in html


def test_report_shows_the_official_qc_verdicts_and_the_footprint_test_with_what_to_do(rendered):
    from bpnet.interpret.report.guidance import QC_GUIDES

    _, html = rendered
    qc = html[html.index("<h4>Official QC</h4>") : html.index("<h4>Footprint test of bias correction</h4>")]
    for record in CHROMBPNET_METRICS["qc"]:
        assert record["rule"] in qc
    assert qc.count('<span class="badge pass">pass</span>') == 4 and qc.count('<span class="badge warn">warn</span>') == 1
    advised = QC_GUIDES["bias count r on peaks (advised)"]
    assert html_escape(advised.remedy) in qc and "below the advised -0.3: check motifs" in qc  # only the advised rule: what to do
    assert qc.count("What to do:") == 1
    assert html_escape(QC_GUIDES["ChromBPNet count r on peaks"].remedy) not in qc
    footprints = html[html.index("<h4>Footprint test of bias correction</h4>") : html.index("<h4>Bias model training</h4>")]
    assert "Bias correction: <b>uncorrected</b>" in footprints and '<span class="badge fail">fail</span>' in footprints
    assert "tn5_1" in footprints and "tn5_2" in footprints and "GCACAGTACAGAGCTG" in footprints and "0.005" in footprints
    assert html_escape(QC_GUIDES["bias motif footprint (max)"].remedy) in footprints and "tn5.meme" in footprints
    assert len(image_sources(footprints)) == 1
    # the failed footprint makes the model's overall marker a failure
    heading = re.search(r'<h2>ATAC ChromBPNet (<span class="badge \w+">)', html).group(1)
    assert "fail" in heading


def test_every_official_qc_rule_has_its_guidance():
    from bpnet.interpret.report.guidance import QC_GUIDES, QC_LEVELS
    from bpnet.train import qc

    verdicts = [*qc.bias_verdicts(0.1, 0.1), qc.chrombpnet_verdict(0.1), qc.footprint_verdict(0.1)]
    assert {v.rule for v in verdicts} == set(QC_GUIDES)
    assert {"pass", "advice", "fail"} == set(QC_LEVELS)


def test_a_corrected_model_shows_corrected_and_no_advice(tmp_path):
    chrombpnet = {**CHROMBPNET_METRICS, "footprints": footprints_block({"tn5_1": 0.001, "tn5_2": 0.0021})}
    metrics = write_metrics(tmp_path / "metrics.json", "chrombpnet", chrombpnet=chrombpnet)
    predictions = write_predictions(tmp_path / "predictions.npz", tracks=1, bias=True)
    html = run_report(tmp_path, models=[{"name": "ATAC", "metrics": metrics, "predictions": predictions}])
    footprints = html[html.index("<h4>Footprint test of bias correction</h4>") : html.index("<h4>Bias model training</h4>")]
    assert "Bias correction: <b>corrected</b>" in footprints and "What to do" not in footprints


def test_missing_optional_pieces_show_as_not_available(tmp_path):
    folder = tmp_path / "atac"
    training = write_chrombpnet_training(folder / "training", info=False)
    (training / "bias" / "summary.json").unlink()
    (training / "accessibility" / "summary.json").unlink()
    metrics = write_metrics(
        folder / "metrics.json",
        "chrombpnet",
        negatives=False,
        chrombpnet={"bias_on_peaks": metric_block(100, 0.4), "bias_motif": None},
    )
    predictions = write_predictions(folder / "predictions.npz", tracks=1, examples=0, negatives=False, bias=True)
    html = run_report(tmp_path, models=[{"name": "ATAC", "training": training, "metrics": metrics, "predictions": predictions}])
    for missing in ("Metrics on negatives", "Example profiles", "Bias-motif correlations", "chrombpnet.json", "Training summary",
                    "Official QC verdicts (metrics.json predates them: re-run evaluate)", "Footprint test"):
        assert f"{missing}" in html and "not available" in html
    assert html.count("not available") >= 7
    assert len(image_sources(html)) == 3  # two loss figures and the counts scatter


def test_models_without_a_training_folder_get_a_report_without_loss_curves(tmp_path):
    metrics = write_metrics(tmp_path / "m/metrics.json")
    predictions = write_predictions(tmp_path / "m/predictions.npz", tracks=3)
    html = run_report(tmp_path, models=[{"name": "imported", "metrics": metrics, "predictions": predictions}])
    assert "Training curves (no training folder was given for this model): not available" in html
    assert len(image_sources(html)) == 2


# --- ChromBPNet: the bias-model candidates and the bias model's motifs -----------------------------


def candidate(factor: float, level: str, chosen: bool, why: str, peaks_r: float) -> dict:
    """One entry of chrombpnet.json's bias_candidates, as train-chrombpnet writes it."""
    verdicts = [qc_record("bias count r on peaks (advised)", peaks_r, -0.3, level, "" if level == "pass" else "advice: ...")]
    return {"factor": factor, "threshold": 40.0 * factor, "n_loci": int(3000 * factor), "count_loss_weight": 3.0,
            "bounds": [0.0, 9.0], "peaks_count_pearson": peaks_r, "background_count_pearson": 0.45 + factor / 10,
            "shared_background_count_pearson": 0.41, "max_peaks_count_pearson": 0.5, "specificity": 0.41 - max(peaks_r, 0),
            "level": level, "passed": level != "fail", "verdicts": verdicts, "chosen": chosen, "why": why}


CANDIDATES = [
    candidate(0.3, "advice", False, "not chosen: advice: bias count r on peaks -0.350 below the advised -0.3", -0.35),
    candidate(0.5, "pass", True, "chosen: passes every check; highest specificity", 0.02),
    candidate(0.7, "pass", False, "not chosen: specificity 0.210 < 0.390", 0.2),
]


def test_the_bias_model_candidates_are_a_table_with_the_chosen_one_marked(tmp_path):
    training = write_chrombpnet_training(tmp_path / "training")
    record = json.loads((training / "chrombpnet.json").read_text())
    chosen = CANDIDATES[1]
    record.update(bias_threshold_factor=0.5, bias_candidates=CANDIDATES,
                  bias_choice={"rule": "auto", "factor": 0.5, "why": chosen["why"]},
                  bias_check={**{k: chosen[k] for k in ("peaks_count_pearson", "specificity", "level", "passed")},
                              "verdicts": chosen["verdicts"]})
    (training / "chrombpnet.json").write_text(json.dumps(record))
    metrics = write_metrics(tmp_path / "metrics.json", "chrombpnet", chrombpnet=CHROMBPNET_METRICS)
    predictions = write_predictions(tmp_path / "predictions.npz", tracks=1, bias=True)
    html = run_report(tmp_path, models=[{"name": "ATAC", "training": training, "metrics": metrics, "predictions": predictions}])
    part = html[html.index("<h4>Bias model candidates</h4>") : html.index("<h4>Bias model motifs</h4>")]
    assert "Chosen bias model: factor <b>0.5</b> (bias_choice: auto) · <i>chosen: passes every check; highest specificity</i>" in part
    rows = re.findall(r"<tr>(.*?)</tr>", part.split("<tbody>", 1)[1].split("</tbody>", 1)[0])
    assert len(rows) == 3 and ["<b>chosen</b>" in row for row in rows] == [False, True, False]
    for c, row in zip(CANDIDATES, rows):
        assert html_escape(c["why"]) in row and f'>{c["factor"]:g}<' in row
    assert '<span class="badge warn">warn</span>' in rows[0] and '<span class="badge pass">pass</span>' in rows[1]
    assert "bias_choice: &lt;factor&gt; in train-chrombpnet" in part  # how to take another one
    assert "validation split, when it was chosen" in part and "bias count r on peaks (advised)" in part
    # the field table lists the scalars, not the candidates as raw JSON
    fields = html[html.index("<h4>Bias model training</h4>") : html.index("<h4>Bias model candidates</h4>")]
    assert "bias_threshold_factor" in fields and "bias_check.level" in fields
    assert "bias_candidates" not in fields and "bias_choice" not in fields and "bias_check.verdicts" not in fields


def test_a_chrombpnet_given_one_bias_model_has_no_bias_run_and_its_report_still_renders(tmp_path):
    training = write_chrombpnet_training(tmp_path / "training")
    shutil.rmtree(training / "bias")  # train-chrombpnet with bias_model: a model folder writes no bias/ logs
    metrics = write_metrics(tmp_path / "metrics.json", "chrombpnet", chrombpnet=CHROMBPNET_METRICS)
    predictions = write_predictions(tmp_path / "predictions.npz", tracks=1, bias=True)
    html = run_report(tmp_path, models=[{"name": "ATAC", "training": training, "metrics": metrics, "predictions": predictions}])
    assert "The bias model was given to train-chrombpnet (bias_model), not trained by it" in html
    assert "loss curves of the accessibility model" in html and "loss curves of the bias model" not in html
    assert "<h4>Bias model candidates</h4>" not in html  # chrombpnet.json predates them: no empty table


def test_the_bias_models_motifs_show_the_verdict_the_patterns_and_what_to_do(tmp_path):
    from bpnet.interpret.annotation import PATTERN_COLUMNS, write_table
    from bpnet.interpret.report.guidance import BIAS_PATTERNS_GUIDE

    from .test_report_interpretation import write_modisco

    modisco = write_modisco(tmp_path / "bias-modisco" / "modisco_results.h5")  # patterns of 150, 40 and 30 seqlets
    annotations = tmp_path / "bias-annotate" / "patterns.tsv"
    annotations.parent.mkdir()
    write_table(annotations, PATTERN_COLUMNS, [
        ["pos_patterns.pattern_1", "1", "tn5_2", "", "1e-09", "2e-08", "0", "+", "150"],
        ["pos_patterns.pattern_0", "1", "MA0139.2", "CTCF", "3e-08", "5e-07", "1", "-", "40"],
        ["neg_patterns.pattern_0", "", "", "", "", "", "", "", "30"],
    ])
    metrics = write_metrics(tmp_path / "metrics.json", "chrombpnet", chrombpnet=CHROMBPNET_METRICS)
    predictions = write_predictions(tmp_path / "predictions.npz", tracks=1, bias=True)
    entry = {"name": "ATAC", "metrics": metrics, "predictions": predictions}
    html = run_report(tmp_path, models=[{**entry, "bias_modisco": modisco, "bias_annotations": annotations, "bias_motifs": "tn5"}])
    part = html[html.index("<h4>Bias model motifs</h4>") : html.index("</section>", html.index("<h4>Bias model motifs</h4>"))]
    assert ("Bias model: <b>a TF motif among the bias model&#x27;s top patterns: lower bias_threshold_factor or choose "
            'another candidate with bias_choice</b> <span class="badge warn">warn</span>') in part
    rows = re.findall(r"<tr>(.*?)</tr>", part.split("<tbody>", 1)[1].split("</tbody>", 1)[0])
    assert [re.search(r"<code>([^<]+)</code>", row).group(1) for row in rows] == [
        "pos_patterns.pattern_1", "pos_patterns.pattern_0", "neg_patterns.pattern_0"]  # by seqlets
    assert "tn5_2" in rows[0] and ">bias<" in rows[0] and "CTCF (MA0139.2)" in rows[1] and ">TF<" in rows[1]
    assert ">5e-07<" in rows[1] and ">3e-08<" in rows[1]  # its q- and p-value
    assert len(image_sources(part)) == 3  # a CWM logo per pattern
    assert html_escape(BIAS_PATTERNS_GUIDE.remedy) in part and str(modisco) in part
    # only the bias motifs' part changed: every built-in set is the default, and a Tn5-only top is a pass
    write_table(annotations, PATTERN_COLUMNS, [["pos_patterns.pattern_1", "1", "tn5_2", "", "1e-09", "2e-08", "0", "+", "150"]])
    html = run_report(tmp_path, models=[{**entry, "bias_annotations": annotations}])
    part = html[html.index("<h4>Bias model motifs</h4>") :]
    assert 'Bias model: <b>learned the enzyme bias</b> <span class="badge pass">pass</span>' in part
    assert "What to do" not in part.split("</section>", 1)[0] and "CWM logo" not in part.split("</section>", 1)[0]
    # without the inputs: not available, saying where they come from
    html = run_report(tmp_path, models=[entry])
    assert "Bias model TF-MoDISco patterns (give the model&#x27;s entry bias_modisco and bias_annotations" in html


def test_derived_numbers_auroc_with_ties_and_jsd():
    rng = np.random.default_rng(0)
    scores, labels = rng.integers(0, 5, 60).astype(float), rng.random(60) < 0.4
    pos, neg = scores[labels], scores[~labels]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert auroc(scores, labels) == pytest.approx(pairs / (len(pos) * len(neg)))
    assert auroc(scores, np.ones(60, bool)) is None
    profiles = rng.poisson(3.0, (4, 2, 50)).astype(float) + 1
    assert mean_jsd(profiles, profiles * 7) == pytest.approx(0, abs=1e-12)
    assert 0 < mean_jsd(profiles, np.ones_like(profiles)) < np.log(2)
    assert mean_jsd(np.zeros((1, 1, 5)), np.ones((1, 1, 5))) is None


# --- parameters and bad inputs -------------------------------------------------------------------


def test_model_sections_need_metrics_predictions_and_distinct_names(two_models):
    chip, atac = two_models["models"]
    with pytest.raises(ValidationError, match=r"models\.1\.metrics\s+Field required"):
        Report.Params(models=[chip, {k: v for k, v in atac.items() if k != "metrics"}])
    with pytest.raises(ValidationError, match="model names must be distinct"):
        Report.Params(models=[chip, {**atac, "name": chip["name"]}])
    with pytest.raises(ValidationError, match=r"models\.0\.modisko\s+Extra inputs are not permitted"):
        Report.Params(models=[{**chip, "modisko": chip["metrics"]}])


def test_the_parallel_lists_of_before_still_work_and_warn_once_with_the_new_form(tmp_path, two_models, monkeypatch, caplog):
    monkeypatch.setattr(report_stage, "_deprecation_logged", False)
    lists = parallel_lists(two_models["models"])
    with caplog.at_level(logging.WARNING, logger="bpnet"):
        params = Report.Params(**lists)
        Report.Params(**lists)
    assert params.models == Report.Params(**two_models).models
    warnings = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert len(warnings) == 1
    assert "models:\n- name: ChIP BPNet\n  training: " in warnings[0] and "metrics: " in warnings[0]
    assert undated(run_report(tmp_path, **lists)) == undated(run_report(tmp_path, **two_models))


def test_the_parallel_lists_of_before_must_match_the_names(two_models):
    lists = parallel_lists(two_models["models"])
    with pytest.raises(ValidationError, match="metrics has 1 entry but names has 2"):
        Report.Params(**{**lists, "metrics": lists["metrics"][:1]})
    with pytest.raises(ValidationError, match="training has 1 entry but names has 2"):
        Report.Params(**{**lists, "training": lists["training"][:1]})
    with pytest.raises(ValidationError, match="names must be distinct"):
        Report.Params(**{**lists, "names": ["a", "a"]})
    with pytest.raises(ValidationError, match="not the deprecated lists names"):
        Report.Params(**{**lists, **two_models})


def _corrupt_metrics(models: list[dict]) -> Path:
    models[0]["metrics"].write_text('{"peaks": {"n": 3,')
    return models[0]["metrics"]


def _corrupt_predictions(models: list[dict]) -> Path:
    models[1]["predictions"].write_bytes(b"PK\x03\x04 not really a zip")
    return models[1]["predictions"]


def _bad_epochs(models: list[dict]) -> Path:
    epochs = models[0]["training"] / "epochs.csv"
    lines = epochs.read_text().splitlines()
    epochs.write_text("\n".join([lines[0], lines[1].replace("0.001", "fast", 1), *lines[2:]]) + "\n")
    return epochs


def _missing_training(models: list[dict]) -> Path:
    shutil.rmtree(models[1]["training"] / "accessibility")  # a missing bias/ is fine: a given bias model has no logs
    return models[1]["training"]


def _predictions_without_counts(models: list[dict]) -> Path:
    path = models[0]["predictions"]
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files if key != "pred_log_counts"}
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "break_it, message",
    [
        (_corrupt_metrics, "is not valid JSON"),
        (_corrupt_predictions, "not a readable .npz"),
        (_bad_epochs, "column lr holds 'fast'"),
        (_missing_training, "neither epochs.csv nor an accessibility/ folder"),
        (_predictions_without_counts, "lacks pred_log_counts"),
    ],
)
def test_a_bad_file_is_an_input_error_naming_it(tmp_path, two_models, break_it, message):
    path = break_it(two_models["models"])
    with pytest.raises(InputError, match=re.escape(message)) as info:
        run_report(tmp_path, **two_models)
    assert str(path) in str(info.value)
    assert not (tmp_path / "out" / "report.html").exists()


def report_spec(path: Path, output_dir: str, params: dict) -> Path:
    path.write_text(
        yaml.safe_dump(
            {"output_dir": output_dir, "stages": {"report": {"stage": "report", "params": params}}}, sort_keys=False
        )
    )
    return path


def test_report_stage_runs_through_bpnet_run_and_refuses_unmatched_lists(tmp_path, capsys):
    chip = tmp_path / "chip"
    section = {
        "name": "ChIP BPNet", "training": str(write_run(chip / "training")),
        "metrics": str(write_metrics(chip / "metrics.json")), "predictions": str(write_predictions(chip / "predictions.npz")),
    }
    code = run_cli(["run", str(report_spec(tmp_path / "spec.yaml", "out", {"models": [section]}))])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert len(image_sources((tmp_path / "out/report/report.html").read_text())) == 3
    lists = {"names": [section["name"]], "metrics": [section["metrics"]], "predictions": [section["predictions"]] * 2}
    assert run_cli(["run", str(report_spec(tmp_path / "old.yaml", "out2", lists))]) == 2
    assert "predictions has 2 entries but names has 1" in capsys.readouterr().err


def test_a_bad_model_entry_is_refused_naming_its_yaml_path_and_line(tmp_path, capsys):
    chip = tmp_path / "chip"
    section = {
        "name": "ChIP BPNet",
        "metrics": str(write_metrics(chip / "metrics.json")),
        "predictions": str(write_predictions(chip / "predictions.npz")),
    }
    missing = {**section, "name": "ATAC", "metrics": str(tmp_path / "atac" / "metrics.json")}
    spec = report_spec(tmp_path / "spec.yaml", "out", {"models": [section, missing]})
    line = next(i for i, text in enumerate(spec.read_text().splitlines(), 1) if "atac/metrics.json" in text)
    assert run_cli(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"spec.yaml:{line}: stages.report.params.models[1].metrics: input file" in err and "does not exist" in err
    report_spec(spec, "out", {"models": [section, {"name": "ATAC", "predictions": section["predictions"]}]})
    assert run_cli(["validate", str(spec)]) == 2
    assert "stages.report.params.models[1].metrics: Field required" in capsys.readouterr().err


# --- rendering in a browser ----------------------------------------------------------------------


def test_report_renders_in_headless_chromium_with_every_plot_loaded(rendered, tmp_path):
    report, _ = rendered
    body = rendered_body(report, tmp_path / "profile")
    assert 'data-plots-loaded="8"' in body, body
    assert 'data-plot-errors="0"' in body, body
    screenshot = tmp_path / "report.png"
    flags = chromium_command(tmp_path / "profile")
    subprocess.run([*flags, "--window-size=1400,2000", f"--screenshot={screenshot}", report.as_uri()], capture_output=True, timeout=120)
    assert screenshot.exists() and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
