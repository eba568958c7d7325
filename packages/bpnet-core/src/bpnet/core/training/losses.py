"""The BPNet losses: multinomial NLL of the profile plus MSE of log(1 + counts).

* **Profile**: one multinomial over every track and position of a locus (for stranded
  data both strands share one multinomial, as in the official code), so the logits of
  shape ``(N, T, L)`` go through a single ``log_softmax`` over ``T * L`` values.
* **Counts**: mean squared error between the predicted natural-log counts and
  ``log(1 + observed counts)``: the total over tracks for a model with one count output,
  per track for a model with one count output per track.
* **Total**: ``profile + count_loss_weight * count``. The profile term can be restricted
  to peaks (bpnet-lite's BPNet) or cover every example (official ChromBPNet); a batch
  without any example in scope adds 0 to the profile term, never NaN.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch

ProfileScope = Literal["peaks", "all"]


class LossTerms(NamedTuple):
    """Per-batch means: ``profile`` (over the examples in scope), ``count`` and ``total``.
    ``n_profile`` is how many examples the profile term averaged over."""

    profile: torch.Tensor
    count: torch.Tensor
    total: torch.Tensor
    n_profile: int


def multinomial_nll(logits: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Per-example NLL of ``counts`` under one multinomial over all tracks and positions.

    ``logits`` and ``counts`` have shape ``(N, T, L)`` (or ``(N, L)``); returns ``(N,)``.
    Includes the multinomial coefficient, so it is a true negative log-likelihood.
    """
    logp = torch.log_softmax(logits.reshape(len(logits), -1).float(), dim=-1)
    y = counts.reshape(len(counts), -1).float()
    n = y.sum(dim=-1)
    log_coefficient = torch.lgamma(n + 1) - torch.lgamma(y + 1).sum(dim=-1)
    return -log_coefficient - (y * logp).sum(dim=-1)


def count_targets(counts: torch.Tensor, n_count_outputs: int) -> torch.Tensor:
    """``log(1 + counts)`` summed to what the count head predicts: ``(N, 1)`` or ``(N, T)``."""
    per_track = counts.float().sum(dim=-1)
    if n_count_outputs == 1:
        return torch.log1p(per_track.sum(dim=-1, keepdim=True))
    if n_count_outputs != per_track.shape[-1]:
        raise ValueError(f"{n_count_outputs} count outputs for {per_track.shape[-1]} tracks")
    return torch.log1p(per_track)


def log1p_mse(log_counts: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Per-example squared error of ``log_counts`` ``(N, C)`` against ``log(1 + counts)``."""
    target = count_targets(counts, log_counts.shape[-1])
    return ((log_counts.float() - target) ** 2).mean(dim=-1)


def profile_count_loss(
    logits: torch.Tensor, log_counts: torch.Tensor, counts: torch.Tensor, count_loss_weight: float,
    is_peak: torch.Tensor | None = None, profile_on: ProfileScope = "all",
) -> LossTerms:
    """The BPNet training loss of one batch (see the module docstring)."""
    profile_nll = multinomial_nll(logits, counts)
    if profile_on == "peaks" and is_peak is not None:
        profile_nll = profile_nll[is_peak.bool()]
    n_profile = len(profile_nll)
    profile = profile_nll.mean() if n_profile else logits.new_zeros((), dtype=torch.float32)
    count = log1p_mse(log_counts, counts).mean()
    return LossTerms(profile, count, profile + count_loss_weight * count, n_profile)
