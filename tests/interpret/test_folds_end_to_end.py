"""Two folds from one spec, end to end: each fold trained and evaluated, the ensemble predicted,
explained and clustered by TF-MoDISco, the report with a row per fold; one fold re-run alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from bpnet.core.dag import Runner
from bpnet.core.plugin.registry import registry
from bpnet.core.spec import load_pipeline

from .test_init import init


def run(spec: Path, **options) -> dict[str, str]:
    reg = registry()
    return {r.stage_id: r.status for r in Runner(load_pipeline(spec, reg), reg, **options).run()}


def two_fold_spec(folder: Path) -> Path:
    """bpnet init --folds on a small simulated ChIP experiment, shrunk to run in a minute, plus an ensemble predict stage."""
    from bpnet.data.simulate.simulator import simulate

    simulate(folder / "data", "chip", seed=3, genome_size=1_200_000, n_chroms=3, n_peaks=150)
    assert init(folder, "-s", "data/genome.fa", "-i", "data/reads.bam", "-c", "data/control.bam", "-p", "data/peaks.narrowPeak",
                "--valid-chroms", "chr2;chr3", "--test-chroms", "chr1;chr2", "-n", "two", "-o", "spec.yaml") == 0
    spec_path = folder / "spec.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    stages = spec["stages"]
    stages["loci"]["params"].update(input_length=512, output_length=256, max_jitter=16)
    stages["train"]["params"].update(hyperparameters={"n_filters": 8, "n_layers": 2}, max_epochs=1, batch_size=32, device="cpu")
    stages["evaluate"]["params"].update(device="cpu")
    stages["attribute"]["params"].update(n_shuffles=2, max_loci=60, heads=["counts"], device="cpu")
    stages["modisco"]["params"].update(n_leiden_runs=1)
    for stage_id in [s for s in stages if s.startswith("profile-")]:  # the profile head's motifs: tests/interpret/test_init.py
        del stages[stage_id]
    stages["report"]["params"]["models"][0].pop("profile_modisco", None)
    stages["report"]["params"]["models"][0].pop("profile_annotations", None)
    stages["predict"] = {"stage": "predict", "params": {"models": ["@train.model"], "genome": "data/genome.fa",
                                                         "regions": "data/peaks.narrowPeak", "input_length": 512,
                                                         "control_tracks": ["@control-signal.tracks"], "device": "cpu"}}
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return spec_path


@pytest.mark.slow
def test_two_folds_train_evaluate_and_feed_one_ensemble_and_one_fold_reruns_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("BPNET_NO_PROGRESS", "1")
    spec = two_fold_spec(tmp_path)
    status = run(spec)
    assert set(status.values()) == {"ran"}, status
    assert {s for s in status if "[" in s} == {f"{stage}[fold_{i}]" for stage in ("loci", "train", "evaluate") for i in (0, 1)}
    out = tmp_path / "two"
    for fold in ("fold_0", "fold_1"):
        assert (out / "train" / fold / "model").is_dir()
        metrics = json.loads((out / "evaluate" / fold / "metrics.json").read_text())
        assert metrics["model"] == str(out / "train" / fold / "model")
    # each fold is scored on its own test chromosome
    for fold, chrom in (("fold_0", "chr1"), ("fold_1", "chr2")):
        predictions = np.load(out / "evaluate" / fold / "predictions.npz")
        assert set(predictions["chrom"].astype(str)) == {chrom}
    summary = json.loads((out / "fold-summary" / "folds.json").read_text())
    assert [r["fold"] for r in summary["folds"]] == ["fold_0", "fold_1"]
    pearsons = [r["peaks"]["count_pearson"] for r in summary["folds"]]
    assert summary["summary"]["peaks"]["count_pearson"]["mean"] == pytest.approx(np.mean(pearsons))
    assert summary["summary"]["peaks"]["count_pearson"]["sd"] == pytest.approx(np.std(pearsons, ddof=1))
    # the ensemble: both folds' models, averaged, in attribution, TF-MoDISco's input and prediction
    attributed = json.loads((out / "attribute" / "scores" / "summary.json").read_text())["counts"]["models"]
    assert attributed == [str(out / "train" / f / "model") for f in ("fold_0", "fold_1")]
    assert (out / "modisco" / "modisco_results.h5").exists()
    predicted = np.load(out / "predict" / "predictions.npz")
    assert [Path(m).parent.name for m in predicted["models"].astype(str)] == ["fold_0", "fold_1"]
    page = (out / "report" / "report.html").read_text()
    assert "<h3>Folds</h3>" in page and "fold_0" in page and "fold_1" in page and "mean ± sd" in page

    rerun = run(spec, from_stage="train[fold_1]")
    assert rerun["train[fold_1]"] == "ran" and rerun["evaluate[fold_1]"] == "ran"
    assert {rerun[s] for s in ("loci[fold_0]", "loci[fold_1]", "train[fold_0]", "evaluate[fold_0]")} == {"skipped"}
    assert rerun["fold-summary"] == "ran" and rerun["attribute"] == "ran" and rerun["report"] == "ran"
