"""Writing per-base count tracks to bigWig."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from bpnet.core.atomic import atomic_path


@contextlib.contextmanager
def bigwig_writer(path: str | Path, sizes: Mapping[str, int]) -> Iterator:
    """An open pyBigWig file at ``path`` with its header (every chromosome, no zoom levels).

    Add entries chromosome by chromosome in header order; the file is closed on exit.
    Wrap ``path`` in :func:`bpnet.core.atomic.atomic_path` for an atomic write.
    """
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    try:
        bw.addHeader([(c, int(n)) for c, n in sizes.items()], maxZooms=0)
        yield bw
    finally:
        bw.close()


def write_bigwig_entries(path: str | Path, sizes: Mapping[str, int], entries: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Write single-base entries (sorted positions, values per chromosome) to a bigWig, atomically.

    Storing only the positions that hold a value (two numbers each, no spans) keeps
    read-count tracks small and writing fast. Chromosomes missing from ``entries`` are
    declared in the header but hold no data.
    """
    with atomic_path(path) as tmp, bigwig_writer(tmp, sizes) as bw:
        for chrom in sizes:
            positions, values = entries.get(chrom, ((), ()))
            if len(positions):
                bw.addEntries(chrom, np.asarray(positions, np.int64), values=np.asarray(values, np.float64), span=1)


def write_bigwig(path: str | Path, sizes: Mapping[str, int], tracks: Mapping[str, np.ndarray]) -> None:
    """Write per-base values (one dense array per chromosome) to a bigWig, atomically.

    Only non-zero positions are stored (see :func:`write_bigwig_entries`).
    """
    entries = {}
    for chrom, values in tracks.items():
        nonzero = np.flatnonzero(values)
        entries[chrom] = (nonzero, values[nonzero])
    write_bigwig_entries(path, sizes, entries)
