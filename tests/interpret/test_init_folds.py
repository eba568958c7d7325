"""``bpnet init --folds``: a spec that trains, evaluates and summarises every fold and averages them downstream."""

from __future__ import annotations

import pytest

from bpnet.core.cli.main import run_cli

from .test_init import data, init, load, params  # noqa: F401  (the module's fixture)

PER_FOLD_CHIP = {"loci", "train", "evaluate"}


def per_fold_stages(spec: dict) -> set[str]:
    return {sid for sid, stage in spec["stages"].items() if stage.get("per_fold")}


def test_five_human_folds_on_an_hg38_named_genome_fan_out_and_validate(data):  # noqa: F811
    from bpnet.data.sources.fasta import FastaSource

    human = data / "hg38-like.fa"
    human.write_text("".join(f">chr{name}\n{'ACGT' * 10}\n" for name in [*range(1, 23), "X", "Y"]))
    _ = FastaSource(human).sizes
    assert init(data, "-s", "hg38-like.fa", "-i", "chip/reads.bam", "--folds", "5", "-o", "five.yaml") == 0
    spec = load(data / "five.yaml")
    assert spec["folds"] == [f"fold_{i}" for i in range(5)]
    assert params(spec, "folds")["folds"] == "human" and params(spec, "folds")["disjoint_tests"] is True
    assert per_fold_stages(spec) == PER_FOLD_CHIP
    assert params(spec, "loci")["fold"] == "{fold}"
    assert params(spec, "fold-summary")["metrics"] == ["@evaluate.metrics"]
    assert params(spec, "attribute")["models"] == ["@train.model"]
    assert params(spec, "attribute")["loci"] == "@loci[fold_0].loci"
    # the profile head's motifs read the scores averaged over every fold's model, as the count head's do
    assert params(spec, "profile-seqlets")["attributions"] == params(spec, "profile-modisco")["attributions"] == (
        "@attribute.scores/profile.h5"
    )
    section = params(spec, "report")["models"][0]
    assert section["metrics"] == "@evaluate[fold_0].metrics" and section["folds"] == "@fold-summary.summary"
    assert section["profile_modisco"] == "@profile-modisco.results"
    assert run_cli(["validate", str(data / "five.yaml")]) == 0


@pytest.mark.parametrize("model", ["bpnet", "chrombpnet"])
def test_custom_folds_one_group_each_fan_out_and_validate(data, model):  # noqa: F811
    reads = ["-i", "chip/reads.bam", "-c", "chip/control.bam"] if model == "bpnet" else ["-i", "atac/reads.bam", "--paired-end"]
    genome = "chip/genome.fa" if model == "bpnet" else "atac/genome.fa"
    out = f"custom-{model}.yaml"
    assert init(data, "-s", genome, *reads, "--model", model, "--valid-chroms", "chr2;chr3", "--test-chroms", "chr1;chr2",
                "-o", out) == 0
    spec = load(data / out)
    assert spec["folds"] == ["fold_0", "fold_1"]
    assert params(spec, "folds")["folds"] == {"fold_0": {"valid": ["chr2"], "test": ["chr1"]},
                                              "fold_1": {"valid": ["chr3"], "test": ["chr2"]}}
    assert per_fold_stages(spec) == (PER_FOLD_CHIP | ({"bias"} if model == "chrombpnet" else set()))
    if model == "chrombpnet":
        assert params(spec, "bias-attribute")["models"] == ["@train.bias_model_out"]
    assert run_cli(["validate", str(data / out)]) == 0
    assert "--valid-chroms 'chr2;chr3' --test-chroms 'chr1;chr2'" in (data / out).read_text()


def test_one_custom_fold_stays_a_spec_without_folds(data):  # noqa: F811
    assert init(data, "-s", "chip/genome.fa", "-i", "chip/reads.bam", "--valid-chroms", "chr2", "--test-chroms", "chr1",
                "-o", "single.yaml") == 0
    spec = load(data / "single.yaml")
    assert "folds" not in spec and not per_fold_stages(spec)
    assert params(spec, "loci")["fold"] == "fold_0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--folds", "7"], "fold_5 is not one of the official hg38 folds"),
        (["--folds", "fold_0,fold_0"], "fold fold_0 is listed twice"),
        (["--valid-chroms", "chr2;chr3", "--test-chroms", "chr1;chr1"], "test chromosome chr1 is in the test sets of fold 1 and fold 2"),
        (["--valid-chroms", "chr2;chr3", "--test-chroms", "chr1;chr2", "--folds", "3"], "--folds names 3 folds but --test-chroms gives 2"),
        (["--valid-chroms", "chr2", "--test-chroms", "chr1;chr3"], "--valid-chroms gives 1 fold(s) and --test-chroms 2"),
        (["--valid-chroms", "chr2;chr3", "--test-chroms", "chr1;chr9"], "chr9"),
    ],
)
def test_fold_mistakes_are_one_line_and_write_nothing(data, capsys, args, message):  # noqa: F811
    assert init(data, "-s", "chip/genome.fa", "-i", "chip/reads.bam", *args, "-o", "bad-folds.yaml") == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (data / "bad-folds.yaml").exists()
