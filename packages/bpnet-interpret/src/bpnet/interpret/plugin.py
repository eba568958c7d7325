"""bpnet-interpret's entry point in the ``bpnet`` group: its stages.

Every class is named lazily (``PluginRef``), so listing plugins imports none of them.
"""

from __future__ import annotations

from bpnet.core.plugin import PluginRef, hookimpl


@hookimpl
def bpnet_register_stages() -> list[PluginRef]:
    return [
        PluginRef("report", "bpnet.interpret.stages.report:Report", "a self-contained HTML report of training and evaluation"),
    ]
