"""Chromosome-held-out folds: which chromosomes train, validate and test a model.

A split file (``splits.json``, written by the ``splits`` stage) holds one or more
folds; the loci stage labels each locus by the fold it is asked for. A fold's three
chromosome lists are disjoint (checked whenever a :class:`Fold` is built or read),
so no validation or test chromosome can leak into training.

Built-in presets (:func:`preset_folds`):

* ``human``: the five hg38 folds ``fold_0`` .. ``fold_4`` of the official ChromBPNet
  models (ENCODE release, Zenodo record 7445373, made with ``chrombpnet prep splits``).
  Test and validation chromosomes as published; training is every other chromosome of
  chr1-22, X, Y (unplaced contigs, chrM and EBV are in no split, so they are not used).
* ``bpnet-lite``: bpnet-lite's default, one fold ``fold_0``: valid chr8, chr20; train
  chr2, 4, 5, 7, 9-19, 21, 22, X, Y; test chr1, 3, 6 (bpnet-lite leaves these out of
  training and validation without naming them; here they are the test set). It is the
  same fold as ChromBPNet's ``fold_0``.

Custom folds (:func:`custom_folds`) come from a mapping, either one fold::

    {valid: [chr2], test: [chr3]}                      # train: every other chromosome

or several, by name::

    {fold_a: {valid: [chr2], test: [chr3]}, fold_b: {train: [chr1, chr3], valid: [chr2]}}

:func:`build_splits` resolves any of these against a genome's chromosomes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, ValidationError, model_validator

from .errors import DataError

SPLIT_NAMES = ("train", "valid", "test")
_SPLIT_WORDS = {"train": "training", "valid": "validation", "test": "test"}
PRESETS = ("human", "bpnet-lite")

#: chr1-22, X, Y: the chromosomes the human presets assign
HUMAN_CHROMOSOMES = tuple([f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"])

#: fold -> (test, valid) of the official ChromBPNet hg38 folds
_CHROMBPNET_HG38 = {
    "fold_0": (("chr1", "chr3", "chr6"), ("chr8", "chr20")),
    "fold_1": (("chr2", "chr8", "chr9", "chr16"), ("chr12", "chr17")),
    "fold_2": (("chr4", "chr11", "chr12", "chr15", "chrY"), ("chr22", "chr7")),
    "fold_3": (("chr5", "chr10", "chr14", "chr18", "chr20", "chr22"), ("chr6", "chr21")),
    "fold_4": (("chr7", "chr13", "chr17", "chr19", "chr21", "chrX"), ("chr10", "chr18")),
}

#: names of the official hg38 folds (the ``human`` preset)
HUMAN_FOLDS = tuple(_CHROMBPNET_HG38)

#: bpnet-lite 1.1.0 ``training_chroms`` / ``validation_chroms`` defaults
_BPNET_LITE_TRAIN = tuple(f"chr{i}" for i in (2, 4, 5, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22)) + ("chrX", "chrY")
_BPNET_LITE_VALID = ("chr8", "chr20")
_BPNET_LITE_TEST = ("chr1", "chr3", "chr6")


class Fold(BaseModel):
    """One fold: disjoint chromosome lists. Chromosomes in none of them are not used."""

    train: list[str] = Field(default_factory=list, description="training chromosomes")
    valid: list[str] = Field(default_factory=list, description="validation chromosomes")
    test: list[str] = Field(default_factory=list, description="test chromosomes (held out)")

    @model_validator(mode="after")
    def _disjoint(self) -> Fold:
        seen: dict[str, str] = {}
        for name in SPLIT_NAMES:
            for chrom in getattr(self, name):
                if seen.get(chrom, name) != name:
                    raise ValueError(
                        f"chromosome {chrom} is in both the {seen[chrom]} and the {name} split; a chromosome may be in one split only"
                    )
                seen[chrom] = name
        return self

    def split_of(self, chrom: str) -> str | None:
        """``"train"``, ``"valid"``, ``"test"`` or None (not used) for a chromosome."""
        for name in SPLIT_NAMES:
            if chrom in getattr(self, name):
                return name
        return None

    def labels(self, chroms: Iterable[str]) -> np.ndarray:
        """The split of each chromosome in ``chroms`` (``""`` where none), as an object array."""
        chroms = np.asarray(list(chroms) if not isinstance(chroms, np.ndarray) else chroms, dtype=object)
        table = {c: self.split_of(c) or "" for c in set(chroms.tolist())}
        return np.array([table[c] for c in chroms.tolist()], dtype=object)


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
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not a valid split file (JSONDecodeError: {exc}): re-run the splits stage") from None
    except ValidationError as exc:
        raise DataError(f"{path}: not a valid split file ({_first_error(exc)}): re-run the splits stage") from None


# --- presets and custom folds ------------------------------------------------------


def preset_folds(name: str) -> dict[str, Fold]:
    """The folds of a built-in preset (``"human"`` or ``"bpnet-lite"``), not yet fitted to a genome."""
    if name == "human":
        return {
            fold: Fold(train=[c for c in HUMAN_CHROMOSOMES if c not in test + valid], valid=list(valid), test=list(test))
            for fold, (test, valid) in _CHROMBPNET_HG38.items()
        }
    if name == "bpnet-lite":
        return {"fold_0": Fold(train=list(_BPNET_LITE_TRAIN), valid=list(_BPNET_LITE_VALID), test=list(_BPNET_LITE_TEST))}
    raise DataError(f"unknown fold preset {name!r}: use one of {', '.join(PRESETS)} or a mapping of custom folds")


def parse_custom(spec: Mapping[str, Any]) -> dict[str, dict[str, list[str] | None]]:
    """Check the shape of custom folds: fold name -> {train (optional), valid, test}.

    A mapping whose keys are only ``train``/``valid``/``test`` is one fold, ``fold_0``.
    A missing ``train`` (None here) means every other chromosome of the genome.
    Raises ValueError with a message naming the bad entry.
    """
    if not isinstance(spec, Mapping) or not spec:
        raise ValueError("custom folds must be a non-empty mapping")
    if set(spec) <= set(SPLIT_NAMES):
        spec = {"fold_0": spec}
    parsed: dict[str, dict[str, list[str] | None]] = {}
    for fold, lists in spec.items():
        if not isinstance(lists, Mapping):
            raise ValueError(f"fold {fold!r} must map train/valid/test to chromosome lists, got {lists!r}")
        unknown = set(lists) - set(SPLIT_NAMES)
        if unknown:
            raise ValueError(f"fold {fold!r}: unknown split(s) {', '.join(sorted(map(str, unknown)))} (use train, valid, test)")
        if "valid" not in lists:
            raise ValueError(f"fold {fold!r}: needs a 'valid' list of chromosomes")
        entry: dict[str, list[str] | None] = {"train": None, "valid": [], "test": []}
        for name, chroms in lists.items():
            if not isinstance(chroms, Sequence) or isinstance(chroms, str) or not all(isinstance(c, str) for c in chroms):
                raise ValueError(f"fold {fold!r}: {name} must be a list of chromosome names, got {chroms!r}")
            entry[name] = list(chroms)
        parsed[str(fold)] = entry
    return parsed


def custom_folds(spec: Mapping[str, Any], chromosomes: Sequence[str]) -> dict[str, Fold]:
    """Folds from a custom mapping (see :func:`parse_custom`); ``chromosomes`` fill a missing train list."""
    try:
        parsed = parse_custom(spec)
    except ValueError as exc:
        raise DataError(f"folds: {exc}") from None
    folds = {}
    for name, entry in parsed.items():
        held_out = set(entry["valid"] or []) | set(entry["test"] or [])
        train = entry["train"] if entry["train"] is not None else [c for c in chromosomes if c not in held_out]
        try:
            folds[name] = Fold(train=train, valid=entry["valid"], test=entry["test"])
        except ValidationError as exc:
            raise DataError(f"folds: fold {name!r}: {_first_error(exc)}") from None
    return folds


def build_splits(
    folds: str | Mapping[str, Any],
    chromosomes: Sequence[str],
    *,
    genome_label: str = "the genome",
    log: logging.Logger | None = None,
    disjoint_tests: bool = False,
) -> Splits:
    """Resolve a preset name or custom folds against a genome's ``chromosomes``.

    Chromosomes a preset names but the genome lacks are dropped with a warning (the
    human folds name chrY, which a female sample's genome may lack); a chromosome that
    custom folds name and the genome lacks is a :class:`DataError` (a typo, most
    often). A fold whose training or validation split is left with no chromosome, or
    whose test split named chromosomes none of which the genome has, is a
    :class:`DataError`; so are two folds sharing a test chromosome when
    ``disjoint_tests`` asks for k-fold cross-validation.
    """
    log = log or logging.getLogger("bpnet.data.splits")
    chosen = preset_folds(folds) if isinstance(folds, str) else custom_folds(folds, chromosomes)
    present = set(chromosomes)
    if not isinstance(folds, str):
        _refuse_absent(chosen, chromosomes, genome_label)
    if disjoint_tests:
        _refuse_shared_tests(chosen)
    fitted: dict[str, Fold] = {}
    missing: dict[str, list[str]] = {}
    for name, fold in chosen.items():
        lists = {}
        for split in SPLIT_NAMES:
            named = getattr(fold, split)
            kept = [c for c in named if c in present]
            for chrom in named:
                if chrom not in present:
                    missing.setdefault(chrom, []).append(name)
            if not kept and (named or split != "test"):
                raise DataError(_empty_split_message(name, split, named, chromosomes, genome_label))
            lists[split] = kept
        fitted[name] = Fold(**lists)
    if missing:
        shown = "; ".join(f"{c} ({', '.join(f)})" for c, f in sorted(missing.items()))
        log.warning("chromosomes named in the folds but not in %s were left out: %s", genome_label, shown)
    return Splits(folds=fitted)


def _refuse_absent(folds: dict[str, Fold], chromosomes: Sequence[str], genome_label: str) -> None:
    from .chroms import naming_hint

    present = set(chromosomes)
    for name, fold in folds.items():
        for split in SPLIT_NAMES:
            absent = [c for c in getattr(fold, split) if c not in present]
            if absent:
                raise DataError(
                    f"fold {name}: the {_SPLIT_WORDS[split]} split names {_few(absent)}, which {genome_label} lacks"
                    f"{naming_hint(absent, chromosomes)}: fix the chromosome name or leave it out"
                )


def shared_test(tests: Mapping[str, Sequence[str]]) -> tuple[str, str, str] | None:
    """The first test chromosome two folds share, as (chromosome, earlier fold, later fold); None when the
    folds' test sets (fold name -> test chromosomes, in fold order) are disjoint."""
    held_out: dict[str, str] = {}
    for name, chroms in tests.items():
        for chrom in chroms:
            if chrom in held_out:
                return chrom, held_out[chrom], name
            held_out[chrom] = name
    return None


def _refuse_shared_tests(folds: dict[str, Fold]) -> None:
    shared = shared_test({name: fold.test for name, fold in folds.items()})
    if shared:
        chrom, first, second = shared
        raise DataError(
            f"folds {first} and {second} both hold out test chromosome {chrom}, but disjoint_tests asks each "
            "chromosome to be tested by one fold only: give the folds disjoint test sets, or set disjoint_tests: false"
        )


def _empty_split_message(fold: str, split: str, named: list[str], chromosomes: Sequence[str], genome_label: str) -> str:
    from .chroms import naming_hint

    word = _SPLIT_WORDS[split]
    if not named:
        return f"fold {fold}: the {word} split has no chromosomes: name some, or leave train out to use every other chromosome"
    return (
        f"fold {fold}: {word} split with no chromosomes of this genome (it names {_few(named)}; {genome_label} has {_few(chromosomes)})"
        f"{naming_hint(named, chromosomes)}: use folds that fit this genome (custom folds, or a preset for its species)"
    )


def _few(names: Sequence[str], n: int = 5) -> str:
    return ", ".join(list(names)[:n]) + (", ..." if len(names) > n else "")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
