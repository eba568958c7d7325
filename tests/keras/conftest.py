"""Fixtures of the bpnet-keras tests: the Keras fixture files and their TF outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

KERAS = Path(__file__).parent.parent / "fixtures" / "keras"
ATOL, RTOL = 1e-4, 1e-5

# (file, npz with the TF outputs, kind the file holds)
CASES = [
    ("chrombpnet_bias.h5", "chrombpnet_bias", "bias"),
    ("chrombpnet_bias_scaled.h5", "chrombpnet_bias_scaled", "bias"),
    ("chrombpnet_nobias.h5", "chrombpnet_nobias", "accessibility"),
    ("chrombpnet_nobias.weights_only.h5", "chrombpnet_nobias", "accessibility"),
    ("chrombpnet_full.h5", "chrombpnet_full", "chrombpnet"),
    ("ENCFF000FIX.tar.gz", "chrombpnet_full", "chrombpnet"),
    ("bpnet_encode_style.h5", "bpnet_encode_style", "bpnet"),
    ("bpnet_main_orig_multi_loss.h5", "bpnet_main_orig_multi_loss", "bpnet"),
    ("bpnet_basepairmodels_v01.h5", "bpnet_basepairmodels_v01", "bpnet"),
    ("keras3/k3_chrombpnet_bias.h5", "keras3/k3_chrombpnet_bias", "bias"),
    ("keras3/k3_chrombpnet_bias.keras", "keras3/k3_chrombpnet_bias", "bias"),
    ("keras3/k3_chrombpnet_full.h5", "keras3/k3_chrombpnet_full", "chrombpnet"),
    ("keras3/k3_chrombpnet_full.keras", "keras3/k3_chrombpnet_full", "chrombpnet"),
]


def reference(npz: str) -> dict[str, np.ndarray]:
    with np.load(KERAS / f"{npz}.npz") as data:
        return {k: data[k] for k in data.files}


def predict(model: torch.nn.Module, ref: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` on the fixture input; return Keras-layout (profile, log counts)."""
    X = torch.from_numpy(ref["X"]).permute(0, 2, 1)  # Keras (N, L, 4) -> torch (N, 4, L)
    ctl = ref.get("profile_bias_input_0", ref.get("control_profile"))
    with torch.no_grad():
        if ctl is None:
            profile, counts = model(X)
        else:
            profile, counts = model(X, torch.from_numpy(ctl).permute(0, 2, 1))
    profile = profile.numpy()
    if "logits" in ref:  # ChromBPNet: (N, 1, 1000) -> (N, 1000)
        return profile[:, 0, :], counts.numpy()
    return profile.transpose(0, 2, 1), counts.numpy()  # BPNet: (N, T, 1000) -> (N, 1000, T)


def compare(model: torch.nn.Module, npz: str) -> tuple[float, float]:
    """Assert ``model`` reproduces the TF outputs of ``npz``; return the max abs differences."""
    ref = reference(npz)
    profile, counts = predict(model, ref)
    expected_profile = ref.get("logits", ref.get("profile"))
    np.testing.assert_allclose(profile, expected_profile, atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(counts, ref["logcounts"], atol=ATOL, rtol=RTOL)
    return float(np.abs(profile - expected_profile).max()), float(np.abs(counts - ref["logcounts"]).max())


@pytest.fixture
def keras_dir() -> Path:
    return KERAS


@pytest.fixture
def check() -> Any:
    return compare


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise every test taking ``case`` over the fixture files."""
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[c[0] for c in CASES])
