"""Weight initialisation schemes: keras starts convolutions and linear layers as Keras does; torch keeps PyTorch's."""

from __future__ import annotations

import math

import pytest
import torch

from bpnet.core.initialisation import initialise
from bpnet.core.modelfile import build_model
from bpnet.core.training.trainer import Trainer, TrainerSettings


def layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    return [m for m in model.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear))]


def test_keras_scheme_gives_glorot_uniform_weights_and_zero_biases():
    torch.manual_seed(0)
    model = initialise(build_model("bpnet", n_filters=16, n_layers=3), "keras")
    for layer in layers(model):
        weight = layer.weight
        fan_in = weight.shape[1] * (weight.shape[2] if weight.dim() == 3 else 1)
        fan_out = weight.shape[0] * (weight.shape[2] if weight.dim() == 3 else 1)
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert weight.abs().max() <= bound + 1e-6
        assert weight.abs().max() > 0.8 * bound  # uniform over the whole range, not PyTorch's narrower one
        assert layer.bias is None or torch.count_nonzero(layer.bias) == 0


def test_torch_scheme_leaves_the_built_weights_untouched_and_unknown_schemes_are_refused():
    torch.manual_seed(0)
    built = build_model("bpnet", n_filters=8, n_layers=2)
    before = {k: v.clone() for k, v in built.state_dict().items()}
    assert initialise(built, "torch") is built
    assert all(torch.equal(before[k], v) for k, v in built.state_dict().items())
    with pytest.raises(ValueError, match="unknown weight initialisation 'xavier'"):
        initialise(built, "xavier")


def test_adam_epsilon_reaches_the_optimizer(tmp_path):
    model = build_model("bpnet", n_filters=4, n_layers=1)
    for eps in (1e-8, 1e-7):
        trainer = Trainer(model, TrainerSettings(adam_epsilon=eps), device="cpu", workdir=tmp_path / str(eps))
        assert trainer.optimizer.param_groups[0]["eps"] == eps

