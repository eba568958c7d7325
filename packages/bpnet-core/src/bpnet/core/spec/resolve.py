"""Turn a validated spec into resolved stages: parameters checked, paths made absolute."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import RegistryError, SpecError
from ..plugin.registry import Registry
from ..remote import cached_location, is_url
from ..stages.base import Location, Stage, StageParams, path_fields, path_items, replace_paths
from .folds import expand_folds
from .model import FOLD_NAME, INSTANCE_ID_PATTERN, STAGE_NAME, PipelineSpec, split_instance_id, stage_folder
from .yamlpaths import load_yaml, spec_error

#: ``@stage.field[/sub/path]``; ``stage`` may be one fold's instance, ``train[fold_0]``
REFERENCE = re.compile(rf"^@(?P<stage>{STAGE_NAME}(\[{FOLD_NAME}\])?)\.(?P<field>[A-Za-z_][A-Za-z0-9_]*)(?P<sub>/.*)?$")


@dataclass
class ResolvedStage:
    """A stage ready to run: its class, parameters with absolute paths, and its folder."""

    id: str
    stage_cls: type[Stage]
    params: StageParams
    stage_dir: Path
    depends_on: set[str] = field(default_factory=set)
    #: inputs given as http(s) URLs: local cache path -> URL (downloaded before the stage runs)
    remote: dict[Path, str] = field(default_factory=dict)

    def paths(self, role: str) -> list[Path]:
        """Every input or output path of the stage, nested ones included."""
        return [path for _, path in path_items(self.params, role)]

    def output_fields(self) -> dict[str, Path | list[Path]]:
        """The top-level output fields (what ``@stage.field`` references name) and their paths."""
        return {n: getattr(self.params, n) for n in path_fields(type(self.params), "output") if getattr(self.params, n) is not None}


@dataclass
class Pipeline:
    """A resolved pipeline: stages by id, with the spec file and output folder."""

    spec_path: Path | None
    output_dir: Path
    executor: str
    stages: dict[str, ResolvedStage]
    #: per-fold stage id -> its instances' ids (``train`` -> ``train[fold_0]``, ...)
    fold_instances: dict[str, list[str]] = field(default_factory=dict)

    def select(self, name: str) -> list[str]:
        """The stage ids a command-line name means: one stage, or every fold's instance of a per-fold stage."""
        if name in self.stages:
            return [name]
        return list(self.fold_instances.get(name, []))


def load_pipeline(spec_path: str | Path, reg: Registry) -> Pipeline:
    """Read, validate and resolve a pipeline spec file with the plugins of ``reg``; errors name the YAML path."""
    spec_path = Path(spec_path).resolve()
    data, node = load_yaml(spec_path)
    if not isinstance(data, dict):
        raise spec_error(spec_path, node, (), "a spec is a mapping with 'stages' (and optional 'output_dir', 'executor')")
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        raise _first_error(spec_path, node, exc, ()) from None
    return resolve(spec, base_dir=spec_path.parent, spec_path=spec_path, node=node, reg=reg)


def resolve(
    spec: PipelineSpec,
    *,
    base_dir: Path,
    spec_path: Path | None = None,
    node: yaml.Node | None = None,
    reg: Registry,
) -> Pipeline:
    """Validate each stage's parameters (stages and executor from ``reg``) and resolve every path (see :mod:`.model`)."""
    where = spec_path or Path("<spec>")
    output_dir = (base_dir / spec.output_dir).resolve()
    try:
        reg.executor(spec.executor)
    except RegistryError as exc:
        raise spec_error(where, node, ("executor",), str(exc)) from None
    for stage_id in spec.stages:
        if not re.match(INSTANCE_ID_PATTERN, stage_id):
            raise spec_error(where, node, ("stages", stage_id), "stage ids use letters, digits, '-' and '_' only")
    spec, origin = expand_folds(spec, lambda loc, msg: spec_error(where, node, loc, msg))

    def error_at(stage_id: str, loc: tuple[Any, ...], message: str) -> SpecError:
        """An error at the YAML place of ``stage_id`` (a fold's instance: its per-fold stage, fold named)."""
        key = origin.get(stage_id, stage_id)
        fold = split_instance_id(stage_id)[1] if key != stage_id else None
        return spec_error(where, node, ("stages", key, *loc), f"[{fold}] {message}" if fold else message)

    stages: dict[str, ResolvedStage] = {}
    for stage_id, stage_spec in spec.stages.items():
        name = stage_spec.stage or stage_id
        try:
            stage_cls = reg.stage(name)
        except RegistryError as exc:
            raise error_at(stage_id, ("stage",), str(exc)) from None
        raw_params, remote = _cache_remote_inputs(stage_cls.Params, stage_spec.params)
        try:
            params = stage_cls.Params.model_validate(raw_params)
        except ValidationError as exc:
            loc, message = _first_problem(exc)
            raise error_at(stage_id, ("params", *loc), message) from None
        stage_dir = stage_folder(output_dir, stage_id)
        params = _map_paths(params, "output", lambda p, loc, stage_dir=stage_dir: (stage_dir / p).resolve())
        stages[stage_id] = ResolvedStage(stage_id, stage_cls, params, stage_dir, remote=remote)
    for stage_id, stage in stages.items():
        def resolve_input(value: Path, loc: tuple[Any, ...], stage_id: str = stage_id) -> Path:
            return _resolve_input(
                value, base_dir, stages, stage_id, lambda msg: error_at(stage_id, ("params", *loc), msg),
            )

        stage.params = _map_paths(stage.params, "input", resolve_input)
        for other in spec.stages[stage_id].after:
            if other not in stages:
                raise error_at(stage_id, ("after",), f"unknown stage id '{other}'")
            stage.depends_on.add(other)
    produced = _link_by_paths(stages, error_at)
    _check_user_inputs(stages, produced, error_at)
    instances: dict[str, list[str]] = {}
    for stage_id, key in origin.items():
        if key != stage_id:
            instances.setdefault(key, []).append(stage_id)
    return Pipeline(spec_path, output_dir, spec.executor, stages, instances)


def _cache_remote_inputs(params_model: type[StageParams], raw: dict[str, Any]) -> tuple[dict[str, Any], dict[Path, str]]:
    """Replace http(s) URLs in inputs (nested ones too) by their download-cache paths.

    This works on the spec's raw values: validation would turn a URL into a mangled Path.
    """
    remote: dict[Path, str] = {}

    def swap(value: Any, loc: Location) -> Any:
        if isinstance(value, str) and is_url(value):
            local = cached_location(value)
            remote[local] = value
            return str(local)
        return value

    return replace_paths(raw, "input", swap, model=params_model), remote


def _map_paths(params: StageParams, role: str, fn) -> StageParams:
    """``params`` with ``fn(path, location)`` in place of each path of ``role``."""
    return replace_paths(params, role, lambda value, loc: fn(Path(value), loc))


def _resolve_input(value: Path, base_dir: Path, stages: dict[str, ResolvedStage], stage_id: str, error) -> Path:
    text = str(value)
    if not text.startswith("@"):
        return (base_dir / value).resolve()
    match = REFERENCE.match(text)
    if not match:
        raise error(f"'{text}' is not a stage reference; write '@stage-id.output_field' (optionally '/sub/path')")
    target, field_name, sub = match["stage"], match["field"], match["sub"]
    if target not in stages:
        raise error(f"'{text}' refers to an unknown stage '{target}' (stages: {', '.join(stages)})")
    if target == stage_id:
        raise error(f"'{text}' refers to the stage's own output")
    outputs = stages[target].output_fields()
    if field_name not in outputs:
        raise error(f"stage '{target}' has no output '{field_name}' (outputs: {', '.join(outputs) or 'none'})")
    produced = outputs[field_name]
    if isinstance(produced, list):
        raise error(f"output '{field_name}' of stage '{target}' is a list; refer to one of its paths directly")
    stages[stage_id].depends_on.add(target)
    return (produced / sub.lstrip("/")).resolve() if sub else produced


def _link_by_paths(stages: dict[str, ResolvedStage], error_at) -> dict[Path, str]:
    """Add dependencies where an input lies at or under another stage's output."""
    producers: dict[Path, str] = {}
    for stage in stages.values():
        for path in stage.paths("output"):
            if path in producers:
                raise error_at(stage.id, (), f"writes {path}, which stage '{producers[path]}' writes too")
            producers[path] = stage.id
    for stage in stages.values():
        for path in stage.paths("input"):
            for produced, producer in producers.items():
                if producer != stage.id and _within(path, produced):
                    stage.depends_on.add(producer)
    return producers


def _within(path: Path, produced: Path) -> bool:
    """``path`` is ``produced`` itself or lies inside that output folder."""
    return path == produced or produced in path.parents


def _check_user_inputs(stages: dict[str, ResolvedStage], produced: dict[Path, str], error_at) -> None:
    """Inputs no stage produces are the user's files: they must exist before anything runs."""
    for stage in stages.values():
        for loc, path in path_items(stage.params, "input"):
            made = any(_within(path, p) for p in produced)
            if not made and path not in stage.remote and not path.exists():
                raise error_at(stage.id, ("params", *loc), f"input file {path} does not exist")


def _first_error(where: Path, node: yaml.Node | None, exc: ValidationError, prefix: tuple[Any, ...]) -> SpecError:
    loc, message = _first_problem(exc)
    return spec_error(where, node, prefix + loc, message)


def _first_problem(exc: ValidationError) -> tuple[tuple[Any, ...], str]:
    """The location and message of a validation error's first problem (the count of the others appended)."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown parameter (check its spelling; `bpnet schema` lists every parameter)"
    elif "input" in err and not isinstance(err["input"], (dict, list)) and err["type"] != "missing":
        message += f" (got {err['input']!r})"
    more = len(exc.errors()) - 1
    if more:
        message += f" [and {more} more problem{'s' if more > 1 else ''}]"
    return loc, message


def params_from_model(model: BaseModel, remote: dict[Path, str] | None = None) -> dict[str, Any]:
    """JSON-friendly parameters (paths as strings) for params.yaml and fingerprints.

    With ``remote``, downloaded inputs are written as the URLs they came from.
    """
    data = model.model_dump(mode="json")
    if remote:
        urls = {str(local): url for local, url in remote.items()}
        data = replace_paths(data, "input", lambda value, loc: urls.get(value, value), model=type(model))
    return data
