"""Reading and writing JSON objects, reading ``.npz`` archives of plain arrays; one-line errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path``; ``what`` names the file's role in error messages."""
    if not path.is_file():
        raise InputError(f"{path}: {what} not found; give the file the stage that makes it wrote")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: {what} is not valid JSON ({exc.msg}); re-run the stage that wrote it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read {what} ({exc}); re-run the stage that wrote it") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: {what} should hold a JSON object, not {type(data).__name__}")
    return data


def write_json(path: Path, data: dict[str, Any], **options: Any) -> None:
    """``data`` as indented JSON with a final newline (``options`` go to :func:`json.dumps`)."""
    path.write_text(json.dumps(data, indent=2, **options) + "\n")


def read_npz(path: Path, where: str, todo: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` of plain arrays (no pickle), or an :class:`InputError`
    starting with ``where`` and ending with ``todo``."""
    try:
        # our own handle: numpy leaves its handle open when the file is not a zip
        with open(path, "rb") as handle:
            loaded = np.load(handle, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError("a single .npy array, not an .npz archive")
            with loaded as npz:
                return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"{where}: not a readable .npz of plain arrays ({exc}); {todo}") from None


__all__ = ["read_json", "read_npz", "write_json"]
