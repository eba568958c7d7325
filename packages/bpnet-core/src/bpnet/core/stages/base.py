"""The Stage API: what a pipeline step declares and how it runs.

A stage is a class with a unique ``name``, a pydantic ``Params`` model and a ``run``
method. Fields typed :data:`Input` and :data:`Output` (also inside ``list[...]``,
``... | None`` and nested pydantic models, e.g. ``list[Section]`` whose ``Section``
has ``metrics: Input``) declare the files or folders the stage reads and writes; the
DAG is built from them (:func:`path_items` lists them with their locations). The
executor resolves paths (relative inputs against the spec's folder, relative outputs
into the stage's own folder), hands ``run`` *temporary* output paths and renames them
into place only when ``run`` returns, so a failed stage never leaves a half-written
output::

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
import logging
import os
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ..versions import distribution_version


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


#: ``Field(..., json_schema_extra=SAME_RESULTS)`` marks a parameter that changes how a stage
#: works but not what it writes (a memory budget, a number of shards whose merge is
#: byte-identical): changing it leaves finished outputs up to date.
SAME_RESULTS = {"same_results": True}
#: ``Field(default, json_schema_extra=NEUTRAL_DEFAULT)`` marks a parameter added after its stage
#: was first released, whose default reproduces what the stage did before: while it is at its
#: default it is left out of the fingerprint, so upgrading bpnet does not re-run finished stages
#: (a default that changes results needs a new stage ``version`` instead).
NEUTRAL_DEFAULT = {"neutral_default": True}


class StageParams(BaseModel):
    """Base class of every stage's parameter model; unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def same_results_fields(cls) -> set[str]:
        """Fields marked :data:`SAME_RESULTS`: left out of the stage's fingerprint."""
        return cls._marked("same_results")

    @classmethod
    def _marked(cls, mark: str) -> set[str]:
        return {
            name for name, info in cls.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get(mark)
        }

    def fingerprint_exclusions(self) -> set[str]:
        """Fields left out of the fingerprint: those marked :data:`SAME_RESULTS`, and those marked
        :data:`NEUTRAL_DEFAULT` while at their default."""
        neutral = {
            name for name in self._marked("neutral_default") if getattr(self, name) == type(self).model_fields[name].default
        }
        return self.same_results_fields() | neutral


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


#: where a value sits in a stage's parameters: field names and list indices, e.g. ``("models", 1, "metrics")``
Location = tuple[str | int, ...]


@dataclass(frozen=True)
class _Leaf:
    """A path field of the role."""


@dataclass(frozen=True)
class _Items:
    """A list (tuple, set) whose items hold paths of the role."""

    item: _Shape


@dataclass(frozen=True)
class _Fields:
    """A pydantic model some of whose fields hold paths of the role."""

    model: type[BaseModel]
    fields: tuple[tuple[str, _Shape], ...]


@dataclass(frozen=True)
class _Either:
    """A union: the first option that fits the value is walked."""

    options: tuple[_Shape, ...]


_Shape = _Leaf | _Items | _Fields | _Either


def _annotation_shape(annotation: Any, role: str, seen: frozenset[type]) -> _Shape | None:
    """Where paths of ``role`` sit in values of ``annotation`` (None: nowhere)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *metadata = typing.get_args(annotation)
        roles = [meta.role for meta in metadata if isinstance(meta, PathRole)]
        if roles:
            return _Leaf() if roles[0] == role else None
        return _annotation_shape(inner, role, seen)  # constraints such as Field(min_length=1) wrap the real type
    if origin in (list, tuple, set, frozenset):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        item = _annotation_shape(args[0], role, seen) if args else None
        return _Items(item) if item else None
    if origin in (typing.Union, types.UnionType):
        options = [_annotation_shape(a, role, seen) for a in typing.get_args(annotation) if a is not type(None)]
        found = tuple(o for o in options if o)
        return (found[0] if len(found) == 1 else _Either(found)) if found else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in seen:
        return _model_shape(annotation, role, seen | {annotation})
    return None


def _model_shape(model: type[BaseModel], role: str, seen: frozenset[type] = frozenset()) -> _Fields | None:
    fields = []
    for name, info in model.model_fields.items():
        annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        shape = _annotation_shape(annotation, role, seen | {model})
        if shape:
            fields.append((name, shape))
    return _Fields(model, tuple(fields)) if fields else None


@functools.cache
def _params_shape(model: type[BaseModel], role: str) -> _Fields | None:
    return _model_shape(model, role)


def _fits(shape: _Shape, value: Any) -> bool:
    if isinstance(shape, _Leaf):
        return isinstance(value, (str, os.PathLike))
    if isinstance(shape, _Items):
        return isinstance(value, (list, tuple, set, frozenset))
    if isinstance(shape, _Fields):
        return isinstance(value, (shape.model, Mapping))
    return any(_fits(option, value) for option in shape.options)


def _walk(shape: _Shape, value: Any, loc: Location, fn: Callable[[Any, Location], Any]) -> Any:
    """``value`` with ``fn(path, location)`` in place of each path (containers rebuilt, the rest kept)."""
    if value is None or not _fits(shape, value):
        return value  # absent, or a value validation will refuse
    if isinstance(shape, _Leaf):
        return fn(value, loc)
    if isinstance(shape, _Items):
        return type(value)(_walk(shape.item, item, (*loc, i), fn) for i, item in enumerate(value))
    if isinstance(shape, _Either):
        return _walk(next(o for o in shape.options if _fits(o, value)), value, loc, fn)
    if isinstance(value, BaseModel):
        update = {name: _walk(inner, getattr(value, name), (*loc, name), fn) for name, inner in shape.fields}
        return value.model_copy(update=update)
    update = {name: _walk(inner, value[name], (*loc, name), fn) for name, inner in shape.fields if name in value}
    return {**value, **update}


def replace_paths(params: Any, role: str, fn: Callable[[Any, Location], Any], model: type[BaseModel] | None = None) -> Any:
    """``params`` with each path of ``role`` (``"input"``/``"output"``) replaced by ``fn(path, location)``.

    ``params`` is a validated ``Params`` instance, or (with ``model``, its class) the raw
    mapping a spec gives or a ``model_dump``: paths are then the strings written there.
    Paths are found at any depth: in fields, lists, optional values and nested models.
    """
    shape = _params_shape(model or type(params), role)
    return _walk(shape, params, (), fn) if shape else params


def path_items(params: Any, role: str, model: type[BaseModel] | None = None) -> list[tuple[Location, Any]]:
    """Every ``(location, path)`` of ``role`` in ``params``, in field order (see :func:`replace_paths`)."""
    found: list[tuple[Location, Any]] = []

    def collect(path: Any, loc: Location) -> Any:
        found.append((loc, path))
        return path

    replace_paths(params, role, collect, model)
    return found


def path_fields(params_model: type[BaseModel], role: str) -> dict[str, bool]:
    """Fields of ``params_model`` that hold paths of ``role`` themselves (a path, or a list
    of paths): name -> holds a list. Paths inside nested models: :func:`path_items`."""
    shape = _params_shape(params_model, role)
    fields = shape.fields if shape else ()
    return {
        name: isinstance(inner, _Items) for name, inner in fields
        if isinstance(inner, _Leaf) or (isinstance(inner, _Items) and isinstance(inner.item, _Leaf))
    }
