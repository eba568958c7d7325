"""The entry point bpnet loads: ``[project.entry-points.bpnet] bottleneck = "bpnet_arch_bottleneck.plugin"``.

Only hook implementations live here. The architecture is named through a
:class:`~bpnet.core.plugin.PluginRef`, so ``bpnet plugins`` can list it without
importing torch or the model code.
"""

from __future__ import annotations

from bpnet.core.plugin import PluginRef, hookimpl


@hookimpl
def bpnet_register_architectures() -> list[PluginRef]:
    return [
        PluginRef(
            "bpnet-bottleneck",
            "bpnet_arch_bottleneck.model:BottleneckBPNet",
            "BPNet with bottleneck residual blocks (1x1 reduce, dilated conv, 1x1 expand)",
        )
    ]
