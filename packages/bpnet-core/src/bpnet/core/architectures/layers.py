"""Small building blocks shared by the architectures.

Every non-linearity is its own module instance (never a functional call, never reused)
so that DeepLIFT implementations that hook modules, such as tangermeme's
``deep_lift_shap``, see each one.
"""

from __future__ import annotations

import torch


def centre_crop(x: torch.Tensor, length: int) -> torch.Tensor:
    """Crop the last axis of ``x`` symmetrically to ``length`` positions.

    An odd surplus leaves the extra position on the right, as Keras' ``Cropping1D``
    with ``(surplus // 2, surplus - surplus // 2)`` does.
    """
    surplus = x.shape[-1] - length
    if surplus < 0:
        raise ValueError(f"cannot crop {x.shape[-1]} positions to {length}")
    left = surplus // 2
    return x[..., left : left + length]


class LogSumExp(torch.nn.Module):
    """``log(sum(exp(x)))`` over ``dim`` (kept), the numerically stable way."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(x, dim=self.dim, keepdim=True)


class Log1pTotal(torch.nn.Module):
    """``log(1 + sum of x over positions)``: per track (``per_track=True``) or over all tracks."""

    def __init__(self, per_track: bool = False):
        super().__init__()
        self.per_track = per_track

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = x.sum(dim=-1) if self.per_track else x.sum(dim=(1, 2)).unsqueeze(-1)
        return torch.log1p(total)


def check_controls(model_name: str, n_control_tracks: int, X_ctl: torch.Tensor | None, length: int) -> None:
    """Raise a clear error when control tracks are missing, superfluous or too short."""
    if n_control_tracks == 0:
        if X_ctl is not None:
            raise ValueError(f"{model_name} has no control tracks but X_ctl was given")
        return
    if X_ctl is None:
        raise ValueError(
            f"{model_name} expects X_ctl of shape (N, {n_control_tracks}, L) with L >= {length}; "
            "wrap it in bpnet.core.ControlWrapper to use zero controls"
        )
    if X_ctl.ndim != 3 or X_ctl.shape[1] != n_control_tracks or X_ctl.shape[-1] < length:
        raise ValueError(
            f"{model_name} expects X_ctl of shape (N, {n_control_tracks}, L) with L >= {length}, "
            f"got {tuple(X_ctl.shape)}"
        )
