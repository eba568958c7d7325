"""A test plugin with small text stages, registered like any third-party plugin.

Each run appends ``(stage name, parameters)`` to ``RUNS`` so tests can see what ran.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from bpnet.core.plugin import hookimpl
from bpnet.core.stages import Input, Output, Stage, StageContext, StageParams
from bpnet.core.stages.base import SAME_RESULTS

RUNS: list[tuple[str, dict]] = []


class WriteText(Stage):
    """Write a text to a file."""

    name = "write-text"

    class Params(StageParams):
        text: str
        chunk_bytes: int = Field(4096, ge=1, json_schema_extra=SAME_RESULTS)  # how it writes, not what
        out: Output = Path("text.txt")

    def run(self, params, context: StageContext) -> None:
        RUNS.append((self.name, params.model_dump(mode="json")))
        params.out.write_text(params.text)


class Concat(Stage):
    """Concatenate files, upper-casing them if asked."""

    name = "concat"

    class Params(StageParams):
        parts: list[Input]
        upper: bool = False
        out: Output = Path("joined.txt")

    def run(self, params, context: StageContext) -> None:
        RUNS.append((self.name, params.model_dump(mode="json")))
        text = "".join(p.read_text() for p in params.parts)
        params.out.write_text(text.upper() if params.upper else text)


class CountChars(Stage):
    """Count characters; with ``fail`` it writes half its output, then raises."""

    name = "count-chars"

    class Params(StageParams):
        source: Input
        every: int = Field(1, ge=1)
        fail: bool = False
        out: Output = Path("counts")

    def run(self, params, context: StageContext) -> None:
        RUNS.append((self.name, params.model_dump(mode="json")))
        params.out.mkdir()
        (params.out / "n.txt").write_text(str(len(params.source.read_text()) // params.every))
        if params.fail:
            raise RuntimeError("the counter broke midway")
        (params.out / "done.txt").write_text("ok")


@hookimpl
def bpnet_register_stages():
    return [WriteText, Concat, CountChars]
