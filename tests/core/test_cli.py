"""The bpnet command: clear one-line errors, exit codes, no partial output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bpnet.core.cli.main import run_cli

from .conftest import TEXT_PIPELINE


def cli(capsys, *args: str) -> tuple[int, str]:
    code = run_cli([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_one_clear_line(output: str, *fragments: str) -> None:
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.fixture
def spec(write_spec, tmp_path):
    (tmp_path / "notes.txt").write_text("!")
    return write_spec(TEXT_PIPELINE)


def test_run_then_run_again_skips_everything(text_registry, capsys, spec, tmp_path):
    code, out = cli(capsys, "run", spec)
    assert code == 0, out
    assert (tmp_path / "out/run.log").read_text().count("running stage") == 4
    code, out = cli(capsys, "run", spec)
    assert code == 0 and out.count("skipped") == 4


def test_malformed_yaml(text_registry, capsys, write_spec):
    spec = write_spec("stages:\n  a: {stage: write-text\n  b: [\n")
    code, out = cli(capsys, "run", spec)
    assert code == 2
    assert_one_clear_line(out, str(spec), "malformed YAML")


def test_unknown_stage_name_names_its_yaml_path(text_registry, capsys, write_spec):
    spec = write_spec("stages:\n  a:\n    stage: nope\n")
    code, out = cli(capsys, "validate", spec)
    assert code == 2
    assert_one_clear_line(out, f"{spec}:3", "stages.a.stage", "unknown stage 'nope'", "write-text")


def test_unknown_architecture_name(text_registry, capsys, write_spec):
    spec = write_spec("stages:\n  m:\n    stage: model-init\n    params: {architecture: resnet-9000}\n")
    code, out = cli(capsys, "run", spec)
    assert code == 2
    assert_one_clear_line(out, "stages.m.params.architecture", "unknown architecture 'resnet-9000'", "bpnet")


def test_bad_hyperparameter_names_the_field(text_registry, capsys, write_spec):
    spec = write_spec("stages:\n  m:\n    stage: model-init\n    params: {hyperparameters: {n_filters: many}}\n")
    code, out = cli(capsys, "validate", spec)
    assert code == 2
    assert_one_clear_line(out, "stages.m.params", "hyperparameters.n_filters")


def test_wrong_parameter_type(text_registry, capsys, spec):
    spec.write_text(spec.read_text().replace("every: 1", "every: abc"))
    code, out = cli(capsys, "run", spec)
    assert code == 2
    assert_one_clear_line(out, "stages.counted.params.every", "valid integer", "'abc'")
    assert not (spec.parent / "out").exists()


def test_unknown_parameter(text_registry, capsys, spec):
    spec.write_text(spec.read_text().replace("every: 1", "evrey: 1"))
    code, out = cli(capsys, "validate", spec)
    assert code == 2
    assert_one_clear_line(out, "stages.counted.params.evrey", "unknown parameter")


def test_missing_input_file(text_registry, capsys, spec, tmp_path):
    (tmp_path / "notes.txt").unlink()
    code, out = cli(capsys, "run", spec)
    assert code == 2
    assert_one_clear_line(out, "stages.joined.params.parts[2]", f"{tmp_path / 'notes.txt'} does not exist")
    assert not (tmp_path / "out").exists()


def test_bad_reference(text_registry, capsys, spec):
    spec.write_text(spec.read_text().replace("@joined.out", "@joined.output"))
    code, out = cli(capsys, "validate", spec)
    assert code == 2
    assert_one_clear_line(out, "stages.counted.params.source", "stage 'joined' has no output 'output'")


def test_stage_failing_midway_then_fixed(text_registry, capsys, spec, tmp_path):
    spec.write_text(spec.read_text().replace("every: 1}", "every: 1, fail: true}"))
    code, out = cli(capsys, "run", spec)
    assert code == 1
    assert_one_clear_line(out, "stage 'counted' (count-chars) failed: RuntimeError: the counter broke midway", "run.log")
    assert not (tmp_path / "out/counted/counts").exists()
    assert "Traceback" in (tmp_path / "out/run.log").read_text()
    spec.write_text(spec.read_text().replace("fail: true", "fail: false"))
    code, out = cli(capsys, "run", spec)
    assert code == 0
    assert out.count("skipped") == 3


def test_validate_prints_the_order(text_registry, capsys, spec):
    code, out = cli(capsys, "validate", spec)
    assert code == 0 and "hello -> world -> joined -> counted" in out


def test_dry_run_runs_nothing(text_registry, capsys, spec, tmp_path, runs):
    code, out = cli(capsys, "run", spec, "--dry-run")
    assert code == 0 and runs == [] and "will run" in out


def test_unknown_from_stage(text_registry, capsys, spec):
    code, out = cli(capsys, "run", spec, "--from", "nope")
    assert code == 2
    assert_one_clear_line(out, "--from nope: no such stage")


def test_schema_lists_every_stage_with_its_parameters(text_registry, capsys, tmp_path):
    code, out = cli(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    titles = {v["title"] for v in schema["properties"]["stages"]["additionalProperties"]["anyOf"]}
    assert {"write-text", "concat", "count-chars", "model-init", "model-export"} <= titles
    assert "every" in schema["$defs"]["params:count-chars"]["properties"]


def test_plugins_table(text_registry, capsys):
    code, out = cli(capsys, "plugins")
    assert code == 0
    for word in ("architecture", "bpnet", "chrombpnet", "model-init", "local", "bpnet-core"):
        assert word in out
    for package in ("bpnet-data", "bpnet-interpret", "bpnet-keras", "bpnet-arch-bottleneck"):
        assert package in out  # every installed plugin package, even one registering nothing yet


def test_stage_command_runs_one_stage_with_generated_options(text_registry, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = cli(capsys, "stage", "write-text", "--text", "hi", "--output-dir", "o")
    assert code == 0, out
    assert (tmp_path / "o/write-text/text.txt").read_text() == "hi"
    code, out = cli(capsys, "stage", "count-chars", "--source", "o/write-text/text.txt", "--every", "2", "--output-dir", "o")
    assert code == 0, out
    assert (tmp_path / "o/count-chars/counts/n.txt").read_text() == "1"


def test_stage_command_from_a_params_file(text_registry, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli(capsys, "stage", "write-text", "--text", "hey", "--output-dir", "o")[0] == 0
    params = tmp_path / "o/write-text/params.yaml"
    code, out = cli(capsys, "stage", "write-text", "--params-file", params, "--output-dir", "o", "--force")
    assert code == 0 and "ran" in out


def test_stage_command_errors(text_registry, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = cli(capsys, "stage", "count-chars", "--every", "2")
    assert code == 2
    assert_one_clear_line(out, "bpnet stage count-chars --source: missing (required)")
    code, out = cli(capsys, "stage", "count-chars", "--source", "nope.txt")
    assert code == 2
    assert_one_clear_line(out, "nope.txt does not exist")
    code, out = cli(capsys, "stage", "count-chars", "--source", "x", "--every", "abc")
    assert code == 2 and "Traceback" not in out


def test_version(capsys):
    code, out = cli(capsys, "--version")
    assert code == 0 and out.strip() == __import__("bpnet.core").core.__version__


def test_plugins_lists_without_importing_plugin_code():
    script = (
        "import sys\n"
        "from bpnet.core.cli.main import run_cli\n"
        "assert run_cli(['plugins']) == 0\n"
        "heavy = ['torch', 'numpy', 'bpnet.data.sources', 'bpnet.data.stages', 'bpnet.core.stages.models', 'bpnet.keras.importer']\n"
        "print('imported:', [m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("imported: []"), done.stdout[-300:]
