"""bpnet-keras: exact import of official Keras BPNet/ChromBPNet models and ENCODE tarballs.

::

    import bpnet.keras
    model = bpnet.keras.load("ENCFF142IOR.tar.gz", fold=0)                      # full ChromBPNet
    acc = bpnet.keras.load("ENCFF142IOR.tar.gz", fold=0, kind="accessibility")  # de-biased model
    bpnet.keras.inspect("model.chrombpnet.fold_0.ENCSR000AAA.h5")

No TensorFlow or Keras is needed: files are read with h5py, Lambda layers are never
executed, and the architecture is recognised from the weight names. The public names
are imported on first use, so listing plugins does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bpnet.core.lazy import lazy_exports
from bpnet.core.versions import package_version

__version__ = package_version("bpnet-keras", missing="0.0.0")  # 0.0.0: a source tree without install

_EXPORTS = {"import_model": ".api", "inspect": ".api", "load": ".api", "KerasImportError": ".sources"}

__all__ = ["KerasImportError", "__version__", "import_model", "inspect", "load"]


__getattr__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    from .api import import_model, inspect, load
    from .sources import KerasImportError
