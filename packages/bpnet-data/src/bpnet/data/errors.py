"""Errors caused by input data: a bad BED line, a missing chromosome, an unreadable BAM."""

from __future__ import annotations

from pathlib import Path

from bpnet.core.errors import InputError


class DataError(InputError):
    """An input file is missing, malformed or inconsistent with the others.

    The message names the file (and the line, where there is one) and what to do.
    """


def where(path: str | Path, line: int | None = None) -> str:
    """``"file"`` or ``"file:line"`` for error messages."""
    return f"{path}:{line}" if line is not None else str(path)
