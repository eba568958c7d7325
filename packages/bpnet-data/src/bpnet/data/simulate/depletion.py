"""Clear the background genome of strong matches to the motifs about to be planted.

A random genome holds many strong matches to a short motif: a 6 Mb genome holds about
24,000 windows that score like a planted GATA1 site (7 bp), fifty times the planted
ones. The simulator binds only planted sites, so such a motif would barely predict the
signal and no model could learn it. Depleting the background first makes every strong
match a bound site, as the ground truth of a benchmark should be.
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import DataError
from ..motifs import Motif, scan

log = logging.getLogger("bpnet.data.simulate")

#: Rounds of scan-and-swap; each round removes nearly every match, new ones are rare.
MAX_ROUNDS = 30
#: Distances (bp) a base is swapped over: beyond any motif, within an isochore.
SWAP_DISTANCE = (30, 200)


def deplete_matches(rng: np.random.Generator, codes: list[np.ndarray], motifs: list[Motif], threshold: float) -> int:
    """Swap bases of ``codes`` (in place) until no window matches a motif at ``threshold`` or more.

    ``threshold`` is a relative score (0: the lowest possible log-odds score of the
    motif, 1: the highest), on either strand. The base that contributes most to a
    matching window's score is swapped with a different base :data:`SWAP_DISTANCE` bp
    away, so the base composition (and each isochore's GC) is unchanged. The first round
    scans whole chromosomes; later rounds only the windows around the bases just
    swapped, until no match is left. Returns the number of swaps. A motif too weak to be
    cleared (most windows match it) raises :class:`DataError` naming it.
    """
    swaps = 0
    near: list[np.ndarray | None] = [None] * len(codes)
    for _ in range(MAX_ROUNDS):
        hits = [_positions_to_swap(chrom, motifs, threshold, around) for chrom, around in zip(codes, near)]
        n = sum(len(h) for h in hits)
        if n == 0:
            return swaps
        near = [_swap(rng, chrom, positions) for chrom, positions in zip(codes, hits)]
        swaps += n
    weak = [m.label for m in motifs if any(len(_positions_to_swap(chrom, [m], threshold, None)) for chrom in codes)]
    raise DataError(
        f"motif(s) {', '.join(weak)} still match the background at {threshold} of their score range after "
        f"{MAX_ROUNDS} rounds of depletion: too weak to tell planted sites from background; plant more specific "
        "motifs, or raise deplete_above (null keeps the background as drawn)"
    )


def _swap(rng: np.random.Generator, chrom: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Swap each base at ``positions`` with a different base a random distance away.

    Of four random partners the first holding another base is taken (a swap of equal
    bases would change nothing). Returns every position touched.
    """
    n = len(positions)
    distance = rng.integers(*SWAP_DISTANCE, size=(n, 4)) * rng.choice((-1, 1), size=(n, 4))
    partners = positions[:, None] + distance
    partners = np.where((partners < 0) | (partners >= len(chrom)), positions[:, None] - distance, partners)
    differs = chrom[partners] != chrom[positions][:, None]
    partners = partners[np.arange(n), differs.argmax(axis=1)]
    for a, b in zip(positions.tolist(), partners.tolist()):  # one by one: positions may share partners
        chrom[a], chrom[b] = chrom[b], chrom[a]
    return np.unique(np.concatenate([positions, partners]))


def _positions_to_swap(chrom: np.ndarray, motifs: list[Motif], threshold: float, around: np.ndarray | None) -> np.ndarray:
    """Positions (unique) of the most contributing base of every matching window of ``chrom``.

    With ``around``, only windows that contain one of those positions are scored.
    """
    found = []
    for motif in motifs:
        low, high = motif.score_range()
        cutoff = low + threshold * (high - low)
        offsets = np.arange(motif.width)
        tables = (motif.log_odds(), motif.reverse_complement().log_odds())
        if around is None or len(around) * motif.width > len(chrom) // 4:  # a full scan is faster
            strands, starts = np.nonzero(scan(chrom, motif) >= cutoff)
        else:
            candidates = np.unique((around[:, None] - offsets).ravel())
            candidates = candidates[(candidates >= 0) & (candidates <= len(chrom) - motif.width)]
            windows = np.minimum(chrom[candidates[:, None] + offsets], 4)
            scores = np.stack([table[offsets, windows].sum(axis=1) for table in tables])
            strands, index = np.nonzero(scores >= cutoff)
            starts = candidates[index]
        for strand, table in enumerate(tables):
            at = starts[strands == strand]
            windows = np.minimum(chrom[at[:, None] + offsets], 4)
            found.append(at + table[offsets, windows].argmax(axis=1))
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
