"""How ``bpnet init`` writes a data location into the spec.

A spec resolves relative paths against its own folder, so a file the user named
relative to the working directory is rewritten relative to the spec's folder. It stays
relative while that takes at most :data:`MAX_UP` steps up (``../..``), so a project
folder holding both the spec and the data can move as a whole; further away, the path
is written absolute. http(s) URLs are written as given.
"""

from __future__ import annotations

import os
from pathlib import Path

from bpnet.core.remote import is_url

#: most ``..`` steps a relative path may take before an absolute path is written instead
MAX_UP = 2


def spec_location(location: str | Path, spec_dir: Path, cwd: Path | None = None) -> str:
    """``location`` (relative to ``cwd``) as the spec in ``spec_dir`` should name it."""
    text = str(location)
    if is_url(text):
        return text
    cwd = cwd or Path.cwd()
    absolute = Path(os.path.abspath(cwd / Path(text).expanduser()))
    folder = Path(os.path.abspath(spec_dir))
    try:
        relative = os.path.relpath(absolute, folder)
    except ValueError:  # another drive (Windows)
        return absolute.as_posix()
    parts = Path(relative).parts
    ups = sum(1 for part in parts if part == "..")
    if ups > MAX_UP:
        return absolute.as_posix()
    return Path(relative).as_posix()
