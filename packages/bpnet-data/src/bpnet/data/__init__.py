"""bpnet-data: from reads and peaks to training tensors.

Data sources (:mod:`bpnet.data.sources`: FASTA, bigWig, BAM/SAM, tsv, BED; local
paths or http(s) URLs), reads to bigWig, MACS3 peaks, GC-matched negatives,
chromosome splits, in-memory loci with samplers, and a simulator. Everything is
registered as plugins in :mod:`bpnet.data.plugin`.
"""

from .onehot import codes_to_one_hot, encode_codes, one_hot_encode, reverse_complement

__all__ = ["codes_to_one_hot", "encode_codes", "one_hot_encode", "reverse_complement"]
