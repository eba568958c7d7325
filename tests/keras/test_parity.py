"""Every fixture reproduces its TensorFlow outputs, through the API and through `bpnet-keras convert`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch

import bpnet.keras
from bpnet.core import BPNet, ChromBPNet, load_model
from bpnet.core.architectures.basepairnet import BasePairNet, BasePairNetV01
from bpnet.keras.cli import main


def test_api_reproduces_tf(case, keras_dir, check):
    name, npz, kind = case
    model = bpnet.keras.load(keras_dir / name)
    assert not model.training
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert model.bpnet_provenance["kind"] == kind
    check(model, npz)


def test_convert_then_load_model_reproduces_tf(case, keras_dir, check, tmp_path, capsys):
    name, npz, kind = case
    out = tmp_path / "model"
    assert main(["convert", str(keras_dir / name), "--out", str(out)]) == 0
    model = load_model(out)
    check(model, npz)
    config = json.loads((out / "config.json").read_text())
    provenance = config["provenance"]
    assert provenance["source"] == Path(name).name
    assert provenance["kind"] == kind
    assert len(provenance["sha256"]) == 64
    assert provenance["keras_version"]


def test_architectures_are_the_expected_classes(keras_dir):
    assert isinstance(bpnet.keras.load(keras_dir / "chrombpnet_bias.h5"), BPNet)
    full = bpnet.keras.load(keras_dir / "chrombpnet_full.h5")
    assert isinstance(full, ChromBPNet) and isinstance(full.accessibility, BPNet)
    assert full.accessibility.config.n_layers == 8 and full.accessibility.config.n_filters == 32
    assert full.bias.config.n_layers == 4 and full.bias.config.n_filters == 16
    assert isinstance(bpnet.keras.load(keras_dir / "bpnet_encode_style.h5"), BasePairNet)
    assert isinstance(bpnet.keras.load(keras_dir / "bpnet_basepairmodels_v01.h5"), BasePairNetV01)


@pytest.mark.parametrize(
    ("name", "kind", "npz"),
    [
        ("chrombpnet_full.h5", "accessibility", "chrombpnet_nobias"),
        ("chrombpnet_full.h5", "bias", "chrombpnet_bias_scaled"),
        ("ENCFF000FIX.tar.gz", "accessibility", "chrombpnet_nobias"),
        ("ENCFF000FIX.tar.gz", "bias", "chrombpnet_bias_scaled"),
        ("ENCFF000FIX.tar.gz", "chrombpnet", "chrombpnet_full"),
    ],
)
def test_kinds(name, kind, npz, keras_dir, check):
    check(bpnet.keras.load(keras_dir / name, kind=kind, fold=0 if name.endswith("gz") else None), npz)


def test_bytes_and_file_objects(keras_dir, check):
    data = (keras_dir / "chrombpnet_full.h5").read_bytes()
    check(bpnet.keras.load(data), "chrombpnet_full")
    check(bpnet.keras.load(io.BytesIO(data)), "chrombpnet_full")
    check(bpnet.keras.load((keras_dir / "ENCFF000FIX.tar.gz").read_bytes()), "chrombpnet_full")
    with tarfile.open(keras_dir / "ENCFF000FIX.tar.gz") as archive:
        member = archive.extractfile("./fold_0/model.chrombpnet_nobias.fold_0.ENCSR000FIX.h5")
        check(bpnet.keras.load(io.BytesIO(member.read())), "chrombpnet_nobias")


def test_tarball_without_full_model_combines_nobias_and_bias_scaled(keras_dir, check, tmp_path):
    small = tmp_path / "ENCFF000TWO.tar.gz"
    with tarfile.open(keras_dir / "ENCFF000FIX.tar.gz") as src, tarfile.open(small, "w:gz") as dst:
        for info in src.getmembers():
            if info.isfile() and "model.chrombpnet.fold" not in info.name:
                dst.addfile(info, src.extractfile(info))
    model = bpnet.keras.load(small)
    assert model.bpnet_provenance["members"] == [
        "./fold_0/model.chrombpnet_nobias.fold_0.ENCSR000FIX.h5",
        "./fold_0/model.bias_scaled.fold_0.ENCSR000FIX.h5",
    ]
    check(model, "chrombpnet_full")


def test_console_script_converts_tarball(keras_dir, check, tmp_path):
    script = Path(sys.executable).with_name("bpnet-keras")
    out = tmp_path / "encode"
    result = subprocess.run(
        [str(script), "convert", str(keras_dir / "ENCFF000FIX.tar.gz"), "--out", str(out), "--fold", "0"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    check(load_model(out), "chrombpnet_full")
    inspected = subprocess.run([str(script), "inspect", str(keras_dir / "ENCFF000FIX.tar.gz")],
                               capture_output=True, text=True, timeout=120)
    assert inspected.returncode == 0
    assert "folds: 0" in inspected.stdout and "bias_scaled" in inspected.stdout
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == bpnet.keras.__version__


def test_inspect_reports_hyperparameters(keras_dir):
    info = bpnet.keras.inspect(keras_dir / "bpnet_main_orig_multi_loss.h5")
    (model,) = info["models"]
    part = model["parts"]["bpnet"]
    assert model["kind"] == "bpnet" and model["controls"] == "per-track"
    assert (part["architecture"], part["n_filters"], part["n_layers"], part["n_outputs"]) == ("basepairnet", 16, 8, 2)
    assert (part["n_control_tracks"], part["n_count_outputs"]) == (2, 2)
    tar = bpnet.keras.inspect(keras_dir / "ENCFF000FIX.tar.gz")
    assert tar["folds"] == [0] and len(tar["members"]["0"]) == 3
    assert {m["kind"] for m in tar["models"]} == {"chrombpnet", "accessibility", "bias"}


@pytest.mark.parametrize("name", ["bpnet_encode_style.h5", "bpnet_basepairmodels_v01.h5"])
def test_controls_accept_longer_windows(name, keras_dir):
    """X_ctl over the whole input window (raw counts, (N, tracks, L)) is centre-cropped to the output."""
    model = bpnet.keras.load(keras_dir / name)
    X = torch.rand(2, 4, 2114)
    ctl = torch.rand(2, 2, 1000) * 5
    wide = torch.nn.functional.pad(ctl, (557, 557), value=100.0)
    with torch.no_grad():
        a, b = model(X, ctl), model(X, wide)
    torch.testing.assert_close(a, b)
