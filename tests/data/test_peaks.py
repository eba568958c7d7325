"""Peak calling: MACS3 really runs on planted reads and finds the planted peaks.

The data are small real files (a 500 kb two-chromosome genome, BAM/SAM written
with pysam, gzipped fragments) with strong read pileups at known positions over a
uniform background, so each MACS3 run takes about half a second.
"""

from __future__ import annotations

import gzip
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.data import peaks as peaks_module
from bpnet.data.errors import DataError
from bpnet.data.intervals import Intervals
from bpnet.data.peaks import Macs3Error, call_peaks, detect_format, effective_genome_size, finish_peaks
from bpnet.data.sources import read_bed

from ..conftest import random_sequence, write_fasta

pytest.importorskip("MACS3", reason="MACS3 is the optional bpnet-data[peaks] extra")

SIZES = {"chr1": 300_000, "chr2": 200_000}
READ_LENGTH = 36


# -- planted data ------------------------------------------------------------------------
@dataclass
class Planted:
    folder: Path
    genome: Path
    truth: Intervals
    chip: Path  # single-end BAM: reads flank each peak on both strands
    control: Path  # single-end BAM: uniform reads
    background: Path  # single-end BAM: uniform reads only (no peaks)
    atac_bam: Path  # paired-end BAM of ATAC fragments
    atac_sam: Path  # the same as SAM text
    fragments: Path  # the same fragments as 10x fragments.tsv.gz


def header(sizes: dict[str, int]) -> dict:
    return {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": n} for c, n in sizes.items()]}


def segment(name: str, ref: int, start: int, flag: int) -> pysam.AlignedSegment:
    read = pysam.AlignedSegment()
    read.query_name, read.reference_id, read.reference_start, read.flag = name, ref, start, flag
    read.mapping_quality = 60
    read.cigartuples = [(0, READ_LENGTH)]
    read.query_sequence = "A" * READ_LENGTH
    read.query_qualities = pysam.qualitystring_to_array("I" * READ_LENGTH)
    return read


def write_single_end(path: Path, sizes: dict[str, int], reads: list[tuple[str, int, bool]]) -> Path:
    """Reads as (chrom, leftmost position, reverse strand)."""
    names = list(sizes)
    with pysam.AlignmentFile(str(path), "wb", header=header(sizes)) as out:
        for i, (chrom, start, reverse) in enumerate(sorted(reads, key=lambda r: (names.index(r[0]), r[1]))):
            out.write(segment(f"r{i}", names.index(chrom), start, 16 if reverse else 0))
    pysam.index(str(path))
    return path


def write_paired(path: Path, sizes: dict[str, int], fragments: list[tuple[str, int, int]], mode: str = "wb") -> Path:
    """Each fragment as a proper pair: mate 1 forward at its start, mate 2 reverse ending at its end."""
    names = list(sizes)
    reads = []
    for i, (chrom, start, end) in enumerate(fragments):
        ref = names.index(chrom)
        one, two = segment(f"f{i}", ref, start, 99), segment(f"f{i}", ref, end - READ_LENGTH, 147)
        for read, mate in ((one, two), (two, one)):
            read.next_reference_id, read.next_reference_start = ref, mate.reference_start
            read.template_length = (end - start) * (1 if read is one else -1)
        reads += [one, two]
    reads.sort(key=lambda r: (r.reference_id, r.reference_start))
    with pysam.AlignmentFile(str(path), mode, header=header(sizes)) as out:
        for read in reads:
            out.write(read)
    if mode == "wb":
        pysam.index(str(path))
    return path


def write_fragments(path: Path, fragments: list[tuple[str, int, int]]) -> Path:
    """10x style: comment header, then chrom, start, end, barcode, count."""
    with gzip.open(path, "wt") as out:
        out.write("# id=simulated\n# pipeline=none\n")
        for i, (chrom, start, end) in enumerate(sorted(fragments)):
            out.write(f"{chrom}\t{start}\t{end}\tCELL{i % 7}-1\t1\n")
    return path


def plant(folder: Path, seed: int = 0, n_peaks: int = 24, sizes: dict[str, int] = SIZES) -> Planted:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    genome = write_fasta(folder / "genome.fa", {c: random_sequence(n, seed + i) for i, (c, n) in enumerate(sizes.items())})
    centres = []
    for chrom, n in sizes.items():
        slots = np.arange(10_000, n - 10_000, 8_000)
        share = round(n_peaks * n / sum(sizes.values()))
        centres += [(chrom, int(c)) for c in np.sort(rng.choice(slots, share, replace=False))]
    truth = Intervals(
        np.array([c for c, _ in centres], dtype=object), np.array([p - 100 for _, p in centres]), np.array([p + 100 for _, p in centres])
    )

    def uniform_reads(per_bp: float) -> list[tuple[str, int, bool]]:
        reads = []
        for chrom, n in sizes.items():
            for start in rng.integers(0, n - READ_LENGTH, int(n * per_bp)):
                reads.append((chrom, int(start), bool(rng.random() < 0.5)))
        return reads

    chip = uniform_reads(0.01)
    for chrom, centre in centres:
        for _ in range(150):  # fragments of ~200 bp centred near the site: + reads start left, - reads end right
            middle = centre + int(rng.normal(0, 15))
            if rng.random() < 0.5:
                chip.append((chrom, middle - 100 + int(rng.normal(0, 10)), False))
            else:
                chip.append((chrom, middle + 100 - READ_LENGTH + int(rng.normal(0, 10)), True))
    fragments = []
    for chrom, n in sizes.items():
        for start in rng.integers(0, n - 500, n // 150):
            fragments.append((chrom, int(start), int(start + rng.integers(80, 400))))
    for chrom, centre in centres:
        for _ in range(100):  # open chromatin: short fragments with both cut sites near the centre
            fragments.append((chrom, centre - int(rng.integers(40, 110)), centre + int(rng.integers(40, 110))))
    return Planted(
        folder=folder,
        genome=genome,
        truth=truth,
        chip=write_single_end(folder / "chip.bam", sizes, chip),
        control=write_single_end(folder / "control.bam", sizes, uniform_reads(0.01)),
        background=write_single_end(folder / "background.bam", sizes, uniform_reads(0.01)),
        atac_bam=write_paired(folder / "atac.bam", sizes, fragments),
        atac_sam=write_paired(folder / "atac.sam", sizes, fragments, mode="w"),
        fragments=write_fragments(folder / "fragments.tsv.gz", fragments),
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Planted:
    return plant(tmp_path_factory.mktemp("planted"))


def recall(called: Intervals, truth: Intervals) -> float:
    return float(truth.overlaps(called).mean())


def precision(called: Intervals, truth: Intervals) -> float:
    return float(called.overlaps(truth).mean())


def assert_sorted_narrowpeak(path: Path) -> None:
    rows = [line.split("\t") for line in path.read_text().splitlines()]
    assert rows and all(len(r) == 10 for r in rows)
    keys = [(r[0], int(r[1])) for r in rows]
    assert keys == sorted(keys)
    for r in rows:
        assert 0 <= int(r[9]) < int(r[2]) - int(r[1])
        assert 0 <= int(r[4]) <= 1000


# -- MACS3 finds the planted peaks -------------------------------------------------------------
def test_chip_with_control_finds_the_planted_peaks(planted, tmp_path):
    out = tmp_path / "peaks.narrowPeak"
    result = call_peaks([planted.chip], out, genome=planted.genome, controls=[planted.control], preset="chip")
    called = read_bed(out)
    assert result.n_peaks == len(called) and result.macs3_format == "BAM"
    assert result.genome_size == str(sum(SIZES.values()))
    assert recall(called, planted.truth) >= 0.9
    assert precision(called, planted.truth) >= 0.9
    assert_sorted_narrowpeak(out)
    assert "-c" in result.command and "--fix-bimodal" in result.command and "-q" in result.command


def test_chip_summits_lie_in_the_planted_sites(planted, tmp_path):
    out = tmp_path / "peaks.narrowPeak"
    call_peaks([planted.chip], out, genome=planted.genome)
    called = read_bed(out)
    hit = called.subset(called.overlaps(planted.truth))
    truth_centres = {(c, s + 100) for c, s in zip(planted.truth.chrom, planted.truth.start)}
    distance = [min(abs(int(p) - t) for c2, t in truth_centres if c2 == c) for c, p in zip(hit.chrom, hit.summit)]
    assert len(distance) >= 0.9 * len(planted.truth) and max(distance) <= 100  # the plateau of 200 bp fragments


def test_atac_from_paired_end_bam_finds_the_planted_peaks(planted, tmp_path):
    out = tmp_path / "peaks.narrowPeak"
    result = call_peaks([planted.atac_bam], out, genome=planted.genome, preset="atac")
    called = read_bed(out)
    assert recall(called, planted.truth) >= 0.9
    assert result.macs3_format == "BED"  # Tn5 cut sites, as ENCODE's recipe takes them
    for option in ("--nomodel", "--call-summits", "-p"):
        assert option in result.command
    assert result.command[result.command.index("--shift") + 1] == "-75"
    assert result.command[result.command.index("--extsize") + 1] == "150"
    strong = called.subset(called.score >= 5)  # narrowPeak column 7 (fold enrichment) is read as score
    assert precision(strong, planted.truth) >= 0.9
    assert_sorted_narrowpeak(out)


def test_atac_from_fragments_tsv_gz_finds_the_planted_peaks(planted, tmp_path):
    out = tmp_path / "peaks.narrowPeak"
    result = call_peaks([planted.fragments], out, genome=planted.genome, preset="atac", qvalue=0.01)
    called = read_bed(out)
    assert recall(called, planted.truth) >= 0.9
    assert precision(called, planted.truth) >= 0.9
    assert "-q" in result.command and "-p" not in result.command


def test_chip_preset_gives_fragments_to_macs3_as_bedpe(planted, tmp_path):
    out = tmp_path / "peaks.narrowPeak"
    result = call_peaks([planted.fragments], out, genome=planted.genome, preset="chip")
    assert result.macs3_format == "BEDPE"
    assert recall(read_bed(out), planted.truth) >= 0.9


def test_paired_end_bam_goes_to_macs3_as_bampe_in_the_chip_preset(planted, tmp_path):
    out = tmp_path / "peaks.narrowPeak"
    result = call_peaks([planted.atac_bam], out, genome=planted.genome, preset="chip")
    assert result.macs3_format == "BAMPE"
    assert recall(read_bed(out), planted.truth) >= 0.9


def test_sam_input_is_converted_and_called(planted, tmp_path):
    out = tmp_path / "peaks.narrowPeak"
    result = call_peaks([planted.atac_sam], out, genome=planted.genome, preset="chip")
    assert result.macs3_format == "BAMPE"
    assert recall(read_bed(out), planted.truth) >= 0.9


def test_optional_outputs_keep_macs3_summits_and_log(planted, tmp_path):
    summits, macs3_log = tmp_path / "summits.bed", tmp_path / "macs3.log"
    n = call_peaks([planted.chip], tmp_path / "p.narrowPeak", genome=planted.genome, summits_out=summits, log_out=macs3_log).n_peaks
    assert len(summits.read_text().splitlines()) == n
    assert "callpeak" in macs3_log.read_text()
    assert not list(tmp_path.glob(".macs3-*"))  # the work folder is gone


def test_max_peaks_keeps_the_strongest(planted, tmp_path):
    out = tmp_path / "peaks.narrowPeak"
    result = call_peaks([planted.atac_bam], out, genome=planted.genome, preset="atac", max_peaks=10)
    called = read_bed(out)
    assert result.n_peaks == len(called) == 10
    assert precision(called, planted.truth) == 1.0


# -- on the bpnet simulator's experiments ------------------------------------------------------
@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from bpnet.data.simulate import simulate

    folder = tmp_path_factory.mktemp("simulated")
    return {kind: simulate(folder / kind, kind=kind, seed=3, genome_size=200_000, n_chroms=2, n_peaks=40) for kind in ("chip", "atac")}


def test_simulated_chip_with_control_peaks_are_found(simulated, tmp_path):
    sim = simulated["chip"]
    out = tmp_path / "peaks.narrowPeak"
    call_peaks([sim.reads], out, genome=sim.genome, controls=[sim.control], preset="chip")
    called, truth = read_bed(out), read_bed(sim.peaks)
    assert recall(called, truth) >= 0.9
    assert precision(called, truth) >= 0.9


@pytest.mark.parametrize("source", ["fragments", "reads"])
def test_simulated_atac_peaks_are_found_from_fragments_and_paired_bam(simulated, tmp_path, source):
    sim = simulated["atac"]
    out = tmp_path / "peaks.narrowPeak"
    result = call_peaks([getattr(sim, source)], out, genome=sim.genome, preset="atac")
    called, truth = read_bed(out), read_bed(sim.peaks)
    assert result.macs3_format == "BED"
    assert recall(called, truth) >= 0.9
    assert precision(called, truth) >= 0.9


# -- formats are read from the content, never guessed from the name -------------------------
def test_detect_format_reads_the_content(planted, tmp_path):
    assert detect_format(planted.chip) == "BAM"
    assert detect_format(planted.atac_bam) == "BAMPE"
    assert detect_format(planted.atac_sam) == "SAM"
    assert detect_format(planted.fragments) == "BEDPE"
    tag_align = tmp_path / "reads.tagAlign.gz"
    with gzip.open(tag_align, "wt") as out:
        out.write("chr1\t100\t136\tN\t1000\t+\nchr1\t200\t236\tN\t1000\t-\n")
    assert detect_format(tag_align) == "BED"
    misnamed = tmp_path / "reads.bed"  # a BAM under a BED name
    shutil.copyfile(planted.chip, misnamed)
    assert detect_format(misnamed) == "BAM"


def test_unreadable_reads_name_the_file(tmp_path):
    junk = tmp_path / "reads.txt"
    junk.write_text("hello world\nthis is not a reads file\n")
    with pytest.raises(DataError, match="reads.txt: cannot tell its format"):
        detect_format(junk)
    cram = tmp_path / "reads.cram"
    cram.write_bytes(b"CRAM\x03\x00")
    with pytest.raises(DataError, match="CRAM is not supported.*convert it to BAM"):
        detect_format(cram)


def test_bad_fragment_line_names_file_and_line(planted, tmp_path):
    bad = tmp_path / "fragments.tsv"
    bad.write_text("chr1\t100\t300\tA\t1\nchr1\t500\tfoo\tA\t1\n")
    with pytest.raises(DataError, match=r"fragments.tsv:2: expected 'chrom start end"):
        call_peaks([bad], tmp_path / "p.narrowPeak", genome=planted.genome, preset="atac")


# -- clear errors ----------------------------------------------------------------------------
def test_bad_macs3_argument_reports_macs3_message_and_command(planted, tmp_path):
    with pytest.raises(Macs3Error) as caught:
        call_peaks([planted.chip], tmp_path / "p.narrowPeak", genome=planted.genome, extra_args=["--no-such-option"])
    message = str(caught.value)
    assert "MACS3 callpeak failed (exit status 2)" in message
    assert "unrecognized arguments: --no-such-option" in message
    assert "command:" in message and "macs3 callpeak -t" in message
    assert not (tmp_path / "p.narrowPeak").exists()


def test_macs3_refusing_a_value_reports_its_critical_message(planted, tmp_path):
    with pytest.raises(Macs3Error, match=r"exit status 1.*--extsize must >= 1"):
        call_peaks([planted.chip], tmp_path / "p.narrowPeak", genome=planted.genome, extra_args=["--extsize", "0"])


def test_options_the_stage_sets_are_refused_in_extra_args(planted, tmp_path):
    with pytest.raises(DataError, match="-q is managed by the peaks stage: use the parameter qvalue"):
        call_peaks([planted.chip], tmp_path / "p.narrowPeak", genome=planted.genome, extra_args=["-q", "0.05"])
    with pytest.raises(DataError, match="--gsize is managed.*genome_size"):
        call_peaks([planted.chip], tmp_path / "p.narrowPeak", genome=planted.genome, extra_args=["--gsize=1e6"])


def test_no_peaks_is_an_error_that_says_which_threshold_to_relax(planted, tmp_path):
    with pytest.raises(Macs3Error, match=r"MACS3 called no peaks at -q 0.01 on .*background.bam: relax the threshold"):
        call_peaks([planted.background], tmp_path / "p.narrowPeak", genome=planted.genome, controls=[planted.control])
    assert not (tmp_path / "p.narrowPeak").exists()


def test_chromosome_names_that_differ_from_the_genome_are_refused(planted, tmp_path):
    reads = write_single_end(tmp_path / "ensembl.bam", {"1": 300_000, "2": 200_000}, [("1", 1000, False), ("2", 5000, True)])
    with pytest.raises(DataError, match=r"ensembl.bam: none of its chromosomes \(1, 2\) match the genome .*genome.fa.*'chr' prefix"):
        call_peaks([reads], tmp_path / "p.narrowPeak", genome=planted.genome)


def test_reads_on_an_extra_contig_only_warn(planted, tmp_path, caplog):
    sizes = {**SIZES, "chrEBV": 50_000}
    with pysam.AlignmentFile(str(planted.background)) as background:
        reads = [(r.reference_name, r.reference_start, r.is_reverse) for r in background]
    reads += [("chrEBV", 100 * i, False) for i in range(100)]
    path = write_single_end(tmp_path / "extra.bam", sizes, reads)
    with caplog.at_level(logging.WARNING), pytest.raises(Macs3Error, match="no peaks"):
        call_peaks([path], tmp_path / "p.narrowPeak", genome=planted.genome)
    assert "chrEBV" in caplog.text and "dropped" in caplog.text


def test_reads_and_controls_in_different_formats_are_refused(planted, tmp_path):
    with pytest.raises(DataError, match=r"reads are BAM but controls are BEDPE"):
        call_peaks([planted.chip], tmp_path / "p.narrowPeak", genome=planted.genome, controls=[planted.fragments])


def test_missing_macs3_says_to_install_the_peaks_extra(planted, tmp_path, monkeypatch):
    monkeypatch.setattr(peaks_module, "_macs3_installed", lambda: False)
    with pytest.raises(Macs3Error, match=r"MACS3 is not installed.*bpnet-data\[peaks\]"):
        call_peaks([planted.chip], tmp_path / "p.narrowPeak", genome=planted.genome)


def test_macs3_runs_from_this_environment():
    import sys

    command = peaks_module.macs3_command()
    assert command[0] == sys.executable
    assert Path(command[1]).parent == Path(sys.executable).parent


# -- genome size and MACS3 output clean-up ----------------------------------------------------
def test_effective_genome_size_counts_non_n_bases(tmp_path):
    fasta = write_fasta(tmp_path / "g.fa", {"a": "ACGT" * 25 + "N" * 40 + "nn", "b": "acgtNNNNAC"})
    assert effective_genome_size(fasta) == 100 + 6
    sizes = tmp_path / "g.chrom.sizes"
    sizes.write_text("a\t142\nb\t10\n")
    assert effective_genome_size(sizes) == 152
    assert peaks_module.resolve_genome_size("hs", fasta) == "hs"
    assert peaks_module.resolve_genome_size(2.7e9, fasta) == "2700000000"
    with pytest.raises(DataError, match="genome_size 'human'"):
        peaks_module.resolve_genome_size("human", fasta)


def test_finish_peaks_clips_drops_caps_and_sorts(tmp_path):
    raw = tmp_path / "raw.narrowPeak"
    raw.write_text(
        "chr2\t100\t300\tp1\t50\t.\t4.0\t8.0\t6.0\t120\n"
        "chr1\t-20\t200\tp2\t2000\t.\t9.0\t30.0\t25.0\t10\n"  # starts before 0: clipped
        "chr1\t900\t1200\tp3\t70\t.\t5.0\t9.0\t7.0\t-1\n"  # runs off chr1 (1000 bp); no summit
        "chrUn\t0\t100\tp4\t70\t.\t5.0\t9.0\t7.0\t50\n"  # not in the genome
        "chr1\t400\t600\tp5\t10\t.\t2.0\t3.0\t1.0\t100\n"
    )
    out = tmp_path / "peaks.narrowPeak"
    n, dropped = finish_peaks(raw, out, {"chr1": 1000, "chr2": 1000}, max_peaks=3, logger=logging.getLogger("test"))
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert n == 3 and [r[3] for r in rows] == ["p2", "p3", "p1"]
    assert rows[0][1:3] == ["0", "200"] and rows[0][9] == "0"  # summit at -10 moved to the first base
    assert rows[0][4] == "1000"  # score capped at narrowPeak's 1000
    assert rows[1][1:3] == ["900", "1000"] and rows[1][9] == "99"  # midpoint 1050 clipped to the last base
    assert dropped == {"off the genome's chromosomes": 1, "beyond the strongest 3": 1}


# -- the call-peaks stage --------------------------------------------------------------------
def cli(capsys, *args) -> tuple[int, str]:
    code = run_cli([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def write_spec(folder: Path, params: str) -> Path:
    spec = folder / "spec.yaml"
    spec.write_text(f"output_dir: out\nstages:\n  peaks:\n    stage: call-peaks\n    params: {params}\n")
    return spec


def test_stage_runs_from_a_spec_skips_and_reruns_on_changes(planted, tmp_path, capsys):
    for name in ("genome.fa", "chip.bam", "chip.bam.bai", "control.bam", "control.bam.bai"):
        shutil.copyfile(planted.folder / name, tmp_path / name)
    spec = write_spec(tmp_path, "{reads: [chip.bam], controls: [control.bam], genome: genome.fa, qvalue: 0.01}")
    code, out = cli(capsys, "run", spec)
    assert code == 0, out
    stage_dir = tmp_path / "out/peaks"
    called = read_bed(stage_dir / "peaks.narrowPeak")
    assert recall(called, planted.truth) >= 0.9
    assert "callpeak" in (stage_dir / "macs3.log").read_text()
    run_log = (tmp_path / "out/run.log").read_text()
    assert "MACS3: " in run_log and "MACS3: " not in out  # MACS3's messages go to the run log, not the terminal
    assert not list(stage_dir.glob(".macs3-*"))

    code, out = cli(capsys, "run", spec)
    assert code == 0 and "skipped" in out

    spec.write_text(spec.read_text().replace("qvalue: 0.01", "qvalue: 0.001"))
    code, out = cli(capsys, "run", spec)
    assert code == 0 and "skipped" not in out
    assert "-q 0.001" in (stage_dir / "macs3.log").read_text()

    shutil.copyfile(planted.folder / "background.bam", tmp_path / "control.bam")  # same kind of reads, new content
    pysam.index(str(tmp_path / "control.bam"))
    code, out = cli(capsys, "run", spec)
    assert code == 0 and "skipped" not in out
    assert (tmp_path / "out/run.log").read_text().count("running stage peaks") == 3


def test_stage_atac_from_fragments_with_summits_output(planted, tmp_path, capsys):
    shutil.copyfile(planted.genome, tmp_path / "genome.fa")
    shutil.copyfile(planted.fragments, tmp_path / "fragments.tsv.gz")
    spec = write_spec(tmp_path, "{reads: [fragments.tsv.gz], genome: genome.fa, preset: atac, summits: summits.bed, max_peaks: 1000}")
    code, out = cli(capsys, "run", spec)
    assert code == 0, out
    assert recall(read_bed(tmp_path / "out/peaks/peaks.narrowPeak"), planted.truth) >= 0.9
    assert (tmp_path / "out/peaks/summits.bed").read_text()


def test_stage_failure_is_one_clear_line_and_leaves_no_peaks(planted, tmp_path, capsys):
    shutil.copyfile(planted.genome, tmp_path / "genome.fa")
    shutil.copyfile(planted.chip, tmp_path / "chip.bam")
    spec = write_spec(tmp_path, "{reads: [chip.bam], genome: genome.fa, extra_args: [--extsize, '0']}")
    code, out = cli(capsys, "run", spec)
    assert code != 0
    errors = [line for line in out.splitlines() if "error" in line.lower() or "failed" in line.lower()]
    assert any("--extsize must >= 1" in line for line in errors), out
    assert "Traceback" not in out
    assert not (tmp_path / "out/peaks/peaks.narrowPeak").exists()


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ("{reads: [chip.bam], genome: genome.fa, qvalue: 0.01, pvalue: 0.01}", "not both"),
        ("{reads: [chip.bam], genome: genome.fa, extra_args: [-p, '0.1']}", "use the parameter pvalue"),
        ("{reads: [chip.bam], genome: genome.fa, genome_size: human}", "genome_size 'human'"),
        ("{reads: [], genome: genome.fa}", "reads"),
    ],
)
def test_stage_refuses_bad_parameters(tmp_path, capsys, params, fragment):
    (tmp_path / "genome.fa").write_text(">chr1\nACGT\n")
    (tmp_path / "chip.bam").write_bytes(b"")
    code, out = cli(capsys, "validate", write_spec(tmp_path, params))
    assert code == 2
    assert fragment in out
