"""bpnet-interpret's entry point in the ``bpnet`` group: its stages and the ``bpnet init`` command.

Every class is named lazily (``PluginRef``), so listing plugins imports none of them.
"""

from __future__ import annotations

from bpnet.core.plugin import PluginRef, hookimpl


@hookimpl
def bpnet_register_stages() -> list[PluginRef]:
    return [
        PluginRef(
            "report",
            "bpnet.interpret.stages.report:Report",
            "a self-contained HTML report of training, evaluation and interpretation",
        ),
        PluginRef(
            "attribute",
            "bpnet.interpret.stages.attribute:Attribute",
            "DeepLIFT/SHAP attributions of a model's count and profile heads",
        ),
        PluginRef(
            "seqlets",
            "bpnet.interpret.stages.seqlets:Seqlets",
            "seqlets of one head's attributions (tangermeme's recursive caller) as BED",
        ),
        PluginRef(
            "modisco",
            "bpnet.interpret.stages.modisco:Modisco",
            "TF-MoDISco patterns of one head's attributions: results, MEME patterns, HTML report",
        ),
        PluginRef(
            "annotate",
            "bpnet.interpret.stages.annotate:Annotate",
            "name TF-MoDISco patterns and seqlets after a MEME motif database (TOMTOM, q-values)",
        ),
        PluginRef(
            "marginalize",
            "bpnet.interpret.stages.marginalize:Marginalize",
            "effect of each motif of a database inserted into background loci: ranked table and plots",
        ),
    ]


@hookimpl
def bpnet_add_commands(app) -> None:
    from .init.cli import init

    app.command(init, name="init")
