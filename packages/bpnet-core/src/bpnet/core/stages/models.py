"""Built-in model stages: build an untrained model, import a foreign model, export for torch.load."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from ..errors import BpnetError
from ..modelfile import build_model, export_torch, load_model, save_model
from ..plugin.registry import registry
from .base import Input, Output, Stage, StageContext, StageParams
from .params import DeviceParams


class ModelInitParams(DeviceParams):
    architecture: str = Field("bpnet", description="registered architecture name or 'module:Class'")
    hyperparameters: dict[str, Any] = Field(default_factory=dict, description="the architecture's hyperparameters")
    seed: int = Field(0, description="seed of the weight initialisation")
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
    def _check_hyperparameters(self) -> ModelInitParams:
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

        from ..outputs import call_model

        device = params.setup_device()
        length = params.input_length or getattr(model, "minimum_input_length", lambda: 2114)()
        X = torch.zeros(2, 4, length, device=device)
        X[:, 0] = 1.0
        model.to(device).eval()
        try:
            with torch.no_grad():
                profile, counts = call_model(model, X, zero_controls=True)
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


class ImportModelParams(StageParams):
    source: Input = Field(..., description="model file to import (e.g. Keras .h5/.keras, an ENCODE models .tar.gz)")
    importer: str = Field("auto", description="registered importer, or auto: the first that can read the source")
    fold: int | None = Field(None, description="fold of a multi-fold archive (default: the importer's choice)")
    kind: str | None = Field(None, description="which model of the file (e.g. chrombpnet, accessibility, bias, bpnet)")
    options: dict[str, Any] = Field(default_factory=dict, description="further options for the importer")
    out: Output = Field(Path("model"), description="bpnet model folder to write")

    @field_validator("importer")
    @classmethod
    def _known_importer(cls, name: str) -> str:
        if name != "auto":
            try:
                registry().importer(name)
            except BpnetError as exc:
                raise ValueError(str(exc)) from None
        return name


class ImportModel(Stage):
    """Convert a model file of another framework to a bpnet model with a registered importer."""

    name = "import-model"
    Params = ImportModelParams

    def run(self, params: ImportModelParams, context: StageContext) -> None:
        importer = registry().importer_for(params.source, params.importer)
        options = {**params.options, **{k: v for k, v in (("fold", params.fold), ("kind", params.kind)) if v is not None}}
        model = importer.load(params.source, **options)
        provenance = {
            **getattr(model, "bpnet_provenance", {}),
            "importer": importer.name,
            "source_path": str(params.source),
            "source_sha256": sha256_of(params.source),
        }
        save_model(model, params.out, provenance=provenance)
        context.log.info("imported %s with the %s importer (%s)", params.source.name, importer.name, options or "defaults")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
