"""A converted ChromBPNet's accessibility model runs through tangermeme's DeepLIFT/SHAP."""

from __future__ import annotations

import numpy as np
import torch

from bpnet.core import CountWrapper, load_model
from bpnet.keras.cli import main


def test_accessibility_deep_lift_shap(keras_dir, tmp_path):
    from tangermeme.deep_lift_shap import deep_lift_shap

    out = tmp_path / "acc"
    assert main(["convert", str(keras_dir / "ENCFF000FIX.tar.gz"), "--out", str(out), "--kind", "accessibility"]) == 0
    model = load_model(out)
    X = torch.from_numpy(np.load(keras_dir / "chrombpnet_nobias.npz")["X"][:2]).permute(0, 2, 1).contiguous()
    attributions = deep_lift_shap(CountWrapper(model), X, n_shuffles=3, random_state=0, warning_threshold=1e-3)
    assert attributions.shape == X.shape
    assert torch.isfinite(attributions).all()
    assert attributions.abs().sum() > 0
