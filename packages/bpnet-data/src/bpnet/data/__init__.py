"""bpnet-data: from reads and peaks to training tensors.

Data sources (:mod:`bpnet.data.sources`: FASTA, bigWig, BAM/SAM, tsv, BED; local
paths or http(s) URLs), reads to bigWig, MACS3 peaks, GC-matched negatives,
chromosome splits, in-memory loci with samplers, and a simulator. Everything is
registered as plugins in :mod:`bpnet.data.plugin`. The names below are imported on
first use, so loading the plugin (every ``bpnet`` command) does not import numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bpnet.core.lazy import lazy_exports

_EXPORTS = {name: ".onehot" for name in ("codes_to_one_hot", "encode_codes", "one_hot_encode", "reverse_complement")}

__all__ = ["codes_to_one_hot", "encode_codes", "one_hot_encode", "reverse_complement"]

__getattr__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from .onehot import codes_to_one_hot, encode_codes, one_hot_encode, reverse_complement
