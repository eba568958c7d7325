"""Data sources: readers for FASTA, bigWig, BAM/SAM, tsv fragments and BED files.

Each is a plugin class registered through ``bpnet_register_sources``; any of them
takes a local path or an http(s) URL. bpnet-data opens every file with
:func:`open_source` and the role the file plays (:mod:`.roles`): the registry picks
the registered source of that role by name or by the file's longest matching suffix,
so third-party sources (say, CRAM reads) are used wherever their files appear.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from .base import Source
from .bed import BedSource, read_bed
from .bigwig import BigWigSource
from .fasta import ChromSizesSource, FastaSource, genome_sizes
from .reads import ReadSource
from .roles import IntervalSource, SequenceSource, SignalSource, SizesSource

__all__ = [
    "BedSource", "BigWigSource", "ChromSizesSource", "FastaSource", "IntervalSource", "ReadSource", "SequenceSource",
    "SignalSource", "SizesSource", "Source", "find_source", "genome_sizes", "open_source", "read_bed",
]

S = TypeVar("S", bound=Source)


def find_source(location: str | Path, role: type[S] = Source, *, name: str | None = None) -> type[S]:
    """The registered source class that reads ``location`` as ``role``: the one called ``name``,
    else the one claiming its suffix, else (when no source at all claims it) the role's
    ``fallback`` source.

    Raises :class:`~bpnet.data.errors.DataError` naming the file and the installed
    sources of the role when none reads files named like this.
    """
    from bpnet.core.plugin.registry import registry

    from ..errors import DataError

    reg = registry()
    cls = reg.source_for(location, role=role, name=name)
    fallback = getattr(role, "fallback", None)
    if cls is None and fallback is not None and reg.source_for(location) is None:
        cls = reg.source_for(location, role=role, name=fallback)
    if cls is None:
        offered = "; ".join(f"{c.name} ({', '.join(c.suffixes)})" for c in reg.sources(role)) or "none"
        raise DataError(
            f"{location}: no installed data source reads files named like this as {role.role} (sources: {offered}); "
            "rename the file with its usual suffix, or install a source plugin that reads it"
        )
    return cls


def open_source(location: str | Path, role: type[S] = Source, *, name: str | None = None, **options: Any) -> S:
    """The source that reads ``location`` as ``role`` (see :func:`find_source`), built with ``options``."""
    return find_source(location, role, name=name)(location, **options)
