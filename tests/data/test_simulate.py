"""The simulator: deterministic, readable files whose signal matches the reads and the ground truth."""

from __future__ import annotations

import gzip
import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pyBigWig
import pyfaidx
import pysam
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.data.errors import DataError
from bpnet.data.motifs import read_meme, scan, score_sites
from bpnet.data.onehot import encode_codes
from bpnet.data.simulate import Simulation, simulate
from bpnet.data.simulate.config import SimulationConfig
from bpnet.data.sources.bed import read_bed
from bpnet.data.tracks import read_track_set

SMALL = {"genome_size": 200_000, "n_chroms": 4, "n_peaks": 40}


@pytest.fixture(scope="module")
def chip(tmp_path_factory) -> Simulation:
    return simulate(tmp_path_factory.mktemp("chip") / "sim", "chip", seed=7, **SMALL)


@pytest.fixture(scope="module")
def atac(tmp_path_factory) -> Simulation:
    return simulate(tmp_path_factory.mktemp("atac") / "sim", "atac", seed=7, **SMALL)


def all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def bigwig_values(path: Path, chrom: str) -> np.ndarray:
    with pyBigWig.open(str(path)) as bw:
        return np.nan_to_num(np.array(bw.values(chrom, 0, bw.chroms(chrom)), dtype=np.float64))


def sizes_of(sim: Simulation) -> dict[str, int]:
    return {name: int(n) for name, n in (line.split("\t") for line in sim.sizes.read_text().splitlines())}


# -- layout and determinism ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["chip", "atac"])
def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path, kind):
    first = simulate(tmp_path / "a", kind, seed=3, genome_size=60_000, n_chroms=4, n_peaks=12)
    second = simulate(tmp_path / "b", kind, seed=3, genome_size=60_000, n_chroms=4, n_peaks=12)
    assert all_files(first.out) == all_files(second.out)
    other = simulate(tmp_path / "c", kind, seed=4, genome_size=60_000, n_chroms=4, n_peaks=12)
    assert other.genome.read_bytes() != first.genome.read_bytes()


def test_chip_writes_the_documented_layout(chip):
    names = set(all_files(chip.out))
    assert names == {
        "genome.fa", "genome.fa.fai", "genome.sizes", "motifs.meme", "sites.bed", "peaks.narrowPeak", "simulation.json",
        "reads.bam", "reads.bam.bai", "control.bam", "control.bam.bai",
        "signal/plus.bw", "signal/minus.bw", "signal/tracks.json", "control/plus.bw", "control/minus.bw", "control/tracks.json",
    }
    assert not list(chip.out.parent.glob(".*tmp*"))


def test_atac_writes_the_documented_layout(atac):
    assert set(all_files(atac.out)) == {
        "genome.fa", "genome.fa.fai", "genome.sizes", "motifs.meme", "sites.bed", "peaks.narrowPeak", "simulation.json",
        "reads.bam", "reads.bam.bai", "fragments.tsv.gz", "fragments.tsv.gz.tbi", "signal/unstranded.bw", "signal/tracks.json", "bias.meme",
    }
    (bias,) = read_meme(atac.bias)
    assert bias.width == 11 and np.allclose(bias.pwm, bias.reverse_complement().pwm)


def test_without_reads_only_genome_motifs_sites_and_peaks_are_written_and_match(tmp_path, chip):
    bare = simulate(tmp_path / "bare", "chip", seed=7, reads=False, **SMALL)
    files = all_files(bare.out)
    assert set(files) == {"genome.fa", "genome.fa.fai", "genome.sizes", "motifs.meme", "sites.bed", "peaks.narrowPeak", "simulation.json"}
    for name in ("genome.fa", "sites.bed", "peaks.narrowPeak"):  # reads do not change the ground truth
        assert files[name] == (chip.out / name).read_bytes()


def test_manifest_records_parameters_counts_and_version(chip):
    manifest = json.loads(chip.manifest.read_text())
    assert manifest["seed"] == 7 and manifest["kind"] == "chip"
    assert manifest["parameters"]["genome_size"] == 200_000 and manifest["parameters"]["n_peaks"] == 40
    assert manifest["package_version"] and manifest["counts"]["reads"] == chip.counts["reads"] > 0
    assert {m["alt_name"] for m in manifest["motifs"]} == {"CTCF", "GATA1", "Spi1", "FOS::JUN", "CEBPB"}
    assert Simulation.load(chip.out) == chip


# -- files are readable and consistent -------------------------------------------------


def test_genome_is_readable_with_chromosomes_chr1_to_chrN(chip):
    fasta = pyfaidx.Fasta(str(chip.genome))
    sizes = sizes_of(chip)
    assert list(sizes) == ["chr1", "chr2", "chr3", "chr4"] and sum(sizes.values()) == 200_000
    assert {k: len(v) for k, v in fasta.items()} == sizes
    assert set(str(fasta["chr2"][:])) <= set("ACGT")
    with pysam.FastaFile(str(chip.genome)) as fa:  # the .fai we wrote is what samtools expects
        assert fa.fetch("chr3", 1000, 1060) == str(fasta["chr3"][1000:1060])


def test_bams_are_sorted_indexed_and_have_no_program_lines(chip, atac):
    for path in (chip.reads, chip.control, atac.reads):
        with pysam.AlignmentFile(str(path)) as bam:
            assert bam.header.to_dict()["HD"]["SO"] == "coordinate" and "PG" not in bam.header.to_dict()
            assert bam.has_index() and bam.mapped > 0
            keys = [(r.reference_id, r.reference_start) for r in bam.fetch(until_eof=True)]
            assert keys == sorted(keys)


def test_bam_reads_carry_the_reference_sequence(chip):
    fasta = pyfaidx.Fasta(str(chip.genome))
    with pysam.AlignmentFile(str(chip.reads)) as bam:
        for read in list(bam.fetch("chr1"))[:50]:
            assert read.query_sequence == str(fasta["chr1"][read.reference_start : read.reference_end])


def test_chip_bigwigs_equal_the_bam_five_prime_counts(chip):
    for bam_path, folder in ((chip.reads, chip.signal), (chip.control, chip.control_signal)):
        paths, tracks = read_track_set(folder)
        assert [t.strand for t in tracks.tracks] == ["+", "-"] and tracks.strand_pairs() == [(0, 1)]
        sizes = sizes_of(chip)
        with pysam.AlignmentFile(str(bam_path)) as bam:
            assert tracks.reads == bam.mapped
            for chrom, size in sizes.items():
                plus, minus = np.zeros(size), np.zeros(size)
                for read in bam.fetch(chrom):
                    if read.is_reverse:
                        minus[read.reference_end - 1] += 1
                    else:
                        plus[read.reference_start] += 1
                np.testing.assert_array_equal(bigwig_values(paths[0], chrom), plus)
                np.testing.assert_array_equal(bigwig_values(paths[1], chrom), minus)


def test_atac_pairs_are_proper_with_mate_fields_right(atac):
    with pysam.AlignmentFile(str(atac.reads)) as bam:
        reads = list(bam.fetch("chr2"))
    by_name: dict[str, list] = {}
    for r in reads:
        by_name.setdefault(r.query_name, []).append(r)
    assert all(len(pair) == 2 for pair in by_name.values())
    for first, second in list(by_name.values())[:500]:
        fwd, rev = (first, second) if not first.is_reverse else (second, first)
        assert fwd.is_paired and fwd.is_proper_pair and rev.is_proper_pair and rev.is_reverse and not fwd.is_reverse
        assert fwd.is_read1 != rev.is_read1 and fwd.mate_is_reverse and not rev.mate_is_reverse
        assert fwd.next_reference_start == rev.reference_start and rev.next_reference_start == fwd.reference_start
        assert fwd.template_length == rev.reference_end - fwd.reference_start == -rev.template_length > 0


def test_atac_bigwig_equals_shifted_bam_cuts_and_fragment_cuts(atac):
    paths, tracks = read_track_set(atac.signal)
    assert [t.strand for t in tracks.tracks] == ["."]
    sizes = sizes_of(atac)
    from_bam = {c: np.zeros(n) for c, n in sizes.items()}
    with pysam.AlignmentFile(str(atac.reads)) as bam:
        for read in bam.fetch(until_eof=True):  # + strand 5' end + 4, - strand 5' end - 4
            cut = read.reference_end - 1 - 4 if read.is_reverse else read.reference_start + 4
            from_bam[read.reference_name][cut] += 1
    from_fragments = {c: np.zeros(n) for c, n in sizes.items()}
    with gzip.open(atac.fragments, "rt") as handle:
        for line in handle:
            chrom, start, end, barcode, count = line.split("\t")
            assert int(count) == 1
            from_fragments[chrom][int(start) + 4] += 1
            from_fragments[chrom][int(end) - 5] += 1
    for chrom in sizes:
        signal = bigwig_values(paths[0], chrom)
        np.testing.assert_array_equal(signal, from_bam[chrom])
        np.testing.assert_array_equal(signal, from_fragments[chrom])
    assert tracks.reads == 2 * atac.counts["fragments"]


def test_fragments_are_tabix_indexed(atac):
    with pysam.TabixFile(str(atac.fragments)) as tabix:
        rows = list(tabix.fetch("chr1", 10_000, 20_000))
    assert rows and all(len(r.split("\t")) == 5 for r in rows)


# -- ground truth ----------------------------------------------------------------------


def test_planted_sites_carry_their_motif(chip):
    motifs = {m.name: m for m in read_meme(chip.motifs)}
    fasta = pyfaidx.Fasta(str(chip.genome))
    lines = chip.sites.read_text().splitlines()
    assert len(lines) == chip.counts["sites"] >= chip.counts["peaks"]
    for line in lines:
        chrom, start, end, name, score, strand = line.split("\t")
        motif = motifs[name]
        codes = encode_codes(str(fasta[chrom][int(start) : int(end)]))
        forward, reverse = scan(codes, motif)[:, 0]
        found = forward if strand == "+" else reverse
        low, high = motif.score_range()
        assert found == pytest.approx(float(score), abs=1e-3)
        assert (found - low) / (high - low) >= SimulationConfig().min_site_score
        assert found == pytest.approx(score_sites(codes if strand == "+" else 3 - codes[::-1], motif))


def test_min_site_score_sets_how_close_to_consensus_planted_sites_are(tmp_path):
    strict = simulate(tmp_path / "strict", "chip", seed=3, reads=False, min_site_score=0.97, **SMALL)
    motifs = {m.name: m for m in read_meme(strict.motifs)}
    for line in strict.sites.read_text().splitlines():
        _, _, _, name, score, _ = line.split("\t")
        low, high = motifs[name].score_range()
        assert (float(score) - low) / (high - low) >= 0.97 - 1e-9


def test_every_motif_is_planted_many_times(chip):
    names = [line.split("\t")[3] for line in chip.sites.read_text().splitlines()]
    counts = {n: names.count(n) for n in set(names)}
    assert set(counts) == {m.name for m in read_meme(chip.motifs)}
    assert max(counts.values()) - min(counts.values()) <= 1  # dealt evenly


def strong_matches(sim: Simulation, threshold: float) -> list[tuple[str, int, int]]:
    """(chrom, start, end) of every window matching a planted motif at ``threshold`` of its score range."""
    fasta = pyfaidx.Fasta(str(sim.genome))
    found = []
    for motif in read_meme(sim.motifs):
        low, high = motif.score_range()
        for chrom in fasta.keys():
            _, starts = np.nonzero(scan(encode_codes(str(fasta[chrom][:])), motif) >= low + threshold * (high - low))
            found += [(chrom, int(a), int(a) + motif.width) for a in starts]
    return found


def test_strong_motif_matches_occur_only_at_planted_sites(chip, tmp_path):
    sites = [line.split("\t") for line in chip.sites.read_text().splitlines()]

    def near_a_site(chrom: str, start: int, end: int) -> bool:  # overlaps a site, or a site's edge made it
        return any(c == chrom and start < int(b) and int(a) < end for c, a, b, *_ in sites)

    matches = strong_matches(chip, 0.8)
    assert matches and all(near_a_site(*m) for m in matches)
    kept = simulate(tmp_path / "kept", "chip", seed=7, reads=False, deplete_above=None, **SMALL)
    assert sum(not near_a_site(*m) for m in strong_matches(kept, 0.8)) > 50  # a random genome has many


def test_depletion_changes_few_bases_and_keeps_the_gc_blocks(chip, tmp_path):
    kept = simulate(tmp_path / "kept", "chip", seed=7, reads=False, deplete_above=None, **SMALL)
    depleted, original = (encode_codes(str(pyfaidx.Fasta(str(s.genome))["chr1"][:])) for s in (chip, kept))
    changed = depleted != original
    assert 0.001 < changed.mean() < 0.06
    gc = lambda codes: np.isin(codes, (1, 2)).mean()  # noqa: E731
    assert gc(depleted) == pytest.approx(gc(original), abs=0.01)


def test_peaks_are_narrowpeaks_around_their_sites(chip):
    peaks = read_bed(chip.peaks)
    assert len(peaks) == chip.counts["peaks"] == 40
    widths = peaks.end - peaks.start
    assert widths.min() >= 200 and widths.max() <= 500
    assert ((peaks.summit > peaks.start) & (peaks.summit < peaks.end)).all()
    sites = read_bed(chip.sites)
    assert sites.overlaps(peaks).all() and peaks.overlaps(sites).all()


def test_chip_peaks_have_far_more_reads_than_background(chip):
    width = 400
    peaks = read_bed(chip.peaks).windows(width)
    sizes = sizes_of(chip)
    paths, _ = read_track_set(chip.signal)
    outside, outside_bp, in_peaks = 0.0, 0, []
    for chrom in sizes:
        signal = bigwig_values(paths[0], chrom) + bigwig_values(paths[1], chrom)
        near = np.zeros(len(signal), bool)
        for c, s, e in zip(peaks.chrom, peaks.start, peaks.end):
            if c == chrom:
                in_peaks.append(signal[s:e].sum())
                near[max(s - 500, 0) : e + 500] = True
        outside += signal[~near].sum()
        outside_bp += int((~near).sum())
    background = outside / outside_bp * width  # reads expected in a peak-sized window of background
    assert np.median(in_peaks) > 10 * background
    assert np.min(in_peaks) > 3 * background


def test_chip_footprint_is_stranded_around_sites(chip):
    sites = read_bed(chip.sites)
    centres = sites.start + (sites.end - sites.start) // 2
    paths, _ = read_track_set(chip.signal)
    offsets = np.arange(-250, 251)
    plus, minus = np.zeros(len(offsets)), np.zeros(len(offsets))
    for chrom in sorted(set(sites.chrom)):
        strand_plus, strand_minus = bigwig_values(paths[0], chrom), bigwig_values(paths[1], chrom)
        for centre in centres[sites.chrom == chrom]:
            plus += strand_plus[centre - 250 : centre + 251]
            minus += strand_minus[centre - 250 : centre + 251]
    assert np.average(offsets, weights=plus) < -50 and np.average(offsets, weights=minus) > 50


def test_atac_cuts_are_enriched_in_peaks_and_follow_tn5_bias(atac):
    (bias,) = read_meme(atac.bias)
    peaks = read_bed(atac.peaks)
    fasta = pyfaidx.Fasta(str(atac.genome))
    paths, _ = read_track_set(atac.signal)
    cut_bias, all_bias, in_peak_cuts, total_cuts = [], [], 0.0, 0.0
    for chrom in fasta.keys():
        cuts = bigwig_values(paths[0], chrom)
        total_cuts += cuts.sum()
        mask = np.zeros(len(cuts), bool)
        for c, s, e in zip(peaks.chrom, peaks.start, peaks.end):
            if c == chrom:
                mask[s:e] = True
        in_peak_cuts += cuts[mask].sum()
        score = np.zeros(len(cuts))
        score[5:-5] = scan(encode_codes(str(fasta[chrom][:])), bias, both_strands=False)
        background = ~mask & (cuts > 0)
        cut_bias.append(np.repeat(score[background], cuts[background].astype(int)))
        all_bias.append(score[5:-5])
    genome_fraction = (peaks.end - peaks.start).sum() / 200_000
    assert in_peak_cuts / total_cuts > 5 * genome_fraction
    assert np.concatenate(cut_bias).mean() > np.concatenate(all_bias).mean() + 0.5  # bits


def test_genome_gc_varies_in_blocks_and_peaks_are_gc_richer(tmp_path):
    sim = simulate(tmp_path / "gc", "chip", seed=1, genome_size=1_000_000, n_peaks=200, reads=False)
    fasta = pyfaidx.Fasta(str(sim.genome))
    windows = []
    for chrom in fasta.keys():
        codes = encode_codes(str(fasta[chrom][:]))
        n = len(codes) // 2000
        windows.append(np.isin(codes[: n * 2000].reshape(n, 2000), (1, 2)).mean(axis=1))
    gc = np.concatenate(windows)
    assert np.percentile(gc, 5) < 0.40 and np.percentile(gc, 95) > 0.55
    peaks = read_bed(sim.peaks)
    peak_gc = [np.isin(encode_codes(str(fasta[c][s - 1000 : s + 1000])), (1, 2)).mean() for c, s in zip(peaks.chrom, peaks.summit)]
    assert np.mean(peak_gc) > gc.mean() + 0.01


DOMAINS = {"size": 100_000, "rich_fraction": 0.3, "peak_share": 0.9}


def test_gc_domains_alternate_poor_and_rich_runs_of_isochores():
    from bpnet.data.simulate.config import GcDomains
    from bpnet.data.simulate.genome import make_genome

    genome = make_genome(np.random.default_rng(0), 4_000_000, 4, gc_range=(0.35, 0.60), domains=GcDomains(**DOMAINS))
    iso = genome.isochores
    length = iso.end - iso.start
    assert (iso.gc[iso.rich] >= 0.475).all() and (iso.gc[~iso.rich] < 0.475).all()  # upper / lower half of gc_range
    assert abs(length[iso.rich].sum() / length.sum() - 0.3) < 0.05
    # a domain is a run of isochores of one kind; kinds alternate along a chromosome
    new_domain = np.r_[True, (iso.rich[1:] != iso.rich[:-1]) | (iso.chrom[1:] != iso.chrom[:-1])]
    assert 30 <= new_domain.sum() <= 50  # 4 Mb in domains of ~100 kb
    assert new_domain.sum() < len(iso) / 2  # each holds several isochores (50 kb on average)
    first = np.flatnonzero(new_domain)
    domain_length = np.add.reduceat(length, first)
    rich_length = domain_length[iso.rich[first]]
    assert 0.5 * 60_000 <= np.median(rich_length) <= 1.5 * 60_000  # 2 * size * rich_fraction
    codes = genome.codes[0]
    per_base_rich = iso.per_base(iso.rich, 0)
    assert np.isin(codes[per_base_rich], (1, 2)).mean() > np.isin(codes[~per_base_rich], (1, 2)).mean() + 0.08


def test_gc_domains_put_the_peaks_in_gc_rich_domains_at_the_set_share(tmp_path):
    def peak_window_gc(sim: Simulation) -> np.ndarray:
        fasta = pyfaidx.Fasta(str(sim.genome))
        peaks = read_bed(sim.peaks)
        return np.array([np.isin(encode_codes(str(fasta[c][s - 1000 : s + 1000])), (1, 2)).mean()
                         for c, s in zip(peaks.chrom, peaks.summit)])

    options = {"genome_size": 2_000_000, "n_peaks": 150, "reads": False, "deplete_above": None}
    sim = simulate(tmp_path / "rich", "chip", seed=1, gc_domains=DOMAINS, **options)
    manifest = json.loads(sim.manifest.read_text())
    assert manifest["parameters"]["gc_domains"] == DOMAINS
    assert manifest["counts"]["peaks_in_gc_rich"] == 135  # round(0.9 * 150)
    assert 0.15 < manifest["counts"]["gc_rich_bp"] / 2_000_000 < 0.45  # about rich_fraction, give or take a domain per chromosome
    assert (peak_window_gc(sim) > 0.475).mean() > 0.8
    poor = simulate(tmp_path / "poor", "chip", seed=1, gc_domains={**DOMAINS, "peak_share": 0.0}, **options)
    assert json.loads(poor.manifest.read_text())["counts"]["peaks_in_gc_rich"] == 0
    assert (peak_window_gc(poor) > 0.475).mean() < 0.2


def test_gc_domains_are_off_by_default_and_leave_the_files_as_they_were(tmp_path):
    default = simulate(tmp_path / "default", "chip", seed=3, genome_size=60_000, n_peaks=12, reads=False)
    off = simulate(tmp_path / "off", "chip", seed=3, genome_size=60_000, n_peaks=12, reads=False, gc_domains=False)
    assert all_files(default.out) == all_files(off.out)
    manifest = json.loads(default.manifest.read_text())
    assert "gc_domains" not in manifest["parameters"] and "gc_rich_bp" not in manifest["counts"]
    on = simulate(tmp_path / "on", "chip", seed=3, genome_size=2_000_000, reads=False, deplete_above=None, gc_domains=True)
    assert json.loads(on.manifest.read_text())["parameters"]["gc_domains"] == {"size": 300_000, "rich_fraction": 0.3, "peak_share": 0.9}
    with pytest.raises(DataError, match="no GC-rich domain has room for peaks .* lower gc_domains.size, or set gc_domains.peak_share to 0"):
        simulate(tmp_path / "tiny", "chip", seed=3, genome_size=60_000, n_peaks=12, reads=False, gc_domains={"rich_fraction": 0.01})


@pytest.mark.parametrize(
    "domains, message",
    [
        ({"size": 5}, "gc_domains.size: Input should be greater than or equal to 10000"),
        ({"peak_share": 1.5}, "gc_domains.peak_share: Input should be less than or equal to 1"),
        ({"rich_fraction": 1}, "gc_domains.rich_fraction: Input should be less than 1"),
        ({"rich": 0.3}, "gc_domains.rich: Extra inputs are not permitted"),
    ],
)
def test_bad_gc_domains_are_data_errors_naming_the_field(tmp_path, domains, message):
    with pytest.raises(DataError, match=re.escape(message)):
        simulate(tmp_path / "x", "chip", genome_size=100_000, reads=False, gc_domains=domains)
    assert not (tmp_path / "x").exists()


def test_too_many_peaks_for_the_rich_domains_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"cannot place 1500 peaks .* with 90% of them in GC-rich domains.*gc_domains.peak_share"):
        simulate(tmp_path / "x", "chip", genome_size=4_000_000, n_peaks=1500, reads=False, deplete_above=None,
                 gc_domains=DOMAINS)


def test_user_meme_file_is_planted(tmp_path):
    meme = tmp_path / "mine.meme"
    meme.write_text(textwrap.dedent("""\
        MEME version 4

        ALPHABET= ACGT

        MOTIF polyA_box test
        letter-probability matrix: alength= 4 w= 8 nsites= 10 E= 0
        0.97 0.01 0.01 0.01
        0.97 0.01 0.01 0.01
        0.01 0.97 0.01 0.01
        0.01 0.97 0.01 0.01
        0.01 0.01 0.97 0.01
        0.01 0.01 0.97 0.01
        0.01 0.01 0.01 0.97
        0.01 0.01 0.01 0.97

        MOTIF gt_box
        letter-probability matrix: alength= 4 w= 6
        0.01 0.01 0.97 0.01
        0.01 0.01 0.01 0.97
        0.01 0.01 0.97 0.01
        0.01 0.01 0.01 0.97
        0.01 0.01 0.97 0.01
        0.01 0.01 0.01 0.97
        """))
    sim = simulate(tmp_path / "out", "chip", seed=2, genome_size=100_000, n_peaks=20, motifs=meme, reads=False)
    assert [m.name for m in read_meme(sim.motifs)] == ["polyA_box", "gt_box"]
    fasta = pyfaidx.Fasta(str(sim.genome))
    expected = {"polyA_box": "AACCGGTT", "gt_box": "GTGTGT"}
    for line in sim.sites.read_text().splitlines():
        chrom, start, end, name, _, strand = line.split("\t")
        seq = str(fasta[chrom][int(start) : int(end)])
        consensus = expected[name]
        if strand == "-":
            consensus = consensus.translate(str.maketrans("ACGT", "TGCA"))[::-1]
        assert sum(a == b for a, b in zip(seq, consensus)) >= len(consensus) - 1


# -- errors, atomicity, CLI and stage --------------------------------------------------


def test_bad_parameters_and_motif_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="frip"):
        simulate(tmp_path / "x", "chip", frip=1.5)
    with pytest.raises(DataError, match="kind"):
        simulate(tmp_path / "x", "dnase")
    with pytest.raises(DataError, match="at least 10000 bp"):
        simulate(tmp_path / "x", "chip", genome_size=40_000, n_chroms=8)
    bad = tmp_path / "bad.meme"
    bad.write_text("MOTIF a\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5 0.5\n")
    with pytest.raises(DataError, match=r"bad\.meme:3"):
        simulate(tmp_path / "x", "chip", motifs=bad)
    with pytest.raises(DataError, match=r"min_site_score \(0.8\) must be above deplete_above \(0.8\)"):
        simulate(tmp_path / "x", "chip", min_site_score=0.8)
    with pytest.raises(DataError, match="cannot place 1000 peaks"):
        simulate(tmp_path / "x", "chip", genome_size=100_000, n_peaks=1000)
    assert not (tmp_path / "x").exists()


def test_a_motif_too_weak_to_deplete_is_a_clear_error_and_leaves_nothing(tmp_path, capsys):
    flat = tmp_path / "flat.meme"  # uniform: every window of any genome matches it
    flat.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF flat FLAT\nletter-probability matrix: alength= 4 w= 6\n"
                    + "0.25 0.25 0.25 0.25\n" * 6)
    with pytest.raises(DataError, match=r"motif\(s\) FLAT still match the background .* deplete_above"):
        simulate(tmp_path / "x", "chip", motifs=flat, reads=False, **SMALL)
    assert not (tmp_path / "x").exists()
    args = ["simulate", "--out", str(tmp_path / "cli"), "--motifs", str(flat), "--genome-size", "200000", "--no-reads"]
    assert run_cli(args) == 2
    output = capsys.readouterr()
    errors = [line for line in (output.out + output.err).splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "FLAT still match the background" in errors[0] and "Traceback" not in output.err
    assert not (tmp_path / "cli").exists()


def test_an_interrupted_run_leaves_nothing_behind(tmp_path, monkeypatch):
    from bpnet.data.simulate import bam

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bam, "write_single_end", broken)
    with pytest.raises(KeyboardInterrupt):
        simulate(tmp_path / "sim", "chip", genome_size=60_000)
    assert list(tmp_path.iterdir()) == []


def test_cli_simulates_atac_and_refuses_a_non_empty_folder(tmp_path, capsys):
    out = tmp_path / "sim"
    args = ["simulate", "--out", str(out), "--kind", "atac", "--genome-size", "60000", "--seed", "5"]
    assert run_cli(args) == 0
    text = capsys.readouterr()
    assert (out / "fragments.tsv.gz").exists() and "fragments.tsv.gz" in text.err + text.out  # the summary table
    before = all_files(out)
    assert run_cli(args) == 2
    output = capsys.readouterr()
    errors = [line for line in (output.out + output.err).splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "not empty" in errors[0] and "Traceback" not in output.err
    assert all_files(out) == before
    assert run_cli(args + ["--force"]) == 0
    assert all_files(out) == before  # same seed, same files


def test_cli_reports_bad_values_as_one_line(tmp_path, capsys):
    assert run_cli(["simulate", "--out", str(tmp_path / "s"), "--frip", "2"]) == 2
    output = capsys.readouterr()
    assert "frip" in output.out + output.err and "Traceback" not in output.out + output.err


SPEC = """\
output_dir: out
stages:
  sim:
    stage: simulate
    params: {{kind: chip, seed: {seed}, genome_size: 60000, motifs: mine.meme, options: {{max_sites: 2}}}}
"""


def test_stage_runs_from_a_spec_is_skipped_then_reruns_on_changes(tmp_path, capsys):
    meme = tmp_path / "mine.meme"
    meme.write_text((Path(__file__).parents[2] / "packages/bpnet-data/src/bpnet/data/simulate/jaspar.meme").read_text())
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(seed=1))
    assert run_cli(["run", str(spec)]) == 0
    folder = tmp_path / "out/sim/simulation"
    assert (folder / "reads.bam").exists() and json.loads((folder / "simulation.json").read_text())["seed"] == 1
    capsys.readouterr()
    assert run_cli(["run", str(spec)]) == 0
    assert "skipped" in capsys.readouterr().err
    spec.write_text(SPEC.format(seed=2))
    assert run_cli(["run", str(spec)]) == 0
    assert "ran" in capsys.readouterr().err
    assert json.loads((folder / "simulation.json").read_text())["seed"] == 2
    meme.write_text(meme.read_text().replace("MOTIF MA0466.4 CEBPB", "MOTIF MA0466.4 CEBPbeta"))
    assert run_cli(["run", str(spec)]) == 0
    assert "ran" in capsys.readouterr().err
    assert "CEBPbeta" in (folder / "motifs.meme").read_text()


@pytest.mark.parametrize("option, named", [("min_site_score: 0.8", "min_site_score (0.8) must be above deplete_above"),
                                           ("tn5_strength: -1", "tn5_strength: Input should be greater than or equal to 0"),
                                           ("gc_domains: {{peak_share: 2}}",
                                            "gc_domains.peak_share: Input should be less than or equal to 1")])
def test_bad_simulator_options_fail_validation_naming_them_and_write_nothing(tmp_path, capsys, option, named):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("motifs: mine.meme, ", "").replace("max_sites: 2", option).format(seed=1))
    for command in ("validate", "run"):
        assert run_cli([command, str(spec)]) == 2
        output = capsys.readouterr()
        errors = [line for line in (output.out + output.err).splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "spec.yaml:5" in errors[0] and named in errors[0] and "Traceback" not in output.err
    assert not (tmp_path / "out").exists()


def test_stage_options_without_depletion_and_with_gc_domains_validate(tmp_path):
    spec = tmp_path / "spec.yaml"
    options = "deplete_above: null, gc_domains: {{size: 100000, peak_share: 0.8}}"  # braces doubled for str.format
    spec.write_text(SPEC.replace("motifs: mine.meme, ", "").replace("max_sites: 2", options).format(seed=1))
    assert run_cli(["validate", str(spec)]) == 0
