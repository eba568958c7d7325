"""Artefact hotspots: narrow regions away from the peaks with extra reads in ChIP and control alike.

Real libraries have them (blacklisted regions, collapsed high-copy repeats): they look
like strong peaks in the ChIP reads, but the control shows them too. They are regions
only; the reads they add are drawn by :func:`bpnet.data.simulate.chip.hotspot_reads`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..intervals import overlapping, sorted_regions
from .genome import Genome
from .layout import Peaks

#: Hotspots keep this many bp from every peak region and from each other.
HOTSPOT_GAP = 2000
#: ... and this many bp from chromosome ends.
HOTSPOT_MARGIN = 1000
#: Batches of candidate positions tried before giving up.
ROUNDS = 8


@dataclass
class Hotspots:
    """Hotspot regions (chromosome index, start, end; sorted) and the read density they add."""

    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strength: float  # extra reads per bp, in units of the library's mean background density

    def __len__(self) -> int:
        return len(self.start)


def place_hotspots(
    rng: np.random.Generator, genome: Genome, peaks: Peaks, n: int, width_range: tuple[int, int], strength: float
) -> Hotspots:
    """``n`` hotspots, log-uniform widths in ``width_range``, uniform over the genome otherwise,
    at least :data:`HOTSPOT_GAP` bp from every peak region and from each other."""
    lengths = genome.lengths
    busy = [sorted_regions(peaks.start[peaks.chrom == c] - HOTSPOT_GAP, peaks.end[peaks.chrom == c] + HOTSPOT_GAP)
            for c in range(len(lengths))]
    chosen: list[tuple[int, int, int]] = []
    for _ in range(ROUNDS):
        m = 4 * n + 16
        width = np.round(np.exp(rng.uniform(*np.log(width_range), size=m))).astype(np.int64)
        chrom = rng.choice(len(lengths), size=m, p=lengths / lengths.sum())
        room = lengths[chrom] - 2 * HOTSPOT_MARGIN - width
        start = HOTSPOT_MARGIN + (rng.random(m) * np.maximum(room, 0)).astype(np.int64)
        for c, s, w, fits in zip(chrom.tolist(), start.tolist(), width.tolist(), (room > 0).tolist()):
            if fits and not _near(chosen, busy[c], c, s, s + w):
                chosen.append((c, s, s + w))
                if len(chosen) == n:
                    return _sorted(chosen, strength)
    raise DataError(
        f"cannot place {n} hotspots of up to {width_range[1]} bp at least {HOTSPOT_GAP} bp from the peaks and from each "
        f"other in {int(lengths.sum())} bp: lower hotspots or hotspot_width, or raise genome_size"
    )


def _near(chosen: list[tuple[int, int, int]], peaks: tuple[np.ndarray, np.ndarray], chrom: int, start: int, end: int) -> bool:
    """Whether ``[start, end)`` comes within the gap of a peak or of a hotspot already chosen."""
    if overlapping(np.array([start]), np.array([end]), peaks)[0]:
        return True
    return any(c == chrom and s - HOTSPOT_GAP < end and start < e + HOTSPOT_GAP for c, s, e in chosen)


def _sorted(chosen: list[tuple[int, int, int]], strength: float) -> Hotspots:
    chrom, start, end = (np.array(column, dtype=np.int64) for column in zip(*sorted(chosen)))
    return Hotspots(chrom, start, end, strength)


def write_hotspots(path: Path, names: list[str], hotspots: Hotspots) -> None:
    """BED6: chrom, start, end, name ``hotspot_N``, added density (``strength``), strand ``.``."""
    lines = [
        f"{names[c]}\t{s}\t{e}\thotspot_{i + 1}\t{hotspots.strength:g}\t.\n"
        for i, (c, s, e) in enumerate(zip(hotspots.chrom.tolist(), hotspots.start.tolist(), hotspots.end.tolist()))
    ]
    path.write_text("".join(lines))
