"""train-bpnet and train-chrombpnet through ``bpnet run`` on small simulated data."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from bpnet.core.architectures.chrombpnet import ChromBPNet
from bpnet.core.cli.main import run_cli
from bpnet.core.modelfile import load_model
from bpnet.data.loci import LociSet

TINY = {"n_filters": 8, "n_layers": 2}


def train_spec(folder: Path, loci: Path, **params) -> Path:
    stage = {"stage": "train-bpnet", "params": {
        "loci": str(loci), "hyperparameters": TINY, "max_epochs": 2, "batch_size": 32, "device": "cpu", **params}}
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", "stages": {"train": stage}}))
    return spec


def epochs(folder: Path) -> list[dict]:
    with open(folder / "epochs.csv") as handle:
        return list(csv.DictReader(handle))


def test_train_bpnet_writes_the_best_model_logs_and_summary_then_skips(preprocessed, tmp_path):
    spec = train_spec(tmp_path, preprocessed["chip_loci"])
    assert run_cli(["run", str(spec)]) == 0
    out = tmp_path / "out" / "train"
    model = load_model(out / "model")
    assert model.n_control_tracks == 2 and model.n_outputs == 2
    rows = epochs(out / "training")
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(np.isfinite(float(r["valid_loss"])) for r in rows)
    batches = [json.loads(line) for line in (out / "training" / "batches.jsonl").read_text().splitlines()]
    assert {b["epoch"] for b in batches} == {1, 2} and all(b["examples"] > 0 for b in batches)
    summary = json.loads((out / "training" / "summary.json").read_text())
    assert summary["epochs_run"] == 2 and summary["device"].startswith("cpu")
    assert summary["count_loss_weight"] >= 1
    assert load_model(out / "training" / "last").n_outputs == 2
    assert not (out / ".resume").exists()
    stamp = (out / "model" / "model.safetensors").stat().st_mtime_ns
    assert run_cli(["run", str(spec)]) == 0
    assert (out / "model" / "model.safetensors").stat().st_mtime_ns == stamp


def test_training_is_reproducible_with_a_seed(preprocessed, tmp_path):
    weights = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        assert run_cli(["run", str(train_spec(tmp_path / name, preprocessed["chip_loci"], max_epochs=1, seed=7))]) == 0
        weights.append(load_model(tmp_path / name / "out" / "train" / "model").state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_killed_training_resumes_from_last_and_ends_like_an_uninterrupted_run(preprocessed, tmp_path):
    settings = {"max_epochs": 3, "patience": None, "seed": 5, "batch_size": 8}
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    for folder in (straight, killed):
        folder.mkdir()
        train_spec(folder, preprocessed["chip_loci"], **settings)
    assert run_cli(["run", str(straight / "spec.yaml")]) == 0

    # same intra-op thread count as this process (other test modules may have lowered it):
    # float reductions, hence weights, are exact only for the same number of threads
    env = {**os.environ, "BPNET_NO_PROGRESS": "1", "OMP_NUM_THREADS": str(torch.get_num_threads())}
    command = [str(Path(sys.executable).parent / "bpnet"), "run", str(killed / "spec.yaml")]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    batch_log = killed / "out" / "train" / ".resume" / "bpnet" / "batches.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if batch_log.exists() and any(json.loads(line)["epoch"] == 2 for line in batch_log.read_text().splitlines() if line.endswith("}")):
            break
        time.sleep(0.05)
    assert process.poll() is None, "training ended before it could be killed mid-epoch"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "out" / "train" / "model").exists()
    assert (killed / "out" / "train" / ".resume" / "bpnet" / "last.pt").exists()

    assert run_cli(["run", str(killed / "spec.yaml")]) == 0
    resumed = killed / "out" / "train" / "training"
    assert [int(r["epoch"]) for r in epochs(resumed)] == [1, 2, 3]
    assert json.loads((resumed / "summary.json").read_text())["resumed_after_epoch"] == 1
    batches = [json.loads(line) for line in (resumed / "batches.jsonl").read_text().splitlines()]
    assert len(batches) == len({(b["epoch"], b["batch"]) for b in batches})
    a = load_model(straight / "out" / "train" / "model").state_dict()
    b = load_model(killed / "out" / "train" / "model").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def tiny_bpnet_and_batches(preprocessed) -> tuple[torch.nn.Module, tuple]:
    """A TINY BPNet for the ChIP loci and its (train, valid) batches, for driving the Trainer directly."""
    from bpnet.core.architectures.bpnet import BPNet
    from bpnet.train.samplers import make_batches

    loci = LociSet.load(preprocessed["chip_loci"])
    batches = make_batches(loci, "train", 64, "cpu", train=True), make_batches(loci, "valid", 64, "cpu", train=False)
    return BPNet(n_outputs=2, n_control_tracks=2, output_length=200, **TINY), batches


def test_changed_parameters_do_not_resume_a_stale_checkpoint(preprocessed, tmp_path):
    from bpnet.core.training import Trainer, TrainerSettings

    model, batches = tiny_bpnet_and_batches(preprocessed)
    Trainer(model, TrainerSettings(max_epochs=1), device="cpu", workdir=tmp_path, run_key="a").fit(*batches)
    again = Trainer(model, TrainerSettings(max_epochs=1), device="cpu", workdir=tmp_path, run_key="b").fit(*batches)
    assert again.resumed_from == 0 and again.epochs_run == 1


def test_a_run_stopped_without_improving_on_epoch_1_warns_it_is_stuck(preprocessed, tmp_path, caplog):
    from bpnet.core.training import Trainer, TrainerSettings

    model, batches = tiny_bpnet_and_batches(preprocessed)
    frozen = TrainerSettings(max_epochs=5, patience=1, learning_rate=0.0)  # the loss cannot move
    result = Trainer(model, frozen, device="cpu", workdir=tmp_path, name="bpnet").fit(*batches)
    assert result.stopped_early and result.best_epoch == 1 and result.epochs_run == 2
    assert any("stuck at its starting plateau" in r.getMessage() and "batch_size" in r.getMessage() for r in caplog.records)


def test_train_chrombpnet_trains_bias_then_accessibility_and_saves_three_models(preprocessed, tmp_path):
    stage = {"stage": "train-chrombpnet", "params": {
        "loci": str(preprocessed["atac_loci"]), "hyperparameters": TINY, "bias_hyperparameters": {"n_filters": 4, "n_layers": 2},
        "max_epochs": 1, "batch_size": 32, "device": "cpu", "bias_check": "off"}}
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", "stages": {"atac": stage}}))
    assert run_cli(["run", str(spec)]) == 0
    out = tmp_path / "out" / "atac"
    combined, bias = load_model(out / "model"), load_model(out / "bias_model")
    accessibility = load_model(out / "accessibility_model")
    assert isinstance(combined, ChromBPNet)
    assert all(torch.equal(combined.bias.state_dict()[k], v) for k, v in bias.state_dict().items())
    assert all(torch.equal(combined.accessibility.state_dict()[k], v) for k, v in accessibility.state_dict().items())
    report = json.loads((out / "training" / "chrombpnet.json").read_text())
    loci = LociSet.load(preprocessed["atac_loci"])
    peak_counts = loci.total_counts(loci.select(["train", "valid"], peaks=True))
    assert report["bias_count_threshold"] == pytest.approx(0.5 * np.quantile(peak_counts, 0.01))
    assert report["count_loss_weight"] >= 1 and np.isfinite(report["bias_count_shift"])
    assert {"peaks_count_pearson", "background_count_pearson", "passed"} <= set(report["bias_check"])
    check = report["count_check"]
    assert check["observed_peaks"] > check["observed_negatives"] and np.isfinite(check["separation"])
    assert check["passed"] == (check["separation"] >= check["min_separation"])
    for run in ("bias", "accessibility"):
        assert [int(r["epoch"]) for r in epochs(out / "training" / run)] == [1]


def test_scaled_bias_head_removes_the_mean_log_count_residual(preprocessed):
    from bpnet.core.architectures.bpnet import BPNet
    from bpnet.train.chrombpnet import predicted_log_counts, scale_bias_counts

    loci = LociSet.load(preprocessed["atac_loci"])
    rows = loci.select("train", peaks=False)
    torch.manual_seed(0)
    bias = BPNet(n_outputs=1, output_length=200, **TINY)
    shift = scale_bias_counts(bias, loci, rows, torch.device("cpu"))
    residual = np.log1p(loci.total_counts(rows)) - predicted_log_counts(bias, loci, rows, torch.device("cpu"))
    assert abs(residual.mean()) < 1e-4 and shift != 0


def test_a_count_head_that_predicts_one_count_everywhere_separates_nothing_and_warns(preprocessed, caplog):
    import logging

    from bpnet.core.architectures.bpnet import BPNet
    from bpnet.train.chrombpnet import check_counts, count_separation

    loci = LociSet.load(preprocessed["atac_loci"])
    peaks, negatives = loci.select("valid", peaks=True), loci.select("valid", peaks=False)
    torch.manual_seed(0)
    flat = BPNet(n_outputs=1, output_length=200, **TINY)
    with torch.no_grad():
        flat.linear.weight.zero_()  # the count head ignores the sequence
    check = count_separation(flat, loci, peaks, negatives, torch.device("cpu"))
    assert check["separation"] == pytest.approx(0.0, abs=1e-6)
    assert check["observed_peaks"] == pytest.approx(float(np.log1p(loci.total_counts(peaks)).mean()))
    result = check_counts(flat, loci, torch.device("cpu"))
    with caplog.at_level(logging.WARNING):
        result.report(logging.getLogger("test-count-check"))
    assert result.passed is False and result.record()["passed"] is False
    assert any("barely tells peaks from background" in r.getMessage() and "negative_ratio" in r.getMessage() for r in caplog.records)


def test_accessibility_validation_holds_every_valid_peak_and_a_fixed_tenth_as_many_negatives(preprocessed):
    from bpnet.train.chrombpnet import validation_rows

    loci = LociSet.load(preprocessed["atac_loci"])
    rows = np.arange(len(loci))
    chosen = validation_rows(loci, rows, negative_ratio=0.1, seed=3)
    valid_peaks = loci.select("valid", peaks=True)
    negatives = np.setdiff1d(chosen, valid_peaks)
    assert set(valid_peaks) <= set(chosen) and np.all(loci.split[chosen] == "valid")
    assert len(negatives) == round(0.1 * len(valid_peaks)) and not loci.is_peak[negatives].any()
    assert np.array_equal(chosen, validation_rows(loci, rows, negative_ratio=0.1, seed=3))
    assert len(validation_rows(loci, rows, negative_ratio=0.0)) == len(valid_peaks)
