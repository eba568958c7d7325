"""Chromosome-held-out folds: which chromosomes train, validate and test a model.

A split file (``splits.json``, written by the ``splits`` stage) holds one or more
folds; the loci stage labels each locus by the fold it is asked for.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from .errors import DataError

SPLIT_NAMES = ("train", "valid", "test")


class Fold(BaseModel):
    """One fold: disjoint chromosome lists. Chromosomes in none of them are not used."""

    train: list[str] = Field(default_factory=list)
    valid: list[str] = Field(default_factory=list)
    test: list[str] = Field(default_factory=list)

    def split_of(self, chrom: str) -> str | None:
        """``"train"``, ``"valid"``, ``"test"`` or None (not used) for a chromosome."""
        for name in SPLIT_NAMES:
            if chrom in getattr(self, name):
                return name
        return None


class Splits(BaseModel):
    """The content of a split file: fold name -> :class:`Fold`."""

    format: str = "bpnet-splits"
    version: int = 1
    folds: dict[str, Fold]

    def fold(self, name: str, *, file: str = "splits") -> Fold:
        if name not in self.folds:
            raise DataError(f"{file}: no fold {name!r} (folds: {', '.join(self.folds)})")
        return self.folds[name]

    def write(self, path: Path) -> None:
        from bpnet.core.atomic import write_text_atomic

        write_text_atomic(path, self.model_dump_json(indent=2) + "\n")


def read_splits(path: str | Path) -> Splits:
    """Read a split file written by the ``splits`` stage."""
    path = Path(path)
    try:
        return Splits.model_validate(json.loads(path.read_text()))
    except FileNotFoundError:
        raise DataError(f"split file {path} does not exist: run the splits stage or fix the path") from None
    except (ValidationError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a valid split file ({exc.__class__.__name__}): re-run the splits stage") from None
