"""Fingerprints that decide whether a stage is up to date.

A stage's fingerprint hashes its name, code version, resolved parameters and the
*content* of every input. File hashes are cached by (size, mtime) in the output
folder, so an unchanged multi-GB BAM is hashed once; a touched but identical file is
re-hashed and still counts as unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic

CHUNK = 1 << 20


class HashCache:
    """sha256 of files, remembered by path, size and modification time."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.entries: dict[str, list[Any]] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}
        self.dirty = False

    def file_hash(self, path: Path) -> str:
        stat = path.stat()
        key = str(path)
        cached = self.entries.get(key)
        if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
            return cached[2]
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        value = digest.hexdigest()
        self.entries[key] = [stat.st_size, stat.st_mtime_ns, value]
        self.dirty = True
        return value

    def path_hash(self, path: Path) -> str | None:
        """Hash of a file, or of a folder's files and names; None if it does not exist."""
        if path.is_file():
            return self.file_hash(path)
        if not path.is_dir():
            return None
        digest = hashlib.sha256()
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                file = Path(root) / name
                digest.update(str(file.relative_to(path)).encode() + b"\0" + self.file_hash(file).encode())
        return digest.hexdigest()

    def save(self) -> None:
        if self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path, json.dumps(self.entries))
            self.dirty = False


def fingerprint(stage_name: str, code_version: str, params: dict[str, Any], inputs: dict[str, str | None]) -> str:
    """One hex digest over everything that decides a stage's outputs."""
    payload = json.dumps(
        {"stage": stage_name, "version": code_version, "params": params, "inputs": inputs},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()
