"""Built-in model stages: build an untrained model, export a model for torch.load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from ..device import announce_device, resolve_device
from ..errors import BpnetError
from ..modelfile import build_model, export_torch, load_model, save_model
from ..plugin.registry import registry
from .base import Input, Output, Stage, StageContext, StageParams


class ModelInitParams(StageParams):
    architecture: str = Field("bpnet", description="registered architecture name or 'module:Class'")
    hyperparameters: dict[str, Any] = Field(default_factory=dict, description="the architecture's hyperparameters")
    seed: int = Field(0, description="seed of the weight initialisation")
    device: str = Field("auto", description="device for the smoke test forward pass (auto, cpu, cuda, cuda:N, mps)")
    input_length: int | None = Field(None, ge=1, description="input length of the smoke test (default: the shortest the model takes)")
    model: Output = Field(Path("model"), description="model folder to write")

    @field_validator("architecture")
    @classmethod
    def _known_architecture(cls, name: str) -> str:
        try:
            registry().architecture(name)
        except BpnetError as exc:
            raise ValueError(str(exc)) from None
        return name

    @model_validator(mode="after")
    def _check_hyperparameters(self) -> "ModelInitParams":
        from ..architectures.base import Architecture

        arch = registry().architecture(self.architecture)
        if isinstance(arch, type) and issubclass(arch, Architecture):
            try:
                arch.Config(**self.hyperparameters)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"])
                raise ValueError(f"hyperparameters.{where}: {err['msg']} for architecture '{self.architecture}'") from None
        return self


class ModelInit(Stage):
    """Build an untrained model of any registered architecture and save it."""

    name = "model-init"
    Params = ModelInitParams

    def run(self, params: ModelInitParams, context: StageContext) -> None:
        import torch

        torch.manual_seed(params.seed)
        model = build_model(params.architecture, **params.hyperparameters)
        n = sum(p.numel() for p in model.parameters())
        context.log.info("built %s with %d parameters", params.architecture, n)
        self.smoke_test(model, params, context)
        save_model(model, params.model, provenance={"stage": self.name, "seed": params.seed})

    @staticmethod
    def smoke_test(model, params: ModelInitParams, context: StageContext) -> None:
        """One forward pass on the chosen device, so a broken architecture fails here."""
        import torch

        device = resolve_device(params.device)
        announce_device(device)
        length = params.input_length or getattr(model, "minimum_input_length", lambda: 2114)()
        X = torch.zeros(2, 4, length, device=device)
        X[:, 0] = 1.0
        n_ctl = getattr(model, "n_control_tracks", 0)
        args = (torch.zeros(2, n_ctl, length, device=device),) if n_ctl else ()
        model.to(device).eval()
        try:
            with torch.no_grad():
                profile, counts = model(X, *args)
        except (RuntimeError, ValueError) as exc:
            raise BpnetError(f"{params.architecture} cannot run on a {length} bp input: {exc}") from None
        finally:
            model.to("cpu")
        context.log.info("input (2, 4, %d) -> profile %s, counts %s", length, tuple(profile.shape), tuple(counts.shape))


class ModelExportParams(StageParams):
    model: Input = Field(..., description="bpnet model folder (or .safetensors file)")
    torch_file: Output = Field(Path("model.torch"), description="pickled module for torch.load(path, weights_only=False)")


class ModelExport(Stage):
    """Export a bpnet model as a pickled module that torch.load(weights_only=False) reads."""

    name = "model-export"
    Params = ModelExportParams

    def run(self, params: ModelExportParams, context: StageContext) -> None:
        model = load_model(params.model)
        export_torch(model, params.torch_file)
        context.log.info("exported %s", params.model)
