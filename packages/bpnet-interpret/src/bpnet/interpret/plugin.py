"""bpnet-interpret's entry point in the ``bpnet`` group.

Its stages (attribute, seqlets, TF-MoDISco, annotation, marginalization) register
here through ``bpnet_register_stages`` as they land with the interpretation issue.
"""

from __future__ import annotations

from bpnet.core.plugin import hookimpl


@hookimpl
def bpnet_register_stages() -> list:
    return []
