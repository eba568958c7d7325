"""GC-matched negatives: matched GC, never on a peak, deterministic, blacklist respected, clear errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.data.errors import DataError
from bpnet.data.gc import tile_starts, window_counts, window_fractions
from bpnet.data.intervals import Intervals
from bpnet.data.negatives import MatchReport, gc_matched_negatives, plot_gc_match
from bpnet.data.onehot import encode_codes
from bpnet.data.sources.bed import read_bed
from bpnet.data.sources.fasta import FastaSource

from ..conftest import write_fasta

WIDTH = 2114


def simulated_genome(folder: Path) -> tuple[Path, Path, dict[str, str]]:
    """The simulator's ChIP genome (4 Mb, 200 peaks: GC-richer than the genome) with a
    20 kb run of N written into chr1, so the N filter has something to do."""
    from bpnet.data.simulate import simulate

    sim = simulate(folder / "sim", kind="chip", seed=0, genome_size=4_000_000, n_peaks=200, reads=False)
    source = FastaSource(sim.genome)
    chroms = {name: source.sequence(name, 0, size) for name, size in source.sizes.items()}
    chroms["chr1"] = chroms["chr1"][:400_000] + "N" * 20_000 + chroms["chr1"][420_000:]
    fasta = write_fasta(folder / "genome.fa", chroms)
    return fasta, sim.peaks, chroms


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    return simulated_genome(tmp_path_factory.mktemp("genome"))


#: GC domains of ~100 kb, 30% of the genome GC-rich and holding 90% of the peaks
DOMAINS = {"size": 100_000, "rich_fraction": 0.3, "peak_share": 0.9}


@pytest.fixture(scope="module")
def clustered(tmp_path_factory) -> tuple[Path, Path]:
    """A GC-structured genome, as real ones are (4 Mb, 266 peaks, 239 of them in the 1.1 Mb of GC-rich
    domains: one per 4.6 kb there), so peaks and their padding leave few disjoint GC-rich windows.
    No background depletion: it does not matter here and takes most of the time."""
    from bpnet.data.simulate import simulate

    sim = simulate(
        tmp_path_factory.mktemp("clustered") / "sim", "chip", seed=0, genome_size=4_000_000, n_peaks=266, reads=False,
        deplete_above=None, gc_domains=DOMAINS,
    )
    return sim.genome, sim.peaks


def self_overlaps(iv: Intervals) -> int:
    s = iv.sorted()
    return int(((s.chrom[1:] == s.chrom[:-1]) & (s.start[1:] < s.end[:-1])).sum())


# --- GC of windows -----------------------------------------------------------------


def test_window_counts_match_a_direct_count_across_chunk_edges():
    seq = "ACGTNNGGCCAT" * 50 + "acgtn"
    codes = encode_codes(seq)
    up = seq.upper()
    starts = np.array([0, 7, 300, 13, 595, 1, 60, 63, 64, 590, 7])
    for width in (1, 10, 15, 100):
        ok = starts[starts + width <= len(seq)]
        gc, n = window_counts(codes, ok, width, chunk=64, segment=16)
        assert gc.tolist() == [up[s : s + width].count("G") + up[s : s + width].count("C") for s in ok]
        assert n.tolist() == [up[s : s + width].count("N") for s in ok]
        assert [a.tolist() for a in window_counts(codes, ok, width)] == [gc.tolist(), n.tolist()]
        frac, nfrac = window_fractions(codes, ok, width)
        assert np.allclose(frac, gc / width) and np.allclose(nfrac, n / width)
    assert tile_starts(25, 10, 5).tolist() == [0, 5, 10, 15]
    with pytest.raises(ValueError):
        window_counts(codes, np.array([len(codes) - 5]), 10)


def test_window_counts_of_random_windows():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 5, 5000).astype(np.uint8)
    starts = rng.integers(0, 5000 - 300, 400)
    gc, n = window_counts(codes, starts, 300, chunk=512, segment=128)
    assert gc.tolist() == [int(((codes[s : s + 300] == 1) | (codes[s : s + 300] == 2)).sum()) for s in starts]
    assert n.tolist() == [int((codes[s : s + 300] == 4).sum()) for s in starts]


# --- matching ------------------------------------------------------------------------


def test_negatives_match_the_peaks_gc_distribution(genome):
    fasta, peaks, chroms = genome
    negatives, report = gc_matched_negatives(fasta, peaks)
    assert report.n_negatives == report.n_requested == 2 * report.n_peaks == len(negatives)
    assert report.ks_statistic < 0.05, report.summary()
    assert abs(report.peak_gc_mean - report.negative_gc_mean) < 0.01
    assert sum(report.negative_histogram) == len(negatives) and sum(report.peak_histogram) == report.n_peaks
    # the simulated peaks are GC-richer than the genome, so matching did something
    genome_gc = np.mean([(seq.count("G") + seq.count("C")) / len(seq) for seq in chroms.values()])
    assert report.peak_gc_mean > genome_gc + 0.03


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_simulation_and_default_negatives_match_gc_with_ks_below_005(tmp_path, seed):
    from bpnet.data.simulate import simulate

    sim = simulate(tmp_path / "sim", "chip", seed=seed, reads=False)
    peaks = read_bed(sim.peaks)
    negatives, report = gc_matched_negatives(sim.genome, peaks, seed=0)
    assert report.ks_statistic < 0.05 and report.n_negatives == 2 * len(peaks)
    assert not negatives.overlaps(peaks).any()


def test_no_negative_overlaps_a_peak_another_negative_or_many_ns(genome):
    fasta, peaks, chroms = genome
    negatives, report = gc_matched_negatives(fasta, peaks, ratio=2, stride=250)
    peak_iv = read_bed(peaks)
    assert not negatives.overlaps(peak_iv).any()
    assert not negatives.overlaps(peak_iv.windows(WIDTH)).any()
    padded = Intervals(peak_iv.chrom, peak_iv.start - WIDTH // 2, peak_iv.end + WIDTH // 2)
    assert not negatives.overlaps(padded).any()  # default padding: width // 2
    assert self_overlaps(negatives) == 0  # stride < width, still disjoint
    assert ((negatives.end - negatives.start) == WIDTH).all() and (negatives.summit == negatives.start + WIDTH // 2).all()
    n_fraction = [chroms[c][s:e].upper().count("N") / WIDTH for c, s, e in zip(negatives.chrom, negatives.start, negatives.end)]
    assert max(n_fraction) <= 0.1
    _, with_ns = gc_matched_negatives(fasta, peaks, ratio=2, stride=250, max_n_fraction=1)
    assert with_ns.n_candidates > report.n_candidates  # the N run's tiles were candidates only then


def test_same_seed_same_negatives_other_seed_other_negatives(genome, tmp_path):
    fasta, peaks, _ = genome
    texts = []
    for seed in (7, 7, 8):
        negatives, _ = gc_matched_negatives(fasta, peaks, ratio=1, seed=seed)
        negatives.write_bed(tmp_path / f"n{len(texts)}.bed")
        texts.append((tmp_path / f"n{len(texts)}.bed").read_bytes())
    assert texts[0] == texts[1] and texts[0] != texts[2]


def test_blacklist_and_exclude_regions_are_respected(genome, tmp_path):
    fasta, peaks, _ = genome
    blacklist = tmp_path / "blacklist.bed"
    blacklist.write_text("chr1\t0\t300000\nchr3\t50000\t400000\nchrUn_unknown\t0\t100\n")  # unknown contigs are ignored
    other = tmp_path / "other.bed"
    other.write_text("chr2\t0\t250000\n")
    negatives, _ = gc_matched_negatives(fasta, peaks, ratio=1, blacklist=blacklist, exclude=[other], padding=100)
    avoid = Intervals(
        np.array(["chr1", "chr3", "chr2"], dtype=object),
        np.array([0, 50000, 0]) - 100,
        np.array([300000, 400000, 250000]) + 100,
    )
    assert len(negatives) and not negatives.overlaps(avoid).any()
    free, _ = gc_matched_negatives(fasta, peaks, ratio=1, padding=100)
    assert free.overlaps(avoid).any()  # without them, negatives do land there


def test_chroms_limits_where_negatives_come_from(genome):
    fasta, peaks, _ = genome
    negatives, report = gc_matched_negatives(fasta, peaks, ratio=1, chroms=["chr2", "chr4"])
    assert set(negatives.chrom.tolist()) <= {"chr2", "chr4"}
    n_lines = len(Path(peaks).read_text().splitlines())
    assert report.n_peaks + report.n_peaks_left_out == n_lines  # peaks on every chromosome are still the reference


def test_too_few_candidates_warns_and_none_is_an_error(tmp_path, caplog):
    rng = np.random.default_rng(1)
    fasta = write_fasta(tmp_path / "tiny.fa", {"chr1": "".join(rng.choice(list("ACGT"), 6000))})
    peaks = tmp_path / "peaks.bed"
    peaks.write_text("chr1\t1000\t1100\nchr1\t3000\t3100\n")
    # 46 candidate tiles of 500 bp every 100 bp, of which only 9 are disjoint
    with caplog.at_level(logging.WARNING):
        negatives, report = gc_matched_negatives(fasta, peaks, width=500, ratio=5, stride=100, padding=0, allow_overlap=False)
    assert 0 < report.n_negatives < report.n_requested == 10 and self_overlaps(negatives) == 0
    assert f"only {report.n_negatives} of the 10 negatives asked for could be drawn" in caplog.text
    assert "allow_overlap: false" in report.shortfall_reason and "set allow_overlap to auto" in report.shortfall_reason
    # the default overlaps tiles rather than fall short
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        negatives, report = gc_matched_negatives(fasta, peaks, width=500, ratio=5, stride=100, padding=0)
    assert report.n_negatives == report.n_requested == len(negatives) == 10 and report.shortfall_reason is None
    assert report.n_overlapping == overlapping_count(negatives) > 0 and "could be drawn" not in caplog.text
    with pytest.raises(DataError, match="no background window of 500 bp is left"):
        gc_matched_negatives(fasta, peaks, width=500, padding=3000)


# --- GC-structured, dense genomes ------------------------------------------------------------


def overlapping_count(iv: Intervals) -> int:
    """Intervals overlapping at least one other, by brute force."""
    s = iv.sorted()
    return sum(
        any(j != i and s.chrom[j] == s.chrom[i] and s.start[j] < s.end[i] and s.start[i] < s.end[j] for j in range(len(s)))
        for i in range(len(s))
    )


def test_sparse_genome_keeps_disjoint_negatives_as_before(genome):
    """Where disjoint tiles of every GC bin suffice, the default draws exactly what allow_overlap=False draws."""
    fasta, peaks, _ = genome
    default, report = gc_matched_negatives(fasta, peaks, ratio=1)
    disjoint, old = gc_matched_negatives(fasta, peaks, ratio=1, allow_overlap=False)
    assert old.n_borrowed == 0 and old.n_negatives == old.n_requested  # every bin served by disjoint tiles
    assert report.n_overlapping == self_overlaps(default) == 0 and report.allow_overlap == "auto"
    assert default.chrom.tolist() == disjoint.chrom.tolist() and default.start.tolist() == disjoint.start.tolist()
    # at ratio 2 a few bins run out of disjoint tiles: only their negatives overlap, and the match is no worse
    default, report = gc_matched_negatives(fasta, peaks)
    _, old = gc_matched_negatives(fasta, peaks, allow_overlap=False)
    assert 0 < report.n_overlapping <= 2 * old.n_borrowed and report.ks_statistic <= old.ks_statistic


def test_gc_clustered_genome_negatives_overlap_where_needed_and_match_gc(clustered, caplog):
    fasta, peaks = clustered
    peak_iv = read_bed(peaks)
    with caplog.at_level(logging.WARNING):
        negatives, report = gc_matched_negatives(fasta, peaks, ratio=1)
    assert report.n_negatives == report.n_requested == report.n_peaks == len(negatives) == len(peak_iv)
    assert report.ks_statistic < 0.05, report.summary()
    assert report.shortfall_reason is None and caplog.text == ""
    assert report.n_overlapping == overlapping_count(negatives) > 0  # overlaps were needed...
    assert report.n_overlapping < len(negatives)  # ...but not everywhere: disjoint tiles first
    assert len(set(zip(negatives.chrom.tolist(), negatives.start.tolist()))) == len(negatives)  # no tile twice
    padded = Intervals(peak_iv.chrom, peak_iv.start - WIDTH // 2, peak_iv.end + WIDTH // 2)
    assert not negatives.overlaps(padded).any()
    # the old rule (negatives never overlap) fills the request with a poor match on this genome, and says so
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        disjoint, old = gc_matched_negatives(fasta, peaks, ratio=1, allow_overlap=False)
    assert self_overlaps(disjoint) == 0 and old.ks_statistic > 0.2 and old.n_borrowed > report.n_borrowed
    assert "match the peaks' GC poorly" in caplog.text and "set allow_overlap to auto" in caplog.text
    # ChromBPNet's way (overlaps ignored) matches as well, with more overlaps
    chrombpnet, loose = gc_matched_negatives(fasta, peaks, ratio=1, allow_overlap=True)
    assert loose.ks_statistic < 0.05 and loose.n_negatives == report.n_requested
    assert loose.n_overlapping == overlapping_count(chrombpnet) >= report.n_overlapping


def test_impossible_request_draws_every_candidate_and_says_why_in_log_and_report(clustered, caplog):
    fasta, peaks = clustered
    with caplog.at_level(logging.WARNING):
        negatives, report = gc_matched_negatives(fasta, peaks, ratio=30)
    assert report.n_requested == 30 * report.n_peaks > report.n_candidates == report.n_negatives == len(negatives)
    assert report.shortfall_reason.startswith(f"only {report.n_candidates} candidate tiles are left")
    assert "lower padding, stride or ratio" in report.shortfall_reason
    warning = f"only {report.n_negatives} of the {report.n_requested} negatives asked for could be drawn: "
    assert warning + report.shortfall_reason in caplog.text
    assert "match the peaks' GC poorly" in caplog.text  # all candidates: the background's GC, not the peaks'


# --- bad inputs --------------------------------------------------------------------------


def test_peak_off_the_chromosome_end_names_the_file(genome, tmp_path):
    fasta, _, _ = genome
    bad = tmp_path / "off_end.bed"
    end = len(genome[2]["chr2"])
    bad.write_text(f"chr1\t1000\t1300\nchr2\t{end - 100}\t{end + 100}\n")
    with pytest.raises(DataError, match=rf"off_end.bed: 1 interval\(s\) run off a chromosome end, the first chr2:{end - 100}-{end + 100}"):
        gc_matched_negatives(fasta, bad, width=WIDTH)


def test_peak_chromosome_missing_from_the_fasta_names_the_file(genome, tmp_path):
    fasta, _, _ = genome
    bad = tmp_path / "other_genome.bed"
    bad.write_text("chr1\t1000\t1300\n1\t500\t800\n")
    with pytest.raises(DataError, match=r"other_genome.bed: chromosome\(s\) 1 are not in .*genome.fa.*'chr' prefix"):
        gc_matched_negatives(fasta, bad, width=WIDTH)


@pytest.mark.parametrize(
    "line, message",
    [("chr1\t100\n", "at least 3 columns"), ("chr1\t300\t100\n", "start 300 must be >= 0 and <= end 100")],
)
def test_malformed_peak_lines(genome, tmp_path, line, message):
    fasta, _, _ = genome
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\t1000\t1300\n" + line)
    with pytest.raises(DataError, match=f"bad.bed:2: .*{message}"):
        gc_matched_negatives(fasta, bad, width=WIDTH)


def test_empty_peaks_or_a_ratio_asking_for_nothing(genome, tmp_path):
    fasta, peaks, _ = genome
    empty = tmp_path / "empty.bed"
    empty.write_text("# no peaks\n")
    with pytest.raises(DataError, match="empty.bed: no peaks"):
        gc_matched_negatives(fasta, empty)
    with pytest.raises(DataError, match="ratio 0.001 asks for no negatives"):
        gc_matched_negatives(fasta, peaks, ratio=0.001)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ratio": 0}, "ratio must be > 0"), ({"stride": 0}, "stride"), ({"max_n_fraction": 2}, "max_n_fraction"),
        ({"allow_overlap": "sometimes"}, "allow_overlap must be 'auto', true or false, got 'sometimes'"),
    ],
)
def test_bad_arguments(genome, kwargs, message):
    fasta, peaks, _ = genome
    with pytest.raises(DataError, match=message):
        gc_matched_negatives(fasta, peaks, **kwargs)


# --- report and plot -------------------------------------------------------------------------


def test_report_and_plot_are_written(genome, tmp_path):
    fasta, peaks, _ = genome
    _, report = gc_matched_negatives(fasta, peaks, ratio=1)
    report.write(tmp_path / "gc_match.json")
    assert MatchReport.model_validate(json.loads((tmp_path / "gc_match.json").read_text())) == report
    plot_gc_match(report, tmp_path / "gc_match.png")
    assert (tmp_path / "gc_match.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gc_match.json", "gc_match.png"]  # no temporary left behind


# --- the stage, through the CLI ------------------------------------------------------------


def test_negatives_stage_runs_skips_and_reruns_on_new_peaks_or_seed(genome, tmp_path, capsys):
    fasta, peaks, _ = genome
    (tmp_path / "genome.fa").symlink_to(fasta)
    (tmp_path / "peaks.narrowPeak").write_bytes(peaks.read_bytes())
    spec = tmp_path / "spec.yaml"

    def run(seed: int) -> str:
        spec.write_text(
            "output_dir: out\nstages:\n  neg:\n    stage: negatives\n"
            f"    params: {{genome: genome.fa, peaks: peaks.narrowPeak, seed: {seed}}}\n"
        )
        code = run_cli(["run", str(spec)])
        captured = capsys.readouterr()
        assert code == 0, captured.out + captured.err
        return captured.out + captured.err

    run(0)
    out = tmp_path / "out/neg"
    first = (out / "negatives.bed").read_bytes()
    report = json.loads((out / "gc_match.json").read_text())
    assert report["ks_statistic"] < 0.05 and (out / "gc_match.png").stat().st_size > 0
    assert len(read_bed(out / "negatives.bed")) == report["n_negatives"] > 0
    assert "KS statistic" in (tmp_path / "out/run.log").read_text()
    assert "skipped" in run(0)
    run(1)
    assert (out / "negatives.bed").read_bytes() != first
    second = (out / "negatives.bed").read_bytes()
    (tmp_path / "peaks.narrowPeak").write_text("".join(peaks.read_text().splitlines(keepends=True)[::2]))
    assert "skipped" not in run(1)
    assert (out / "negatives.bed").read_bytes() != second


def test_stage_writes_the_shortfall_and_overlaps_into_gc_match_json(clustered, tmp_path, capsys):
    fasta, peaks = clustered
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "output_dir: out\nstages:\n  neg:\n    stage: negatives\n"
        f"    params: {{genome: {fasta}, peaks: {peaks}, ratio: 30, allow_overlap: auto}}\n"
    )
    assert run_cli(["run", str(spec)]) == 0, capsys.readouterr()
    report = json.loads((tmp_path / "out/neg/gc_match.json").read_text())
    assert report["n_negatives"] < report["n_requested"] and report["allow_overlap"] == "auto"
    assert report["shortfall_reason"].startswith("only") and report["n_overlapping"] > 0
    log = (tmp_path / "out/run.log").read_text()
    assert f"only {report['n_negatives']} of the {report['n_requested']} negatives asked for could be drawn" in log
    spec.write_text(spec.read_text().replace("allow_overlap: auto", "allow_overlap: sometimes"))
    assert run_cli(["validate", str(spec)]) == 2
    assert "allow_overlap" in capsys.readouterr().err
