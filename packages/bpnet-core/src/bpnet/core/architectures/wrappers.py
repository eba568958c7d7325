"""Wrappers that turn a model into the single-output functions attribution and design use.

``CountWrapper(model)(X) -> (N, 1)``: the summed log counts.
``ProfileWrapper(model)(X) -> (N, 1)``: the official ChromBPNet/BPNet profile
explanation target, ``sum(softmax(logits) * (logits - mean(logits)))`` over all tracks
and positions jointly ("weighted-sum mean-normalised logits"; the official code stops
the gradient through the softmax weights). The weighting is its own module,
:class:`WeightedMeanNormedLogits`, so DeepLIFT implementations can give it a rule.
``ControlWrapper(model)(X, X_ctl=None)``: feeds zero controls when none are given.
"""

from __future__ import annotations

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

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None) -> torch.Tensor:
        log_counts = _call(self.model, X, X_ctl)[1]
        if log_counts.shape[-1] == 1:
            return log_counts
        return torch.logsumexp(log_counts, dim=-1, keepdim=True)


class WeightedMeanNormedLogits(torch.nn.Module):
    """``sum(softmax(z).detach() * (z - mean(z)))`` over the last axis, kept as (N, 1)."""

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        centred = logits - logits.mean(dim=-1, keepdim=True)
        weights = torch.softmax(logits, dim=-1).detach()
        return (centred * weights).sum(dim=-1, keepdim=True)


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


def _call(model: torch.nn.Module, X: torch.Tensor, X_ctl: torch.Tensor | None):
    return model(X) if X_ctl is None else model(X, X_ctl)
