"""Experiment, not a feature: start every torch ``Conv1d`` and ``Linear`` as Keras does
(glorot-uniform weights, zero biases) instead of PyTorch's defaults.

Put this folder first on ``PYTHONPATH`` of a ``bpnet run`` and Python imports it at
start-up, before any model is built. ``benchmarks/README.md`` (the official ChromBPNet
side by side) records what it changed.
"""

import torch


def _keras_reset(layer: torch.nn.Module) -> None:
    torch.nn.init.xavier_uniform_(layer.weight)
    if layer.bias is not None:
        torch.nn.init.zeros_(layer.bias)


torch.nn.Conv1d.reset_parameters = _keras_reset
torch.nn.Linear.reset_parameters = _keras_reset
