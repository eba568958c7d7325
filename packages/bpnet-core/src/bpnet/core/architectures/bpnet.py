"""BPNet in the ChromBPNet style, with 'valid' convolutions.

Layers (names of the official Keras model in brackets):

* ``iconv`` [``bpnet_1st_conv``]: Conv1d(4, F, ``conv1_kernel_size``) + ReLU;
* ``rconvs[i]`` [``bpnet_{i+1}conv``], i = 0..n-1: Conv1d(F, F, 3, dilation 2**(i+1)) +
  ReLU, added to the centre-cropped input of the layer (post-activation residual);
* ``fconv`` [``prof_out_precrop``]: Conv1d(F, tracks, ``profile_kernel_size``), centre
  cropped to ``output_length`` [``logits_profile_predictions``];
* ``linear`` [``logcount_predictions``]: Linear over the global average of the whole
  trunk output [``gap``].

All convolutions are 'valid', exactly as in the official TensorFlow code, so the
outputs equal the official models' on the output window, and the trunk never computes
the flanks that a 'same'-padded model would crop away (about 2x faster on CPU for 64x8).

Control tracks (ChIP-seq input), when ``n_control_tracks > 0``, are raw counts
``X_ctl`` of shape ``(N, C, L')`` with ``L' >= output_length``; they are centre-cropped
to the output window. They enter the profile pointwise through a 1x1 convolution added
to the logits, and the counts head through ``log(1 + total control count)``.
"""

from __future__ import annotations

import torch
from pydantic import Field, model_validator

from .base import ArchitectureConfig
from .dilated import DilatedResidualArchitecture
from .layers import Log1pTotal, centre_crop


class BPNetConfig(ArchitectureConfig):
    """Hyperparameters of :class:`BPNet`."""

    n_filters: int = Field(64, ge=1, description="channels of every trunk convolution")
    n_layers: int = Field(8, ge=0, description="dilated residual layers (dilation 2**i, i = 1..n)")
    n_outputs: int = Field(2, ge=1, description="profile tracks (2 for stranded ChIP, 1 for ATAC/DNase)")
    n_control_tracks: int = Field(0, ge=0, description="control tracks given as X_ctl (0 for none)")
    n_count_outputs: int = Field(1, ge=1, description="count outputs: 1 (total) or n_outputs (per track)")
    conv1_kernel_size: int = Field(21, ge=1, description="width of the first convolution")
    dilated_kernel_size: int = Field(3, ge=1, description="width of the dilated convolutions")
    profile_kernel_size: int = Field(75, ge=1, description="width of the profile head convolution")
    output_length: int = Field(1000, ge=1, description="profile output window (bp)")
    profile_output_bias: bool = True
    count_output_bias: bool = True

    @model_validator(mode="after")
    def _count_outputs(self) -> BPNetConfig:
        if self.n_count_outputs not in (1, self.n_outputs):
            raise ValueError(f"n_count_outputs must be 1 or n_outputs ({self.n_outputs})")
        return self


class BPNet(DilatedResidualArchitecture):
    """BPNet with a post-activation dilated residual trunk (the ChromBPNet style).

    ``forward(X, X_ctl=None) -> (profile_logits, log_counts)`` with ``X`` of shape
    ``(N, 4, L)``, ``profile_logits`` ``(N, n_outputs, output_length)`` and
    ``log_counts`` ``(N, n_count_outputs)``. Any ``L >= minimum_input_length()`` works.
    """

    name = "bpnet"
    Config = BPNetConfig
    config: BPNetConfig

    def __init__(self, config: BPNetConfig | dict | None = None, **hyperparameters):
        super().__init__(config, **hyperparameters)
        c = self.config
        F = c.n_filters
        self.iconv = torch.nn.Conv1d(4, F, c.conv1_kernel_size)
        self.irelu = torch.nn.ReLU()
        self.rconvs = torch.nn.ModuleList(
            torch.nn.Conv1d(F, F, c.dilated_kernel_size, dilation=2**i) for i in range(1, c.n_layers + 1)
        )
        self.rrelus = torch.nn.ModuleList(torch.nn.ReLU() for _ in range(c.n_layers))
        self.fconv = torch.nn.Conv1d(F, c.n_outputs, c.profile_kernel_size, bias=c.profile_output_bias)
        n_count_inputs = F
        if c.n_control_tracks:
            self.ctl_profile = torch.nn.Conv1d(c.n_control_tracks, c.n_outputs, 1, bias=False)
            self.ctl_counts = Log1pTotal()
            n_count_inputs += 1
        self.linear = torch.nn.Linear(n_count_inputs, c.n_count_outputs, bias=c.count_output_bias)

    def trunk(self, X: torch.Tensor) -> torch.Tensor:
        """The dilated residual trunk: (N, 4, L) -> (N, F, trunk_length(L))."""
        h = self.irelu(self.iconv(X))
        for conv, relu in zip(self.rconvs, self.rrelus):
            c = relu(conv(h))
            h = centre_crop(h, c.shape[-1]) + c
        return h

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        self.check_inputs(X, X_ctl)
        h = self.trunk(X)
        profile = centre_crop(self.fconv(h), c.output_length)
        pooled = h.mean(dim=-1)
        if c.n_control_tracks:
            ctl = centre_crop(X_ctl, c.output_length)
            profile = profile + self.ctl_profile(ctl)
            pooled = torch.cat([pooled, self.ctl_counts(ctl)], dim=-1)
        return profile, self.linear(pooled)
