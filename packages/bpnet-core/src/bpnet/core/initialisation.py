"""Weight initialisation schemes a training stage can start a model from.

``torch``: PyTorch's defaults (kaiming-uniform with a = sqrt(5) for weights, a uniform
bias), what bpnet-lite trains from. ``keras``: Keras' defaults (glorot-uniform weights,
zero biases), what the official BPNet and ChromBPNet (TensorFlow) train from. A
convolution's fans count its kernel width, in Keras and in ``xavier_uniform_`` alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    import torch

WeightInit = Literal["torch", "keras"]


def initialise(model: torch.nn.Module, scheme: WeightInit) -> torch.nn.Module:
    """Re-initialise every convolution and linear layer of ``model`` by ``scheme`` (``torch`` leaves it as built)."""
    import torch

    if scheme == "keras":
        for layer in model.modules():
            if isinstance(layer, (torch.nn.Conv1d, torch.nn.Linear)):
                torch.nn.init.xavier_uniform_(layer.weight)
                if layer.bias is not None:
                    torch.nn.init.zeros_(layer.bias)
    elif scheme != "torch":
        raise ValueError(f"unknown weight initialisation {scheme!r} (torch or keras)")
    return model


__all__ = ["WeightInit", "initialise"]
