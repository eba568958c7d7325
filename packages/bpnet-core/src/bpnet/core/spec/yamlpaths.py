"""YAML loading that remembers where each value was written (for error messages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError


def load_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse ``path``; return the data and its node tree (for line numbers)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError(f"spec file {path} does not exist") from None
    except OSError as exc:
        raise SpecError(f"cannot read spec file {path}: {exc.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{where}: malformed YAML: {problem}") from None
    _refuse_duplicate_keys(path, node)
    return data, node


def _refuse_duplicate_keys(path: Path, node: yaml.Node | None) -> None:
    """YAML keeps the last of two equal keys without a word; a spec refuses them (two folds or stages of one name)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise SpecError(
                        f"{path}:{key.start_mark.line + 1}: key '{key.value}' is written twice in one mapping; give each name once"
                    )
                seen.add(key.value)
            _refuse_duplicate_keys(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(path, item)


def format_location(loc: tuple[Any, ...]) -> str:
    """``("stages", "train", "params", "lr")`` -> ``stages.train.params.lr``; list items as ``[i]``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the value at ``loc`` in the node tree (deepest known ancestor)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            match = node.value[part]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def spec_error(path: Path, node: yaml.Node | None, loc: tuple[Any, ...], message: str) -> SpecError:
    """A :class:`SpecError` naming the file, line and YAML path of the bad value."""
    line = line_of(node, loc)
    where = f"{path}:{line}" if line else str(path)
    return SpecError(f"{where}: {format_location(loc)}: {message}")
