"""``bpnet simulate``: write a simulated ChIP or ATAC experiment with known ground truth.

Nothing heavy is imported here at module level (numpy, pysam and pyBigWig load when
the command runs), so ``bpnet --help`` stays fast; the defaults are the simulator's
own (:class:`~bpnet.data.simulate.config.SimulationConfig`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from .config import SimulationConfig

_DEFAULT = {name: field.default for name, field in SimulationConfig.model_fields.items()}


def simulate(
    *,
    out: Path,
    kind: Literal["chip", "atac"] = _DEFAULT["kind"],
    seed: int = _DEFAULT["seed"],
    genome_size: int = _DEFAULT["genome_size"],
    chroms: int = _DEFAULT["n_chroms"],
    n_peaks: int | None = None,
    depth: int | None = None,
    frip: float | None = None,
    motifs: Path | None = None,
    max_sites: int = _DEFAULT["max_sites"],
    read_length: int = _DEFAULT["read_length"],
    tn5_strength: float = _DEFAULT["tn5_strength"],
    reads: bool = _DEFAULT["reads"],
    gc_domains: bool = False,
    preset: str | None = None,
    force: bool = False,
) -> int:
    """Simulate a genome with planted motifs, true peaks and ChIP or ATAC reads (seeded).

    Always writes genome.fa (+ .fai, genome.sizes), motifs.meme, sites.bed, peaks.narrowPeak, simulation.json.

    ChIP reads add reads.bam, control.bam, signal/ and control/ (plus.bw, minus.bw: read 5' ends).

    ATAC reads add reads.bam (paired), fragments.tsv.gz, signal/unstranded.bw (Tn5 cuts: + 5' end + 4, - 5' end - 4), bias.meme.

    The generative model is described in the docstring of bpnet.data.simulate.

    Parameters
    ----------
    out
        Folder to write (refused if it exists and is not empty, unless --force).
    kind
        chip: stranded single-end reads and a control; atac: paired-end Tn5 fragments.
    seed
        Seed of every random draw: the same seed writes identical files.
    genome_size
        Total genome length in bp.
    chroms
        Number of chromosomes (chr1..chrN).
    n_peaks
        Number of true peaks (default: one per 20 kb).
    depth
        ChIP: reads (default genome_size/10); ATAC: fragments (default genome_size/8).
    frip
        Expected fraction of reads (ChIP, default 0.65) or Tn5 cuts (ATAC, default 0.5) from peaks.
    motifs
        MEME file of motifs to plant (default: 5 bundled JASPAR 2024 motifs).
    max_sites
        Motif instances per peak: 1 to this many.
    read_length
        Read length in bp.
    tn5_strength
        ATAC: strength of the Tn5 sequence bias (0: none).
    reads
        Simulate reads (--no-reads writes only genome, motifs, sites and peaks).
    gc_domains
        GC-structured genome: alternating GC-poor and GC-rich domains (~300 kb), 90% of peaks in the rich ones.
    preset
        Named bundle of simulator options; independent: ChIP built unlike the default (2 motifs, hotspots, asymmetric footprints).
    force
        Replace a non-empty --out.
    """
    import time

    from bpnet.core.console import console

    from . import simulator

    started = time.perf_counter()
    switches = {"gc_domains": True} if gc_domains else {}  # left out when off, so a preset's domains stay
    result = simulator.simulate(
        out, kind, seed, genome_size=genome_size, n_chroms=chroms, n_peaks=n_peaks, motifs=motifs, reads=reads,
        depth=depth, frip=frip, max_sites=max_sites, read_length=read_length, tn5_strength=tn5_strength,
        preset=preset, overwrite=force, **switches,
    )
    console.print(summary_table(result))
    counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in result.counts.items())
    console.print(f"[green]simulated[/] {kind} (seed {seed}) in {time.perf_counter() - started:.1f} s: {counts}", highlight=False)
    return 0


WHAT = {
    "genome": "genome FASTA",
    "genome_index": "FASTA index",
    "sizes": "chromosome sizes",
    "motifs": "planted motifs (MEME)",
    "sites": "planted motif instances (BED6)",
    "peaks": "true peaks (narrowPeak)",
    "hotspots": "artefact hotspots (BED6)",
    "reads": "aligned reads (BAM + .bai)",
    "control": "control reads (BAM + .bai)",
    "fragments": "fragments (bgzip tsv + .tbi)",
    "signal": "signal track set (bigWig)",
    "control_signal": "control track set (bigWig)",
    "bias": "Tn5 bias motif (MEME)",
    "manifest": "parameters, seed, counts",
}


def summary_table(result):
    """A rich table of the files a simulation wrote: name, content, size."""
    from rich.table import Table

    table = Table(title=f"bpnet simulate -> {result.out}")
    table.add_column("file", no_wrap=True)
    table.add_column("content")
    table.add_column("size", justify="right")
    for role, path in result.files().items():
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
        table.add_row(path.name + ("/" if path.is_dir() else ""), WHAT.get(role, role), _human(size))
    return table


def _human(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
