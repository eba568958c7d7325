"""Folds in one spec: per-fold stages fan out into instances stage[fold], references follow the fold."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpnet.core.dag import Runner
from bpnet.core.errors import SpecError
from bpnet.core.plugin.registry import registry
from bpnet.core.spec import load_pipeline

FOLD_PIPELINE = """
    output_dir: out
    folds: [fold_a, fold_b]
    stages:
      data:
        stage: write-text
        per_fold: true
        params: {text: "data of {fold};"}
      model:
        stage: concat
        per_fold: true
        params: {parts: ["@data.out"], upper: true}
      ensemble:
        stage: concat
        params: {parts: ["@model.out"]}
      first:
        stage: count-chars
        params: {source: "@model[fold_a].out"}
"""


def run(spec: Path, **options) -> dict[str, str]:
    reg = registry()
    return {r.stage_id: r.status for r in Runner(load_pipeline(spec, reg), reg, **options).run()}


def test_per_fold_stages_become_one_instance_per_fold_with_their_own_folders(text_registry, write_spec, tmp_path):
    spec = write_spec(FOLD_PIPELINE)
    status = run(spec)
    assert status == {
        "data[fold_a]": "ran", "model[fold_a]": "ran", "data[fold_b]": "ran", "model[fold_b]": "ran",
        "ensemble": "ran", "first": "ran",
    }
    assert (tmp_path / "out/data/fold_b/text.txt").read_text() == "data of fold_b;"
    assert (tmp_path / "out/model/fold_a/joined.txt").read_text() == "DATA OF FOLD_A;"
    assert (tmp_path / "out/ensemble/joined.txt").read_text() == "DATA OF FOLD_A;DATA OF FOLD_B;"
    assert (tmp_path / "out/first/counts/n.txt").read_text() == "15"
    params = (tmp_path / "out/model/fold_b/params.yaml").read_text()
    assert "model[fold_b]" in params and "out/data/fold_b/text.txt" in params


def test_from_one_fold_reruns_that_fold_and_its_dependents_only(text_registry, write_spec):
    spec = write_spec(FOLD_PIPELINE)
    run(spec)
    status = run(spec, from_stage="model[fold_b]")
    assert status["model[fold_b]"] == "ran"
    assert status["ensemble"] == "ran"
    assert {status[s] for s in ("data[fold_a]", "data[fold_b]", "model[fold_a]", "first")} == {"skipped"}


def test_from_a_per_fold_stage_name_selects_every_fold(text_registry, write_spec):
    spec = write_spec(FOLD_PIPELINE)
    run(spec)
    status = run(spec, from_stage="model", until="ensemble")
    assert status == {
        "data[fold_a]": "skipped", "model[fold_a]": "ran", "data[fold_b]": "skipped", "model[fold_b]": "ran", "ensemble": "ran",
    }


def test_a_changed_fold_parameter_reruns_only_that_folds_instances(text_registry, write_spec):
    spec = write_spec(FOLD_PIPELINE)
    run(spec)
    spec.write_text(spec.read_text().replace("folds: [fold_a, fold_b]", "folds: [fold_a, fold_b, fold_c]"))
    status = run(spec)
    assert status["data[fold_c]"] == "ran" and status["model[fold_c]"] == "ran" and status["ensemble"] == "ran"
    assert status["model[fold_a]"] == "skipped" and status["first"] == "skipped"


def test_params_yaml_of_a_fold_instance_reruns_that_instance_alone(text_registry, write_spec, tmp_path):
    spec = write_spec(FOLD_PIPELINE)
    run(spec)
    assert run(tmp_path / "out/data/fold_a/params.yaml") == {"data[fold_a]": "skipped"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("folds: [fold_a, fold_b]", "folds: [fold_a, fold_a]"), "folds[1]: fold fold_a is listed twice"),
        (("folds: [fold_a, fold_b]", "folds: []"), "stages.data.per_fold: the spec declares no folds"),
        (('source: "@model[fold_a].out"', 'source: "@model.out"'), "stage 'model' runs per fold (fold_a, fold_b); refer to one fold"),
        (('source: "@model[fold_a].out"', 'source: "@model[fold_z].out"'), "names fold 'fold_z', which is not in the spec's folds"),
        (('source: "@model[fold_a].out"', 'source: "@ensemble[fold_a].out"'), "stage 'ensemble' is not per_fold"),
        (("upper: true}", "upper: maybe}"), "stages.model.params.upper: [fold_a] Input should be a valid boolean"),
    ],
)
def test_fold_mistakes_are_one_line_naming_the_yaml_place(text_registry, write_spec, change, expected):
    spec = write_spec(FOLD_PIPELINE.replace(*change))
    with pytest.raises(SpecError) as caught:
        load_pipeline(spec, registry())
    assert expected in str(caught.value)
    assert str(spec) in str(caught.value) and "\n" not in str(caught.value)


def test_a_key_written_twice_in_a_spec_is_refused_with_its_line(text_registry, write_spec):
    spec = write_spec(FOLD_PIPELINE + "      first:\n        stage: count-chars\n        params: {source: \"@ensemble.out\"}\n")
    with pytest.raises(SpecError, match=r"spec.yaml:\d+: key 'first' is written twice"):
        load_pipeline(spec, registry())


def test_fold_instance_ids_show_in_the_plan_the_run_and_validate(text_registry, write_spec, capsys):
    from bpnet.core.cli.main import run_cli

    def shown() -> str:
        captured = capsys.readouterr()
        return (captured.out + captured.err).replace("\n", " ")

    spec = write_spec(FOLD_PIPELINE)
    assert run_cli(["validate", str(spec)]) == 0
    assert "data[fold_a] -> data[fold_b] -> model[fold_a]" in shown()
    assert run_cli(["run", str(spec), "--dry-run"]) == 0
    assert "model[fold_b]" in shown()
    assert run_cli(["run", str(spec)]) == 0
    text = shown()
    assert "stage model[fold_b] (concat)" in text and text.count("model[fold_b]") >= 2
