"""Write a plan as a commented YAML spec.

Every parameter of every stage is written, the ones ``bpnet init`` sets and the
stage's defaults alike, each followed by ``# <its description>`` from the stage's own
``Params`` model, so the spec documents every knob a user may turn. Each stage opens
with a comment saying what it does in this pipeline. Values are written in YAML flow
style (``[a, b]``, ``{n_filters: 64, n_layers: 8}``), except a list of models (the report's
``models``): one block item per entry, each of its fields on its own commented line,
unset ones with their defaults. A string is written plain only
when YAML reads it back as the same string, else double-quoted (``"@loci.loci"``,
``"my data/reads.bam"``, ``"yes"``), so the text always loads back to the values
the plan holds (:func:`spec_data` is that value, for checks).
"""

from __future__ import annotations

import json
import math
import re
import textwrap
import typing
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from .plan import Plan, PlannedStage

#: characters of a string that may be written unquoted (flow-context safe)
_PLAIN = re.compile(r"^[A-Za-z0-9_./~+-](?:[A-Za-z0-9_./~+ -]*[A-Za-z0-9_./~+-])?$")
#: comments start at this column at most; longer ``key: value`` text gets two spaces
COMMENT_COLUMN = 44
#: width of wrapped header comments
WIDTH = 100
INDENT = "  "


def scalar(value: Any) -> str:
    """One YAML scalar that loads back to ``value`` (None, bool, int, float or str)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return yaml.safe_dump(value).splitlines()[0]  # PyYAML's float text (e.g. 1.0e-05) reads back as a float
    text = str(value)
    if _PLAIN.match(text) and not text.startswith("- ") and yaml.safe_load(text) == text:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def flow(value: Any) -> str:
    """``value`` (JSON-like: dicts, lists, scalars) as one line of YAML flow style."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{scalar(str(k))}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def parameter_values(stage: PlannedStage, params_model: type[BaseModel]) -> dict[str, Any]:
    """Every parameter of the stage in the model's order: the planned value, else the default (JSON-like).

    Entries of a list of models get every field of the model the same way.
    """
    values: dict[str, Any] = {}
    for name, info in params_model.model_fields.items():
        value = stage.params[name] if name in stage.params else info.get_default(call_default_factory=True)
        item_model = list_item_model(info)
        if item_model and isinstance(value, list) and all(isinstance(entry, Mapping) for entry in value):
            value = [_entry_values(entry, item_model) for entry in value]
        values[name] = to_jsonable_python(value)
    return values


def list_item_model(info: FieldInfo) -> type[BaseModel] | None:
    """``Model`` of a ``list[Model]`` field, else None."""
    args = typing.get_args(info.annotation) if typing.get_origin(info.annotation) is list else ()
    item = args[0] if args else None
    return item if isinstance(item, type) and issubclass(item, BaseModel) else None


def _entry_values(entry: Mapping[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Every field of ``model`` in order: the entry's value, else the default (a missing required one left out)."""
    return {
        name: entry[name] if name in entry else info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items() if name in entry or not info.is_required()
    }


def spec_data(plan: Plan, models: Mapping[str, type[BaseModel]]) -> dict[str, Any]:
    """The spec as data: what the rendered text loads back to."""
    stages = {
        s.id: {"stage": s.stage, **({"per_fold": True} if s.per_fold else {}), "params": parameter_values(s, models[s.id])}
        for s in plan.stages
    }
    return {"output_dir": plan.output_dir, "executor": "local", **({"folds": plan.folds} if plan.folds else {}), "stages": stages}


def describe(info: FieldInfo) -> str:
    """A field's description on one line (its type when it has none)."""
    text = " ".join((info.description or "").split())
    if text:
        return text
    annotation = getattr(info.annotation, "__name__", None) or str(info.annotation).replace("typing.", "")
    return f"({annotation})"


def comment_block(text: str, indent: str = "") -> list[str]:
    """``text`` as wrapped ``#`` comment lines (see :func:`_wrap`)."""
    return [f"{indent}# {line}" if line else f"{indent}#" for line in _wrap(text, WIDTH - len(indent) - 2)]


def _wrap(text: str, width: int) -> list[str]:
    """Wrap each line of ``text``; lines indented by two spaces (commands) stay whole, to be copied."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if paragraph.startswith("  "):
            lines.append(paragraph)
        else:
            lines.extend(textwrap.wrap(paragraph, width, break_long_words=False, break_on_hyphens=False) or [""])
    return lines


def commented(rows: list[tuple[str, str]], indent: str) -> list[str]:
    """``key: value`` rows each followed by ``# comment``, comments aligned where the rows are short enough."""
    width = max((len(text) for text, _ in rows if len(text) <= COMMENT_COLUMN), default=0)
    return [f"{indent}{text.ljust(width)}  # {note}" for text, note in rows]


def render_spec(plan: Plan, models: Mapping[str, type[BaseModel]], summaries: Mapping[str, str], header: str) -> str:
    """The spec text: ``header`` (wrapped comment), output folder, then each stage with every parameter commented."""
    lines = comment_block(header)
    lines.append("")
    lines += commented(
        [
            (
                f"output_dir: {scalar(plan.output_dir)}",
                "where each stage's folder (outputs and params.yaml) and the run log go; relative to this file",
            ),
            ("executor: local", "registered executor that runs the stages (local: this machine)"),
            *(
                [(f"folds: {flow(plan.folds)}", "stages with per_fold: true run once per fold (ids stage[fold]); '{fold}' is its name")]
                if plan.folds else []
            ),
        ],
        "",
    )
    lines += ["", "stages:"]
    for stage in plan.stages:
        lines += _stage_lines(stage, models[stage.id], summaries.get(stage.stage, ""))
    return "\n".join(lines) + "\n"


def _stage_lines(stage: PlannedStage, params_model: type[BaseModel], summary: str) -> list[str]:
    lines = ["", f"{INDENT}# {'-' * (WIDTH - len(INDENT) - 2)}"]
    lines += comment_block(f"{stage.id}: {stage.about}", INDENT)
    lines.append(f"{INDENT}{stage.id}:")
    rows = [(f"stage: {scalar(stage.stage)}", summary or "registered stage (bpnet plugins lists them)")]
    if stage.per_fold:
        rows.append(("per_fold: true", f"one instance per fold: {stage.id}[fold] in the folder {stage.id}/fold"))
    lines += commented(rows, INDENT * 2)
    lines.append(f"{INDENT * 2}params:")
    rows: list[tuple[str, str]] = []
    for name, value in parameter_values(stage, params_model).items():
        info = params_model.model_fields[name]
        item_model = list_item_model(info)
        if item_model and value and all(isinstance(entry, Mapping) for entry in value):
            rows.append((f"{name}:", describe(info)))
            rows += _block_items(value, item_model)
        else:
            rows.append((f"{name}: {flow(value)}", describe(info)))
    lines += commented(rows, INDENT * 3)
    return lines


def _block_items(entries: list[Mapping[str, Any]], model: type[BaseModel]) -> list[tuple[str, str]]:
    """``- key: value`` rows of a block sequence of mappings, each key with its field's description."""
    rows = []
    for entry in entries:
        for i, (key, value) in enumerate(entry.items()):
            rows.append((f"{INDENT}{'- ' if i == 0 else INDENT}{key}: {flow(value)}", describe(model.model_fields[key])))
    return rows
