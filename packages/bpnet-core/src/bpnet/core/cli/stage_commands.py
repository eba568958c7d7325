"""``bpnet stage NAME --param value ...``: every registered stage as a command.

The options are generated from the stage's ``Params`` model: one ``--field-name``
option per field (lists repeat the option; mappings and nested values take YAML, e.g.
``--hyperparameters '{n_filters: 32}'``). ``--params-file`` reads a ``params.yaml``
written by an earlier run (or any mapping of parameters); options given on the command
line override it. Relative inputs resolve against the current folder, outputs go to
``--output-dir/NAME/`` unless absolute.
"""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import cyclopts
import yaml
from pydantic import BaseModel, ValidationError

from ..errors import SpecError
from ..plugin.registry import registry
from ..spec.model import PipelineSpec, StageSpec
from ..spec.resolve import resolve
from ..spec.yamlpaths import load_yaml
from ..stages.base import Stage

SIMPLE = (str, int, float, bool, Path)


def add_stage_commands(stage_app: cyclopts.App) -> None:
    """Register one command per installed stage on the ``stage`` sub-app."""
    reg = registry()
    for name in reg.names("stage"):
        stage_app.command(make_stage_command(reg.stage(name)), name=name)


def _cli_type(annotation: Any) -> tuple[Any, bool]:
    """(annotation cyclopts can parse, whether the value is YAML text to decode)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _cli_type(typing.get_args(annotation)[0])
    if annotation in SIMPLE or origin is Literal:
        return annotation, False
    if origin in (list, tuple):
        inner = typing.get_args(annotation)
        item, is_yaml = _cli_type(inner[0]) if inner else (str, True)
        return (list[item], False) if not is_yaml else (str, True)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _cli_type(options[0])
    return str, True


def make_stage_command(stage_cls: type[Stage]):
    """A function whose signature cyclopts turns into the stage's options."""
    model: type[BaseModel] = stage_cls.Params
    yaml_fields: set[str] = set()
    parameters = []
    for field_name, info in model.model_fields.items():
        annotation = info.annotation
        if info.metadata:
            annotation = Annotated[annotation, *info.metadata]
        cli_type, is_yaml = _cli_type(annotation)
        if is_yaml:
            yaml_fields.add(field_name)
        default = "required" if info.is_required() else _default_text(info)
        help_text = (info.description or "").rstrip(".") + (f" ({default})" if default else "")
        parameters.append(
            inspect.Parameter(
                field_name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[cli_type | None, cyclopts.Parameter(help=help_text + (" (YAML)" if is_yaml else ""))],
            )
        )
    extras = {
        "output_dir": (Path, Path("bpnet-out"), "folder for the stage's folder, record and run log"),
        "params_file": (Path | None, None, "params.yaml of an earlier run (or a mapping of parameters)"),
        "force": (bool, False, "run even if the outputs are up to date"),
    }
    for extra, (annotation, default, help_text) in extras.items():
        if extra in model.model_fields:
            continue
        parameters.append(
            inspect.Parameter(
                extra,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[annotation, cyclopts.Parameter(help=help_text)],
            )
        )

    def command(**options: Any) -> int:
        return run_stage_alone(stage_cls, options, yaml_fields)

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__doc__ = (stage_cls.__doc__ or stage_cls.name).strip()
    command.__name__ = stage_cls.name.replace("-", "_")
    return command


def _default_text(info: Any) -> str:
    if info.default_factory is not None:
        return ""
    value = info.default
    return "" if value is None else f"default: {value}"


def run_stage_alone(stage_cls: type[Stage], options: dict[str, Any], yaml_fields: set[str]) -> int:
    from ..dag.executor import Runner
    from .commands import announce_stage, run_and_report

    output_dir = Path(options.pop("output_dir", None) or "bpnet-out")
    params_file = options.pop("params_file", None)
    force = bool(options.pop("force", False))
    params: dict[str, Any] = _params_from_file(params_file, stage_cls.name) if params_file else {}
    for key, value in options.items():
        if value is None:
            continue
        if key in yaml_fields:
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise SpecError(f"--{key.replace('_', '-')}: not valid YAML ({exc})") from None
        params[key] = value
    try:
        stage_cls.Params.model_validate(params)
    except ValidationError as exc:
        err = exc.errors()[0]
        option = "--" + str(err["loc"][0]).replace("_", "-") if err["loc"] else "parameters"
        message = "missing (required)" if err["type"] == "missing" else err["msg"]
        raise SpecError(f"bpnet stage {stage_cls.name} {option}: {message}") from None
    spec = PipelineSpec(output_dir=output_dir, stages={stage_cls.name: StageSpec(stage=stage_cls.name, params=params)})
    reg = registry()
    pipeline = resolve(spec, base_dir=Path.cwd(), reg=reg)
    return run_and_report(Runner(pipeline, reg, force=force, announce=announce_stage))


def _params_from_file(path: Path, stage_name: str) -> dict[str, Any]:
    data, _ = load_yaml(path)
    if isinstance(data, dict) and isinstance(data.get("stages"), dict):
        stages = data["stages"]
        matching = [s for s in stages.values() if isinstance(s, dict) and s.get("stage") == stage_name]
        if len(matching) != 1:
            raise SpecError(f"{path}: expected exactly one stage '{stage_name}' in 'stages', found {len(matching)}")
        return dict(matching[0].get("params") or {})
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a params file is a mapping of parameter names to values")
    return data
