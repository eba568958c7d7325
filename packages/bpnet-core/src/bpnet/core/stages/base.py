"""The Stage API: what a pipeline step declares and how it runs.

A stage is a class with a unique ``name``, a pydantic ``Params`` model and a ``run``
method. Fields typed :data:`Input` and :data:`Output` (also inside ``list[...]`` or
``... | None``) declare the files or folders the stage reads and writes; the DAG is
built from them. The executor resolves paths (relative inputs against the spec's
folder, relative outputs into the stage's own folder), hands ``run`` *temporary*
output paths and renames them into place only when ``run`` returns, so a failed stage
never leaves a half-written output::

    class CountLines(Stage):
        \"\"\"Count the lines of a text file.\"\"\"

        name = "count-lines"

        class Params(StageParams):
            text: Input
            every: int = 1
            counts: Output = Path("counts.txt")

        def run(self, params: "CountLines.Params", context: StageContext) -> None:
            n = len(params.text.read_text().splitlines())
            params.counts.write_text(f"{n // params.every}\\n")
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict


class PathRole:
    """Marks a path field of a stage's Params as an input or an output."""

    def __init__(self, role: str):
        self.role = role

    def __repr__(self) -> str:
        return f"PathRole({self.role!r})"


INPUT = PathRole("input")
OUTPUT = PathRole("output")

#: A file or folder the stage reads. Relative paths resolve against the spec's folder;
#: ``"@stage-id.field"`` refers to another stage's output.
Input = Annotated[Path, INPUT]
#: A file or folder the stage writes. Relative paths land in the stage's own folder.
Output = Annotated[Path, OUTPUT]


class StageParams(BaseModel):
    """Base class of every stage's parameter model; unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class StageContext:
    """What the executor gives a running stage besides its parameters.

    ``stage_dir``: the stage's own folder (its params.yaml and default outputs live here).
    ``resume_dir``: a folder that survives a failed run (checkpoints to resume from); it
    is emptied after the stage succeeds. ``log``: the stage's logger (goes to the run log).
    ``force``: the user asked to re-run this stage from scratch.
    """

    stage_id: str
    stage_dir: Path
    resume_dir: Path
    log: logging.Logger
    force: bool = False
    extras: dict[str, Any] = field(default_factory=dict)


class Stage:
    """Base class of pipeline stages (see the module docstring)."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[StageParams]] = StageParams
    #: bump to invalidate earlier outputs; None means the version of the stage's package
    version: ClassVar[str | None] = None

    def run(self, params: Any, context: StageContext) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def code_version(cls) -> str:
        """The version that decides whether earlier outputs are still valid."""
        return cls.version or distribution_version(cls.__module__)


@functools.lru_cache(maxsize=None)
def distribution_version(module: str) -> str:
    """``"dist==version"`` of the installed distribution that provides ``module``."""
    candidates = importlib.metadata.packages_distributions().get(module.split(".")[0], [])
    best = ""
    for dist in candidates:
        dotted = dist.replace("-", ".").replace("_", ".").lower()
        if (module.lower() + ".").startswith(dotted + ".") and len(dotted) > len(best.replace("-", ".")):
            best = dist
    parts = module.split(".")
    for n in range(len(parts), 0, -1):  # editable installs: guess "a.b" -> "a-b"
        if best:
            break
        for guess in ("-".join(parts[:n]), "_".join(parts[:n])):
            try:
                importlib.metadata.version(guess)
            except importlib.metadata.PackageNotFoundError:
                continue
            best = guess
            break
    best = best or (candidates[0] if candidates else "")
    if not best:
        return "unversioned"
    return f"{best}=={importlib.metadata.version(best)}"


def path_role(annotation: Any) -> tuple[str | None, bool]:
    """(``"input"``/``"output"``/None, is_list) for a field annotation."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *metadata = typing.get_args(annotation)
        for meta in metadata:
            if isinstance(meta, PathRole):
                return meta.role, False
        return path_role(inner)  # constraints such as Field(min_length=1) wrap the real type
    if origin in (list, tuple, set):
        role, _ = path_role(typing.get_args(annotation)[0]) if typing.get_args(annotation) else (None, False)
        return role, role is not None
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            role, is_list = path_role(arg)
            if role:
                return role, is_list
    return None, False


def path_fields(params_model: type[BaseModel], role: str) -> dict[str, bool]:
    """Fields of ``params_model`` with the given role: name -> holds a list of paths."""
    found = {}
    for name, info in params_model.model_fields.items():
        annotation = info.annotation
        if info.metadata:
            annotation = Annotated[annotation, *info.metadata]
        field_role, is_list = path_role(annotation)
        if field_role == role:
            found[name] = is_list
    return found
