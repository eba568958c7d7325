"""The simulator's entry point: parameters, the run, and the description of what it wrote."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from bpnet.core.atomic import atomic_path
from bpnet.core.versions import package_version

from ..errors import DataError
from ..motifs import Motif, format_meme, read_meme
from .config import SimulationConfig

if TYPE_CHECKING:
    from .genome import Genome
    from .layout import Peaks

log = logging.getLogger("bpnet.data.simulate")

#: Peaks stay this far from chromosome ends (room for a 2114 bp window and jitter).
PEAK_MARGIN = 2500
MANIFEST = "simulation.json"
JASPAR_NOTE = (
    "JASPAR 2024 CORE vertebrates (https://jaspar.elixir.no), Rauluseviciute et al. 2024, "
    "Nucleic Acids Res., doi:10.1093/nar/gkad1059; licence CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
)


@dataclass(frozen=True)
class Simulation:
    """What a simulation wrote (paths inside ``out``; None where not written) and its counts.

    ``counts``: chromosomes, genome_bp, peaks, sites; with ``gc_domains``, gc_rich_bp
    and peaks_in_gc_rich (summit in a GC-rich domain); with ``hotspots``, hotspots;
    ChIP adds reads, reads_in_peaks (read 5' ends inside true peak regions) and
    control_reads, with hotspots also hotspot_reads and control_hotspot_reads; ATAC
    adds fragments, reads (two per fragment) and cuts_in_peaks.
    """

    out: Path
    kind: str
    seed: int
    genome: Path
    genome_index: Path
    sizes: Path
    motifs: Path
    sites: Path
    peaks: Path
    manifest: Path
    reads: Path | None = None
    control: Path | None = None
    fragments: Path | None = None
    signal: Path | None = None
    control_signal: Path | None = None
    bias: Path | None = None
    hotspots: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def files(self) -> dict[str, Path]:
        """Role -> path of everything written."""
        roles = (
            "genome",
            "genome_index",
            "sizes",
            "motifs",
            "sites",
            "peaks",
            "hotspots",
            "reads",
            "control",
            "fragments",
            "signal",
            "control_signal",
            "bias",
            "manifest",
        )
        return {r: getattr(self, r) for r in roles if getattr(self, r) is not None}

    @classmethod
    def load(cls, out: str | Path) -> Simulation:
        """Describe an existing simulation folder from its ``simulation.json``."""
        out = Path(out)
        try:
            manifest = json.loads((out / MANIFEST).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{out / MANIFEST}: not a readable simulation manifest ({exc}): re-run `bpnet simulate`") from None
        files = {k: out / v for k, v in manifest["files"].items()}
        return cls(out=out, kind=manifest["kind"], seed=manifest["seed"], counts=manifest["counts"], **files)


def bundled_motifs() -> list[Motif]:
    """The bundled JASPAR 2024 motifs (CTCF, GATA1, Spi1, FOS::JUN, CEBPB); CC BY 4.0."""
    with resources.as_file(resources.files(__package__) / "jaspar.meme") as path:
        return read_meme(path)


def simulate(
    out: str | Path,
    kind: str = "chip",
    seed: int = 0,
    *,
    genome_size: int = 8_000_000,
    n_chroms: int = 4,
    n_peaks: int | None = None,
    motifs: str | Path | Sequence[Motif] | None = None,
    reads: bool = True,
    depth: int | None = None,
    overwrite: bool = False,
    **options,
) -> Simulation:
    """Simulate a genome with planted motifs, true peaks and (optionally) reads into ``out``.

    ``kind`` is ``"chip"`` or ``"atac"``; ``motifs`` a MEME file or a list of
    :class:`~bpnet.data.motifs.Motif` (default: the bundled JASPAR motifs); further
    ``options`` are the fields of :class:`SimulationConfig` (``frip``, ``max_sites``,
    ``read_length``, ``tn5_strength``...; ``preset="independent"`` fills those of a
    named preset, :data:`~bpnet.data.simulate.config.PRESETS`). The folder is written
    atomically: files go to a temporary sibling renamed to ``out`` at the end. A non-empty ``out`` is refused
    unless ``overwrite``. Memory: about 4 bytes per genome bp without reads, about 60
    with reads at the default depth (a 10 Mb ATAC run peaks near 600 MB).
    Raises :class:`~bpnet.data.errors.DataError` for bad parameters or motif files.
    """
    config = make_config(
        kind=kind,
        seed=seed,
        genome_size=genome_size,
        n_chroms=n_chroms,
        n_peaks=n_peaks,
        reads=reads,
        depth=depth,
        **options,
    )
    motif_list, motif_source = _load_motifs(motifs)
    motif_list = _chosen_motifs(motif_list, config.motif_names)
    _motif_shifts(motif_list, config.strand_shift)  # unknown names fail before anything is written
    out = Path(out)
    check_out(out, overwrite)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        _run(tmp, config, motif_list, motif_source)
    return Simulation.load(out)


def make_config(**values) -> SimulationConfig:
    """Validate parameters; a bad one raises :class:`DataError` naming it."""
    from .genome import check_size

    try:
        config = SimulationConfig(**values).resolved()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "parameters"
        raise DataError(f"simulate: {name}: {err['msg']} (got {err.get('input')!r})") from None
    check_size(config.genome_size, config.n_chroms)
    return config


def check_out(out: Path, overwrite: bool) -> None:
    """Refuse a file, or a non-empty folder unless ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} is a file: give a folder for the simulation")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise DataError(f"{out} exists and is not empty: give another folder, or --force (overwrite=True) to replace it")


def _load_motifs(motifs: str | Path | Sequence[Motif] | None) -> tuple[list[Motif], str]:
    if motifs is None:
        return bundled_motifs(), "bundled: " + JASPAR_NOTE
    if isinstance(motifs, (str, Path)):
        found, source = read_meme(motifs), str(motifs)
    else:
        found, source = list(motifs), "given in Python"
    names = [m.name for m in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DataError(f"{source}: motif names must be unique to plant them, {', '.join(duplicates)} repeat(s)")
    wide = [m.name for m in found if m.width > 100]
    if wide:
        raise DataError(f"{source}: motif(s) {', '.join(wide)} are wider than 100 bp: plant shorter motifs")
    return found, source


def _named(motifs: list[Motif], name: str, field: str) -> list[int]:
    """Indices of the motifs called ``name`` (name or alt name); a DataError naming ``field`` if none is."""
    found = [i for i, motif in enumerate(motifs) if name in (motif.name, motif.alt_name)]
    if not found:
        known = ", ".join(m.label for m in motifs)
        raise DataError(f"simulate: {field}: no motif named {name!r} among the motifs to plant ({known}): fix the name or the motif file")
    return found


def _chosen_motifs(motifs: list[Motif], names: list[str] | None) -> list[Motif]:
    """The motifs ``motif_names`` picks (in the file's order), or all of them."""
    if names is None:
        return motifs
    chosen = sorted({i for name in names for i in _named(motifs, name, "motif_names")})
    return [motifs[i] for i in chosen]


def _motif_shifts(motifs: list[Motif], strand_shift: dict[str, int]) -> np.ndarray:
    """Footprint shift (bp) of each motif, from ``strand_shift`` (0 for those it does not name)."""
    shifts = np.zeros(len(motifs), dtype=np.int64)
    for name, shift in strand_shift.items():
        shifts[_named(motifs, name, "strand_shift")] = shift
    return shifts


def _run(folder: Path, config: SimulationConfig, motifs: list[Motif], motif_source: str) -> dict[str, int]:
    from . import genome as genome_mod
    from . import layout

    started = time.perf_counter()
    # child i of spawn(n) is the same for any n: the hotspot stream (5) left the others' draws as they were
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(6)]
    genome = genome_mod.make_genome(
        streams[0], config.genome_size, config.n_chroms, gc_range=config.gc_range, isochore_size=config.isochore_size,
        amplified_fraction=config.amplified_fraction, amplification=config.amplification, domains=config.gc_domains,
    )
    if config.deplete_above is not None:
        from .depletion import deplete_matches

        swaps = deplete_matches(streams[4], genome.codes, motifs, config.deplete_above)
        log.info("background depleted of motif matches at relative score >= %.2f: %d bases swapped", config.deplete_above, swaps)
    chrom, centre = layout.place_centres(
        streams[1], genome, config.n_peaks, min_distance=config.min_distance, margin=PEAK_MARGIN,
        gc_preference=config.gc_preference, gc_range=config.gc_range,
        peak_share=config.gc_domains.peak_share if config.gc_domains else None,
    )
    peaks, sites = layout.plant_sites(
        streams[1], genome, motifs, chrom, centre,
        max_sites=config.max_sites, activity_sd=config.activity_sd, min_score=config.min_site_score,
        affinity_strength=config.affinity_strength,
    )
    genome_mod.write_fasta(folder, genome)
    comments = ["motifs planted by `bpnet simulate`", f"source: {motif_source}"]
    (folder / "motifs.meme").write_text(format_meme(motifs, comments=comments))
    layout.write_sites(folder / "sites.bed", genome.names, motifs, sites)
    layout.write_peaks(folder / "peaks.narrowPeak", genome.names, peaks)
    log.info(
        "genome of %d bp in %d chromosomes, %d peaks, %d motif sites (%.1f s)",
        config.genome_size,
        config.n_chroms,
        len(peaks),
        len(sites.start),
        time.perf_counter() - started,
    )
    counts = {"chromosomes": config.n_chroms, "genome_bp": int(genome.lengths.sum()), "peaks": len(peaks), "sites": int(len(sites.start))}
    if config.gc_domains is not None:
        counts.update(_domain_counts(genome, peaks))
    files = {
        "genome": "genome.fa",
        "genome_index": "genome.fa.fai",
        "sizes": "genome.sizes",
        "motifs": "motifs.meme",
        "sites": "sites.bed",
        "peaks": "peaks.narrowPeak",
    }
    hotspots = None
    if config.hotspots:
        from .hotspots import place_hotspots, write_hotspots

        hotspots = place_hotspots(streams[5], genome, peaks, config.hotspots, config.hotspot_width, config.hotspot_strength)
        write_hotspots(folder / "hotspots.bed", genome.names, hotspots)
        counts["hotspots"] = len(hotspots)
        files["hotspots"] = "hotspots.bed"
    if config.reads:
        from .chip import footprint_shift
        from .reads import write_atac, write_chip

        if config.kind == "chip":
            shift = footprint_shift(sites, _motif_shifts(motifs, config.strand_shift)) if config.strand_shift else None
            more_counts, more_files = write_chip(
                folder, config, genome, peaks, sites, streams[2], streams[3], shift=shift, hotspots=hotspots
            )
        else:
            more_counts, more_files = write_atac(folder, config, genome, peaks, sites, streams[2], streams[3])
        counts.update(more_counts)
        files.update(more_files)
        log.info("%s reads written (%.1f s)", config.kind, time.perf_counter() - started)
    files["manifest"] = MANIFEST
    manifest = _manifest(config, motifs, motif_source, sites.motif, genome.sizes, counts, files)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return counts


def _domain_counts(genome: Genome, peaks: Peaks) -> dict[str, int]:
    """bp in GC-rich domains and peaks whose summit lies in one (GC domains only)."""
    iso = genome.isochores
    in_rich = iso.rich[iso.block_at(peaks.chrom, peaks.summit)]
    rich_bp = int(((iso.end - iso.start) * iso.rich).sum())
    log.info("GC domains: %.1f%% of the genome GC-rich, holding %d of %d peaks (one per %.1f kb there)",
             100 * rich_bp / genome.lengths.sum(), in_rich.sum(), len(peaks), rich_bp / max(in_rich.sum(), 1) / 1000)
    return {"gc_rich_bp": rich_bp, "peaks_in_gc_rich": int(in_rich.sum())}


def _parameters(config: SimulationConfig) -> dict:
    """The config as JSON; opt-in options only when on, so runs without them keep the manifest they always had."""
    parameters = json.loads(config.model_dump_json())
    for name in config.inactive_options():
        del parameters[name]
    return parameters


def _manifest(
    config: SimulationConfig, motifs: list[Motif], motif_source: str, site_motif: np.ndarray,
    sizes: dict[str, int], counts: dict[str, int], files: dict[str, str],
) -> dict:
    """The content of ``simulation.json`` (no paths or times, so a seed gives identical files)."""
    return {
        "format": "bpnet-simulation",
        "version": 1,
        "package": "bpnet-data",
        "package_version": package_version("bpnet-data"),
        "kind": config.kind,
        "seed": config.seed,
        "parameters": _parameters(config),
        "motif_source": motif_source,
        "motifs": [
            {"name": m.name, "alt_name": m.alt_name, "width": m.width, "consensus": m.consensus, "sites": int((site_motif == i).sum())}
            for i, m in enumerate(motifs)
        ],
        "chromosomes": sizes,
        "counts": counts,
        "files": files,
    }
