"""Bad inputs: one clear error line, exit code 2, no traceback, and no output left behind."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import bpnet.keras
from bpnet.core.errors import BpnetError
from bpnet.keras.cli import main
from bpnet.keras.sources import Source
from bpnet.keras.tarball import read_members


def _saved_model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "chrombpnet_wo_bias"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"\x08\x01")
    (folder / "variables" / "variables.index").write_bytes(b"")
    return folder


def _saved_model_tar(tmp_path: Path, keras_dir: Path) -> Path:
    with tarfile.open(keras_dir / "ENCFF000FIX.tar.gz") as archive:
        data = archive.extractfile("./fold_0/model.chrombpnet_nobias.fold_0.ENCSR000FIX.tar").read()
    path = tmp_path / "model.chrombpnet_nobias.fold_0.ENCSR000FIX.tar"
    path.write_bytes(data)
    return path


def _chrombpnet_lite(tmp_path: Path) -> Path:
    """A tiny chrombpnet-lite style file: auto-named conv1d_* layers and a 'logcounts' Dense."""
    path = tmp_path / "lite.h5"
    shapes = {"conv1d_1": (25, 4, 8), "conv1d_2": (3, 8, 8), "conv1d_3": (25, 8, 1), "logcounts": (8, 1)}
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = "2.4.0"
        root = handle.create_group("model_weights")
        root.attrs["layer_names"] = np.array([n.encode() for n in ["sequence", *shapes, "logits"]])
        handle["model_weights"].create_group("sequence").attrs["weight_names"] = np.array([], dtype="S1")
        handle["model_weights"].create_group("logits").attrs["weight_names"] = np.array([], dtype="S1")
        for name, shape in shapes.items():
            group = root.create_group(name)
            group.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()])
            group[f"{name}/kernel:0"] = np.zeros(shape, dtype=np.float32)
            group[f"{name}/bias:0"] = np.zeros(shape[-1], dtype=np.float32)
    return path


def _truncated(tmp_path: Path, keras_dir: Path) -> Path:
    data = (keras_dir / "chrombpnet_bias.h5").read_bytes()
    path = tmp_path / "truncated.h5"
    path.write_bytes(data[: len(data) // 2])
    return path


def _not_hdf5(tmp_path: Path, keras_dir: Path) -> Path:
    path = tmp_path / "model.h5"
    path.write_text("this is not a model\n")
    return path


def _traversal(tmp_path: Path, keras_dir: Path) -> Path:
    path = tmp_path / "evil.tar.gz"
    data = (keras_dir / "chrombpnet_bias.h5").read_bytes()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("../fold_0/model.bias_scaled.fold_0.ENCSR000EVL.h5")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


CASES = {
    "savedmodel-dir": (lambda t, k: _saved_model_dir(t), [], "is a TensorFlow SavedModel directory"),
    "savedmodel-tar": (_saved_model_tar, [], "is a TensorFlow SavedModel archive"),
    "chrombpnet-lite": (lambda t, k: _chrombpnet_lite(t), [], "is a chrombpnet-lite model"),
    "truncated": (_truncated, [], "is not a readable HDF5 file (truncated or corrupt"),
    "not-hdf5": (_not_hdf5, [], "is not an HDF5, .keras (zip) or tar file"),
    "missing-fold": (lambda t, k: k / "ENCFF000FIX.tar.gz", ["--fold", "3"], "has no fold 3 (folds found: 0)"),
    "wrong-kind": (lambda t, k: k / "chrombpnet_bias.h5", ["--kind", "accessibility"],
                   "holds a bias model (chrombpnet); kind 'accessibility' is not available from it (available: bias)"),
    "bpnet-kind-of-chrombpnet": (lambda t, k: k / "chrombpnet_full.h5", ["--kind", "bpnet"],
                                 "kind 'bpnet' is not available from it (available: chrombpnet, accessibility, bias)"),
    "unknown-kind": (lambda t, k: k / "chrombpnet_bias.h5", ["--kind", "lite"], 'Invalid value "lite" for --kind'),
    "fold-of-single-file": (lambda t, k: k / "chrombpnet_bias.h5", ["--fold", "0"], "--fold only applies to ENCODE tarballs"),
    "path-traversal": (_traversal, [], "unsafe member name"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_convert_refuses(name, tmp_path, keras_dir, capsys):
    make, extra, message = CASES[name]
    source = make(tmp_path, keras_dir)
    work = tmp_path / "work"
    work.mkdir()
    out = work / "model"
    assert main(["convert", str(source), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err
    assert list(work.iterdir()) == []  # no output folder and no temporary leftovers


def test_console_script_error_is_one_line(tmp_path, keras_dir):
    script = Path(sys.executable).with_name("bpnet-keras")
    source = _truncated(tmp_path, keras_dir)
    result = subprocess.run([str(script), "convert", str(source), "--out", str(tmp_path / "m")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "m").exists()


def test_api_errors(keras_dir, tmp_path):
    with pytest.raises(BpnetError, match="unknown kind 'lite'; kinds: chrombpnet, accessibility, bias, bpnet"):
        bpnet.keras.load(keras_dir / "chrombpnet_bias.h5", kind="lite")
    with pytest.raises(BpnetError, match="is a chrombpnet-lite model"):
        bpnet.keras.load(_chrombpnet_lite(tmp_path).read_bytes())
    with pytest.raises(BpnetError, match="does not exist"):
        bpnet.keras.load(tmp_path / "missing.h5")


def test_oversized_member_is_refused(keras_dir):
    source = Source("ENCFF000FIX.tar.gz", path=keras_dir / "ENCFF000FIX.tar.gz")
    name = "./fold_0/model.bias_scaled.fold_0.ENCSR000FIX.h5"
    with pytest.raises(BpnetError, match="more than the 1000-byte limit"):
        read_members(source, [name], max_bytes=1000)
    assert len(read_members(source, [name])[name]) > 1000


def test_existing_non_model_out_is_not_replaced(tmp_path, keras_dir, capsys):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["convert", str(keras_dir / "chrombpnet_bias.h5"), "--out", str(out)]) == 2
    assert "is not a bpnet model folder" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"
