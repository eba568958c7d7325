"""Fold fan-out: per-fold stages become one instance per fold before the spec is resolved.

A spec declares ``folds: [fold_0, fold_1, ...]`` once; a stage marked ``per_fold: true``
becomes the instances ``stage[fold_0]``, ``stage[fold_1]``, ... (folders
``output_dir/stage/fold_0``, ...). Those ids are what ``--from``, ``--until``, the log
and the report name; ``--from stage`` (the bare name) selects every instance.

Inside a per-fold stage's parameters:

* the text ``{fold}`` in any string becomes the instance's fold name;
* ``@other.field``, where ``other`` is per-fold too, refers to the same fold's instance.

Anywhere:

* ``@other[fold_1].field`` refers to one fold's instance;
* ``@other.field`` of a per-fold ``other``, written as an item of a list (e.g.
  ``models: ["@train.model"]``), becomes one item per fold, in the order of ``folds``:
  that is how an ensemble stage receives every fold's model;
* written as a single value outside a per-fold stage, it is an error naming the fix.

``after`` entries follow the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import SpecError
from .model import FOLD_NAME_PATTERN, INSTANCE_ID_PATTERN, STAGE_NAME, PipelineSpec, StageSpec, instance_id

#: ``@stage.field...`` or ``@stage[fold].field...``, split into its parts
_REFERENCE = re.compile(rf"^@(?P<stage>{STAGE_NAME})(\[(?P<fold>[^\]]*)\])?(?P<rest>\..*)$")  # any fold text: named in the error

ErrorAt = Callable[[tuple[Any, ...], str], SpecError]


def expand_folds(spec: PipelineSpec, error_at: ErrorAt) -> tuple[PipelineSpec, dict[str, str]]:
    """The spec with every per-fold stage replaced by its instances, and instance id -> spec key.

    ``error_at(location, message)`` builds the error for a YAML location (``("stages", id, ...)``).
    """
    _check_folds(spec, error_at)
    fanned = {sid for sid, stage in spec.stages.items() if stage.per_fold}
    stages: dict[str, StageSpec] = {}
    origin: dict[str, str] = {}
    for sid, stage in spec.stages.items():
        folds = spec.folds if stage.per_fold else [None]
        for fold in folds:
            new_id = instance_id(sid, fold) if fold else sid
            if new_id in stages:
                raise error_at(("stages", sid), f"stage id {new_id} is written twice (once as a per_fold stage's instance)")
            rewrite = _Rewriter(spec.folds, fanned, fold, lambda loc, msg, sid=sid: error_at(("stages", sid, *loc), msg))
            params = rewrite.value(stage.params, ("params",))
            after = _after(stage.after, spec.folds, fanned, fold)
            stages[new_id] = StageSpec(stage=stage.stage or sid, params=params, after=after)
            origin[new_id] = sid
    return spec.model_copy(update={"stages": stages}), origin


def _check_folds(spec: PipelineSpec, error_at: ErrorAt) -> None:
    seen: set[str] = set()
    for i, fold in enumerate(spec.folds):
        if not re.match(FOLD_NAME_PATTERN, fold):
            raise error_at(("folds", i), f"fold name {fold!r}: use letters, digits, '.', '-' and '_' (it names a folder)")
        if fold in seen:
            raise error_at(("folds", i), f"fold {fold} is listed twice; give each fold once")
        seen.add(fold)
    per_fold = [sid for sid, stage in spec.stages.items() if stage.per_fold]
    if per_fold and not spec.folds:
        raise error_at(("stages", per_fold[0], "per_fold"), "the spec declares no folds: add 'folds: [fold_0, fold_1, ...]' at its top")
    for sid in spec.stages:
        match = re.match(INSTANCE_ID_PATTERN, sid)
        if match and match["fold"] and spec.stages[sid].per_fold:
            raise error_at(("stages", sid, "per_fold"), f"{sid} is already one fold's instance; per_fold needs a plain stage id")


def _after(after: list[str], folds: list[str], fanned: set[str], fold: str | None) -> list[str]:
    """``after`` ids: a per-fold stage means the same fold's instance, or every instance outside a fold."""
    out: list[str] = []
    for other in after:
        if other not in fanned:
            out.append(other)
        else:
            out += [instance_id(other, f) for f in ([fold] if fold else folds)]
    return out


class _Rewriter:
    """Rewrites one stage instance's raw parameters (see the module docstring)."""

    def __init__(self, folds: list[str], fanned: set[str], fold: str | None, error_at: ErrorAt):
        self.folds, self.fanned, self.fold, self.error_at = folds, fanned, fold, error_at

    def value(self, value: Any, loc: tuple[Any, ...]) -> Any:
        if isinstance(value, dict):
            return {key: self.value(item, (*loc, key)) for key, item in value.items()}
        if isinstance(value, list):
            return self.items(value, loc)
        if isinstance(value, str):
            return self.single(value, loc)
        return value

    def items(self, values: list[Any], loc: tuple[Any, ...]) -> list[Any]:
        """A list's items; a reference to a per-fold stage outside its own fold becomes one item per fold."""
        out: list[Any] = []
        for i, item in enumerate(values):
            target = self._fanned_target(item)
            if target is not None and self.fold is None:
                out += [self._reference(item, fold) for fold in self.folds]
            else:
                out.append(self.value(item, (*loc, i)))
        return out

    def single(self, text: str, loc: tuple[Any, ...]) -> str:
        if self.fold is not None:
            text = text.replace("{fold}", self.fold)
        match = _REFERENCE.match(text)
        if not match:
            return text
        if match["fold"] is not None:
            if match["fold"] not in self.folds:
                known = ", ".join(self.folds) or "none"
                raise self.error_at(loc, f"'{text}' names fold {match['fold']!r}, which is not in the spec's folds ({known})")
            if match["stage"] not in self.fanned:
                plain = f"@{match['stage']}{match['rest']}"
                raise self.error_at(loc, f"'{text}': stage '{match['stage']}' is not per_fold; refer to it as '{plain}'")
            return text
        if match["stage"] not in self.fanned:
            return text
        if self.fold is not None:
            return self._reference(text, self.fold)
        first = self.folds[0]
        raise self.error_at(
            loc,
            f"'{text}': stage '{match['stage']}' runs per fold ({', '.join(self.folds)}); refer to one fold "
            f"('@{match['stage']}[{first}]{match['rest']}'), or list it where the parameter takes a list (every fold)",
        )

    def _fanned_target(self, item: Any) -> str | None:
        if not isinstance(item, str):
            return None
        match = _REFERENCE.match(item)
        return match["stage"] if match and match["fold"] is None and match["stage"] in self.fanned else None

    @staticmethod
    def _reference(text: str, fold: str) -> str:
        match = _REFERENCE.match(text)
        assert match is not None
        return f"@{instance_id(match['stage'], fold)}{match['rest']}"
