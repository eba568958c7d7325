"""bpnet-core's own built-ins, registered through the ``bpnet`` entry point like any plugin."""

from __future__ import annotations

from .plugin import PluginRef, hookimpl

_ARCH = "bpnet.core.architectures"


@hookimpl
def bpnet_register_architectures() -> list[PluginRef]:
    return [
        PluginRef("bpnet", f"{_ARCH}.bpnet:BPNet", "BPNet, ChromBPNet style (post-activation residuals, valid convs)"),
        PluginRef("chrombpnet", f"{_ARCH}.chrombpnet:ChromBPNet", "frozen bias model + accessibility model"),
        PluginRef("basepairnet", f"{_ARCH}.basepairnet:BasePairNet", "BPNet of bpnet-refactor/ENCODE TF ChIP (pre-activation residuals)"),
        PluginRef("basepairnet-v01", f"{_ARCH}.basepairnet:BasePairNetV01", "BPNet of basepairmodels v0.1.x (last-two-layers residuals)"),
    ]


@hookimpl
def bpnet_register_stages() -> list[PluginRef]:
    return [
        PluginRef("model-init", "bpnet.core.stages.models:ModelInit", "build an untrained model and save it"),
        PluginRef("model-export", "bpnet.core.stages.models:ModelExport", "export a model for torch.load"),
        PluginRef(
            "import-model",
            "bpnet.core.stages.models:ImportModel",
            "convert another framework's model file with a registered importer",
        ),
    ]


@hookimpl
def bpnet_register_executors() -> list[PluginRef]:
    return [PluginRef("local", "bpnet.core.dag.executor:LocalExecutor", "run stages one after another on this machine")]
