"""The ``import-model`` stage: a Keras model or ENCODE tarball to a bpnet model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from bpnet.core.modelfile import save_model
from bpnet.core.stages import Input, Output, Stage, StageContext, StageParams


class ImportModel(Stage):
    """Convert an official Keras BPNet/ChromBPNet model or ENCODE tarball to a bpnet model."""

    name = "import-model"

    class Params(StageParams):
        source: Input
        fold: int | None = None
        kind: Literal["chrombpnet", "accessibility", "bias", "bpnet"] | None = None
        out: Output = Path("model")

    def run(self, params: "ImportModel.Params", context: StageContext) -> None:
        from .api import import_model

        imported = import_model(params.source, fold=params.fold, kind=params.kind, checksum=True)
        save_model(imported.model, params.out, provenance=imported.provenance)
        p = imported.provenance
        context.log.info("imported %s (%s, kind %s, fold %s) to %s", p["source"], p["family"], p["kind"], p["fold"], params.out)
