"""bpnet plugin hooks of bpnet-keras: the ``keras`` importer (used by core's ``import-model`` stage)."""

from __future__ import annotations

from bpnet.core.plugin import PluginRef, hookimpl


@hookimpl
def bpnet_register_importers() -> list[PluginRef]:
    return [PluginRef("keras", "bpnet.keras.importer:KerasImporter", "Keras BPNet/ChromBPNet .h5/.keras and ENCODE tarballs")]

