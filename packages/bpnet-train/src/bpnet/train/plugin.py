"""bpnet-train's entry point in the ``bpnet`` group: its stages.

bpnet-train registers through the same hook as any third-party plugin; every class is
named lazily (``PluginRef``), so listing plugins imports none of them.
"""

from __future__ import annotations

from bpnet.core.plugin import PluginRef, hookimpl

_STG = "bpnet.train.stages"


@hookimpl
def bpnet_register_stages() -> list[PluginRef]:
    return [
        PluginRef("train-bpnet", f"{_STG}.train:TrainBPNet", "train a BPNet (or any registered architecture) on loci.h5"),
        PluginRef("train-chrombpnet", f"{_STG}.chrombpnet:TrainChromBPNet", "train a ChromBPNet: bias model, then the accessibility model"),
        PluginRef(
            "train-chrombpnet-bias", f"{_STG}.chrombpnet_bias:TrainChromBPNetBias",
            "train ChromBPNet bias models, one per bias_threshold_factor, and check each (train-chrombpnet picks one)",
        ),
        PluginRef("evaluate", f"{_STG}.evaluate:Evaluate", "profile and count metrics of a model on held-out loci"),
        PluginRef(
            "summarize-folds", f"{_STG}.fold_summary:SummarizeFolds",
            "every fold's held-out metrics side by side, with their mean and sd (folds.json, folds.tsv)",
        ),
        PluginRef("predict", f"{_STG}.predict:Predict", "predict profiles and counts for a BED of regions (bigWig, npz)"),
    ]
