"""Text inputs that may be gzip-compressed (BED, narrowPeak, tsv fragments).

The format is told by the file's first two bytes, not its name, so a gzipped file
named ``.bed`` (or a plain one named ``.gz``) still reads.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: str | Path) -> bool:
    """Whether ``path`` starts with the gzip magic bytes (gzip and bgzip alike)."""
    with open(path, "rb") as probe:
        return probe.read(2) == GZIP_MAGIC


def open_text(path: str | Path, errors: str = "strict") -> IO[str]:
    """Open ``path`` for reading text, decompressing it if it is gzipped."""
    if is_gzip(path):
        return gzip.open(path, "rt", errors=errors)
    return open(path, errors=errors)
