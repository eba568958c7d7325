"""Model files: safetensors weights plus a JSON config, loaded without pickle.

A model file is a folder holding ``config.json`` (architecture name, hyperparameters,
package versions, provenance) and ``model.safetensors`` (weights; the same config is
also stored in its metadata, so the ``.safetensors`` file alone loads too)::

    save_model(model, "models/ctcf")           # models/ctcf/{config.json,model.safetensors}
    model = load_model("models/ctcf")

Architectures are looked up in the registry by name, so a plugin's architecture saves
and loads like a built-in one. :func:`export_torch` writes the pickled module that
``torch.load(path, weights_only=False)`` returns, for users of that habit.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .architectures.base import Architecture
from .atomic import atomic_path
from .errors import ModelFileError
from .plugin.registry import registry
from .versions import installed_versions

FORMAT = "bpnet-model"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
METADATA_KEY = "bpnet_config"


def build_model(architecture: str, **hyperparameters: Any) -> torch.nn.Module:
    """Build an untrained model by registered name (or ``"module:Class"`` path)."""
    cls = registry().architecture(architecture)
    if isinstance(cls, type) and issubclass(cls, Architecture):
        return cls(**hyperparameters)
    model = cls(**hyperparameters)
    model._bpnet_description = {"architecture": architecture, "config": hyperparameters}
    return model


def describe_architecture(model: torch.nn.Module) -> dict[str, Any]:
    """``{"architecture": name, "config": {...}}``: what :func:`build_from_description` needs."""
    if isinstance(model, Architecture):
        cls = type(model)
        name = registry().name_of("architecture", cls) or f"{cls.__module__}:{cls.__qualname__}"
        return {"architecture": name, "config": model.to_config()}
    description = getattr(model, "_bpnet_description", None)
    if description is None:
        raise ModelFileError(
            f"cannot save a {type(model).__name__}: build it with bpnet.core.build_model or "
            "derive it from bpnet.core.Architecture so its hyperparameters are known"
        )
    return description


def build_from_description(description: dict[str, Any]) -> torch.nn.Module:
    """Rebuild an untrained model from :func:`describe_architecture`'s output."""
    cls = registry().architecture(description["architecture"])
    config = description.get("config", {})
    if isinstance(cls, type) and issubclass(cls, Architecture):
        return cls.from_config(config)
    model = cls(**config)
    model._bpnet_description = description
    return model


def model_config(model: torch.nn.Module, provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON config written next to the weights."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **describe_architecture(model),
        "versions": installed_versions(),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "provenance": provenance or {},
    }


def save_model(model: torch.nn.Module, path: str | Path, *, provenance: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to the folder ``path`` (atomically) and return that path."""
    path = Path(path)
    config = model_config(model, provenance)
    text = json.dumps(config, indent=2, sort_keys=False)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        tmp.mkdir(parents=True)
        (tmp / CONFIG_NAME).write_text(text + "\n")
        save_file(tensors, str(tmp / WEIGHTS_NAME), metadata={METADATA_KEY: text})
    return path


def read_config(path: str | Path) -> dict[str, Any]:
    """The config of a saved model (a model folder or its ``.safetensors`` file)."""
    path = Path(path)
    if path.is_dir():
        config_file = path / CONFIG_NAME
        if not config_file.is_file():
            raise ModelFileError(f"{path} is not a bpnet model folder: {CONFIG_NAME} is missing")
        try:
            config = json.loads(config_file.read_text())
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"{config_file} is not valid JSON ({exc})") from exc
    elif path.is_file():
        config = _config_from_metadata(path)
    else:
        raise ModelFileError(f"model file {path} does not exist")
    if config.get("format") != FORMAT or "architecture" not in config:
        raise ModelFileError(f"{path} is not a bpnet model (no '{FORMAT}' config)")
    return config


def _config_from_metadata(path: Path) -> dict[str, Any]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            text = (handle.metadata() or {}).get(METADATA_KEY)
    except (SafetensorError, OSError) as exc:
        raise ModelFileError(f"{path} is not a safetensors file ({exc})") from exc
    if text is None:
        raise ModelFileError(f"{path} has no bpnet config in its metadata")
    return json.loads(text)


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Load a model written by :func:`save_model`; runs no pickle. Returns it in eval mode."""
    path = Path(path)
    config = read_config(path)
    weights = path / WEIGHTS_NAME if path.is_dir() else path
    model = build_from_description(config)
    try:
        state = load_file(str(weights), device=str(device))
    except (SafetensorError, OSError, FileNotFoundError) as exc:
        raise ModelFileError(f"cannot read the weights {weights}: {exc}") from exc
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ModelFileError(f"weights in {weights} do not fit architecture '{config['architecture']}': {first}") from exc
    model.to(device)
    model.eval()
    model.bpnet_metadata = config
    return model


def export_torch(model: torch.nn.Module, path: str | Path) -> Path:
    """Write the whole pickled module, readable by ``torch.load(path, weights_only=False)``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(model, tmp)
    return path
