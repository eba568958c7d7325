"""bpnet-core: the registry, architectures, model files, pipeline specs and DAG executor.

Public API::

    from bpnet.core import BPNet, ChromBPNet, save_model, load_model, build_model, registry

Names are imported on first use, so ``bpnet --help`` and ``bpnet plugins`` do not pay
for importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports
from .versions import package_version

__version__ = package_version("bpnet-core", missing="0.0.0")  # 0.0.0: a source tree without install

_EXPORTS = {
    "Architecture": ".architectures",
    "ArchitectureConfig": ".architectures",
    "BPNet": ".architectures",
    "ChromBPNet": ".architectures",
    "ControlWrapper": ".architectures",
    "CountWrapper": ".architectures",
    "ProfileWrapper": ".architectures",
    "deeplift_rules": ".architectures",
    "BpnetError": ".errors",
    "build_model": ".modelfile",
    "export_torch": ".modelfile",
    "load_model": ".modelfile",
    "read_config": ".modelfile",
    "save_model": ".modelfile",
    "Registry": ".plugin.registry",
    "registry": ".plugin.registry",
}

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
    "deeplift_rules",
    "export_torch",
    "load_model",
    "read_config",
    "registry",
    "save_model",
]


__getattr__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    from .architectures import (
        Architecture,
        ArchitectureConfig,
        BPNet,
        ChromBPNet,
        ControlWrapper,
        CountWrapper,
        ProfileWrapper,
        deeplift_rules,
    )
    from .errors import BpnetError
    from .modelfile import build_model, export_torch, load_model, read_config, save_model
    from .plugin.registry import Registry, registry
