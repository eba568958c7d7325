"""bpnet-core: the registry, architectures, model files, pipeline specs and DAG executor.

Public API::

    from bpnet.core import BPNet, ChromBPNet, save_model, load_model, build_model, registry
"""

from __future__ import annotations

import importlib.metadata

from .architectures import (
    Architecture,
    ArchitectureConfig,
    BPNet,
    ChromBPNet,
    ControlWrapper,
    CountWrapper,
    ProfileWrapper,
)
from .errors import BpnetError
from .modelfile import build_model, export_torch, load_model, read_config, save_model
from .plugin.registry import Registry, registry

try:
    __version__ = importlib.metadata.version("bpnet-core")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0"

__all__ = [
    "Architecture",
    "ArchitectureConfig",
    "BPNet",
    "BpnetError",
    "ChromBPNet",
    "ControlWrapper",
    "CountWrapper",
    "ProfileWrapper",
    "Registry",
    "__version__",
    "build_model",
    "export_torch",
    "load_model",
    "read_config",
    "registry",
    "save_model",
]
