"""Chromosome folds: the official human folds, bpnet-lite's, custom ones; no leakage into training."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.data.errors import DataError
from bpnet.data.splits import HUMAN_CHROMOSOMES, SPLIT_NAMES, Fold, build_splits, preset_folds, read_splits

HG38 = list(HUMAN_CHROMOSOMES) + ["chrM", "chrUn_KI270302v1", "chrEBV"]


def assert_no_leak(fold: Fold, genome: list[str]) -> None:
    train = set(fold.train)
    assert not train & (set(fold.valid) | set(fold.test))
    assert not set(fold.valid) & set(fold.test)
    # every locus labelled train lies on a training chromosome, never a held-out one
    loci_chroms = np.random.default_rng(0).choice(genome, 2000)
    labels = fold.labels(loci_chroms)
    assert set(loci_chroms[labels == "train"].tolist()) <= train
    for chrom in genome:
        split = fold.split_of(chrom)
        assert (split == "train") == (chrom in train)
        if chrom in fold.valid or chrom in fold.test:
            assert split in ("valid", "test")


def test_human_folds_are_the_official_chrombpnet_hg38_folds():
    folds = preset_folds("human")
    assert list(folds) == [f"fold_{i}" for i in range(5)]
    assert (folds["fold_0"].test, folds["fold_0"].valid) == (["chr1", "chr3", "chr6"], ["chr8", "chr20"])
    assert (folds["fold_1"].test, folds["fold_1"].valid) == (["chr2", "chr8", "chr9", "chr16"], ["chr12", "chr17"])
    assert (folds["fold_2"].test, folds["fold_2"].valid) == (["chr4", "chr11", "chr12", "chr15", "chrY"], ["chr22", "chr7"])
    assert (folds["fold_3"].test, folds["fold_3"].valid) == (["chr5", "chr10", "chr14", "chr18", "chr20", "chr22"], ["chr6", "chr21"])
    assert (folds["fold_4"].test, folds["fold_4"].valid) == (["chr7", "chr13", "chr17", "chr19", "chr21", "chrX"], ["chr10", "chr18"])
    for fold in folds.values():  # train is the rest of chr1-22, X, Y
        assert sorted(fold.train + fold.valid + fold.test) == sorted(HUMAN_CHROMOSOMES)
    # every autosome and chrX is tested in exactly one fold
    tested = [c for fold in folds.values() for c in fold.test]
    assert sorted(tested) == sorted(HUMAN_CHROMOSOMES)


def test_bpnet_lite_preset_matches_its_defaults():
    fold = preset_folds("bpnet-lite")["fold_0"]
    assert fold.valid == ["chr8", "chr20"] and fold.test == ["chr1", "chr3", "chr6"]
    assert fold.train == [f"chr{i}" for i in (2, 4, 5, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22)] + ["chrX", "chrY"]


@pytest.mark.parametrize(
    "folds",
    [
        "human",
        "bpnet-lite",
        {"valid": ["chr2", "chr9"], "test": ["chr1"]},
        {"a": {"valid": ["chr5"], "test": ["chr6", "chrX"]}, "b": {"train": ["chr1", "chr2"], "valid": ["chr3"]}},
    ],
)
def test_no_validation_or_test_chromosome_leaks_into_training(folds):
    splits = build_splits(folds, HG38)
    for fold in splits.folds.values():
        assert_no_leak(fold, HG38)
        assert fold.train and fold.valid


def test_custom_fold_trains_on_every_other_chromosome_of_the_genome():
    fold = build_splits({"valid": ["chr2"], "test": ["chr3"]}, ["chr1", "chr2", "chr3", "chr4"]).folds["fold_0"]
    assert fold == Fold(train=["chr1", "chr4"], valid=["chr2"], test=["chr3"])
    assert fold.split_of("chr5") is None


def test_chromosome_in_two_splits_is_an_error():
    with pytest.raises(DataError, match="chr2 is in both the train and the valid split"):
        build_splits({"a": {"train": ["chr1", "chr2"], "valid": ["chr2"]}}, ["chr1", "chr2"])
    with pytest.raises(ValueError, match="one split only"):
        Fold(train=["chr1"], valid=["chr2"], test=["chr1"])


def test_read_splits_refuses_a_leaky_file(tmp_path):
    path = tmp_path / "splits.json"
    path.write_text(json.dumps({"folds": {"f": {"train": ["chr1", "chr8"], "valid": ["chr8"]}}}))
    with pytest.raises(DataError, match=r"splits.json: not a valid split file .*chr8 is in both"):
        read_splits(path)


def test_missing_chromosomes_warn_but_an_emptied_split_is_an_error(caplog):
    no_y = [c for c in HG38 if c != "chrY"]
    with caplog.at_level(logging.WARNING):
        splits = build_splits("human", no_y, genome_label="female.fa")
    assert "chrY" in caplog.text and "female.fa" in caplog.text
    assert "chrY" not in splits.folds["fold_2"].test and splits.folds["fold_2"].test
    with pytest.raises(DataError, match="fold_0: validation split with no chromosomes of this genome .*toy.fa"):
        build_splits("human", [c for c in HG38 if c not in ("chr8", "chr20")], genome_label="toy.fa")
    with pytest.raises(DataError, match="validation split names chr2, which the genome lacks.*names chromosomes with a 'chr' prefix"):
        build_splits({"valid": ["chr2"]}, ["1", "2", "3"])


def test_custom_folds_naming_a_chromosome_the_genome_lacks_are_refused():
    with pytest.raises(DataError, match="fold b: the test split names chr9, which toy.fa lacks: fix the chromosome name"):
        build_splits({"a": {"valid": ["chr2"], "test": ["chr1"]}, "b": {"valid": ["chr1"], "test": ["chr9"]}},
                     ["chr1", "chr2", "chr3"], genome_label="toy.fa")


def test_disjoint_tests_refuses_folds_that_share_a_test_chromosome():
    folds = {"a": {"valid": ["chr2"], "test": ["chr1"]}, "b": {"valid": ["chr3"], "test": ["chr1", "chr2"]}}
    assert build_splits(folds, ["chr1", "chr2", "chr3", "chr4"]).folds["b"].test == ["chr1", "chr2"]  # allowed by default
    with pytest.raises(DataError, match="folds a and b both hold out test chromosome chr1, but disjoint_tests"):
        build_splits(folds, ["chr1", "chr2", "chr3", "chr4"], disjoint_tests=True)


@pytest.mark.parametrize(
    "bad, message",
    [({"a": ["chr1"]}, "must map train/valid/test"), ({"a": {"valid": ["chr1"], "tset": ["chr2"]}}, "unknown split"),
     ({"test": ["chr1"]}, "needs a 'valid' list"), ({"valid": "chr1"}, "list of chromosome names")],
)
def test_malformed_custom_folds(bad, message):
    with pytest.raises(DataError, match=message):
        build_splits(bad, ["chr1", "chr2"])


def test_unknown_preset():
    with pytest.raises(DataError, match="unknown fold preset 'mouse'"):
        preset_folds("mouse")


# --- the stage, through the CLI ----------------------------------------------------


def write_spec(tmp_path, folds: str, more: str = "", name: str = "spec.yaml") -> str:
    spec = tmp_path / name
    spec.write_text(f"output_dir: out\nstages:\n  folds:\n    stage: splits\n    params: {{genome: genome.fa.fai, folds: {folds}{more}}}\n")
    return str(spec)


def test_splits_stage_runs_skips_and_reruns(tmp_path, capsys):
    (tmp_path / "genome.fa.fai").write_text("".join(f"{c}\t{1000 * (i + 1)}\t0\t60\t61\n" for i, c in enumerate(HG38)))
    spec = write_spec(tmp_path, "human")
    assert run_cli(["run", spec]) == 0, capsys.readouterr()
    splits = read_splits(tmp_path / "out/folds/splits.json")
    assert list(splits.folds) == [f"fold_{i}" for i in range(5)]
    assert splits.folds["fold_0"] == preset_folds("human")["fold_0"]
    capsys.readouterr()
    assert run_cli(["run", spec]) == 0
    assert "skipped" in capsys.readouterr().out + (tmp_path / "out/run.log").read_text()
    spec = write_spec(tmp_path, "{valid: [chr2], test: [chr3, chrM]}")
    assert run_cli(["run", spec]) == 0
    fold = read_splits(tmp_path / "out/folds/splits.json").fold("fold_0")
    assert fold.test == ["chr3", "chrM"] and "chrEBV" in fold.train and "chr2" not in fold.train


def test_splits_stage_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "genome.fa.fai").write_text("chr1\t100\t0\t60\t61\nchr2\t100\t0\t60\t61\n")
    assert run_cli(["run", write_spec(tmp_path, "{a: {train: [chr1, chr2], valid: [chr2]}}")]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err and "chr2 is in both" in out.out + out.err
    assert run_cli(["run", write_spec(tmp_path, "human")]) == 2
    assert "validation split with no chromosomes of this genome" in "".join(capsys.readouterr())
    assert run_cli(["run", write_spec(tmp_path, "{a: [chr1]}")]) != 0
    assert "must map train/valid/test" in "".join(capsys.readouterr())


def test_split_names():
    assert SPLIT_NAMES == ("train", "valid", "test")


def test_fold_mistakes_through_bpnet_run_are_one_line_exit_2_and_write_nothing(tmp_path, capsys):
    (tmp_path / "genome.fa.fai").write_text("".join(f"chr{i}\t100\t0\t60\t61\n" for i in range(1, 5)))
    absent = write_spec(tmp_path, "{a: {valid: [chr2], test: [chr1]}, b: {valid: [chr3], test: [chr9]}}")
    assert run_cli(["run", absent]) == 2
    out = capsys.readouterr()
    assert "fold b: the test split names chr9, which" in out.err and "Traceback" not in out.out + out.err
    assert not (tmp_path / "out/folds/splits.json").exists()
    shared = write_spec(tmp_path, "{a: {valid: [chr2], test: [chr1]}, b: {valid: [chr3], test: [chr1]}}", ", disjoint_tests: true")
    assert run_cli(["run", shared]) == 2
    assert "folds a and b both hold out test chromosome chr1" in capsys.readouterr().err
    assert not (tmp_path / "out/folds/splits.json").exists()
    twice = write_spec(tmp_path, "{a: {valid: [chr2], test: [chr1]}, a: {valid: [chr3], test: [chr4]}}", name="twice.yaml")
    assert run_cli(["run", twice]) == 2
    assert "twice.yaml:5: key 'a' is written twice" in capsys.readouterr().err
