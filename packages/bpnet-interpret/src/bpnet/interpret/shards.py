"""Shards of an attribution run: contiguous parts of the loci, each saved on its own.

The ``attribute`` stage cuts the loci it explains into shards (:func:`shard_bounds`)
and saves each head's shard, when finished, as one file in the stage's resume folder
(:class:`ShardStore`): ``shards/<head>-<k>-of-<n>.npz`` holding the shard's
:class:`~bpnet.interpret.attribution.HeadAttributions` and a JSON ``meta`` entry. A
run killed half-way resumes at the shards not saved yet.

Every file carries a *key* (:func:`digest`): the settings that decide its values (head,
precision, references, seed, the models' weights and submodels) and the shard's loci
(their rows, positions and sequences, and the shard layout). A file whose key differs
from the run's, or that cannot be read, is computed again (and a log line says why).
Device and batch size are not part of the key: they change the float rounding only, so
a run may resume on another machine.

Shard boundaries fall on the chunk grid of :func:`bpnet.interpret.attribution.chunk_end`,
so every sequence is attributed with the same batch-mates as in an unsharded run, and
the merged attributions are the same bits (with the same batch size and device).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bpnet.core.atomic import atomic_path, remove_path

from .attribution import HeadAttributions

#: loci per shard when the number of shards is not given: shards = ceil(loci / LOCI_PER_SHARD)
LOCI_PER_SHARD = 2000
#: the resume folder's subfolder for shard files
FOLDER = "shards"
#: version of the shard file layout (part of every key)
FORMAT = 1

_ARRAYS = ("hypothetical", "delta", "delta_abs_sum", "change_abs_sum", "delta_abs_max")


def default_shards(n_loci: int) -> int:
    """Shards for ``n_loci`` loci when none are asked for: one per :data:`LOCI_PER_SHARD`, rounded up, at least 1."""
    return max(1, math.ceil(n_loci / LOCI_PER_SHARD))


def shard_bounds(n: int, shards: int, per_chunk: int, first: int) -> list[int]:
    """``shards + 1`` boundaries cutting ``n`` loci into near-equal contiguous shards.

    Each inner boundary is moved to the nearest point of the chunk grid ``0, first,
    first + per_chunk, ...`` (:func:`~bpnet.interpret.attribution.chunk_end`); where the
    grid has fewer points than shards, the even boundaries are kept (results then equal
    an unsharded run's to float rounding only).
    """
    if not 1 <= shards <= max(n, 1):
        raise ValueError(f"{shards} shards for {n} loci")
    even = [round(k * n / shards) for k in range(shards + 1)]

    def snap(b: int) -> int:
        if b <= first:
            return 0 if b < first / 2 else first
        return first + round((b - first) / per_chunk) * per_chunk

    snapped = [0, *(snap(b) for b in even[1:-1]), n]
    return snapped if all(a < b for a, b in zip(snapped, snapped[1:])) else even


@dataclass(frozen=True)
class ShardId:
    """Shard ``index`` (from 1) of ``count`` of one head; written ``<head>-<index>-of-<count>``."""

    head: str
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.head}-{self.index}-of-{self.count}"

    @classmethod
    def parse(cls, text: str) -> ShardId:
        found = re.fullmatch(r"(\w+)-(\d+)-of-(\d+)", text)
        if not found:
            raise ValueError(f"not a shard id: {text!r} (expected <head>-<k>-of-<n>)")
        return cls(found[1], int(found[2]), int(found[3]))


def digest(settings: Mapping[str, Any], *arrays: np.ndarray) -> str:
    """Hex SHA-256 of ``settings`` (as sorted JSON) and of the bytes, dtypes and shapes of ``arrays``."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def models_digest(models: Sequence[Any]) -> str:
    """Hex SHA-256 of the models' types and weights (state dicts, on the CPU), in order."""
    h = hashlib.sha256()
    for model in models:
        h.update(type(model).__qualname__.encode())
        for name, tensor in model.state_dict().items():
            h.update(name.encode())
            h.update(digest({}, tensor.detach().cpu().numpy()).encode())
    return h.hexdigest()


class ShardStore:
    """The shard files of one stage run, in ``folder`` (the resume folder's :data:`FOLDER`)."""

    def __init__(self, folder: Path, log: logging.Logger):
        self.folder = Path(folder)
        self.log = log

    def path(self, shard: ShardId) -> Path:
        return self.folder / f"{shard}.npz"

    def remove_temporaries(self) -> None:
        """Delete half-written files left by a killed run (only when no other process writes shards here)."""
        for tmp in self.folder.glob(".*.npz.tmp-*"):
            remove_path(tmp)

    def save(self, shard: ShardId, key: str, part: HeadAttributions, info: Mapping[str, Any]) -> Path:
        """Write ``part`` with ``key`` and ``info`` (JSON-able) atomically, flushed to disk; returns the path."""
        meta = {**info, "format": FORMAT, "key": key, "shard": str(shard), "pairs_per_window": part.pairs_per_window,
                "seconds": part.seconds, "batch_size": part.batch_size}
        final = self.path(shard)
        with atomic_path(final) as tmp, open(tmp, "wb") as out:
            np.savez(out, meta=np.array(json.dumps(meta)), **{name: getattr(part, name) for name in _ARRAYS})
            out.flush()
            os.fsync(out.fileno())
        return final

    def load(self, shard: ShardId, key: str, rows: int) -> tuple[HeadAttributions, dict[str, Any]] | None:
        """The saved part and its meta, or None (logged) when the file is missing, unreadable or from other settings."""
        path = self.path(shard)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as f:
                meta = json.loads(str(f["meta"]))
                if meta.get("format") != FORMAT or meta.get("key") != key:
                    self.log.info(
                        "shard file %s was written with other settings, models or loci: computing shard %d of %d of the "
                        "%s head again", path, shard.index, shard.count, shard.head,
                    )
                    return None
                arrays = {name: f[name] for name in _ARRAYS}
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            self.log.warning("shard file %s is unreadable (%s: %s): computing it again", path, type(exc).__name__, exc)
            return None
        if any(len(a) != rows for a in arrays.values()):
            self.log.warning("shard file %s does not hold %d loci: computing it again", path, rows)
            return None
        part = HeadAttributions(**arrays, pairs_per_window=int(meta["pairs_per_window"]), seconds=float(meta["seconds"]),
                                batch_size=int(meta["batch_size"]))
        return part, meta


__all__ = ["FOLDER", "FORMAT", "LOCI_PER_SHARD", "ShardId", "ShardStore", "default_shards", "digest", "models_digest", "shard_bounds"]
