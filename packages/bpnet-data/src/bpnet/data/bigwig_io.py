"""Writing per-base count tracks to bigWig."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from bpnet.core.atomic import atomic_path


def write_bigwig(path: str | Path, sizes: Mapping[str, int], tracks: Mapping[str, np.ndarray]) -> None:
    """Write per-base values (one dense array per chromosome) to a bigWig, atomically.

    Only non-zero positions are stored, as single-base entries (two numbers per
    position), which keeps read-count tracks small. Chromosomes missing from
    ``tracks`` are declared in the header but hold no data.
    """
    import pyBigWig

    with atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader([(c, int(n)) for c, n in sizes.items()], maxZooms=0)
            for chrom in sizes:
                values = tracks.get(chrom)
                if values is None:
                    continue
                nonzero = np.flatnonzero(values)
                if len(nonzero):
                    bw.addEntries(chrom, nonzero.astype(np.int64), values=values[nonzero].astype(np.float64), span=1)
        finally:
            bw.close()
