"""Count calibration: an affine map of the log counts fitted on validation peaks, folded into the count head."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from bpnet.core.cli.main import run_cli
from bpnet.core.modelfile import build_model, load_model
from bpnet.data.loci import LociSet
from bpnet.train.calibration import CountCalibration, apply_count_calibration, fit_count_calibration
from bpnet.train.chrombpnet import predicted_log_counts

TINY = {"n_filters": 8, "n_layers": 2}


def test_the_fit_recovers_a_known_affine_map_and_never_reverses_the_ranking():
    observed = np.random.default_rng(0).poisson(50, 200).astype(float)
    y = np.log1p(observed)
    fit = fit_count_calibration((y - 0.5) / 2, observed)
    assert fit.scale == pytest.approx(2.0) and fit.shift == pytest.approx(0.5) and fit.mse_after == pytest.approx(0, abs=1e-12)
    assert fit.mse_before > 1 and fit.n == 200
    backwards = fit_count_calibration(-y, observed)  # a head that ranks the peaks backwards only gets shifted
    assert backwards.scale == 1.0 and backwards.shift == pytest.approx(np.mean(2 * y))
    assert backwards.mse_after < backwards.mse_before


def test_folding_the_map_into_the_count_head_changes_the_counts_only():
    torch.manual_seed(0)
    model = build_model("bpnet", n_filters=4, n_layers=2, n_outputs=2, n_control_tracks=2, output_length=20).eval()
    X = torch.nn.functional.one_hot(torch.randint(0, 4, (3, 140)), 4).float().transpose(1, 2)
    ctl = torch.rand(3, 2, 20) * 5
    with torch.no_grad():
        logits, counts = model(X, ctl)
        apply_count_calibration(model, CountCalibration(scale=1.5, shift=-0.25, n=1, mse_before=0, mse_after=0))
        new_logits, new_counts = model(X, ctl)
    assert torch.equal(new_logits, logits)
    torch.testing.assert_close(new_counts, 1.5 * counts - 0.25)


def train(folder: Path, loci: Path, **params) -> Path:
    folder.mkdir()
    stage = {"stage": "train-bpnet", "params": {
        "loci": str(loci), "hyperparameters": TINY, "max_epochs": 2, "batch_size": 32, "device": "cpu", **params}}
    (folder / "spec.yaml").write_text(yaml.safe_dump({"output_dir": "out", "stages": {"train": stage}}))
    assert run_cli(["run", str(folder / "spec.yaml")]) == 0
    return folder / "out" / "train"


def test_train_bpnet_calibrates_on_validation_peaks_when_asked_and_records_it(preprocessed, tmp_path):
    plain = train(tmp_path / "plain", preprocessed["chip_loci"])
    calibrated = train(tmp_path / "calibrated", preprocessed["chip_loci"], calibrate_counts=True)
    record = json.loads((calibrated / "training" / "summary.json").read_text())["count_calibration"]
    assert json.loads((plain / "training" / "summary.json").read_text())["count_calibration"] is None
    assert record["mse_after"] < record["mse_before"] and record["scale"] > 0

    loci = LociSet.load(preprocessed["chip_loci"])
    rows = loci.select("valid", peaks=True)
    assert record["n"] == len(rows)
    device = torch.device("cpu")
    before = predicted_log_counts(load_model(plain / "model"), loci, rows, device)
    after = predicted_log_counts(load_model(calibrated / "model"), loci, rows, device)
    np.testing.assert_allclose(after, record["scale"] * before + record["shift"], rtol=1e-4, atol=1e-4)
    observed = np.log1p(loci.total_counts(rows))
    assert np.mean((after - observed) ** 2) == pytest.approx(record["mse_after"], rel=1e-4)
    same = [load_model(folder / "model").state_dict() for folder in (plain, calibrated)]
    assert all(torch.equal(same[0][k], same[1][k]) for k in same[0] if not k.startswith("linear."))


def test_calibrating_a_model_with_one_count_per_track_is_refused_before_training(preprocessed, tmp_path, capsys):
    folder = tmp_path / "per-track"
    folder.mkdir()
    stage = {"stage": "train-bpnet", "params": {
        "loci": str(preprocessed["chip_loci"]), "hyperparameters": {**TINY, "n_count_outputs": 2}, "max_epochs": 1,
        "device": "cpu", "calibrate_counts": True}}
    (folder / "spec.yaml").write_text(yaml.safe_dump({"output_dir": "out", "stages": {"train": stage}}))
    assert run_cli(["run", str(folder / "spec.yaml")]) == 2
    err = capsys.readouterr().err
    assert "calibrate_counts" in err and "n_count_outputs: 1" in err and "Traceback" not in err
    assert not (folder / "out" / "train" / "training" / "epochs.csv").exists()

