"""BPNet variants of the TF ChIP-seq code, with 'valid' convolutions.

:class:`BasePairNet` is the BPNet of kundajelab/bpnet-refactor (= kundajelab/bpnet master,
the ENCODE TF ChIP-seq "atlas" models) and of basepairmodels >= 0.3
(kundajelab/genomics-DL-archsandlosses). Its trunk is *pre-activation*::

    x0 = conv_0(X)                                   # no activation
    x_i = dil_conv_i(relu(x_{i-1})) + crop(x_{i-1})   # i = 1..n, dilation 2**i
    h = relu(x_n)                                    # trunk output

:class:`BasePairNetV01` is the BPNet of basepairmodels v0.1.x, whose dilated layer *i*
sees the sum of the *last two* layer outputs only::

    c0 = relu(conv_0(X)); c_i = relu(dil_conv_i(in_i))
    in_1 = c0; in_i = crop(c_{i-2}) + c_{i-1}  (i >= 2); h = crop(c_{n-1}) + c_n

Both take control tracks ``X_ctl`` of shape ``(N, n_control_tracks, L)``: raw control
read counts per position (for stranded ChIP-seq input: plus strand, minus strand), any
``L >= output_length``; they are centre-cropped to the output window. The profile head
concatenates the cropped controls to the profile logits and mixes them with a 1x1
convolution; the counts head uses control log counts derived from the same window:

* :class:`BasePairNet`, ``n_count_outputs == 1`` (bpnet-refactor default,
  ``orig_multi_loss=False``): ``logsumexp_t log(1 + sum ctl_t)`` (one feature);
* :class:`BasePairNet`, ``n_count_outputs == n_outputs`` (``orig_multi_loss=True``,
  basepairmodels >= 0.3): ``log(1 + sum ctl_t)`` per control track;
* :class:`BasePairNetV01`: ``log(1 + sum over all control tracks)`` (one feature).

Every non-linearity is its own module instance so DeepLIFT implementations see each one.
"""

from __future__ import annotations

import torch
from pydantic import Field, model_validator

from .base import ArchitectureConfig
from .dilated import DilatedResidualArchitecture
from .layers import Log1pTotal, LogSumExp, centre_crop


class BasePairNetConfig(ArchitectureConfig):
    """Hyperparameters of :class:`BasePairNet` and :class:`BasePairNetV01`."""

    n_filters: int = Field(64, ge=1, description="channels of every trunk convolution")
    n_layers: int = Field(8, ge=0, description="dilated residual layers (dilation 2**i, i = 1..n)")
    n_outputs: int = Field(2, ge=1, description="profile tracks (2 for one stranded task)")
    n_control_tracks: int = Field(2, ge=0, description="control tracks given as X_ctl (0 for none)")
    n_count_outputs: int = Field(1, ge=1, description="count outputs: 1 (total) or n_outputs (per track)")
    conv1_kernel_size: int = Field(21, ge=1, description="width of the first convolution")
    dilated_kernel_size: int = Field(3, ge=1, description="width of the dilated convolutions")
    profile_kernel_size: int = Field(75, ge=1, description="width of the profile head convolution")
    output_length: int = Field(1000, ge=1, description="profile output window (bp)")

    @model_validator(mode="after")
    def _count_outputs(self) -> BasePairNetConfig:
        if self.n_count_outputs not in (1, self.n_outputs):
            raise ValueError(f"n_count_outputs must be 1 or n_outputs ({self.n_outputs})")
        return self


class _BasePairNetBase(DilatedResidualArchitecture):
    """Shared heads, length arithmetic and forward of the two variants."""

    Config = BasePairNetConfig
    config: BasePairNetConfig

    def __init__(self, config: BasePairNetConfig | dict | None = None, **hyperparameters):
        super().__init__(config, **hyperparameters)
        c = self.config
        F = c.n_filters
        self.iconv = torch.nn.Conv1d(4, F, c.conv1_kernel_size)
        self.rconvs = torch.nn.ModuleList(
            torch.nn.Conv1d(F, F, c.dilated_kernel_size, dilation=2**i) for i in range(1, c.n_layers + 1)
        )
        self.relus = torch.nn.ModuleList(torch.nn.ReLU() for _ in range(c.n_layers + 1))
        self.fconv = torch.nn.Conv1d(F, c.n_outputs, c.profile_kernel_size)
        self._build_count_head()
        if c.n_control_tracks:
            self.ctl_profile = torch.nn.Conv1d(c.n_outputs + c.n_control_tracks, c.n_outputs, 1)

    def _build_count_head(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def trunk(self, X: torch.Tensor) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError

    def counts(self, pooled: torch.Tensor, ctl: torch.Tensor | None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        self.check_inputs(X, X_ctl)
        h = self.trunk(X)
        profile = centre_crop(self.fconv(h), c.output_length)
        ctl = centre_crop(X_ctl, c.output_length) if c.n_control_tracks else None
        if ctl is not None:
            profile = self.ctl_profile(torch.cat([profile, ctl], dim=1))
        return profile, self.counts(h.mean(dim=-1), ctl)


class BasePairNet(_BasePairNetBase):
    """BPNet of bpnet-refactor / ENCODE TF ChIP-seq / basepairmodels >= 0.3 (pre-activation trunk).

    Layers (Keras names with prefix ``main`` in brackets): ``iconv`` [``main_conv_0``],
    ``rconvs[i]`` [``main_dil_conv_{i+1}``], ``relus`` (one per ReLU), ``fconv``
    [``main_profile_head``], ``ctl_profile`` [``profile_predictions``, 1x1 over
    (profile logits, controls)], ``counts_head`` [``main_counts_head``], ``linear``
    [``logcounts_predictions``, over (counts head, control log counts)]. Without control
    tracks ``fconv`` and ``counts_head`` are the outputs.

    ``forward(X, X_ctl=None) -> (profile_logits (N, n_outputs, output_length), log_counts
    (N, n_count_outputs))``; ``X`` is one-hot ``(N, 4, L)``; ``X_ctl`` raw control counts
    ``(N, n_control_tracks, L')``, ``L' >= output_length`` (centre-cropped).
    """

    name = "basepairnet"

    def _build_count_head(self) -> None:
        c = self.config
        self.counts_head = torch.nn.Linear(c.n_filters, c.n_count_outputs)
        if c.n_control_tracks:
            self.ctl_counts = Log1pTotal(per_track=True)
            n_ctl_features = c.n_control_tracks
            if c.n_count_outputs == 1:
                self.ctl_logsumexp = LogSumExp(dim=-1)
                n_ctl_features = 1
            self.linear = torch.nn.Linear(c.n_count_outputs + n_ctl_features, c.n_count_outputs)

    def trunk(self, X: torch.Tensor) -> torch.Tensor:
        """Pre-activation residual trunk: (N, 4, L) -> (N, F, L - receptive_shrink())."""
        x = self.iconv(X)
        for conv, relu in zip(self.rconvs, self.relus):
            c = conv(relu(x))
            x = c + centre_crop(x, c.shape[-1])
        return self.relus[-1](x)

    def counts(self, pooled: torch.Tensor, ctl: torch.Tensor | None) -> torch.Tensor:
        counts = self.counts_head(pooled)
        if ctl is None:
            return counts
        features = self.ctl_counts(ctl)
        if self.config.n_count_outputs == 1:
            features = self.ctl_logsumexp(features)
        return self.linear(torch.cat([counts, features], dim=-1))


class BasePairNetV01(_BasePairNetBase):
    """BPNet of basepairmodels v0.1.x ("sum of the last two layers" residuals).

    Layers (Keras names in brackets): ``iconv`` [``1st_conv``], ``rconvs[i]``
    [``dil_conv_{i+1}``], ``relus`` (one per convolution), ``fconv``
    [``profile_out_prebias``], ``ctl_profile`` [``profile_predictions``, 1x1],
    ``linear`` [``logcount_predictions``, over (global average, control log count)].

    ``forward(X, X_ctl=None) -> (profile_logits (N, n_outputs, output_length), log_counts
    (N, n_count_outputs))``; ``X_ctl`` raw control counts ``(N, n_control_tracks, L')``;
    the count control feature is ``log(1 + sum of all control tracks over the output window)``.
    """

    name = "basepairnet-v01"

    def _build_count_head(self) -> None:
        c = self.config
        n_in = c.n_filters
        if c.n_control_tracks:
            self.ctl_counts = Log1pTotal(per_track=False)
            n_in += 1
        self.linear = torch.nn.Linear(n_in, c.n_count_outputs)

    def trunk(self, X: torch.Tensor) -> torch.Tensor:
        """Last-two-layers residual trunk: (N, 4, L) -> (N, F, L - receptive_shrink())."""
        previous = None
        current = self.relus[0](self.iconv(X))
        for conv, relu in zip(self.rconvs, self.relus[1:]):
            inp = current if previous is None else centre_crop(previous, current.shape[-1]) + current
            previous, current = current, relu(conv(inp))
        if previous is None:
            return current
        return centre_crop(previous, current.shape[-1]) + current

    def counts(self, pooled: torch.Tensor, ctl: torch.Tensor | None) -> torch.Tensor:
        if ctl is not None:
            pooled = torch.cat([pooled, self.ctl_counts(ctl)], dim=-1)
        return self.linear(pooled)


__all__ = ["BasePairNet", "BasePairNetConfig", "BasePairNetV01"]
