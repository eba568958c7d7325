"""bpnet-data: from reads and peaks to training tensors.

Today it provides sequence encoding (:mod:`bpnet.data.onehot`); data sources, the
reads-to-bigWig, peak, negative and split stages, samplers and the simulator register
through :mod:`bpnet.data.plugin` as they land.
"""

from .onehot import one_hot_encode, reverse_complement

__all__ = ["one_hot_encode", "reverse_complement"]
