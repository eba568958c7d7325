"""Opt-in realism of the simulator: artefact hotspots, asymmetric strand footprints, affinity-driven
site strength, and the ``independent`` preset that bundles them (all off by default)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.data.errors import DataError
from bpnet.data.motifs import read_meme
from bpnet.data.simulate import Simulation, simulate
from bpnet.data.simulate.config import PRESETS, preset
from bpnet.data.sources.bed import read_bed
from bpnet.data.tracks import read_track_set

from .test_simulate import all_files, bigwig_values, sizes_of

NEW_OPTIONS = ("hotspots", "hotspot_strength", "hotspot_width", "strand_shift", "affinity_strength", "motif_names", "preset")


def stranded_signal(sim: Simulation, folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Chromosome -> (+ strand, - strand) 5' end counts of one of the simulation's ChIP track sets."""
    paths, _ = read_track_set(folder)
    return {chrom: (bigwig_values(paths[0], chrom), bigwig_values(paths[1], chrom)) for chrom in sizes_of(sim)}


def relative_scores(sim) -> np.ndarray:
    """Each planted site's score as a fraction of its motif's score range (0 lowest, 1 consensus)."""
    motifs = {m.name: m for m in read_meme(sim.motifs)}
    sites = read_bed(sim.sites)
    ranges = np.array([motifs[name].score_range() for name in sites.name])
    return (sites.score - ranges[:, 0]) / (ranges[:, 1] - ranges[:, 0])


def test_defaults_leave_the_files_as_they_were(tmp_path):
    options = {"genome_size": 60_000, "n_peaks": 12}
    default = simulate(tmp_path / "default", "chip", seed=3, **options)
    neutral = simulate(tmp_path / "neutral", "chip", seed=3, hotspots=0, hotspot_strength=3.0, hotspot_width=(50, 60),
                       strand_shift={}, affinity_strength=4.0, motif_names=None, preset=None, **options)
    assert all_files(default.out) == all_files(neutral.out)
    assert not (default.out / "hotspots.bed").exists() and default.hotspots is None
    manifest = json.loads(default.manifest.read_text())
    assert not set(NEW_OPTIONS) & set(manifest["parameters"])
    assert not {"hotspots", "hotspot_reads", "control_hotspot_reads"} & set(manifest["counts"])


def test_hotspots_raise_chip_and_control_reads_away_from_peaks_and_are_written_as_truth(tmp_path):
    options = {"genome_size": 400_000, "n_peaks": 20, "deplete_above": None}
    sim = simulate(tmp_path / "hot", "chip", seed=2, hotspots=4, hotspot_strength=20.0, **options)
    hot = read_bed(sim.hotspots)
    assert sim.hotspots == sim.out / "hotspots.bed" and len(hot) == sim.counts["hotspots"] == 4
    assert list(hot.name) == ["hotspot_1", "hotspot_2", "hotspot_3", "hotspot_4"] and (hot.score == 20).all()
    assert ((hot.end - hot.start >= 300) & (hot.end - hot.start <= 3000)).all()
    assert not hot.overlaps(read_bed(sim.peaks).windows(4000)).any()  # none within 2 kb of a summit
    assert sim.counts["hotspot_reads"] > 0 and sim.counts["control_hotspot_reads"] > 0
    sizes, peaks = sizes_of(sim), read_bed(sim.peaks)
    for folder in (sim.signal, sim.control_signal):
        reads = {"hotspot": 0.0, "elsewhere": 0.0}
        bp = {"hotspot": 0, "elsewhere": 0}
        for chrom, (plus, minus) in stranded_signal(sim, folder).items():
            spot, near_peak = np.zeros(sizes[chrom], bool), np.zeros(sizes[chrom], bool)
            for s, e in zip(hot.start[hot.chrom == chrom], hot.end[hot.chrom == chrom]):
                spot[s:e] = True
            for s, e in zip(peaks.start[peaks.chrom == chrom], peaks.end[peaks.chrom == chrom]):
                near_peak[max(s - 500, 0) : e + 500] = True
            elsewhere = ~spot & ~near_peak
            for where, mask in (("hotspot", spot), ("elsewhere", elsewhere)):
                reads[where] += (plus + minus)[mask].sum()
                bp[where] += int(mask.sum())
        fold = (reads["hotspot"] / bp["hotspot"]) / (reads["elsewhere"] / bp["elsewhere"])
        assert fold > 8, folder  # ~21x: the background plus 20 times its density
    # the ground truth is untouched: the same genome, sites and peaks as without hotspots
    plain = simulate(tmp_path / "plain", "chip", seed=2, reads=False, **options)
    for name in ("genome.fa", "sites.bed", "peaks.narrowPeak"):
        assert (plain.out / name).read_bytes() == (sim.out / name).read_bytes()


def lobe_offsets(sim, motif: str, strand: str) -> tuple[float, float]:
    """Mean offset from the site centre of + strand and of - strand 5' ends within 250 bp of the motif's sites on ``strand``."""
    label = {m.name: m.label for m in read_meme(sim.motifs)}  # sites.bed names motifs by ID (MA0035.5)
    sites = read_bed(sim.sites)
    lines = [line.split("\t") for line in sim.sites.read_text().splitlines()]
    keep = np.array([label[name] == motif and s.strip() == strand for _, _, _, name, _, s in lines])
    centres = sites.start + (sites.end - sites.start) // 2
    signal = stranded_signal(sim, sim.signal)
    offsets = np.arange(-250, 251)
    plus, minus = np.zeros(len(offsets)), np.zeros(len(offsets))
    for chrom, centre in zip(sites.chrom[keep], centres[keep]):
        plus += signal[chrom][0][centre - 250 : centre + 251]
        minus += signal[chrom][1][centre - 250 : centre + 251]
    return np.average(offsets, weights=plus), np.average(offsets, weights=minus)


def test_strand_shift_moves_the_read_lobes_along_the_site_strand_for_the_named_motif_only(tmp_path):
    options = {"genome_size": 300_000, "n_peaks": 40, "max_sites": 1, "motif_names": ["CTCF", "GATA1"], "deplete_above": None}
    base = simulate(tmp_path / "base", "chip", seed=5, **options)
    shifted = simulate(tmp_path / "shifted", "chip", seed=5, strand_shift={"GATA1": 25}, **options)
    assert json.loads(shifted.manifest.read_text())["parameters"]["strand_shift"] == {"GATA1": 25}
    (plus_before, minus_before), (plus_after, minus_after) = (lobe_offsets(s, "GATA1", "+") for s in (base, shifted))
    assert plus_before < -50 < 50 < minus_before
    # sites on +: the + strand lobe (upstream) comes ~25 bp closer, the - strand lobe goes ~25 bp farther
    assert plus_after - plus_before > 15 and minus_after - minus_before > 15
    (plus_before, minus_before), (plus_after, minus_after) = (lobe_offsets(s, "GATA1", "-") for s in (base, shifted))
    # sites on -: mirrored, the + strand lobe goes farther and the - strand lobe comes closer
    assert plus_before - plus_after > 15 and minus_before - minus_after > 15
    for strand in "+-":  # an unnamed motif keeps its footprint, read for read
        assert lobe_offsets(base, "CTCF", strand) == lobe_offsets(shifted, "CTCF", strand)


def reads_near_sites(sim) -> np.ndarray:
    """5' ends (both strands) within 300 bp of each planted site's centre, in sites.bed order."""
    sites = read_bed(sim.sites)
    centres = sites.start + (sites.end - sites.start) // 2
    signal = stranded_signal(sim, sim.signal)
    return np.array([signal[c][0][m - 300 : m + 301].sum() + signal[c][1][m - 300 : m + 301].sum() for c, m in zip(sites.chrom, centres)])


def test_affinity_strength_makes_better_matching_sites_produce_more_reads(tmp_path):
    options = {"genome_size": 400_000, "n_peaks": 80, "max_sites": 1, "min_site_score": 0.6, "deplete_above": None}
    correlation = {}
    for strength in (0.0, 10.0):
        sim = simulate(tmp_path / str(strength), "chip", seed=4, affinity_strength=strength, **options)
        score = relative_scores(sim)
        assert score.min() < 0.8  # the lower min_site_score lets weak sites in
        correlation[strength] = np.corrcoef(score, np.log1p(reads_near_sites(sim)))[0, 1]
    assert abs(correlation[0.0]) < 0.25 and correlation[10.0] > 0.6


def test_the_independent_preset_fills_its_options_and_given_values_win(tmp_path):
    sim = simulate(tmp_path / "ind", "chip", seed=1, genome_size=2_000_000, reads=False, preset="independent")
    parameters = json.loads(sim.manifest.read_text())["parameters"]
    assert parameters["preset"] == "independent"
    for name, value in preset("independent").items():
        expected = {"size": 300_000, "rich_fraction": 0.3, "peak_share": 0.9} if name == "gc_domains" else value
        assert parameters[name] == expected, name
    assert [m.alt_name for m in read_meme(sim.motifs)] == ["CTCF", "GATA1"]
    assert len(read_bed(sim.hotspots)) == 20 and relative_scores(sim).min() < 0.85
    mine = simulate(tmp_path / "mine", "chip", seed=1, genome_size=2_000_000, reads=False, preset="independent", hotspots=3)
    assert len(read_bed(mine.hotspots)) == 3
    preset("independent")["hotspots"] = 0  # a copy: the preset itself stays
    assert PRESETS["independent"]["hotspots"] == 20


@pytest.mark.parametrize(
    "options, message",
    [
        ({"preset": "independent", "kind": "atac"}, "shape ChIP reads: use them with kind chip (preset independent sets them)"),
        ({"preset": "nope"}, "preset: Input should be 'independent'"),
        ({"strand_shift": {"NFKB": 10}}, "strand_shift: no motif named 'NFKB' among the motifs to plant (CTCF, GATA1"),
        ({"motif_names": ["CTCF", "P53"]}, "motif_names: no motif named 'P53'"),
        ({"hotspot_width": (500, 100)}, "hotspot_width must satisfy 1 <= low <= high"),
        ({"strand_shift": {"CTCF": 900}}, "strand_shift must stay within 500 bp"),
    ],
)
def test_bad_new_options_are_data_errors_naming_them_and_write_nothing(tmp_path, options, message):
    with pytest.raises(DataError, match=re.escape(message)):
        simulate(tmp_path / "x", options.pop("kind", "chip"), genome_size=100_000, reads=False, **options)
    assert not (tmp_path / "x").exists()


def test_too_many_hotspots_for_the_genome_are_refused(tmp_path):
    with pytest.raises(DataError, match="cannot place 200 hotspots .* lower hotspots or hotspot_width"):
        simulate(tmp_path / "x", "chip", genome_size=100_000, n_peaks=5, reads=False, hotspots=200)
    assert not (tmp_path / "x").exists()


def test_cli_and_stage_take_the_preset_by_name(tmp_path, capsys):
    out = tmp_path / "cli"
    assert run_cli(["simulate", "--out", str(out), "--preset", "independent", "--genome-size", "2000000", "--no-reads"]) == 0
    assert (out / "hotspots.bed").exists()
    assert json.loads((out / "simulation.json").read_text())["parameters"]["preset"] == "independent"
    spec = tmp_path / "spec.yaml"
    spec.write_text("output_dir: out\nstages:\n  sim:\n    stage: simulate\n"
                    "    params: {genome_size: 2000000, reads: false, options: {preset: independent, hotspots: 5}}\n")
    assert run_cli(["validate", str(spec)]) == 0
    capsys.readouterr()
    spec.write_text(spec.read_text().replace("genome_size", "kind: atac, genome_size"))
    assert run_cli(["validate", str(spec)]) == 2
    output = capsys.readouterr()
    assert "use them with kind chip" in output.out + output.err
