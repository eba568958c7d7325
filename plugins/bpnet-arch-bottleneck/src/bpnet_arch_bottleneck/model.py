"""BottleneckBPNet: BPNet whose dilated residual layers are bottleneck blocks.

Each block reduces the trunk to ``bottleneck_filters`` channels with a 1x1
convolution, applies a dilated convolution of width ``dilated_kernel_size`` (dilation
``2**i``, i = 1..n_layers) in that narrow space, and expands back to ``n_filters``
with another 1x1 convolution. The block's output is added to its centre-cropped
input. All convolutions are 'valid', so the model computes only positions whose
receptive field lies inside the input. The heads are BPNet's: a wide profile
convolution cropped to ``output_length`` and a count head on the global average of
the trunk. The length arithmetic (``minimum_input_length``) and input checks come from
bpnet-core's :class:`DilatedResidualArchitecture`, since the blocks' dilated
convolutions shrink the input exactly as BPNet's do.

With ``bottleneck_filters`` much smaller than ``n_filters`` a block costs far less
than BPNet's full-width dilated convolution, so wider trunks stay affordable.

Every non-linearity is its own ``torch.nn.ReLU`` instance, used once, so DeepLIFT
implementations that hook modules (tangermeme's ``deep_lift_shap``) see each one.
"""

from __future__ import annotations

import torch
from pydantic import Field

from bpnet.core.architectures import ArchitectureConfig, DilatedResidualArchitecture
from bpnet.core.architectures.layers import centre_crop


class BottleneckConfig(ArchitectureConfig):
    """Hyperparameters of :class:`BottleneckBPNet`."""

    n_filters: int = Field(64, ge=1, description="channels of the trunk")
    bottleneck_filters: int = Field(16, ge=1, description="channels inside each bottleneck block")
    n_layers: int = Field(8, ge=0, description="bottleneck blocks (dilation 2**i, i = 1..n)")
    n_outputs: int = Field(2, ge=1, description="profile tracks")
    n_control_tracks: int = Field(0, ge=0, description="control tracks given as X_ctl (0 for none)")
    conv1_kernel_size: int = Field(21, ge=1, description="width of the first convolution")
    dilated_kernel_size: int = Field(3, ge=1, description="width of the dilated convolutions")
    profile_kernel_size: int = Field(75, ge=1, description="width of the profile head convolution")
    output_length: int = Field(1000, ge=1, description="profile output window (bp)")


class BottleneckBlock(torch.nn.Module):
    """1x1 reduce -> ReLU -> dilated conv -> ReLU -> 1x1 expand, plus the cropped input."""

    def __init__(self, n_filters: int, bottleneck_filters: int, kernel_size: int, dilation: int):
        super().__init__()
        self.reduce = torch.nn.Conv1d(n_filters, bottleneck_filters, 1)
        self.reduce_relu = torch.nn.ReLU()
        self.conv = torch.nn.Conv1d(bottleneck_filters, bottleneck_filters, kernel_size, dilation=dilation)
        self.conv_relu = torch.nn.ReLU()
        self.expand = torch.nn.Conv1d(bottleneck_filters, n_filters, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        y = self.expand(self.conv_relu(self.conv(self.reduce_relu(self.reduce(h)))))
        return centre_crop(h, y.shape[-1]) + y


class BottleneckBPNet(DilatedResidualArchitecture):
    """BPNet with a trunk of bottleneck residual blocks.

    ``forward(X, X_ctl=None) -> (profile_logits, log_counts)`` with ``X`` of shape
    ``(N, 4, L)``, ``L >= minimum_input_length()``; ``profile_logits`` has shape
    ``(N, n_outputs, output_length)`` and ``log_counts`` ``(N, 1)``. With control
    tracks, ``X_ctl`` ``(N, n_control_tracks, L')`` (``L' >= output_length``) is centre
    cropped to the output window and enters the profile through a 1x1 convolution and
    the counts through ``log(1 + total control count)``.
    """

    name = "bpnet-bottleneck"
    Config = BottleneckConfig
    config: BottleneckConfig

    def __init__(self, config: BottleneckConfig | dict | None = None, **hyperparameters):
        super().__init__(config, **hyperparameters)
        c = self.config
        F = c.n_filters
        self.iconv = torch.nn.Conv1d(4, F, c.conv1_kernel_size)
        self.irelu = torch.nn.ReLU()
        self.blocks = torch.nn.ModuleList(
            BottleneckBlock(F, c.bottleneck_filters, c.dilated_kernel_size, 2**i) for i in range(1, c.n_layers + 1)
        )
        self.fconv = torch.nn.Conv1d(F, c.n_outputs, c.profile_kernel_size)
        n_count_inputs = F
        if c.n_control_tracks:
            self.ctl_profile = torch.nn.Conv1d(c.n_control_tracks, c.n_outputs, 1, bias=False)
            n_count_inputs += 1
        self.linear = torch.nn.Linear(n_count_inputs, 1)

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        self.check_inputs(X, X_ctl)  # input length and control tracks, with clear messages
        h = self.irelu(self.iconv(X))
        for block in self.blocks:
            h = block(h)
        profile = centre_crop(self.fconv(h), c.output_length)
        pooled = h.mean(dim=-1)
        if X_ctl is not None:
            ctl = centre_crop(X_ctl, c.output_length)
            profile = profile + self.ctl_profile(ctl)
            pooled = torch.cat([pooled, torch.log1p(ctl.sum(dim=(1, 2))).unsqueeze(-1)], dim=-1)
        return profile, self.linear(pooled)
