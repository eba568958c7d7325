"""``bpnet init``: every spec it writes validates, documents every parameter, points at the
user's files the way the spec resolves them, refuses what it must, and runs end to end."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import bpnet.core.builtin
import bpnet.data.plugin
import bpnet.train.plugin
from bpnet.core.cli.main import run_cli
from bpnet.core.plugin.registry import Registry, registry
from bpnet.data.simulate.simulator import simulate
from bpnet.interpret.init import InitOptions, write_spec
from bpnet.interpret.init.plan import InitPlanError
from bpnet.interpret.init.render import flow, scalar

#: a ``key: value  # comment`` line of the written spec (``- key: value`` opens an entry of a list of models;
#: ``key:`` alone opens that list)
FIELD_LINE = re.compile(r"^(?P<indent> *)(?P<item>- )?(?P<key>[A-Za-z0-9_-]+):(?: (?P<value>.*?))?  # (?P<comment>\S.*)$")
INTERPRETATION = ["attribute", "seqlets", "modisco"]
#: a BPNet's profile-head motif stages (ChIP-seq motifs live in the profile head); profile-annotate comes with -m
PROFILE_MOTIFS = ["profile-seqlets", "profile-modisco"]
BIAS_CHECK = ["bias-attribute", "bias-modisco", "bias-annotate"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A folder with a tiny simulated ChIP (chip/) and ATAC (atac/) experiment; real BAM, FASTA and MEME files."""
    folder = tmp_path_factory.mktemp("init-data")
    for kind in ("chip", "atac"):
        simulate(folder / kind, kind, seed=1, genome_size=300_000, n_chroms=3, n_peaks=12)
    return folder


def init(cwd: Path, *args: str) -> int:
    """Run ``bpnet init`` in ``cwd``."""
    here = Path.cwd()
    os.chdir(cwd)
    try:
        return run_cli(["init", *args])
    finally:
        os.chdir(here)


def chip_args(*more: str) -> list[str]:
    return [
        "-s",
        "chip/genome.fa",
        "-i",
        "chip/reads.bam",
        "-c",
        "chip/control.bam",
        "--valid-chroms",
        "chr2",
        "--test-chroms",
        "chr1",
        *more,
    ]


def atac_args(*more: str) -> list[str]:
    return ["-s", "atac/genome.fa", "-i", "atac/reads.bam", "--model", "chrombpnet", "--unstranded", "--paired-end",
            "--shift-plus", "4", "--shift-minus", "-4", "--valid-chroms", "chr2", "--test-chroms", "chr1", *more]


def load(spec: Path) -> dict:
    return yaml.safe_load(spec.read_text())


def params(spec: dict, stage_id: str) -> dict:
    return spec["stages"][stage_id]["params"]


def check_documented(spec_path: Path) -> None:
    """Every value line carries its comment; every stage lists every parameter of its Params, each with its description."""
    text = spec_path.read_text()
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.endswith(":"):
            continue
        assert FIELD_LINE.match(line), f"{spec_path.name}:{number} has no comment: {line!r}"
    spec = yaml.safe_load(text)
    reg = registry()
    descriptions = {}
    for stage_id, stage in spec["stages"].items():
        fields = reg.stage(stage["stage"]).Params.model_fields
        assert list(stage["params"]) == list(fields), f"{stage_id}: not every parameter is written"
        descriptions.update({(stage_id, name): " ".join(info.description.split()) for name, info in fields.items() if info.description})
    stage_id = None
    for line in text.splitlines():
        if re.match(r"^  [A-Za-z0-9_-]+:$", line):
            stage_id = line.strip().rstrip(":")
        elif (match := FIELD_LINE.match(line)) and len(match["indent"]) == 6 and (stage_id, match["key"]) in descriptions:
            assert match["comment"] == descriptions[(stage_id, match["key"])], f"{stage_id}.{match['key']}"


def section_descriptions() -> dict[str, str]:
    """Description of each field of the installed report stage's model entries."""
    (item,) = registry().stage("report").Params.model_fields["models"].annotation.__args__
    return {name: " ".join(info.description.split()) for name, info in item.model_fields.items()}


def validates(spec: Path) -> bool:
    return run_cli(["validate", str(spec)]) == 0


# --- (a) the variants validate and document every parameter ---------------------------------------------


def test_bpnet_with_controls_writes_a_valid_fully_commented_spec(data):
    assert init(data, *chip_args("-m", "chip/motifs.meme", "-n", "ctcf", "-o", "ctcf.yaml")) == 0
    spec_path = data / "ctcf.yaml"
    assert validates(spec_path)
    check_documented(spec_path)
    spec = load(spec_path)
    assert spec["output_dir"] == "ctcf"
    assert list(spec["stages"]) == ["signal", "control-signal", "peaks", "negatives", "folds", "loci", "train", "evaluate",
                                    *INTERPRETATION, "annotate", *PROFILE_MOTIFS, "profile-annotate", "marginalize", "report"]
    signal = params(spec, "signal")
    assert (signal["reads"], signal["stranded"], signal["ends"], signal["preset"]) == (["chip/reads.bam"], True, "five-prime", None)
    assert params(spec, "control-signal")["reads"] == ["chip/control.bam"]
    assert params(spec, "peaks")["controls"] == ["chip/control.bam"] and params(spec, "peaks")["preset"] == "chip"
    assert params(spec, "folds")["folds"] == {"valid": ["chr2"], "test": ["chr1"]}
    loci = params(spec, "loci")
    assert loci["controls"] == ["@control-signal.tracks"] and loci["max_jitter"] == 128
    assert spec["stages"]["train"]["stage"] == "train-bpnet"
    assert params(spec, "train")["hyperparameters"] == {"n_filters": 64, "n_layers": 8}  # official size
    assert params(spec, "attribute")["models"] == ["@train.model"]
    assert params(spec, "attribute")["heads"] == ["counts", "profile"]
    assert params(spec, "modisco")["motifs"] == "chip/motifs.meme"
    assert params(spec, "annotate")["motifs"] == "chip/motifs.meme"
    # the profile head's motifs, as the count head's: its own seqlets, TF-MoDISco and annotation
    assert params(spec, "seqlets")["attributions"] == params(spec, "modisco")["attributions"] == "@attribute.scores/counts.h5"
    assert params(spec, "profile-seqlets")["attributions"] == "@attribute.scores/profile.h5"
    profile_modisco = params(spec, "profile-modisco")
    assert (profile_modisco["attributions"], profile_modisco["motifs"]) == ("@attribute.scores/profile.h5", "chip/motifs.meme")
    assert profile_modisco["title"] == "ctcf: TF-MoDISco patterns of the profile head"
    profile_annotate = params(spec, "profile-annotate")
    assert (profile_annotate["patterns"], profile_annotate["seqlets"], profile_annotate["motifs"]) == (
        "@profile-modisco.results", "@profile-seqlets.seqlets", "chip/motifs.meme",
    )
    (section,) = params(spec, "report")["models"]
    assert section == {
        "name": "ctcf BPNet", "training": "@train.training", "metrics": "@evaluate.metrics", "predictions": "@evaluate.predictions",
        "attributions": "@attribute.scores/counts.h5", "modisco": "@modisco.results", "annotations": "@annotate.patterns_table",
        "profile_modisco": "@profile-modisco.results", "profile_annotations": "@profile-annotate.patterns_table",
        "marginalization": "@marginalize.table", "marginalization_effects": "@marginalize.effects",
        "folds": None,  # a spec with several folds points it at the fold summary
        "bias_modisco": None, "bias_annotations": None, "bias_motifs": None,  # ChromBPNet's: written unset, as every field
    }
    entry_lines = [FIELD_LINE.match(line) for line in spec_path.read_text().splitlines() if re.match(r"^ {8}(- |  )\w", line)]
    assert [m["key"] for m in entry_lines] == list(section) and entry_lines[0]["item"] == "- "
    descriptions = section_descriptions()
    assert all(m["comment"] == descriptions[m["key"]] for m in entry_lines)  # each field with its description


def test_bpnet_with_own_peaks_has_no_peak_calling(data):
    assert init(data, *chip_args("-p", "chip/peaks.narrowPeak", "-o", "own-peaks.yaml")) == 0
    spec = load(data / "own-peaks.yaml")
    assert "peaks" not in spec["stages"]
    assert params(spec, "negatives")["peaks"] == params(spec, "loci")["peaks"] == "chip/peaks.narrowPeak"
    assert spec["output_dir"] == "reads"  # named after the first input
    assert validates(data / "own-peaks.yaml")


def test_chrombpnet_atac_writes_cut_sites_and_the_official_recipe(data):
    assert init(data, *atac_args("-m", "atac/motifs.meme", "-o", "atac.yaml")) == 0
    assert validates(data / "atac.yaml")
    check_documented(data / "atac.yaml")
    spec = load(data / "atac.yaml")
    signal = params(spec, "signal")
    assert (signal["stranded"], signal["ends"], signal["paired_end"], signal["shift_plus"], signal["shift_minus"]) == (
        False,
        "both",
        True,
        4,
        -4,
    )
    assert "control-signal" not in spec["stages"]
    assert params(spec, "peaks")["preset"] == "atac"
    assert params(spec, "loci")["max_jitter"] == 500 and params(spec, "loci")["controls"] == []
    # two-stage bias design: three bias candidates, then train-chrombpnet picks one (the bias sizes moved to the bias stage)
    assert list(spec["stages"]) == ["signal", "peaks", "negatives", "folds", "loci", "bias", "train", "evaluate",
                                    *INTERPRETATION, "annotate", "marginalize", *BIAS_CHECK, "report"]
    bias, train = params(spec, "bias"), params(spec, "train")
    assert spec["stages"]["bias"]["stage"] == "train-chrombpnet-bias" and spec["stages"]["train"]["stage"] == "train-chrombpnet"
    assert (bias["bias_hyperparameters"], bias["bias_threshold_factor"]) == ({"n_filters": 128, "n_layers": 4}, [0.3, 0.5, 0.7])
    assert (train["bias_model"], train["bias_choice"], train["hyperparameters"]) == (
        "@bias.bias_models", "auto", {"n_filters": 512, "n_layers": 8},
    )
    assert params(spec, "evaluate")["bias_motifs"] == "tn5"
    assert params(spec, "attribute")["models"] == params(spec, "marginalize")["models"] == ["@train.accessibility_model"]
    assert params(spec, "modisco")["attributions"] == "@attribute.scores/counts.h5"  # the official choice: no profile-* stages
    # the bias model's TF-MoDISco check: the chosen scaled bias model, a short run, the bias and the -m motifs
    bias_attribute = params(spec, "bias-attribute")
    assert (bias_attribute["models"], bias_attribute["heads"], bias_attribute["max_loci"]) == (["@train.bias_model_out"], ["profile"], 5000)
    assert params(spec, "bias-modisco")["attributions"] == "@bias-attribute.scores/profile.h5"
    assert params(spec, "bias-modisco")["max_seqlets"] == 20_000
    assert params(spec, "bias-annotate")["motifs"] == ["tn5", "atac/motifs.meme"]
    assert params(spec, "bias-annotate")["patterns"] == "@bias-modisco.results"
    (section,) = params(spec, "report")["models"]
    assert section["name"] == "reads ChromBPNet"
    assert section["profile_modisco"] is section["profile_annotations"] is None
    assert (section["bias_modisco"], section["bias_annotations"], section["bias_motifs"]) == (
        "@bias-modisco.results", "@bias-annotate.patterns_table", "tn5",
    )


def test_the_chrombpnet_spec_resolves_every_stage_and_parameter_without_running(data):
    from bpnet.core.dag.executor import Runner
    from bpnet.core.spec import load_pipeline
    from bpnet.data.motifs import builtin_motifs_file

    assert init(data, *atac_args("-m", "atac/motifs.meme", "-o", "atac-resolved.yaml", "--output-dir", "resolved")) == 0
    pipeline = load_pipeline(data / "atac-resolved.yaml", registry())
    Runner(pipeline, registry())  # the DAG: every reference resolves, no cycle
    stages, out = pipeline.stages, (data / "resolved").resolve()
    assert stages["train"].params.bias_model == out / "bias" / "bias_models" and "bias" in stages["train"].depends_on
    assert stages["evaluate"].params.bias_motifs == builtin_motifs_file("tn5")
    assert stages["bias-attribute"].params.models == [out / "train" / "bias_model"]
    assert stages["bias-annotate"].params.motifs == [builtin_motifs_file("tn5"), (data / "atac/motifs.meme").resolve()]
    assert {"bias-modisco"} <= stages["bias-annotate"].depends_on and {"train"} <= stages["bias-attribute"].depends_on
    (section,) = stages["report"].params.models
    assert section.bias_annotations == out / "bias-annotate" / "patterns.tsv"
    assert section.bias_motifs == builtin_motifs_file("tn5")
    assert {"bias-annotate", "bias-modisco", "evaluate", "train"} <= stages["report"].depends_on


def test_dnase_gets_its_factors_its_bias_motifs_and_no_shift(data, capsys):
    args = ["-s", "atac/genome.fa", "-i", "atac/reads.bam", "--model", "chrombpnet", "--unstranded", "--valid-chroms", "chr2",
            "--test-chroms", "chr1"]
    assert init(data, *args, "--assay", "dnase", "-o", "dnase.yaml") == 0
    assert "hint" not in capsys.readouterr().err  # no shift is right for DNase-seq
    assert validates(data / "dnase.yaml")
    spec = load(data / "dnase.yaml")
    assert params(spec, "bias")["bias_threshold_factor"] == [0.6, 0.8, 1.0]
    assert params(spec, "evaluate")["bias_motifs"] == params(spec, "bias-annotate")["motifs"] == "dnase"  # no -m: bias motifs alone
    assert params(spec, "report")["models"][0]["bias_motifs"] == "dnase"
    assert (params(spec, "signal")["shift_plus"], params(spec, "signal")["shift_minus"]) == (0, 0)
    assert params(spec, "peaks")["tn5_shift"] == [0, 0]
    text = (data / "dnase.yaml").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith("#   bpnet init ")]
    command = shlex.split(line.lstrip("# "))
    assert command[command.index("--assay") + 1] == "dnase"
    assert init(data, *command[2:], "--force") == 0 and (data / "dnase.yaml").read_text() == text
    # ATAC BAM reads without a shift: the hint names both ways out
    assert init(data, *args, "-o", "atac-no-shift.yaml") == 0
    assert "for DNase-seq give --assay dnase" in " ".join(capsys.readouterr().err.split())


def test_without_motifs_modisco_has_no_database_and_nothing_is_annotated(data):
    assert init(data, *atac_args("-o", "atac-no-motifs.yaml")) == 0
    assert validates(data / "atac-no-motifs.yaml")
    check_documented(data / "atac-no-motifs.yaml")
    spec = load(data / "atac-no-motifs.yaml")
    assert params(spec, "modisco")["motifs"] is None
    assert "annotate" not in spec["stages"] and "marginalize" not in spec["stages"]
    assert params(spec, "bias-annotate")["motifs"] == "tn5"  # the bias model's patterns: against the Tn5 motifs alone
    assert list(spec["stages"])[-1] == "report"
    (section,) = params(spec, "report")["models"]
    assert section["modisco"] == "@modisco.results" and section["annotations"] is section["marginalization"] is None
    assert section["bias_annotations"] == "@bias-annotate.patterns_table"


def test_human_folds_are_the_default_and_a_genome_they_do_not_fit_is_refused(data, capsys):
    from bpnet.data.sources.fasta import FastaSource

    human = data / "human.fa"
    human.write_text("".join(f">chr{name}\n{'ACGT' * 10}\n" for name in [*range(1, 23), "X"]))
    _ = FastaSource(human).sizes  # writes human.fa.fai
    assert init(data, "-s", "human.fa", "-i", "chip/reads.bam", "-o", "human.yaml") == 0
    assert params(load(data / "human.yaml"), "folds")["folds"] == "human"
    # the simulated genome has chr1..chr3 only: the hg38 folds do not fit it
    assert init(data, "-s", "chip/genome.fa", "-i", "chip/reads.bam", "-o", "no-fit.yaml") == 2
    assert "--valid-chroms and --test-chroms" in capsys.readouterr().err
    assert (
        init(
            data,
            "-s",
            "chip/genome.fa",
            "-i",
            "chip/reads.bam",
            "--valid-chroms",
            "chr9",
            "--test-chroms",
            "chr1",
            "-o",
            "no-fit.yaml",
        )
        == 2
    )
    assert "chr9" in capsys.readouterr().err
    assert not (data / "no-fit.yaml").exists()


@pytest.mark.parametrize("model", ["bpnet", "chrombpnet"])
@pytest.mark.parametrize("peaks", [False, True])
@pytest.mark.parametrize("motifs", [False, True])
@pytest.mark.parametrize("reads", ["bam", "paired-end", "fragments"])
def test_every_combination_of_options_validates(data, model, peaks, motifs, reads):
    kind = "chip" if reads == "bam" else "atac"
    args = [
        "-s",
        f"{kind}/genome.fa",
        "--model",
        model,
        "--valid-chroms",
        "chr2",
        "--test-chroms",
        "chr1",
        "--blacklist",
        f"{kind}/sites.bed",
    ]
    args += {"bam": ["-i", "chip/reads.bam"], "paired-end": ["-i", "atac/reads.bam", "--paired-end", "--unstranded"],
             "fragments": ["-i", "atac/fragments.tsv.gz", "--fragments"]}[reads]
    args += ["-c", "chip/control.bam"] if model == "bpnet" and kind == "chip" else []
    args += ["-p", f"{kind}/peaks.narrowPeak"] if peaks else []
    args += ["-m", f"{kind}/motifs.meme"] if motifs else []
    name = f"combo-{model}-{peaks}-{motifs}-{reads}.yaml"
    assert init(data, *args, "-o", name) == 0
    assert validates(data / name)
    check_documented(data / name)
    spec = load(data / name)
    assert ("peaks" in spec["stages"]) is not peaks
    assert ("annotate" in spec["stages"]) is motifs and ("marginalize" in spec["stages"]) is motifs
    assert all((stage in spec["stages"]) is (model == "chrombpnet") for stage in ["bias", *BIAS_CHECK])
    assert all((stage in spec["stages"]) is (model == "bpnet") for stage in PROFILE_MOTIFS)
    assert ("profile-annotate" in spec["stages"]) is (model == "bpnet" and motifs)
    (section,) = params(spec, "report")["models"]
    assert section["profile_modisco"] == ("@profile-modisco.results" if model == "bpnet" else None)
    assert section["profile_annotations"] == ("@profile-annotate.patterns_table" if model == "bpnet" and motifs else None)
    assert params(spec, "signal")["stranded"] is (model == "bpnet" and reads == "bam")


@pytest.mark.parametrize(
    ("extra", "rows", "shifts"),
    [
        ([], "10x", (4, -4)),  # --fragments alone: a Cell Ranger file, read back to the BAM's exact +4/-4 cuts
        (["--fragment-format", "sequenced"], "sequenced", (4, -4)),  # bpnet simulate's file
        (["--shift-plus", "0", "--shift-minus", "1"], "10x", (0, 1)),  # shifts given win
    ],
)
def test_fragment_files_are_written_with_their_row_format_and_tn5_shifts(data, capsys, extra, rows, shifts):
    name = f"fragments-{rows}-{shifts[1]}.yaml"
    args = ["-s", "atac/genome.fa", "-i", "atac/fragments.tsv.gz", "--fragments", "--model", "chrombpnet",
            "--valid-chroms", "chr2", "--test-chroms", "chr1", "-o", name, *extra]
    assert init(data, *args) == 0
    assert "no Tn5 shift" not in capsys.readouterr().err
    spec = load(data / name)
    signal = params(spec, "signal")
    assert (signal["fragment_format"], signal["shift_plus"], signal["shift_minus"]) == (rows, *shifts)
    assert (signal["ends"], signal["stranded"], signal["preset"]) == ("both", False, None)
    (line,) = [line for line in (data / name).read_text().splitlines() if line.startswith("#   bpnet init ")]
    assert init(data, *shlex.split(line.lstrip("# "))[2:], "--force") == 0 and load(data / name) == spec


def test_fragment_format_implies_fragments_and_explicit_zero_shifts_get_a_hint(data, capsys):
    args = ["-s", "atac/genome.fa", "-i", "atac/fragments.tsv.gz", "--model", "chrombpnet", "--valid-chroms", "chr2",
            "--test-chroms", "chr1", "--fragment-format", "10x", "--shift-plus", "0", "--shift-minus", "0", "-o", "zero.yaml"]
    assert init(data, *args) == 0
    assert "the counts are the fragment ends, not the Tn5 cut sites" in " ".join(capsys.readouterr().err.split())
    signal = params(load(data / "zero.yaml"), "signal")
    assert (signal["ends"], signal["fragment_format"], signal["shift_plus"], signal["shift_minus"]) == ("both", "10x", 0, 0)


def test_paths_are_relative_to_the_spec_folder_quoted_when_needed_and_urls_kept(data, tmp_path):
    spaced = data / "my data"
    spaced.mkdir(exist_ok=True)
    shutil.copy(data / "chip/peaks.narrowPeak", spaced / "peaks #1.narrowPeak")
    url = "https://example.org/hg38 blacklist.bed.gz"
    args = chip_args("-p", "my data/peaks #1.narrowPeak", "--blacklist", url, "-o", "specs/deep/spec.yaml", "--output-dir", "results")
    assert init(data, *args) == 0
    spec_path = data / "specs/deep/spec.yaml"
    text = spec_path.read_text()
    assert '"../../my data/peaks #1.narrowPeak"' in text
    spec = load(spec_path)
    assert params(spec, "signal")["reads"] == ["../../chip/reads.bam"]
    assert params(spec, "negatives")["blacklist"] == url
    assert spec["output_dir"] == "../../results"
    # further away than two folders up: absolute
    far = tmp_path / "a/b/c"
    far.mkdir(parents=True)
    assert init(far, *[a if not a.startswith("chip/") else str(data / a) for a in chip_args("-o", "spec.yaml")]) == 0
    assert params(load(far / "spec.yaml"), "signal")["reads"] == [str(data / "chip/reads.bam")]


def test_the_header_records_a_command_that_writes_the_same_spec_again(data):
    assert init(data, *atac_args("-m", "atac/motifs.meme", "-n", "atac", "-o", "again.yaml")) == 0
    text = (data / "again.yaml").read_text()
    command = shlex.split(text.splitlines()[1].lstrip("# "))
    assert command[:2] == ["bpnet", "init"]
    assert init(data, *command[2:], "--force") == 0
    assert (data / "again.yaml").read_text() == text


@pytest.mark.parametrize(
    "value",
    ["yes", "no", "null", "~", "", "-", "1.0", "0x1F", "2114", "@loci.loci", "@attribute.scores/counts.h5", "my data/a.bam",
     "peaks #1.bed", "a: b", "[x]", "{x}", "a,b", "'quoted'", 'say "hi"', " padded ", "ü.bam", "https://x.org/a b.bed?x=1&y=2",
     "- item", "*ref", "!tag", "%x", "`x`", "C:\\data\\x.bam", "line\nbreak", 1e-05, 0.001, -4, True, None, float("inf")],
)
def test_values_yaml_would_misread_are_quoted_and_read_back(value):
    assert yaml.safe_load(f"x: {scalar(value)}  # comment") == {"x": value}
    nested = {"k": [value, {"v": value}]}
    assert yaml.safe_load(f"x: {flow(nested)}  # comment") == {"x": nested}


def test_a_stage_that_is_not_installed_is_named(data):
    without_interpret = Registry([bpnet.core.builtin, bpnet.data.plugin, bpnet.train.plugin], entry_points=False)
    options = InitOptions(genome="chip/genome.fa", inputs=["chip/reads.bam"], valid_chroms="chr2", test_chroms="chr1",
                          output=Path("not-installed.yaml"))
    with pytest.raises(InitPlanError, match="'attribute'.*no installed plugin provides it") as caught:
        write_spec(options, cwd=data, reg=without_interpret)
    assert caught.value.exit_code == 2
    assert not (data / "not-installed.yaml").exists()


def test_a_results_folder_holding_the_data_gets_a_hint(data, capsys):
    assert init(data, *chip_args("-n", "chip", "-o", "mixed.yaml")) == 0
    assert "the results folder chip holds input files" in capsys.readouterr().err
    assert init(data, *chip_args("-n", "apart", "-o", "apart.yaml")) == 0
    assert "hint" not in capsys.readouterr().err


# --- (b) refusals -----------------------------------------------------------------------------------------


def test_existing_spec_is_not_overwritten_without_force(data, capsys):
    spec = data / "keep.yaml"
    spec.write_text("mine\n")
    assert init(data, *chip_args("-o", "keep.yaml")) == 2
    assert "--force" in capsys.readouterr().err
    assert spec.read_text() == "mine\n"
    assert init(data, *chip_args("-o", "keep.yaml", "--force")) == 0
    assert load(spec)["stages"]


def test_missing_input_file_is_named_and_nothing_is_written(data, capsys):
    assert init(data, *chip_args("-i", "chip/rep2.bam", "-o", "missing.yaml")) == 2
    err = capsys.readouterr().err
    assert "-i/--input chip/rep2.bam" in err
    assert not (data / "missing.yaml").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--valid-chroms", "chr2"], "together"),
        (["--model", "chrombpnet"], "ChromBPNet takes no control"),
        (["-n", "my name"], "-n/--name"),
        (["--fragment-format", "cellranger"], "--fragment-format"),
        (["--fragment-format", "10x", "--paired-end"], "--paired-end is for paired BAM/SAM files"),
        (["--assay", "dnase"], "--assay picks ChromBPNet's bias-model recipe"),
    ],
)
def test_inconsistent_options_are_refused(data, capsys, args, message):
    base = ["-s", "chip/genome.fa", "-i", "chip/reads.bam", "-c", "chip/control.bam", "-o", "bad.yaml"]
    assert init(data, *base, *args) == 2
    assert message in capsys.readouterr().err
    assert not (data / "bad.yaml").exists()


# --- (c) end to end -------------------------------------------------------------------------------------


def shrink(spec_path: Path) -> None:
    """A tiny model, one epoch, both heads of 120 peaks with 2 shuffles: the whole chain in about three minutes on a CPU."""
    spec = load(spec_path)
    stages = spec["stages"]
    smaller = {
        "train": {"hyperparameters": {"n_filters": 16, "n_layers": 3}, "max_epochs": 1, "batch_size": 32, "device": "cpu"},
        "evaluate": {"device": "cpu"},
        "attribute": {"n_shuffles": 2, "max_loci": 120, "device": "cpu"},
        "modisco": {"n_leiden_runs": 1},
        "profile-modisco": {"n_leiden_runs": 1},
        "marginalize": {"n_loci": 16, "device": "cpu"},
    }
    for stage_id, values in smaller.items():
        assert set(values) <= set(stages[stage_id]["params"]), stage_id
        stages[stage_id]["params"].update(values)
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))


@pytest.mark.slow
def test_init_then_run_goes_from_simulated_bam_files_to_the_report(tmp_path):
    assert run_cli(["simulate", "--out", str(tmp_path / "data"), "--kind", "chip", "--seed", "2", "--genome-size", "2400000",
                    "--chroms", "4", "--n-peaks", "400"]) == 0
    args = ["-s", "data/genome.fa", "-i", "data/reads.bam", "-c", "data/control.bam", "-m", "data/motifs.meme", "-n", "sim",
            "--valid-chroms", "chr2", "--test-chroms", "chr1", "-o", "spec.yaml"]
    if shutil.which("macs3", path=str(Path(sys.executable).parent)) is None:
        args += ["-p", "data/peaks.narrowPeak"]  # no MACS3 in this environment: the simulation's true peaks
    assert init(tmp_path, *args) == 0
    spec_path = tmp_path / "spec.yaml"
    shrink(spec_path)
    env = {**os.environ, "BPNET_NO_PROGRESS": "1", "OMP_NUM_THREADS": "2"}
    result = subprocess.run([str(Path(sys.executable).parent / "bpnet"), "run", str(spec_path)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "sim"
    for stage_id in load(spec_path)["stages"]:
        assert (out / stage_id / "params.yaml").exists(), f"stage {stage_id} did not run"
    for produced in ("loci/loci.h5", "train/model", "evaluate/metrics.json", "attribute/scores/counts.h5",
                     "attribute/scores/profile.h5", "seqlets/seqlets.bed", "modisco/modisco_results.h5", "modisco/patterns.meme",
                     "profile-seqlets/seqlets.bed", "profile-modisco/modisco_results.h5", "report/report.html"):
        assert (out / produced).exists(), produced
    for stage_id in ("annotate", "profile-annotate", "marginalize"):
        assert any((out / stage_id).iterdir())
    page = (out / "report/report.html").read_text()
    assert "<h3>Motifs: count head</h3>" in page and "<h3>Motifs: profile head</h3>" in page
