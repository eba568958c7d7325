"""The ``import-model`` stage: a Keras model or ENCODE tarball to a bpnet model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from bpnet.core.modelfile import save_model
from bpnet.core.stages import Input, Output, Stage, StageContext, StageParams


class ImportModel(Stage):
    """Convert an official Keras BPNet/ChromBPNet model or ENCODE tarball to a bpnet model."""

    name = "import-model"

    class Params(StageParams):
        source: Input = Field(..., description="Keras .h5/.keras file or ENCODE models tarball (.tar.gz)")
        fold: int | None = Field(None, description="fold of a tarball (default: its lowest fold)")
        kind: Literal["chrombpnet", "accessibility", "bias", "bpnet"] | None = Field(
            None, description="model to extract (default: what the file holds; a tarball's full ChromBPNet)"
        )
        out: Output = Field(Path("model"), description="bpnet model folder to write")

    def run(self, params: "ImportModel.Params", context: StageContext) -> None:
        from .api import import_model

        imported = import_model(params.source, fold=params.fold, kind=params.kind, checksum=True)
        save_model(imported.model, params.out, provenance=imported.provenance)
        p = imported.provenance
        context.log.info("imported %s (%s, kind %s, fold %s)", p["source"], p["family"], p["kind"], p["fold"])
