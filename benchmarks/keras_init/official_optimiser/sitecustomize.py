"""Experiment: Keras-like start (glorot-uniform, zero biases) and Keras Adam epsilon (1e-7)."""
import functools

import torch


def _keras_reset(layer):
    torch.nn.init.xavier_uniform_(layer.weight)
    if layer.bias is not None:
        torch.nn.init.zeros_(layer.bias)


torch.nn.Conv1d.reset_parameters = _keras_reset
torch.nn.Linear.reset_parameters = _keras_reset

_adam_init = torch.optim.Adam.__init__


@functools.wraps(_adam_init)
def _adam_keras_eps(self, params, *args, **kwargs):
    kwargs.setdefault("eps", 1e-7)
    _adam_init(self, params, *args, **kwargs)


torch.optim.Adam.__init__ = _adam_keras_eps
