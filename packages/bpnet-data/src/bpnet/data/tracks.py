"""Track sets: a folder of bigWigs plus ``tracks.json`` saying what each one is.

The reads-to-bigWig stage writes one track set per experiment (``plus.bw`` and
``minus.bw`` for stranded data, ``unstranded.bw`` otherwise); the loci stage reads
track sets or plain bigWig files. The manifest records the strand of each track, so
reverse-complement augmentation swaps exactly the strand pairs, and the read count.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from .errors import DataError

MANIFEST = "tracks.json"


class Track(BaseModel):
    """One bigWig of a track set. ``strand`` is ``+``, ``-`` or ``.`` (unstranded)."""

    file: str
    strand: str = "."


class TrackSet(BaseModel):
    """The manifest of a track-set folder."""

    format: str = "bpnet-tracks"
    version: int = 1
    tracks: list[Track]
    reads: int | None = None
    description: dict = {}

    def paths(self, folder: Path) -> list[Path]:
        return [folder / t.file for t in self.tracks]

    def strand_pairs(self) -> list[tuple[int, int]]:
        """Index pairs (plus, minus) that swap under reverse complement."""
        plus = [i for i, t in enumerate(self.tracks) if t.strand == "+"]
        minus = [i for i, t in enumerate(self.tracks) if t.strand == "-"]
        return list(zip(plus, minus))

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).write_text(self.model_dump_json(indent=2) + "\n")


def read_track_set(location: Path) -> tuple[list[Path], TrackSet]:
    """(bigWig paths, manifest) for a track-set folder or a single bigWig file."""
    location = Path(location)
    if location.is_dir():
        manifest = location / MANIFEST
        if not manifest.exists():
            raise DataError(
                f"{location} is a folder without {MANIFEST}: give the bigWig files, or a folder written by the reads-to-bigwig stage"
            )
        try:
            tracks = TrackSet.model_validate(json.loads(manifest.read_text()))
        except (ValidationError, json.JSONDecodeError) as exc:
            raise DataError(f"{manifest}: not a valid track manifest ({exc.__class__.__name__}): re-run the stage that wrote it") from None
        return tracks.paths(location), tracks
    return [location], TrackSet(tracks=[Track(file=location.name)])
