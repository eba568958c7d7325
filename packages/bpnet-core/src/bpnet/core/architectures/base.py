"""The base class every architecture derives from, built-in or from a plugin.

An architecture is a plain :class:`torch.nn.Module` whose ``forward(X, X_ctl=None)``
takes one-hot sequence ``X`` of shape ``(N, 4, L)`` (A, C, G, T; N is all zeros) and an
optional control track tensor ``X_ctl`` of shape ``(N, C, L')`` and returns
``(profile_logits, log_counts)``: logits of shape ``(N, tracks, output_length)`` and
natural-log counts of shape ``(N, count_outputs)``.

Plugin authors subclass :class:`Architecture`, give it a unique ``name`` and a pydantic
``Config`` holding every hyperparameter, and build their layers from ``self.config``::

    class MyNet(Architecture):
        name = "my-net"

        class Config(ArchitectureConfig):
            n_filters: int = 64

        def __init__(self, config: "MyNet.Config | None" = None, **hyperparameters):
            super().__init__(config, **hyperparameters)
            self.conv = torch.nn.Conv1d(4, self.config.n_filters, 21)
            ...

Because the config is a pydantic model, a spec that names the architecture is
validated like any built-in one, and :func:`bpnet.core.save_model` can store it as JSON.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict


class ArchitectureConfig(BaseModel):
    """Hyperparameters of an architecture; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class Architecture(torch.nn.Module):
    """Base class for registered architectures (see the module docstring)."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[ArchitectureConfig]] = ArchitectureConfig

    def __init__(self, config: ArchitectureConfig | dict[str, Any] | None = None, **hyperparameters: Any):
        super().__init__()
        if config is None:
            config = self.Config(**hyperparameters)
        elif isinstance(config, dict):
            config = self.Config(**{**config, **hyperparameters})
        elif hyperparameters:
            config = config.model_copy(update=hyperparameters)
        self.config = config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Architecture:
        """Build an untrained model from the JSON form written by :meth:`to_config`."""
        return cls(cls.Config(**config))

    def to_config(self) -> dict[str, Any]:
        """Hyperparameters as JSON-serialisable data; ``from_config`` reverses it."""
        return self.config.model_dump(mode="json")

    def count_bias(self) -> torch.Tensor | None:
        """The bias of the layer that outputs the log counts, or None when there is none.

        Trainers may set it to the mean ``log(1 + count)`` of the training examples before
        the first step (``count_bias_init``): the count head then starts at the data's
        scale instead of 0, and its first large errors do not swamp the profile gradient.
        The default is the bias of a ``torch.nn.Linear`` attribute named ``linear`` (the
        count layer of the built-in architectures); override it in a plugin whose count
        layer is named otherwise.
        """
        layer = getattr(self, "linear", None)
        return layer.bias if isinstance(layer, torch.nn.Linear) and layer.bias is not None else None

    def output_length(self, input_length: int) -> int:
        """Length of the profile output for an input of ``input_length`` bp."""
        X = torch.zeros(1, 4, input_length)
        with torch.no_grad():
            return int(self(X)[0].shape[-1])

