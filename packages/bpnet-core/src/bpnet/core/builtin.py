"""bpnet-core's own built-ins, registered through the ``bpnet`` entry point like any plugin."""

from __future__ import annotations

from .plugin import PluginRef, hookimpl

_ARCH = "bpnet.core.architectures"


@hookimpl
def bpnet_register_architectures() -> list[PluginRef]:
    return [
        PluginRef("bpnet", f"{_ARCH}.bpnet:BPNet", "BPNet, ChromBPNet style (post-activation residuals, valid convs)"),
        PluginRef("chrombpnet", f"{_ARCH}.chrombpnet:ChromBPNet", "frozen bias model + accessibility model"),
    ]
