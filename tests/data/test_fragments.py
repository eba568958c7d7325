"""Fragment files, base-exact: Cell Ranger (10x) rows give the BAM's +4/-4 cuts, and the shift check says when they would not."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyBigWig
import pysam
import pytest
import yaml

from bpnet.core.cli.main import run_cli
from bpnet.data.cut_sites import check_shift, sample_cuts
from bpnet.data.readcount import CountOptions, count_reads
from bpnet.data.simulate.simulator import Simulation, simulate
from bpnet.data.sources import ReadSource, open_source
from bpnet.data.sources.roles import SequenceSource

ATAC = CountOptions(stranded=False, ends="both", paired_end=True, shift_plus=4, shift_minus=-4)


@pytest.fixture(autouse=True)
def download_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BPNET_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> tuple[Simulation, Path]:
    """A small simulated ATAC experiment (paired-end BAM, Tn5 bias) and a 10x fragments file made from its BAM."""
    folder = tmp_path_factory.mktemp("fragments")
    simulation = simulate(folder / "sim", "atac", seed=3, genome_size=240_000, n_chroms=2, n_peaks=30)
    tenx = folder / "fragments.tsv.gz"
    assert write_cell_ranger_fragments(simulation.reads, tenx) > 10_000
    return simulation, tenx


def write_cell_ranger_fragments(bam: Path, path: Path) -> int:
    """Cell Ranger's rows from a BAM's proper pairs: the fragment [start, end) as ``start + 4, end - 5``."""
    rows = []
    with pysam.AlignmentFile(str(bam)) as reads:
        for read in reads:
            if read.is_proper_pair and not (read.is_secondary or read.is_supplementary) and read.template_length > 0:
                start = read.reference_start
                rows.append((read.reference_name, start + 4, start + read.template_length - 5))
    with gzip.open(path, "wt") as out:
        out.write("# id=sim\n# reference_path=genome.fa\n")  # Cell Ranger files open with such comments
        out.writelines(f"{chrom}\t{start}\t{end}\tAAACGAAAGAAACGAA-1\t1\n" for chrom, start, end in sorted(rows))
    return len(rows)


def run_stages(folder: Path, stages: dict[str, dict]) -> str:
    """Run reads-to-bigwig stages from a spec in ``folder``; returns the run log."""
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", "stages": {
        name: {"stage": "reads-to-bigwig", "params": params} for name, params in stages.items()}}))
    assert run_cli(["run", str(spec)]) == 0
    return (folder / "out/run.log").read_text()


def track(folder: Path, stage: str) -> dict[str, np.ndarray]:
    with pyBigWig.open(str(folder / "out" / stage / "tracks/unstranded.bw")) as bw:
        return {chrom: np.nan_to_num(np.array(bw.values(chrom, 0, size))) for chrom, size in bw.chroms().items()}


def shift_check(folder: Path, stage: str) -> dict:
    (check,) = json.loads((folder / "out" / stage / "tracks/tracks.json").read_text())["description"]["shift_check"].values()
    return check


def test_10x_fragments_give_the_bams_atac_cuts_base_for_base(sim, tmp_path):
    simulation, tenx = sim
    genome = str(simulation.genome)
    log = run_stages(tmp_path, {
        "bam": {"reads": [str(simulation.reads)], "genome": genome, "preset": "atac"},
        "tenx": {"reads": [str(tenx)], "genome": genome, "preset": "atac", "fragment_format": "10x"},
    })
    from_bam, from_10x = track(tmp_path, "bam"), track(tmp_path, "tenx")
    assert sum(v.sum() for v in from_bam.values()) == 2 * simulation.counts["fragments"]
    for chrom, counts in from_bam.items():
        assert np.array_equal(from_10x[chrom], counts), chrom
    # both are the simulation's true Tn5 cut sites
    with pyBigWig.open(str(simulation.signal / "unstranded.bw")) as truth:
        for chrom, counts in from_bam.items():
            assert np.array_equal(np.nan_to_num(np.array(truth.values(chrom, 0, len(counts)))), counts)
    assert "WARNING" not in log
    for stage in ("bam", "tenx"):
        check = shift_check(tmp_path, stage)
        assert check["kind"] == "absolute" and check["detected"] == check["given"] == {"shift_plus": 4, "shift_minus": -4}


def test_10x_rows_read_as_fragments_put_every_right_cut_one_base_left(sim):
    simulation, tenx = sim
    sizes = open_source(simulation.genome, SequenceSource).sizes
    tsv = open_source(tenx, ReadSource)
    bam = count_reads([open_source(simulation.reads, ReadSource)], sizes, ATAC)
    naive = count_reads([tsv], sizes, CountOptions(stranded=False, ends="both"))  # the old advice: 0/0
    fixed = count_reads([tsv], sizes, CountOptions(stranded=False, ends="both", shift_minus=1))
    for chrom in sizes:
        assert np.array_equal(fixed.plus[chrom].dense(sizes[chrom]), bam.plus[chrom].dense(sizes[chrom]))
        assert not np.array_equal(naive.plus[chrom].dense(sizes[chrom]), bam.plus[chrom].dense(sizes[chrom]))


def test_shift_check_names_the_given_and_detected_shifts_for_10x_rows_read_as_fragments(sim, tmp_path):
    simulation, tenx = sim
    log = run_stages(tmp_path, {
        "old-advice": {"reads": [str(tenx)], "genome": str(simulation.genome), "preset": "atac", "shift_plus": 0, "shift_minus": 0},
    })
    (warning,) = [line for line in log.splitlines() if " WARNING " in line]
    assert "shift_plus 0, shift_minus 0 given" in warning
    assert "says shift_plus 0, shift_minus 1" in warning
    assert "set fragment_format: 10x with shift_plus: 4 and shift_minus: -4" in warning
    check = shift_check(tmp_path, "old-advice")
    assert (check["right_offset"], check["mirror_offset"]) == (-1, -1)
    assert check["detected"] == {"shift_plus": 0, "shift_minus": 1}


@pytest.mark.parametrize(
    ("source", "options", "detected"),
    [
        ("bam", ATAC, (4, -4)),
        ("bam", CountOptions(stranded=False, ends="both", paired_end=True), (4, -4)),  # no Tn5 shift: 4 bp off on each end
        ("bam", CountOptions(stranded=False, ends="both", shift_plus=4, shift_minus=-4), (4, -4)),  # single-end: 5' ends
        ("fragments", CountOptions(stranded=False, ends="both", shift_plus=4, shift_minus=-4), (4, -4)),
        ("tenx", CountOptions(stranded=False, ends="both", shift_plus=4, shift_minus=-4), (0, 1)),  # the 10x rows as fragments
        ("tenx", CountOptions(stranded=False, ends="both", fragment_format="10x", shift_plus=4, shift_minus=-4), (4, -4)),
    ],
)
def test_shift_check_finds_the_tn5_shift_of_each_input(sim, source, options, detected):
    simulation, tenx = sim
    path = {"bam": simulation.reads, "fragments": simulation.fragments, "tenx": tenx}[source]
    genome = open_source(simulation.genome, SequenceSource)
    cuts = sample_cuts(open_source(path, ReadSource), genome.sizes, options)
    check = check_shift(cuts, genome.codes, genome.sizes)
    assert check.absolute and check.suggested(options.shift_plus, options.shift_minus) == detected


def test_shift_check_makes_no_call_without_a_sequence_preference_or_enough_cuts(sim, tmp_path):
    simulation, _ = sim
    flat = simulate(tmp_path / "flat", "atac", seed=4, genome_size=240_000, n_chroms=2, n_peaks=30, tn5_strength=0.0)
    genome = open_source(flat.genome, SequenceSource)
    check = check_shift(sample_cuts(open_source(flat.reads, ReadSource), genome.sizes, ATAC), genome.codes, genome.sizes)
    assert check.cuts > 20_000 and check.suggested(4, -4) is None
    genome = open_source(simulation.genome, SequenceSource)
    few = sample_cuts(open_source(simulation.reads, ReadSource), genome.sizes, ATAC, limit=500)
    assert check_shift(few, genome.codes, genome.sizes).suggested(4, -4) is None
