"""What every dilated-residual BPNet shares: the length arithmetic and input checks.

The trunk is a first convolution of width ``conv1_kernel_size`` and ``n_layers``
dilated convolutions of width ``dilated_kernel_size`` and dilation ``2**i``
(i = 1..n), all 'valid'; the profile head is a 'valid' convolution of width
``profile_kernel_size`` centre-cropped to ``output_length``.
"""

from __future__ import annotations

import torch

from .base import Architecture
from .layers import check_controls


class DilatedResidualArchitecture(Architecture):
    """Base of BPNet-like architectures whose config has the fields named above."""

    @property
    def n_control_tracks(self) -> int:
        return self.config.n_control_tracks

    @property
    def n_outputs(self) -> int:
        return self.config.n_outputs

    def receptive_shrink(self) -> int:
        """Positions the first convolution and the dilated stack remove from the input."""
        c = self.config
        return c.conv1_kernel_size - 1 + sum((c.dilated_kernel_size - 1) * 2**i for i in range(1, c.n_layers + 1))

    def trunk_length(self, input_length: int) -> int:
        """Positions left after the first convolution and the dilated stack."""
        return input_length - self.receptive_shrink()

    def minimum_input_length(self) -> int:
        """Shortest input whose profile head still covers ``output_length`` positions."""
        c = self.config
        return c.output_length + c.profile_kernel_size - 1 + self.receptive_shrink()

    def output_length(self, input_length: int) -> int:
        return self.config.output_length

    def check_inputs(self, X: torch.Tensor, X_ctl: torch.Tensor | None) -> None:
        """Raise a clear ValueError for a too-short input or wrong control tracks."""
        c = self.config
        name = type(self).__name__
        if X.shape[-1] < self.minimum_input_length():
            raise ValueError(
                f"{name} with {c.n_layers} layers needs inputs of at least {self.minimum_input_length()} bp "
                f"for a {c.output_length} bp output, got {X.shape[-1]}"
            )
        check_controls(name, c.n_control_tracks, X_ctl, c.output_length)
