"""ChromBPNet: a frozen bias model plus an accessibility model.

The official definition (kundajelab/chrombpnet ``chrombpnet_with_bias_model.py``):
profile logits add (probabilities multiply), and log counts combine by logsumexp,
``log(exp(c_accessibility) + exp(c_bias))``, computed as
``c_accessibility + softplus(c_bias - c_accessibility)``. The bias model is frozen; its count head is
the *scaled* one (see the training stage). The accessibility model alone is the
de-biased model used for interpretation and variant effects: ``model.accessibility``.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import Architecture
from .layers import centre_crop


class ChromBPNet(Architecture):
    """Frozen ``bias`` model + trainable ``accessibility`` model.

    Both are architectures whose ``forward(X)`` returns ``(logits, log_counts)``; the
    bias profile is centre-cropped to the accessibility model's output length.
    """

    name = "chrombpnet"

    def __init__(self, bias: torch.nn.Module, accessibility: torch.nn.Module, freeze_bias: bool = True):
        torch.nn.Module.__init__(self)
        self.bias = bias
        self.accessibility = accessibility
        # log(exp(a) + exp(b)) = a + softplus(b - a): stable, and Softplus is a standard
        # non-linearity that DeepLIFT implementations (tangermeme) already handle.
        self.count_softplus = torch.nn.Softplus()
        if freeze_bias:
            self.freeze_bias()

    def freeze_bias(self) -> None:
        """Stop gradients into the bias model (it stays frozen while the rest trains)."""
        for parameter in self.bias.parameters():
            parameter.requires_grad_(False)

    @property
    def n_control_tracks(self) -> int:
        return 0

    @property
    def n_outputs(self) -> int:
        return getattr(self.accessibility, "n_outputs", 1)

    def output_length(self, input_length: int) -> int:
        return self.accessibility.output_length(input_length)

    def count_bias(self) -> torch.Tensor | None:
        """The accessibility model's count bias (the bias model is frozen)."""
        return getattr(self.accessibility, "count_bias", lambda: None)()

    def minimum_input_length(self) -> int:
        return max(
            getattr(self.bias, "minimum_input_length", lambda: 0)(),
            getattr(self.accessibility, "minimum_input_length", lambda: 0)(),
        )

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if X_ctl is not None:
            raise ValueError("ChromBPNet takes no control tracks (X_ctl must be None)")
        acc_logits, acc_counts = self.accessibility(X)
        bias_logits, bias_counts = self.bias(X)
        logits = acc_logits + centre_crop(bias_logits, acc_logits.shape[-1])
        counts = acc_counts + self.count_softplus(bias_counts - acc_counts)
        return logits, counts

    def to_config(self) -> dict[str, Any]:
        from ..modelfile import describe_architecture

        return {"bias": describe_architecture(self.bias), "accessibility": describe_architecture(self.accessibility)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ChromBPNet:
        from ..modelfile import build_from_description

        return cls(build_from_description(config["bias"]), build_from_description(config["accessibility"]))
