"""The ``keras`` importer plugin: Keras/ENCODE model files to bpnet models."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from bpnet.core.errors import BpnetError


class KerasImporter:
    """Import official Keras BPNet/ChromBPNet ``.h5`` / ``.keras`` files and ENCODE tarballs."""

    name: ClassVar[str] = "keras"
    summary: ClassVar[str] = "Keras/TensorFlow BPNet and ChromBPNet .h5/.keras files and ENCODE model tarballs"

    @classmethod
    def can_read(cls, source: Any) -> bool:
        """True when ``source`` is a Keras HDF5/.keras file or a tar archive with model files."""
        from .sources import as_source, sniff
        from .tarball import scan

        try:
            src = as_source(source)
            if sniff(src) == "tar":
                scan(src)
            return True
        except BpnetError:
            return False

    @classmethod
    def load(cls, source: Any, **options: Any) -> torch.nn.Module:
        """Same as :func:`bpnet.keras.load` (options: ``fold``, ``kind``)."""
        from .api import load

        return load(source, **options)
