"""User-facing errors.

Everything a user can cause (a bad spec, a missing file, an unknown name) raises a
:class:`BpnetError` with one line that names the problem and what to do about it. The
command line prints that line and exits non-zero without a traceback; anything else
is a bug and is logged with its traceback to the run log.
"""

from __future__ import annotations


class BpnetError(Exception):
    """An error caused by the user's input, reported as one clear line."""

    exit_code: int = 1


class SpecError(BpnetError):
    """A pipeline spec or a parameter is invalid (names the YAML path of the bad value)."""

    exit_code = 2


class RegistryError(BpnetError):
    """A plugin problem: an unknown name, a duplicate name, a broken entry point."""

    exit_code = 2


class ModelFileError(BpnetError):
    """A model file is missing, incomplete, or names an architecture that is not installed."""

    exit_code = 2


class InputError(BpnetError):
    """An input file is missing, unreachable or malformed (names the file and what to do)."""

    exit_code = 2


class StageError(BpnetError):
    """A stage failed while running; the message names the stage."""

    exit_code = 1
