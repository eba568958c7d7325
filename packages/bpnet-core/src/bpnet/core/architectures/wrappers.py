"""Wrappers that turn a model into the single-output functions attribution and design use.

``CountWrapper(model)(X) -> (N, 1)``: the summed log counts.
``ProfileWrapper(model)(X) -> (N, 1)``: the official ChromBPNet/BPNet profile
explanation target, ``sum(softmax(logits) * (logits - mean(logits)))`` over all tracks
and positions jointly ("weighted-sum mean-normalised logits").
``ControlWrapper(model)(X, X_ctl=None)``: feeds zero controls when none are given.

DeepLIFT (tangermeme's ``deep_lift_shap``) hooks modules by type and treats every
operation outside a known module as linear, so each non-linear step here is a module
with a rule there: the softmax is ``torch.nn.Softmax``, the product of the weights and
the centred logits is tangermeme's ``BilinearOp`` (a plain product outside attribution)
when tangermeme is installed, and a logsumexp over several count outputs is a chain of
``torch.nn.Softplus`` (``log(e^a + e^b) = a + softplus(b - a)``). With these the
attributions sum to the change of the target (small convergence deltas).

The official code stops the gradient through the softmax weights. That cannot be
reproduced under DeepLIFT: the weights differ between a sequence and its reference, so
a target with frozen weights has a change that no attribution of the logits sums to
(tangermeme then warns of large convergence deltas). The weights are therefore not
detached; the forward value is the same.
"""

from __future__ import annotations

import importlib.util

import torch


class ControlWrapper(torch.nn.Module):
    """Call ``model(X, X_ctl)``, using all-zero controls when ``X_ctl`` is None."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None):
        n_ctl = getattr(self.model, "n_control_tracks", 0)
        if X_ctl is None and n_ctl:
            X_ctl = X.new_zeros(X.shape[0], n_ctl, X.shape[-1])
        return self.model(X, X_ctl) if n_ctl else self.model(X)


class CountWrapper(torch.nn.Module):
    """The log-count output alone, summed over count outputs: shape (N, 1)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        n = _n_count_outputs(model)
        # log(sum(exp(c_i))) = c_1 + softplus(c_2 - c_1) ..., one Softplus per step
        self.softpluses = torch.nn.ModuleList(torch.nn.Softplus() for _ in range(max(n - 1, 0)))

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None) -> torch.Tensor:
        log_counts = _call(self.model, X, X_ctl)[1]
        if log_counts.shape[-1] == 1:
            return log_counts
        if log_counts.shape[-1] != len(self.softpluses) + 1:  # a model that did not say
            return torch.logsumexp(log_counts, dim=-1, keepdim=True)
        total = log_counts[:, :1]
        for i, softplus in enumerate(self.softpluses, start=1):
            total = total + softplus(log_counts[:, i : i + 1] - total)
        return total


class ElementwiseProduct(torch.nn.Module):
    """``left * right``; stands in for tangermeme's ``BilinearOp`` when it is not installed."""

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        return left * right


def _product_module() -> torch.nn.Module:
    if importlib.util.find_spec("tangermeme") is not None:
        try:
            from tangermeme.deep_lift_shap import BilinearOp
        except ImportError:  # an older tangermeme without the bilinear rule
            pass
        else:
            return BilinearOp("...,...->...")
    return ElementwiseProduct()


class WeightedMeanNormedLogits(torch.nn.Module):
    """``sum(softmax(z) * (z - mean(z)))`` over the last axis, kept as (N, 1).

    The softmax and the product are modules (see the module docstring) so that DeepLIFT
    gives each its exact rule.
    """

    def __init__(self):
        super().__init__()
        self.softmax = torch.nn.Softmax(dim=-1)
        self.product = _product_module()

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        centred = logits - logits.mean(dim=-1, keepdim=True)
        weights = self.softmax(logits)
        return self.product(weights, centred).sum(dim=-1, keepdim=True)


class ProfileWrapper(torch.nn.Module):
    """The official profile explanation target of a model: shape (N, 1)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.flatten = torch.nn.Flatten()
        self.weighting = WeightedMeanNormedLogits()

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None) -> torch.Tensor:
        logits = _call(self.model, X, X_ctl)[0]
        return self.weighting(self.flatten(logits))


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


def _call(model: torch.nn.Module, X: torch.Tensor, X_ctl: torch.Tensor | None):
    return model(X) if X_ctl is None else model(X, X_ctl)
