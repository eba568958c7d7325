"""Wrappers that turn a model into the single-output functions attribution and design use.

``CountWrapper(model)(X) -> (N, 1)``: the summed log counts.
``ProfileWrapper(model)(X) -> (N, 1)``: the official ChromBPNet/BPNet profile
explanation target, ``sum(softmax(logits) * (logits - mean(logits)))`` over all tracks
and positions jointly ("weighted-sum mean-normalised logits").
``ControlWrapper(model)(X, X_ctl=None)``: feeds zero controls when none are given.

DeepLIFT (tangermeme's ``deep_lift_shap``) hooks modules by type and treats every
operation outside a known module as linear, so each non-linear step here is a module
with a rule there. The profile target's non-linear step, ``z * softmax(z)`` of the
centred logits ``z``, is one module, :class:`SoftmaxWeightedLogits`, given DeepLIFT's
rescale rule as a whole, which is how bpnet-lite explains the profile head: pass
:func:`deeplift_rules` as ``additional_nonlinear_ops`` when calling tangermeme
yourself (``bpnet attribute`` does). A logsumexp over several count outputs is a chain
of ``torch.nn.Softplus`` (``log(e^a + e^b) = a + softplus(b - a)``), which tangermeme
knows. With these the attributions sum to the change of the target (small
convergence deltas).

The official code stops the gradient through the softmax weights. That cannot be
reproduced under DeepLIFT: the weights differ between a sequence and its reference, so
a target with frozen weights has a change that no attribution of the logits sums to
(tangermeme then warns of large convergence deltas). The weights are therefore not
detached; the forward value is the same.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..outputs import call_model, total_log_counts


class ControlWrapper(torch.nn.Module):
    """Call ``model(X, X_ctl)``, using all-zero controls when ``X_ctl`` is None."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    @property
    def n_control_tracks(self) -> int:
        return int(getattr(self.model, "n_control_tracks", 0) or 0)

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None):
        return call_model(self.model, X, X_ctl, zero_controls=True)


class CountWrapper(torch.nn.Module):
    """The log-count output alone, summed over count outputs: shape (N, 1)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        n = _n_count_outputs(model)
        # log(sum(exp(c_i))) = c_1 + softplus(c_2 - c_1) ..., one Softplus per step
        self.softpluses = torch.nn.ModuleList(torch.nn.Softplus() for _ in range(max(n - 1, 0)))

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None) -> torch.Tensor:
        log_counts = call_model(self.model, X, X_ctl)[1]
        if log_counts.shape[-1] == 1:
            return log_counts
        if log_counts.shape[-1] != len(self.softpluses) + 1:  # a model that did not say
            return total_log_counts(log_counts)[:, None]
        total = log_counts[:, :1]
        for i, softplus in enumerate(self.softpluses, start=1):
            total = total + softplus(log_counts[:, i : i + 1] - total)
        return total


class SoftmaxWeightedLogits(torch.nn.Module):
    """``z * softmax(z)`` over the last axis, element by element (the caller sums).

    One module, so that DeepLIFT gives the whole step one rescale rule
    (:func:`deeplift_rules`): each logit's multiplier is the change of its term over
    its own change, ``(z softmax(z) - z' softmax(z')) / (z - z')``, as bpnet-lite
    explains the profile head. The multipliers sum to the change of the target.
    """

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits * torch.softmax(logits, dim=-1)


def deeplift_rules() -> dict[type, Callable]:
    """The DeepLIFT rules these wrappers need beyond tangermeme's own table.

    Pass them to ``tangermeme.deep_lift_shap.deep_lift_shap(...,
    additional_nonlinear_ops=deeplift_rules())``: without them the profile target's
    :class:`SoftmaxWeightedLogits` is treated as linear and its attributions do not add
    up. Needs tangermeme (installed with bpnet-interpret).
    """
    from tangermeme.deep_lift_shap import _nonlinear

    return {SoftmaxWeightedLogits: _nonlinear}


class ProfileWrapper(torch.nn.Module):
    """The official profile explanation target of a model: shape (N, 1)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.flatten = torch.nn.Flatten()
        self.scaling = SoftmaxWeightedLogits()

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.flatten(call_model(self.model, X, X_ctl)[0])
        # float64 from here on: the rescale rule divides the change of each term by the
        # change of its logit, which float32 rounds badly where the logits barely move
        wide = logits.to(torch.float64)
        centred = wide - wide.mean(dim=-1, keepdim=True)
        return self.scaling(centred).sum(dim=-1, keepdim=True).to(logits.dtype)


def _n_count_outputs(model: torch.nn.Module) -> int:
    """How many log-count outputs ``model`` returns, as far as its config tells (else 1)."""
    for _ in range(8):
        config = getattr(model, "config", None)
        n = getattr(config, "n_count_outputs", None)
        if isinstance(n, int):
            return n
        inner = getattr(model, "model", None) or getattr(model, "accessibility", None)
        if not isinstance(inner, torch.nn.Module):
            break
        model = inner
    return 1

