"""Loci extraction: exact windows from real FASTA/bigWig files, HDF5 round trip, bad inputs, the loci stage."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.data.bigwig_io import write_bigwig
from bpnet.data.errors import DataError
from bpnet.data.loci import LociSet, count_outliers, extract_loci, memory_per_locus
from bpnet.data.onehot import encode_codes
from bpnet.data.splits import Fold, Splits
from bpnet.data.tracks import Track, TrackSet

from ..conftest import random_sequence, write_fasta

LIN, LOUT, J = 200, 100, 10
SIZES = {"chr1": 5000, "chr2": 3000}


def plus_value(chrom: str, pos: np.ndarray) -> np.ndarray:
    return (pos + 1 + (100_000 if chrom == "chr2" else 0)).astype(np.float32)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """genome.fa, a stranded track set signal/ (plus = pos+1, minus = 2*(pos+1)), an
    unstranded control.bw (3*(pos+1)), peaks.narrowPeak (summits), negatives.bed, splits.json."""
    chroms = {"chr1": random_sequence(SIZES["chr1"], 1), "chr2": random_sequence(SIZES["chr2"], 2)}
    genome = write_fasta(tmp_path / "genome.fa", chroms)
    dense = {c: plus_value(c, np.arange(n)) for c, n in SIZES.items()}
    signal = tmp_path / "signal"
    signal.mkdir()
    write_bigwig(signal / "plus.bw", SIZES, dense)
    write_bigwig(signal / "minus.bw", SIZES, {c: 2 * v for c, v in dense.items()})
    TrackSet(tracks=[Track(file="plus.bw", strand="+"), Track(file="minus.bw", strand="-")]).write(signal)
    write_bigwig(tmp_path / "control.bw", SIZES, {c: 3 * v for c, v in dense.items()})
    # summit offsets in column 10; the third peak has none (-1: midpoint)
    (tmp_path / "peaks.narrowPeak").write_text(
        "chr1\t1000\t1400\tp1\t0\t.\t5\t-1\t-1\t150\n"
        "chr2\t1500\t1700\tp2\t0\t.\t9\t-1\t-1\t20\n"
        "chr1\t3000\t3300\tp3\t0\t.\t7\t-1\t-1\t-1\n"
    )
    (tmp_path / "negatives.bed").write_text("chr1\t2000\t2200\nchr2\t500\t700\n")
    Splits(folds={"fold_0": Fold(train=["chr1"], valid=["chr2"])}).write(tmp_path / "splits.json")
    return {"genome": genome, "signal": signal, "control": tmp_path / "control.bw", "peaks": tmp_path / "peaks.narrowPeak",
            "negatives": tmp_path / "negatives.bed", "splits": tmp_path / "splits.json", "chroms": chroms}


def extract(files, **options) -> LociSet:
    kw = dict(input_length=LIN, output_length=LOUT, max_jitter=J)
    kw.update(options)
    return extract_loci(files["genome"], files["peaks"], files["negatives"], [files["signal"]], [files["control"]], **kw)


def test_windows_hold_the_exact_sequence_and_signal_around_summits(files):
    loci = extract(files)
    assert loci.centre.tolist() == [1150, 1520, 3150, 2100, 600]
    assert loci.is_peak.tolist() == [True, True, True, False, False]
    assert loci.source_row.tolist() == [0, 1, 2, 0, 1]
    assert loci.codes.shape == (5, LIN + 2 * J) and loci.codes.dtype == np.uint8
    assert loci.signals.shape == (5, 2, LOUT + 2 * J) and loci.controls.shape == (5, 1, LOUT + 2 * J)
    for i in range(len(loci)):
        chrom, c = loci.chrom[i], int(loci.centre[i])
        s = c - LIN // 2 - J
        assert np.array_equal(loci.codes[i], encode_codes(files["chroms"][chrom][s : s + LIN + 2 * J]))
        pos = np.arange(c - LOUT // 2 - J, c - LOUT // 2 + LOUT + J)
        assert np.array_equal(loci.signals[i, 0], plus_value(chrom, pos))
        assert np.array_equal(loci.signals[i, 1], 2 * plus_value(chrom, pos))
        assert np.array_equal(loci.controls[i, 0], 3 * plus_value(chrom, pos))
    assert loci.signal_pairs == [(0, 1)] and loci.control_pairs == []
    assert loci.signal_strands == ["+", "-"] and loci.control_strands == ["."]
    assert set(loci.split.tolist()) == {"unassigned"}


def test_use_summits_false_centres_peaks_on_midpoints(files):
    assert extract(files, use_summits=False).centre.tolist()[:3] == [1200, 1600, 3150]


def test_reading_in_one_block_or_many_gives_the_same_windows(files):
    one, many = extract(files, block_gap=10**9), extract(files, block_gap=0)
    assert np.array_equal(one.codes, many.codes) and np.array_equal(one.signals, many.signals)


def test_control_length_may_differ_from_the_output_length(files):
    loci = extract(files, control_length=LIN)
    assert loci.controls.shape == (5, 1, LIN + 2 * J)
    pos = np.arange(1150 - LIN // 2 - J, 1150 + LIN // 2 + J)
    assert np.array_equal(loci.controls[0, 0], 3 * plus_value("chr1", pos))


def test_fold_labels_each_locus_by_its_chromosome_and_drops_unused_ones(files):
    fold = Fold(train=["chr1"], test=["chr2"])
    loci = extract(files, fold=fold, fold_name="f")
    assert loci.split.tolist() == ["train", "test", "train", "train", "test"]
    assert loci.counts_by_split() == {"train": (2, 1), "test": (1, 1)}
    only_chr1 = extract(files, fold=Fold(train=["chr1"]), fold_name="f")
    assert only_chr1.chrom.tolist() == ["chr1"] * 3


def test_loci_off_a_chromosome_end_are_dropped(files, tmp_path, caplog):
    peaks = tmp_path / "edge.bed"
    peaks.write_text("chr1\t10\t30\nchr1\t1000\t1200\nchr2\t2950\t3000\n")
    with caplog.at_level("INFO", logger="bpnet.data.loci"):
        loci = extract_loci(files["genome"], peaks, None, [files["signal"]], input_length=LIN, output_length=LOUT, max_jitter=J)
    assert loci.centre.tolist() == [1100] and loci.source_row.tolist() == [1]
    assert "dropped 2 of 3 loci" in caplog.text


def test_off_chromosome_error_names_the_bed_file_and_line(files, tmp_path):
    peaks = tmp_path / "edge.bed"
    peaks.write_text("# header\nchr1\t1000\t1200\nchr1\t10\t30\n")
    with pytest.raises(DataError, match=r"edge\.bed:line 3: 1 locus/loci .* chr1:10-30"):
        extract_loci(files["genome"], peaks, None, [files["signal"]], input_length=LIN, output_length=LOUT, off_chrom="error")


def test_chromosome_missing_from_a_bigwig_names_both_files(files, tmp_path):
    write_bigwig(tmp_path / "chr1only.bw", {"chr1": SIZES["chr1"]}, {"chr1": np.ones(SIZES["chr1"], np.float32)})
    with pytest.raises(DataError, match=r"peaks\.narrowPeak: chromosome\(s\) chr2 are not in the bigWig .*chr1only\.bw"):
        extract_loci(files["genome"], files["peaks"], None, [tmp_path / "chr1only.bw"], input_length=LIN, output_length=LOUT)


def test_chromosome_missing_from_the_fasta_names_both_files(files, tmp_path):
    (tmp_path / "other.bed").write_text("chr9\t100\t200\n")
    with pytest.raises(DataError, match=r"other\.bed: chromosome\(s\) chr9 are not in .*genome\.fa"):
        extract_loci(files["genome"], tmp_path / "other.bed", None, [files["signal"]])


def test_bigwig_from_another_assembly_is_refused(files, tmp_path):
    write_bigwig(tmp_path / "hg.bw", {"chr1": 6000, "chr2": 3000}, {})
    with pytest.raises(DataError, match="another genome assembly"):
        extract_loci(files["genome"], files["peaks"], None, [tmp_path / "hg.bw"], input_length=LIN, output_length=LOUT)


def test_hdf5_round_trip_keeps_everything(files, tmp_path):
    loci = extract(files, fold=Fold(train=["chr1"], valid=["chr2"]), fold_name="fold_0")
    loci.save(tmp_path / "loci.h5")
    back = LociSet.load(tmp_path / "loci.h5")
    for name in ("chrom", "centre", "is_peak", "split", "source_row", "codes", "signals", "controls"):
        assert np.array_equal(getattr(back, name), getattr(loci, name)), name
    for name in ("input_length", "output_length", "control_length", "max_jitter", "signal_names", "signal_pairs",
                 "control_names", "control_pairs", "fold", "sources", "signal_strands"):
        assert getattr(back, name) == getattr(loci, name), name
    assert back.sources["signals"][0].endswith("plus.bw")


def test_loading_something_else_is_a_clear_error(tmp_path):
    import h5py

    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        LociSet.load(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = [1]
    with pytest.raises(DataError, match="not a bpnet loci file"):
        LociSet.load(tmp_path / "other.h5")
    with pytest.raises(DataError, match="does not exist"):
        LociSet.load(tmp_path / "missing.h5")


def test_count_outliers_drop_only_training_peaks_above_the_threshold(files):
    loci = extract(files, fold=Fold(train=["chr1"], valid=["chr2"]), fold_name="f")
    loci.signals[0] *= 100  # a huge training peak
    loci.signals[1] *= 1000  # a huge validation peak stays
    mask = count_outliers(loci, quantile=0.5, factor=1.2)
    assert mask.tolist() == [True, False, False, False, False]


def test_memory_per_locus_matches_the_documented_figures(files):
    assert memory_per_locus(n_signals=2, n_controls=2) == 22_466  # 224.7 MB per 10k loci
    loci = extract(files)
    assert loci.nbytes == len(loci) * memory_per_locus(LIN, LOUT, J, 2, 1)


# ---------------------------------------------------------------------- the stage


def write_spec(tmp_path: Path, max_jitter: int = J) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(f"""
        output_dir: out
        stages:
          loci:
            stage: loci
            params:
              genome: genome.fa
              peaks: peaks.narrowPeak
              negatives: negatives.bed
              signals: [signal]
              controls: [control.bw]
              splits: splits.json
              input_length: {LIN}
              output_length: {LOUT}
              max_jitter: {max_jitter}
    """))
    return spec


def run(spec: Path, capsys) -> tuple[int, str]:
    code = run_cli(["run", str(spec)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_stage_runs_from_a_spec_skips_when_unchanged_and_reruns_on_new_jitter_or_input(files, tmp_path, capsys):
    spec = write_spec(tmp_path)
    code, out = run(spec, capsys)
    assert code == 0, out
    loci = LociSet.load(tmp_path / "out/loci/loci.h5")
    assert loci.counts_by_split() == {"train": (2, 1), "valid": (1, 1)} and loci.fold == "fold_0"
    log = (tmp_path / "out/run.log").read_text()
    assert "train: 2 peaks, 1 negatives" in log and "MB per 10k loci" in log
    code, out = run(spec, capsys)
    assert code == 0 and "skipped" in out
    write_spec(tmp_path, max_jitter=4)
    code, out = run(spec, capsys)
    assert code == 0 and "skipped" not in out
    assert LociSet.load(tmp_path / "out/loci/loci.h5").max_jitter == 4
    files["negatives"].write_text("chr1\t2000\t2200\n")  # an input changes
    code, out = run(spec, capsys)
    assert code == 0 and "skipped" not in out
    assert LociSet.load(tmp_path / "out/loci/loci.h5").n_negatives == 1


def test_stage_with_a_missing_fold_fails_with_one_clear_line(files, tmp_path, capsys):
    spec = write_spec(tmp_path)
    spec.write_text(spec.read_text() + "      fold: fold_9\n")
    code, out = run(spec, capsys)
    assert code == 2 and "no fold 'fold_9'" in out and "Traceback" not in out  # 2: bad input
    assert not (tmp_path / "out/loci/loci.h5").exists()
