"""Reads to bigWig: exact counts per mode, parity with bam2bw, clear errors, and the stage."""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyBigWig
import pysam
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.core.errors import InputError
from bpnet.data import readcount
from bpnet.data.errors import DataError
from bpnet.data.readcount import CountOptions, count_reads, reads_to_track_set, write_track_set
from bpnet.data.sources import ReadSource, open_source
from bpnet.data.sources import reads as reads_module
from bpnet.data.sources.reads import BamSource, SamSource, TsvSource
from bpnet.data.stages.bigwig import ReadsToBigwigParams
from bpnet.data.tracks import read_track_set

from ..http_server import closed_port_url, serve_folder

SIZES = {"chr1": 5000, "chr2": 3000}
BAM2BW = Path(sys.executable).parent / "bam2bw"


@pytest.fixture(autouse=True)
def download_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BPNET_CACHE_DIR", str(tmp_path / "cache"))


# -- building real files ----------------------------------------------------------------


def read(chrom, start, cigar="10M", flag=0, mapq=30, name=None, mate=None, tlen=0):
    return {"chrom": chrom, "start": start, "cigar": cigar, "flag": flag, "mapq": mapq, "name": name, "mate": mate, "tlen": tlen}


def write_alignments(path: Path, reads: list[dict], refs: dict[str, int], mode: str = "wb") -> Path:
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": c, "LN": n} for c, n in refs.items()]}
    with pysam.AlignmentFile(str(path), mode, header=header) as out:
        for i, r in enumerate(reads):
            a = pysam.AlignedSegment(out.header)
            a.query_name = r["name"] or f"read{i}"
            a.flag = r["flag"]
            a.reference_name = r["chrom"]
            a.reference_start = r["start"]
            a.mapping_quality = r["mapq"]
            a.cigarstring = r["cigar"]
            length = a.infer_query_length() if r["cigar"] != "*" else 10
            a.query_sequence = "ACGTA" * (length // 5) + "A" * (length % 5)
            a.query_qualities = pysam.qualitystring_to_array("I" * length)
            if r["mate"] is not None:
                a.next_reference_name = r["chrom"]
                a.next_reference_start = r["mate"]
                a.template_length = r["tlen"]
            out.write(a)
    return path


def write_bam(path: Path, reads: list[dict], refs: dict[str, int] | None = None, *, sort=True, index=True) -> Path:
    refs = refs or {**SIZES, "chrM": 16569}
    if not sort:
        return write_alignments(path, reads, refs)
    unsorted = write_alignments(path.with_name(path.stem + ".unsorted.bam"), reads, refs)
    pysam.sort("-o", str(path), str(unsorted))
    unsorted.unlink()
    if index:
        pysam.index(str(path))
    return path


# chr1: + read at 100 (10M); - read at 200 whose CIGAR has a soft clip and a deletion
# (reference span 25: ends at 224); - read at 100 (5' end 109); chr2: + read with an
# insertion at 0 (span 10); - read ending at the chromosome end (5' end 2999);
# chrM (not in the genome); an unmapped read; a duplicate with MAPQ 5; a secondary.
READS = [
    read("chr1", 100),
    read("chr1", 200, "3S10M5D10M", flag=16),
    read("chr1", 100, flag=16),
    read("chr2", 0, "5M2I5M"),
    read("chr2", 2990, flag=16),
    read("chrM", 5),
    read("chr1", 50, flag=4),
    read("chr1", 300, flag=1024, mapq=5),
    read("chr1", 400, flag=256),
]


@pytest.fixture
def bam(tmp_path) -> Path:
    return write_bam(tmp_path / "reads.bam", READS)


@pytest.fixture
def genome(small_genome) -> Path:
    return small_genome[0]


def count(paths, options: CountOptions, **kwargs):
    sources = [open_source(p, ReadSource) for p in (paths if isinstance(paths, list) else [paths])]
    return count_reads(sources, SIZES, options, **kwargs)


def as_dict(counts, strand="plus") -> dict[tuple[str, int], int]:
    table = getattr(counts, strand)
    return {(c, int(p)): int(n) for c, s in table.items() for p, n in zip(s.positions, s.counts)}


def bigwig_values(path: Path) -> dict[str, np.ndarray]:
    bw = pyBigWig.open(str(path))
    try:
        return {c: np.nan_to_num(bw.values(c, 0, n, numpy=True)) for c, n in bw.chroms().items()}
    finally:
        bw.close()


# -- counting modes ---------------------------------------------------------------------


def test_stranded_five_prime_ends_follow_the_cigar(bam):
    counts = count(bam, CountOptions())
    assert as_dict(counts, "plus") == {("chr1", 100): 1, ("chr1", 300): 1, ("chr1", 400): 1, ("chr2", 0): 1}
    assert as_dict(counts, "minus") == {("chr1", 224): 1, ("chr1", 109): 1, ("chr2", 2999): 1}
    assert counts.reads == 7 and counts.skipped == 1  # the unmapped read
    assert counts.missing == {"chrM": 1}


def test_three_prime_ends(bam):
    counts = count(bam, CountOptions(ends="three-prime"))
    assert as_dict(counts, "plus") == {("chr1", 109): 1, ("chr1", 309): 1, ("chr1", 409): 1, ("chr2", 9): 1}
    assert as_dict(counts, "minus") == {("chr1", 200): 1, ("chr1", 100): 1, ("chr2", 2990): 1}


def test_unstranded_sums_both_strands(bam):
    counts = count(bam, CountOptions(stranded=False))
    assert as_dict(counts) == {
        ("chr1", 100): 1,
        ("chr1", 109): 1,
        ("chr1", 224): 1,
        ("chr1", 300): 1,
        ("chr1", 400): 1,
        ("chr2", 0): 1,
        ("chr2", 2999): 1,
    }
    assert counts.minus == {}


def test_shifts_move_left_and_right_ends_and_drop_ends_off_the_chromosome(bam):
    counts = count(bam, CountOptions(shift_plus=4, shift_minus=-5))
    assert as_dict(counts, "plus") == {("chr1", 104): 1, ("chr1", 304): 1, ("chr1", 404): 1, ("chr2", 4): 1}
    assert as_dict(counts, "minus") == {("chr1", 219): 1, ("chr1", 104): 1, ("chr2", 2994): 1}
    off = count(bam, CountOptions(shift_minus=3))
    assert off.off_chromosome == {"chr2": 1} and ("chr2", 3002) not in as_dict(off, "minus")


def test_both_ends_unstranded_with_atac_shifts(bam):
    counts = count(bam, CountOptions(stranded=False, ends="both", shift_plus=4, shift_minus=-4))
    expected = {
        ("chr1", 104): 2, ("chr1", 105): 2, ("chr1", 204): 1, ("chr1", 220): 1, ("chr1", 304): 1, ("chr1", 305): 1,
        ("chr1", 404): 1, ("chr1", 405): 1, ("chr2", 4): 1, ("chr2", 5): 1, ("chr2", 2994): 1, ("chr2", 2995): 1,
    }
    assert as_dict(counts) == expected
    assert counts.ends == 14


def test_filters_drop_duplicates_low_mapq_and_secondary(bam):
    assert ("chr1", 300) not in as_dict(count(bam, CountOptions(drop_duplicates=True)))
    assert ("chr1", 300) not in as_dict(count(bam, CountOptions(min_mapq=10)))
    assert ("chr1", 400) not in as_dict(count(bam, CountOptions(drop_secondary=True)))


def paired_bam(path: Path) -> Path:
    reads = [
        # proper pair, fragment [1000, 1150): mate 1 forward, mate 2 reverse
        read("chr1", 1000, "20M", flag=99, name="p1", mate=1130, tlen=150),
        read("chr1", 1130, "20M", flag=147, name="p1", mate=1000, tlen=-150),
        # proper pair whose leftmost mate is reverse, fragment [2000, 2100)
        read("chr1", 2000, "20M", flag=83, name="p2", mate=2080, tlen=100),
        read("chr1", 2080, "20M", flag=163, name="p2", mate=2000, tlen=-100),
        # not a proper pair: skipped
        read("chr1", 3000, "20M", flag=65, name="p3", mate=3500, tlen=520),
        read("chr1", 3500, "20M", flag=145, name="p3", mate=3000, tlen=-520),
        # a supplementary record of a proper pair's leftmost mate: not a second fragment
        read("chr1", 1000, "20M", flag=99 | 2048, name="p1", mate=1130, tlen=150),
    ]
    return write_bam(path, reads)


def test_paired_end_fragments_record_both_fragment_ends(tmp_path):
    bam = paired_bam(tmp_path / "pairs.bam")
    counts = count(bam, CountOptions(stranded=False, ends="both", paired_end=True, shift_plus=4, shift_minus=-4))
    assert as_dict(counts) == {("chr1", 1004): 1, ("chr1", 1145): 1, ("chr1", 2004): 1, ("chr1", 2095): 1}
    assert counts.reads == 2


def test_paired_end_stranded_fragments_take_the_leftmost_mates_strand(tmp_path):
    counts = count(paired_bam(tmp_path / "pairs.bam"), CountOptions(paired_end=True))
    assert as_dict(counts, "plus") == {("chr1", 1000): 1}
    assert as_dict(counts, "minus") == {("chr1", 2099): 1}


def test_paired_end_mode_on_single_end_reads_says_so(bam):
    with pytest.raises(DataError, match="no reads left.*single-end.*paired_end: false"):
        count(bam, CountOptions(paired_end=True))


def test_several_files_and_formats_are_summed(tmp_path, bam):
    sam = write_alignments(tmp_path / "more.sam", [read("chr1", 100), read("chr2", 500, flag=16)], {**SIZES}, mode="w")
    tsv = tmp_path / "frags.tsv.gz"
    with gzip.open(tsv, "wt") as out:
        out.write("# fragments\nchr1\t100\t150\tAAC\t2\nchrM\t1\t9\tAAC\t1\n\nchr2 10 20\n")
    counts = count([bam, sam, tsv], CountOptions())
    plus = as_dict(counts, "plus")
    assert plus[("chr1", 100)] == 3  # BAM, SAM and the tsv fragment start
    assert plus[("chr2", 10)] == 1
    assert as_dict(counts, "minus")[("chr2", 509)] == 1
    assert counts.reads == 7 + 2 + 2 and counts.missing == {"chrM": 2}


def test_sam_counts_like_bam(tmp_path, bam):
    sam = write_alignments(tmp_path / "reads.sam", READS, {**SIZES, "chrM": 16569}, mode="w")
    for options in (CountOptions(), CountOptions(stranded=False, ends="both", shift_plus=4, shift_minus=-4)):
        from_sam, from_bam = count(sam, options), count(bam, options)
        assert as_dict(from_sam) == as_dict(from_bam) and as_dict(from_sam, "minus") == as_dict(from_bam, "minus")
        assert (from_sam.reads, from_sam.skipped, from_sam.missing) == (from_bam.reads, from_bam.skipped, from_bam.missing)


def test_tsv_fragments_both_ends_with_shifts(tmp_path):
    tsv = tmp_path / "frags.tsv"
    tsv.write_text("chr1\t100\t150\nchr1\t100\t130\tx\nchr2\t2990\t3000\n")
    counts = count(tsv, CountOptions(stranded=False, ends="both", shift_plus=4, shift_minus=-4))
    assert as_dict(counts) == {("chr1", 104): 2, ("chr1", 125): 1, ("chr1", 145): 1, ("chr2", 2994): 1, ("chr2", 2995): 1}


def test_10x_fragment_rows_are_cut_sites_at_start_and_end_with_atac_shifts(tmp_path):
    tsv = tmp_path / "fragments.tsv.gz"
    with gzip.open(tsv, "wt") as out:
        out.write("# id=x\nchr1\t104\t145\tAAAC-1\t2\nchr2\t2994\t2995\tAAAC-1\t1\n")
    atac = CountOptions(stranded=False, ends="both", shift_plus=4, shift_minus=-4, fragment_format="10x")
    assert as_dict(count(tsv, atac)) == {("chr1", 104): 1, ("chr1", 145): 1, ("chr2", 2994): 1, ("chr2", 2995): 1}
    # without shifts: the read 5' ends of the fragment as sequenced, [100, 150)
    raw = CountOptions(stranded=False, ends="both", fragment_format="10x")
    assert as_dict(count(tsv, raw))[("chr1", 100)] == as_dict(count(tsv, raw))[("chr1", 149)] == 1


def test_parallel_workers_give_the_same_counts(bam, monkeypatch):
    serial = count(bam, CountOptions(stranded=False, ends="both"))
    monkeypatch.setattr(readcount, "PARALLEL_MIN_READS", 0)
    parallel = count(bam, CountOptions(stranded=False, ends="both"), processes=2)
    assert as_dict(parallel) == as_dict(serial) and parallel.reads == serial.reads


def test_worker_errors_reach_the_caller(tmp_path, monkeypatch):
    bam = write_bam(tmp_path / "nocigar.bam", [read("chr1", 10), read("chr2", 10, cigar="*", name="odd")])
    monkeypatch.setattr(readcount, "PARALLEL_MIN_READS", 0)
    with pytest.raises(DataError, match="read odd is mapped to chr2 but has no CIGAR"):
        count(bam, CountOptions(), processes=2)


def test_strands_written_in_parallel_are_complete(tmp_path, bam, monkeypatch):
    monkeypatch.setattr(readcount, "PARALLEL_WRITE_MIN", 0)
    monkeypatch.setattr(readcount, "cpu_count", lambda: 2)
    options = CountOptions()
    manifest = write_track_set(count(bam, options), SIZES, tmp_path / "tracks", options)
    plus, minus = (bigwig_values(p) for p in manifest.paths(tmp_path / "tracks"))
    assert plus["chr1"].sum() == 3 and minus["chr1"][224] == 1 and minus["chr2"][2999] == 1


@pytest.mark.parametrize("parallel", [False, True])
def test_unstranded_streaming_writer_matches_count_then_write(tmp_path, bam, monkeypatch, parallel):
    other = write_bam(tmp_path / "other.bam", [read("chr2", 40), read("chr1", 100, flag=16), read("chrM", 3)])
    tsv = tmp_path / "frags.tsv"
    tsv.write_text("chr2\t40\t90\nchr1\t4990\t5000\n")
    if parallel:
        monkeypatch.setattr(readcount, "PARALLEL_MIN_READS", 0)
    options = CountOptions(stranded=False, ends="both", shift_plus=4, shift_minus=-4)
    sources = [open_source(p, ReadSource) for p in (bam, other, tsv)]
    streamed = reads_to_track_set(sources, SIZES, options, tmp_path / "streamed", processes=2)
    counted = write_track_set(
        count_reads([open_source(p, ReadSource) for p in (bam, other, tsv)], SIZES, options),
        SIZES,
        tmp_path / "counted",
        options,
    )
    assert_same_tracks(streamed.paths(tmp_path / "streamed"), counted.paths(tmp_path / "counted"))
    assert streamed.description == counted.description and streamed.reads == 7 + 2 + 2
    assert streamed.description["reads_on_chromosomes_not_in_genome"] == {"chrM": 2}


def test_streaming_writer_leaves_no_file_on_error(tmp_path, bam):
    with pytest.raises(DataError, match="no reads left"):
        reads_to_track_set([open_source(bam, ReadSource)], SIZES, CountOptions(stranded=False, min_mapq=255), tmp_path / "tracks")
    assert not list((tmp_path / "tracks").iterdir())


def test_track_set_files_and_manifest(tmp_path, bam):
    options = CountOptions()
    counts = count(bam, options)
    write_track_set(counts, SIZES, tmp_path / "tracks", options, description={"inputs": [str(bam)]})
    paths, manifest = read_track_set(tmp_path / "tracks")
    assert [p.name for p in paths] == ["plus.bw", "minus.bw"] and [t.strand for t in manifest.tracks] == ["+", "-"]
    assert manifest.reads == 7 and manifest.description["options"]["shift_plus"] == 0
    assert manifest.description["reads_on_chromosomes_not_in_genome"] == {"chrM": 1}
    plus = bigwig_values(paths[0])
    assert plus["chr1"][100] == 1 and plus["chr1"].sum() == 3 and plus["chr2"][0] == 1
    assert bigwig_values(paths[1])["chr1"][224] == 1


# -- parity with the bam2bw script ------------------------------------------------------


def run_bam2bw(tmp_path: Path, genome: Path, inputs: list[Path], *flags: str) -> list[Path]:
    name = tmp_path / f"bam2bw{len(list(tmp_path.glob('bam2bw*')))}"
    result = subprocess.run([str(BAM2BW), "-s", str(genome), "-n", str(name), *flags, *map(str, inputs)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [Path(f"{name}.bw")] if "-u" in flags else [Path(f"{name}.+.bw"), Path(f"{name}.-.bw")]


def assert_same_tracks(ours: list[Path], theirs: list[Path]) -> None:
    for mine, reference in zip(ours, theirs, strict=True):
        a, b = bigwig_values(mine), bigwig_values(reference)
        assert a.keys() == b.keys()
        for chrom in a:
            assert np.array_equal(a[chrom], b[chrom]), chrom


@pytest.mark.skipif(not BAM2BW.exists(), reason="the bam2bw script is not installed")
def test_same_bigwigs_as_bam2bw(tmp_path, bam, genome):
    tsv = tmp_path / "frags.tsv.gz"
    with gzip.open(tsv, "wt") as out:
        out.write("#c\tstart\tend\nchr1\t100\t150\nchr1\t100\t180\nchrM\t1\t9\nchr2\t0\t10\n")
    cases = [
        ([bam], CountOptions(), ()),
        ([bam], CountOptions(stranded=False, ends="both", shift_plus=4, shift_minus=-4), ("-u", "-f", "-ps", "4", "-ns", "-4")),
        ([bam, tsv], CountOptions(shift_plus=1, shift_minus=3), ("-ps", "1", "-ns", "3")),
        ([tsv], CountOptions(stranded=False, ends="three-prime"), ("-u", "-3p")),
    ]
    sizes = {"chr1": 5000, "chr2": 3000}
    for i, (inputs, options, flags) in enumerate(cases):
        counts = count_reads([open_source(p, ReadSource) for p in inputs], sizes, options)
        manifest = write_track_set(counts, sizes, tmp_path / f"ours{i}", options)
        assert_same_tracks(manifest.paths(tmp_path / f"ours{i}"), run_bam2bw(tmp_path, genome, inputs, *flags))


# -- bad inputs -------------------------------------------------------------------------


def test_chr_prefix_mismatch_is_explained(tmp_path):
    bam = write_bam(tmp_path / "ensembl.bam", [read("1", 10), read("2", 10)], {"1": 5000, "2": 3000})
    with pytest.raises(DataError, match=r"ensembl\.bam: none of its chromosomes \(1, 2\).*'chr' prefix"):
        count(bam, CountOptions())


def test_unrelated_chromosome_names_are_an_error(tmp_path):
    bam = write_bam(tmp_path / "other.bam", [read("scaffold_1", 10)], {"scaffold_1": 5000})
    with pytest.raises(DataError, match=r"other\.bam: none of its chromosomes.*another assembly"):
        count(bam, CountOptions())


def test_partial_prefix_mismatch_is_an_error(tmp_path):
    bam = write_bam(tmp_path / "mixed.bam", [read("chr1", 10), read("2", 10)], {"chr1": 5000, "2": 3000})
    with pytest.raises(DataError, match=r"mixed\.bam: its chromosome names \(2\).*'chr' prefix"):
        count(bam, CountOptions())


def test_empty_bam(tmp_path):
    bam = write_bam(tmp_path / "empty.bam", [])
    with pytest.raises(DataError, match=r"empty\.bam: the BAM has no mapped reads"):
        count(bam, CountOptions())


def test_unsorted_bam_says_how_to_sort(tmp_path):
    bam = write_bam(tmp_path / "unsorted.bam", [read("chr1", 500), read("chr1", 100)], sort=False)
    with pytest.raises(
        DataError,
        match=(
            r"unsorted\.bam: the BAM is not sorted by coordinate \(read read1 at chr1:101 comes after "
            r"chr1:501\).*samtools sort -o sorted\.bam unsorted\.bam"
        ),
    ):
        count(bam, CountOptions())
    assert not list(tmp_path.glob("unsorted.bam*.bai")) and not list(tmp_path.glob(".*tmp*"))


def test_unindexed_sorted_bam_is_indexed_next_to_it(tmp_path, caplog):
    bam = write_bam(tmp_path / "noindex.bam", READS, index=False)
    with caplog.at_level(logging.INFO):
        counts = count(bam, CountOptions())
    assert (tmp_path / "noindex.bam.bai").exists() and counts.reads == 7
    assert "it had no index; indexed it into" in caplog.text


def test_unindexed_bam_in_a_read_only_folder_is_indexed_in_the_cache(tmp_path, monkeypatch):
    bam = write_bam(tmp_path / "noindex.bam", READS, index=False)
    monkeypatch.setattr(reads_module.os, "access", lambda path, mode: False)
    source = BamSource(bam)
    assert count(bam, CountOptions()).reads == 7
    assert not (tmp_path / "noindex.bam.bai").exists()
    assert source.index.is_relative_to(tmp_path / "cache") and source.index.exists()


def test_csi_index_is_read(tmp_path):
    bam = write_bam(tmp_path / "csi.bam", READS, index=False)
    pysam.index("-c", str(bam))
    source = BamSource(bam)
    assert count_reads([source], SIZES, CountOptions()).reads == 7
    assert source.index.name == "csi.bam.csi" and not (tmp_path / "csi.bam.bai").exists()


def test_index_older_than_the_bam_is_rebuilt_in_the_cache(tmp_path, bam, caplog):
    index = Path(f"{bam}.bai")
    old = bam.stat().st_mtime - 100
    os.utime(index, (old, old))
    source = BamSource(bam)
    with caplog.at_level(logging.INFO):
        assert count_reads([source], SIZES, CountOptions()).reads == 7
    assert source.index.is_relative_to(tmp_path / "cache") and "is older than the BAM" in caplog.text


def test_truncated_bam(tmp_path, bam):
    cut = tmp_path / "cut.bam"
    cut.write_bytes(bam.read_bytes()[:-40])
    with pytest.raises(DataError, match=r"cut\.bam: no BGZF end-of-file marker: the BAM is truncated"):
        count(cut, CountOptions())


def test_text_named_bam_is_refused(tmp_path):
    fake = tmp_path / "fake.bam"
    fake.write_text("chr1\t1\t10\n")
    with pytest.raises(DataError, match=r"fake\.bam: .*(truncated|not a BAM)"):
        count(fake, CountOptions())


def test_mapped_read_without_cigar_is_named(tmp_path):
    bam = write_bam(tmp_path / "nocigar.bam", [read("chr1", 10, cigar="*", name="odd")])
    with pytest.raises(DataError, match=r"nocigar\.bam: read odd is mapped to chr1 but has no CIGAR"):
        count(bam, CountOptions())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chr1\t1\t10\nchr1\t5\t20\nchr1\t7\n", r"frags\.tsv:3: expected at least 3 columns"),
        ("# header\nchr1\t1\t10\nchr1\t1x\t20\n", r"frags\.tsv:3: start and end must be integers, found '1x'"),
        ("chr1\t1\n", r"frags\.tsv:1: expected at least 3 columns"),
    ],
)
def test_bad_tsv_line_is_named(tmp_path, text, message):
    tsv = tmp_path / "frags.tsv"
    tsv.write_text(text)
    with pytest.raises(DataError, match=message):
        count(tsv, CountOptions(stranded=False))


def test_empty_tsv(tmp_path):
    tsv = tmp_path / "frags.tsv.gz"
    with gzip.open(tsv, "wt") as out:
        out.write("# nothing\n")
    with pytest.raises(DataError, match=r"frags\.tsv\.gz: no reads or fragments"):
        count(tsv, CountOptions(stranded=False))


def test_unknown_read_format(tmp_path):
    with pytest.raises(
        DataError,
        match=r"reads\.cram: no installed data source reads files named like this as reads \(sources: bam \(\.bam\); sam",
    ):
        open_source(tmp_path / "reads.cram", ReadSource)


def test_sources_are_registered_and_picked_by_suffix():
    assert isinstance(open_source("x.bam", ReadSource), BamSource) and isinstance(open_source("x.SAM", ReadSource), SamSource)
    assert isinstance(open_source("x.fragments.tsv.gz", ReadSource), TsvSource)
    assert isinstance(open_source("x.bed.gz", ReadSource), TsvSource)  # as reads, BED text is fragments (as bam2bw reads it)


# -- URLs -------------------------------------------------------------------------------


def test_bam_by_url_with_and_without_an_index(tmp_path, bam):
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(bam, served / "indexed.bam")
    shutil.copy(f"{bam}.bai", served / "indexed.bam.bai")
    shutil.copy(bam, served / "bare.bam")
    with serve_folder(served) as base:
        for name in ("indexed.bam", "bare.bam"):
            counts = count_reads([BamSource(f"{base}/{name}", retries=1, timeout=5)], SIZES, CountOptions())
            assert as_dict(counts, "minus")[("chr1", 224)] == 1 and counts.reads == 7


def test_unreachable_url_is_a_quick_input_error():
    source = BamSource(closed_port_url("reads.bam"), retries=1, timeout=2)
    with pytest.raises(InputError, match="could not download bam file http://127.0.0.1"):
        count_reads([source], SIZES, CountOptions())


# -- the stage --------------------------------------------------------------------------


def test_presets_fill_parameters_and_explicit_values_win():
    atac = ReadsToBigwigParams(reads=["a.bam"], genome="g.fa", preset="atac")
    assert (atac.stranded, atac.ends, atac.paired_end, atac.shift_plus, atac.shift_minus) == (False, "both", True, 4, -4)
    mine = ReadsToBigwigParams(reads=["a.tsv.gz"], genome="g.fa", preset="atac", shift_minus=-5, paired_end=False)
    assert (mine.shift_minus, mine.paired_end, mine.shift_plus) == (-5, False, 4)
    tenx = ReadsToBigwigParams(reads=["fragments.tsv.gz"], genome="g.fa", preset="atac", fragment_format="10x").count_options()
    assert (tenx.fragment_format, tenx.shift_plus, tenx.shift_minus) == ("10x", 4, -4)
    assert mine.count_options().fragment_format == "sequenced"


def cli(capsys, *args) -> tuple[int, str]:
    code = run_cli([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def write_spec(tmp_path: Path, shift_plus: int = 0, reads: str = "[reads.bam]") -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(f"""
        output_dir: out
        stages:
          chip:
            stage: reads-to-bigwig
            params: {{reads: {reads}, genome: genome.fa, shift_plus: {shift_plus}}}
    """))
    return spec


def runs(tmp_path: Path) -> int:
    return (tmp_path / "out/run.log").read_text().count("running stage chip")


def test_stage_runs_from_a_spec_skips_and_reruns_on_changes(tmp_path, capsys, bam, genome):
    spec = write_spec(tmp_path)
    code, out = cli(capsys, "run", spec)
    assert code == 0, out
    tracks = tmp_path / "out/chip/tracks"
    assert sorted(p.name for p in tracks.iterdir()) == ["minus.bw", "plus.bw", "tracks.json"]
    manifest = json.loads((tracks / "tracks.json").read_text())
    assert manifest["reads"] == 7 and manifest["description"]["stage"] == "reads-to-bigwig"
    assert bigwig_values(tracks / "plus.bw")["chr1"][100] == 1
    assert "chrM: 1" in (tmp_path / "out/run.log").read_text()

    code, out = cli(capsys, "run", spec)
    assert code == 0 and "skipped" in out and runs(tmp_path) == 1

    write_spec(tmp_path, shift_plus=2)
    code, out = cli(capsys, "run", spec)
    assert code == 0 and runs(tmp_path) == 2
    assert bigwig_values(tracks / "plus.bw")["chr1"][102] == 1

    write_bam(bam, READS + [read("chr1", 700)])
    code, out = cli(capsys, "run", spec)
    assert code == 0 and runs(tmp_path) == 3
    assert json.loads((tracks / "tracks.json").read_text())["reads"] == 8


def test_stage_reads_a_bam_by_url(tmp_path, capsys, bam, genome):
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(bam, served / "remote.bam")
    with serve_folder(served) as base:
        code, out = cli(capsys, "run", write_spec(tmp_path, reads=f"[{base}/remote.bam]"))
    assert code == 0, out
    assert bigwig_values(tmp_path / "out/chip/tracks/minus.bw")["chr1"][224] == 1


def test_stage_error_is_one_clear_line(tmp_path, capsys, genome):
    write_bam(tmp_path / "reads.bam", [read("1", 10)], {"1": 5000})
    code, out = cli(capsys, "run", write_spec(tmp_path))
    assert code != 0 and "Traceback" not in out
    assert re.search(r"reads\.bam: none of its chromosomes \(1\).*'chr' prefix", " ".join(out.split()))
    assert not (tmp_path / "out/chip/tracks").exists()


def test_stage_refuses_unknown_read_formats_at_validation(tmp_path, capsys, genome):
    (tmp_path / "reads.cram").write_text("")
    code, out = cli(capsys, "validate", write_spec(tmp_path, reads="[reads.cram]"))
    assert code == 2 and "reads.cram: no installed data source reads files named like this as reads" in " ".join(out.split())
