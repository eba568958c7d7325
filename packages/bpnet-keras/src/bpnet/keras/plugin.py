"""bpnet plugin hooks of bpnet-keras: the ``keras`` importer and the ``import-model`` stage."""

from __future__ import annotations

from bpnet.core.plugin import PluginRef, hookimpl


@hookimpl
def bpnet_register_importers() -> list[PluginRef]:
    return [PluginRef("keras", "bpnet.keras.importer:KerasImporter", "Keras BPNet/ChromBPNet .h5/.keras and ENCODE tarballs")]


@hookimpl
def bpnet_register_stages() -> list[PluginRef]:
    return [PluginRef("import-model", "bpnet.keras.stage:ImportModel", "convert a Keras model or ENCODE tarball to a bpnet model")]
