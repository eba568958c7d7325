"""A test plugin whose stage declares its inputs and outputs inside nested models.

``bundle`` takes a list of parts (each a label, a text file and optional notes) and
writes two outputs declared in a nested ``outputs`` model; with ``fail`` it writes the
first of them, then raises. Each run appends its parameters to ``RUNS``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bpnet.core.plugin import hookimpl
from bpnet.core.stages import Input, Output, Stage, StageContext, StageParams

RUNS: list[dict] = []


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    source: Input
    notes: Input | None = None


class BundleOutputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Output = Path("bundle.txt")
    lengths: Output = Path("lengths.txt")


class Bundle(Stage):
    """Join labelled parts into one text and list their lengths."""

    name = "bundle"

    class Params(StageParams):
        parts: list[Part] = Field(..., min_length=1)
        outputs: BundleOutputs = Field(default_factory=BundleOutputs)
        fail: bool = False
        skip_lengths: bool = False

    def run(self, params, context: StageContext) -> None:
        RUNS.append(params.model_dump(mode="json"))
        texts = [f"{p.label}: {p.source.read_text()}" + (f" ({p.notes.read_text()})" if p.notes else "") for p in params.parts]
        params.outputs.text.write_text("\n".join(texts))
        if params.fail:
            raise RuntimeError("the bundler broke midway")
        if not params.skip_lengths:
            params.outputs.lengths.write_text(" ".join(str(len(t)) for t in texts))


@hookimpl
def bpnet_register_stages():
    return [Bundle]
