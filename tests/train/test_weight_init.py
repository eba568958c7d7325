"""The training stages start their models from weight_init; ChromBPNet's defaults are the official optimiser's."""

from __future__ import annotations

import torch

from bpnet.core.modelfile import build_model
from bpnet.core.plugin.registry import registry
from bpnet.train.session import TrainingRun


def test_training_stages_start_from_their_weight_init_and_chrombpnet_defaults_to_the_official_optimiser(tmp_path):
    params = registry().stage("train-bpnet").Params(loci=tmp_path / "loci.h5", weight_init="keras", device="cpu")
    model = TrainingRun(params, None).seeded(lambda: build_model("bpnet", n_filters=4, n_layers=1))
    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear))]
    assert layers and all(layer.bias is None or torch.count_nonzero(layer.bias) == 0 for layer in layers)
    official = registry().stage("train-chrombpnet").Params(loci=tmp_path / "loci.h5")
    assert (official.weight_init, official.adam_epsilon, official.clip_grad_norm) == ("keras", 1e-7, None)
    bpnet = registry().stage("train-bpnet").Params(loci=tmp_path / "loci.h5")
    assert (bpnet.weight_init, bpnet.adam_epsilon, bpnet.clip_grad_norm) == ("torch", 1e-8, 1.0)
