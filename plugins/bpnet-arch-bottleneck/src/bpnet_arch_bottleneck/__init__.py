"""bpnet-arch-bottleneck: a BPNet variant with a bottleneck residual trunk.

An example of a third-party bpnet architecture plugin. The architecture is registered
through the ``bpnet`` entry point (see :mod:`bpnet_arch_bottleneck.plugin`) as
``bpnet-bottleneck``; import :class:`BottleneckBPNet` from
:mod:`bpnet_arch_bottleneck.model` to use it directly.
"""

__version__ = "0.1.0"
