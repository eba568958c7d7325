"""Simulate and write the reads of one experiment (ChIP or ATAC) with their bigWig track sets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..bigwig_io import write_bigwig
from ..motifs import format_meme
from ..tracks import Track, TrackSet
from . import atac, bam, chip
from .genome import Genome
from .hotspots import Hotspots
from .layout import Peaks, Sites

if TYPE_CHECKING:
    from .config import SimulationConfig


def write_chip(
    folder: Path,
    config: SimulationConfig,
    genome: Genome,
    peaks: Peaks,
    sites: Sites,
    rng: np.random.Generator,
    control_rng: np.random.Generator,
    *,
    shift: np.ndarray | None = None,
    hotspots: Hotspots | None = None,
) -> tuple[dict[str, int], dict[str, str]]:
    """reads.bam (+ .bai), control.bam (+ .bai), signal/ and control/ track sets (plus.bw, minus.bw).

    ``shift``: per-site footprint shift (:func:`~bpnet.data.simulate.chip.footprint_shift`);
    ``hotspots``: regions whose extra reads take the place of background reads in both libraries.
    """
    fragments = chip.FragmentModel(config.fragment_length, config.fragment_sd, config.read_length)
    bound = chip.bound_reads(rng, genome, sites, config.frip * config.depth, fragments, config.centre_sd, shift)
    background, hot = _background(rng, genome, config, fragments, max(config.depth - len(bound), 0), hotspots)
    reads = chip.SingleReads.concat([bound, background])
    control, control_hot = _background(control_rng, genome, config, fragments, config.control_depth, hotspots)
    comment = f"simulated by bpnet-data (bpnet simulate), kind=chip seed={config.seed}"
    sequences = genome.texts()
    bam.write_single_end(folder / "reads.bam", genome.names, sequences, reads, comment)
    bam.write_single_end(folder / "control.bam", genome.names, sequences, control, comment + " control")
    description = {"source": "reads.bam", "count": "read 5' ends per base, no shift", "simulated": True}
    _stranded_tracks(folder / "signal", genome, reads, description)
    _stranded_tracks(folder / "control", genome, control, description | {"source": "control.bam"})
    counts = {"reads": len(reads), "reads_in_peaks": _in_peaks(genome, peaks, reads.chrom, reads.five_prime), "control_reads": len(control)}
    if hotspots is not None:
        counts |= {"hotspot_reads": hot, "control_hotspot_reads": control_hot}
    files = {
        "reads": "reads.bam", "control": "control.bam", "signal": "signal", "control_signal": "control",
    }
    return counts, files


def _background(
    rng: np.random.Generator, genome: Genome, config: SimulationConfig, fragments: chip.FragmentModel, n: int,
    hotspots: Hotspots | None,
) -> tuple[chip.SingleReads, int]:
    """``n`` reads of one library's background: hotspot reads (if any) and uniform background for the rest."""
    if hotspots is None:
        return chip.background_reads(rng, genome, n, fragments, config.gc_bias, config.gc_range), 0
    hot = chip.hotspot_reads(rng, genome, hotspots, n, fragments)
    rest = chip.background_reads(rng, genome, max(n - len(hot), 0), fragments, config.gc_bias, config.gc_range)
    return chip.SingleReads.concat([hot, rest]), len(hot)


def _stranded_tracks(folder: Path, genome: Genome, reads: chip.SingleReads, description: dict) -> None:
    folder.mkdir()
    plus, minus = chip.five_prime_counts(genome, reads)
    write_bigwig(folder / "plus.bw", genome.sizes, plus)
    write_bigwig(folder / "minus.bw", genome.sizes, minus)
    tracks = [Track(file="plus.bw", strand="+"), Track(file="minus.bw", strand="-")]
    TrackSet(tracks=tracks, reads=len(reads), description=description).write(folder)


def write_atac(
    folder: Path,
    config: SimulationConfig,
    genome: Genome,
    peaks: Peaks,
    sites: Sites,
    rng: np.random.Generator,
    bam_rng: np.random.Generator,
) -> tuple[dict[str, int], dict[str, str]]:
    """reads.bam (+ .bai, paired), fragments.tsv.gz (+ .tbi), signal/unstranded.bw, bias.meme."""
    bias = atac.tn5_motif()
    weights = atac.cut_weights(
        genome, sites, bias=bias, bias_strength=config.tn5_strength, frip=config.frip, accessibility_sd=config.accessibility_sd,
        footprint=config.footprint, gc_bias=config.gc_bias, gc_range=config.gc_range,
    )
    fragments = atac.draw_fragments(rng, genome, weights, config.depth)
    del weights
    comment = f"simulated by bpnet-data (bpnet simulate), kind=atac seed={config.seed}"
    bam.write_paired_end(folder / "reads.bam", genome.names, genome.texts(), fragments, config.read_length, bam_rng, comment)
    bam.write_fragments(folder / "fragments.tsv.gz", genome.names, fragments)
    signal = folder / "signal"
    signal.mkdir()
    write_bigwig(signal / "unstranded.bw", genome.sizes, atac.cut_counts(genome, fragments))
    description = {
        "source": "reads.bam or fragments.tsv.gz",
        "count": "Tn5 cuts per base: BAM + strand 5' end + 4, - strand 5' end - 4; fragments start + 4 and end - 5",
        "simulated": True,
    }
    TrackSet(tracks=[Track(file="unstranded.bw", strand=".")], reads=2 * len(fragments), description=description).write(signal)
    comments = ["designed Tn5-like insertion bias used by `bpnet simulate --kind atac` (not a measured matrix)",
                "the middle column is the insertion (cut) base; cut weight = 2 ** (tn5_strength * log-odds bits)"]
    (folder / "bias.meme").write_text(format_meme([bias], comments=comments))
    cuts = np.concatenate([fragments.left, fragments.right])
    chroms = np.concatenate([fragments.chrom, fragments.chrom])
    counts = {"fragments": len(fragments), "reads": 2 * len(fragments), "cuts_in_peaks": _in_peaks(genome, peaks, chroms, cuts)}
    files = {"reads": "reads.bam", "fragments": "fragments.tsv.gz", "signal": "signal", "bias": "bias.meme"}
    return counts, files


def _in_peaks(genome: Genome, peaks: Peaks, chrom: np.ndarray, position: np.ndarray) -> int:
    """How many positions fall inside a true peak region."""
    total = 0
    for i in range(len(genome.names)):
        on = peaks.chrom == i
        starts, ends = peaks.start[on], peaks.end[on]
        pos = position[chrom == i]
        j = np.searchsorted(starts, pos, side="right") - 1
        total += int(((j >= 0) & (pos < ends[np.maximum(j, 0)])).sum()) if len(starts) else 0
    return total
