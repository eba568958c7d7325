"""Build torch modules from detected Keras weights.

Keras ``Conv1D`` kernels ``(K, C_in, C_out)`` become ``Conv1d.weight = k.permute(2, 1, 0)``,
``Dense`` kernels ``(in, out)`` become ``Linear.weight = k.T``; biases are copied. Both
frameworks cross-correlate, so no kernel is flipped.
"""

from __future__ import annotations

import numpy as np
import torch

from bpnet.core.architectures.chrombpnet import ChromBPNet
from bpnet.core.modelfile import build_model

from .detect import Detected, Part
from .h5 import KerasWeights
from .sources import KerasImportError


def _tensor(array: np.ndarray, kind: str) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    return tensor.permute(2, 1, 0).contiguous() if kind == "conv" else tensor.T.contiguous()


def _assign(module: torch.nn.Module, layer: dict[str, np.ndarray], kind: str, name: str) -> None:
    weight = _tensor(layer["kernel"], kind)
    if tuple(weight.shape) != tuple(module.weight.shape):
        raise KerasImportError(f"layer {name} has kernel shape {layer['kernel'].shape}, which does not fit {module}")
    with torch.no_grad():
        module.weight.copy_(weight)
        if module.bias is not None:
            if "bias" not in layer:
                raise KerasImportError(f"layer {name} has no bias")
            module.bias.copy_(torch.from_numpy(np.asarray(layer["bias"], dtype=np.float32)))


def build_part(weights: KerasWeights, part: Part) -> torch.nn.Module:
    """The architecture of ``part`` with the Keras weights copied in, in eval mode."""
    model = build_model(part.architecture, **part.config)
    for target, layer, kind in part.mapping:
        _assign(model.get_submodule(target), weights.layers[layer], kind, layer)
    return model.float().eval()


def build(weights: KerasWeights, detected: Detected, kind: str) -> torch.nn.Module:
    """The torch model of ``kind`` (``chrombpnet``, ``accessibility``, ``bias``, ``bpnet``)."""
    if kind == "chrombpnet":
        return combine(build_part(weights, detected.parts["bias"]), build_part(weights, detected.parts["accessibility"]))
    return build_part(weights, detected.parts[kind])


def combine(bias: torch.nn.Module, accessibility: torch.nn.Module) -> ChromBPNet:
    """A full ChromBPNet from a (scaled) bias model and an accessibility model."""
    return ChromBPNet(bias, accessibility).float().eval()
