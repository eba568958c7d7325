"""FASTA, bigWig and BED sources: exact values, URLs, and clear errors for bad files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from bpnet.core.errors import InputError, RegistryError
from bpnet.data.bigwig_io import write_bigwig
from bpnet.data.errors import DataError
from bpnet.data.intervals import Intervals
from bpnet.data.sources import (
    BedSource,
    BigWigSource,
    ChromSizesSource,
    FastaSource,
    IntervalSource,
    ReadSource,
    SequenceSource,
    SizesSource,
    genome_sizes,
    open_source,
    read_bed,
)
from bpnet.data.sources.reads import TsvSource
from bpnet.data.tracks import Track, TrackSet, read_track_set

from ..http_server import closed_port_url, serve_folder


@pytest.fixture(autouse=True)
def download_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BPNET_CACHE_DIR", str(tmp_path / "cache"))


def test_fasta_gives_sequence_and_codes(small_genome):
    path, chroms = small_genome
    fasta = FastaSource(path)
    assert fasta.sizes == {"chr1": 5000, "chr2": 3000}
    assert fasta.sequence("chr1", 100, 130) == chroms["chr1"][100:130]
    codes = fasta.codes("chr2", 995, 1005)
    assert codes.dtype == np.uint8 and list(codes[5:]) == [4] * 5
    assert "ACGT"[codes[0]] == chroms["chr2"][995]


def test_fasta_missing_chromosome_names_the_prefix_problem(small_genome):
    fasta = FastaSource(small_genome[0])
    with pytest.raises(DataError, match="'1' is not in the genome .*'chr' prefix"):
        fasta.sequence("1", 0, 10)


def test_fasta_window_off_the_end_is_refused(small_genome):
    with pytest.raises(DataError, match="off the ends of chr2"):
        FastaSource(small_genome[0]).sequence("chr2", 2990, 3010)


def test_gzip_fasta_says_to_bgzip(small_genome, tmp_path):
    gz = tmp_path / "genome.fa.gz"
    gz.write_bytes(gzip.compress(small_genome[0].read_bytes()))
    with pytest.raises(DataError, match="bgzip"):
        _ = FastaSource(gz).sizes


def test_genome_sizes_reads_fasta_and_sizes_files(small_genome, tmp_path):
    sizes = tmp_path / "genome.sizes"
    sizes.write_text("chr1\t5000\nchr2\t3000\n")
    assert genome_sizes(sizes) == genome_sizes(small_genome[0]) == {"chr1": 5000, "chr2": 3000}
    sizes.write_text("chr1 lots\n")
    with pytest.raises(DataError, match="genome.sizes:1"):
        genome_sizes(sizes)


def test_bigwig_round_trip_with_zeros_where_empty(tmp_path):
    values = np.zeros(1000, np.float32)
    values[[3, 500, 999]] = [1, 7, 2]
    write_bigwig(tmp_path / "t.bw", {"chr1": 1000, "chr2": 50}, {"chr1": values})
    bw = BigWigSource(tmp_path / "t.bw")
    assert np.array_equal(bw.chromosome("chr1"), values)
    assert bw.values("chr2", 0, 50).sum() == 0
    with pytest.raises(DataError, match="chromosome 'chr3' is not in the bigWig"):
        bw.values("chr3", 0, 10)


def test_not_a_bigwig_is_a_clear_error(tmp_path):
    (tmp_path / "x.bw").write_text("hello")
    with pytest.raises(DataError, match="not a readable bigWig"):
        _ = BigWigSource(tmp_path / "x.bw").sizes


def test_bed_and_gzipped_narrowpeak_with_summits(tmp_path):
    path = tmp_path / "peaks.narrowPeak.gz"
    with gzip.open(path, "wt") as out:
        out.write("track name=x\nchr1\t100\t300\tp1\t50\t.\t9.5\t-1\t-1\t40\n#c\nchr2\t10\t20\tp2\t0\t.\t1\t-1\t-1\t-1\n")
    peaks = read_bed(path)
    assert list(peaks.chrom) == ["chr1", "chr2"] and list(peaks.summit) == [140, -1]
    assert list(peaks.centres()) == [140, 15]
    assert list(peaks.windows(10).start) == [135, 10]


@pytest.mark.parametrize(
    ("line", "message"),
    [("chr1\t5\n", r"bad.bed:2: expected at least 3 columns"), ("chr1\t50\t20\n", r"bad.bed:2: start 50 must be >= 0 and <= end 20"),
     ("chr1\tx\t20\n", r"bad.bed:2: start and end must be integers")],
)
def test_bad_bed_lines_name_file_and_line(tmp_path, line, message):
    (tmp_path / "bad.bed").write_text("chr1\t1\t2\n" + line)
    with pytest.raises(DataError, match=message):
        read_bed(tmp_path / "bad.bed")


def test_intervals_off_chromosome_end_are_reported(tmp_path):
    loci = Intervals(np.array(["chr1", "chr1"], dtype=object), np.array([0, 990]), np.array([10, 1010]))
    with pytest.raises(DataError, match="1 interval.*chr1:990-1010"):
        loci.check_within({"chr1": 1000}, file="peaks.bed", reference_file="genome.fa")
    with pytest.raises(DataError, match="chr1 are not in genome.fa.*'chr' prefix"):
        loci.check_within({"1": 1000}, file="peaks.bed", reference_file="genome.fa")


def test_overlaps_finds_every_touching_interval():
    a = Intervals(np.array(["c"] * 4, dtype=object), np.array([0, 10, 25, 100]), np.array([5, 20, 30, 110]))
    b = Intervals(
        np.array(["c", "c", "d"], dtype=object), np.array([4, 2, 25]), np.array([11, 24, 30]))
    assert list(a.overlaps(b)) == [True, True, False, False]


def test_bed_written_and_read_back(tmp_path):
    loci = Intervals(
        np.array(["chr1"], dtype=object),
        np.array([5]),
        np.array([25]),
        summit=np.array([12]),
        name=np.array(["p"], dtype=object),
    )
    loci.write_bed(tmp_path / "x.narrowPeak", narrowpeak=True)
    again = read_bed(tmp_path / "x.narrowPeak")
    assert (again.start[0], again.end[0], again.summit[0], again.name[0]) == (5, 25, 12, "p")


def test_sources_open_urls_through_the_download_cache(small_genome, tmp_path):
    with serve_folder(small_genome[0].parent) as base:
        fasta = open_source(f"{base}/genome.fa")
        assert isinstance(fasta, FastaSource)
        assert fasta.sequence("chr1", 0, 20) == small_genome[1]["chr1"][:20]


def test_unreachable_url_is_a_clear_input_error(tmp_path):
    source = BedSource(closed_port_url("peaks.bed"))
    with pytest.raises(InputError, match="could not download"):
        _ = source.path


def test_open_source_refuses_unknown_suffixes(tmp_path):
    with pytest.raises(DataError, match=r"reads\.xyz: no installed data source reads files named like this as data \(sources: bam"):
        open_source(tmp_path / "reads.xyz")


def test_open_source_picks_by_role_then_longest_suffix():
    assert isinstance(open_source("peaks.bed"), BedSource)  # as anything, BED is intervals ('bed' sorts before 'tsv')
    assert isinstance(open_source("reads.bed", ReadSource), TsvSource)  # as reads, fragments
    assert isinstance(open_source("g.chrom.sizes", SizesSource), ChromSizesSource)
    assert isinstance(open_source("G.FA.GZ", SequenceSource), FastaSource)
    assert isinstance(open_source("x.txt", IntervalSource, name="bed"), BedSource)  # a name overrides the suffix
    with pytest.raises(DataError, match=r"g\.chrom\.sizes: .* as a genome sequence \(sources: fasta \(\.fa,"):
        open_source("g.chrom.sizes", SequenceSource)  # sizes alone are no sequence
    with pytest.raises(RegistryError, match=r"source 'bed' from plugin 'data' \(bpnet-data\) cannot be used here: it is not a ReadSource"):
        open_source("x.bed", ReadSource, name="bed")


def test_a_suffix_no_source_claims_is_read_by_the_roles_fallback(small_genome, tmp_path):
    fasta, chroms = small_genome
    unusual = tmp_path / "genome.fna"  # NCBI's FASTA suffix: no source claims it
    unusual.write_text(fasta.read_text())
    assert isinstance(open_source(unusual, SequenceSource), FastaSource)
    assert open_source(unusual, SequenceSource).sequence("chr1", 0, 10) == chroms["chr1"][:10]
    assert genome_sizes(unusual) == {name: len(seq) for name, seq in chroms.items()}
    assert isinstance(open_source("peaks.txt", IntervalSource), BedSource)
    with pytest.raises(DataError, match=r"reads\.xyz: no installed data source reads files named like this as reads"):
        open_source("reads.xyz", ReadSource)  # reads have no fallback: BAM, SAM and text differ too much


def test_track_set_manifest_gives_paths_and_strand_pairs(tmp_path):
    TrackSet(tracks=[Track(file="plus.bw", strand="+"), Track(file="minus.bw", strand="-")], reads=10).write(tmp_path / "t")
    paths, tracks = read_track_set(tmp_path / "t")
    assert [p.name for p in paths] == ["plus.bw", "minus.bw"] and tracks.strand_pairs() == [(0, 1)]
    with pytest.raises(DataError, match="without tracks.json"):
        read_track_set(tmp_path)
