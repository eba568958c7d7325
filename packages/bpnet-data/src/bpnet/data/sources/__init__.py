"""Data sources: readers for FASTA, bigWig, BAM/SAM, tsv fragments and BED files.

Each is a plugin class registered through ``bpnet_register_sources``; any of them
takes a local path or an http(s) URL. :func:`open_source` picks one by name or by the
file's suffix, so third-party sources (say, CRAM) plug in the same way.
"""

from __future__ import annotations

from pathlib import Path

from .base import Source
from .bed import BedSource, read_bed
from .bigwig import BigWigSource
from .fasta import ChromSizesSource, FastaSource, genome_sizes

__all__ = [
    "BedSource", "BigWigSource", "ChromSizesSource", "FastaSource", "Source",
    "genome_sizes", "open_source", "read_bed",
]


def open_source(location: str | Path, kind: str | None = None) -> Source:
    """A registered source for ``location``: by ``kind`` name, else by its longest matching suffix."""
    from bpnet.core.plugin.registry import registry

    from ..errors import DataError

    reg = registry()
    if kind:
        return reg.source(kind)(location)
    name = str(location).split("?", 1)[0].lower()
    best: tuple[int, type[Source]] | None = None
    for source_name in reg.names("source"):
        cls = reg.source(source_name)
        for suffix in getattr(cls, "suffixes", ()):
            if name.endswith(suffix.lower()) and (best is None or len(suffix) > best[0]):
                best = (len(suffix), cls)
    if best:
        return best[1](location)
    known = ", ".join(reg.names("source"))
    raise DataError(
        f"{location}: no data source reads files named like this (known: {known}); "
        "rename it with its usual suffix or name the source explicitly"
    )
