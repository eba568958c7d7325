"""The DAG executor: order, skipping, re-running what changed, atomic outputs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bpnet.core.dag import Runner
from bpnet.core.errors import SpecError
from bpnet.core.plugin import hookimpl
from bpnet.core.plugin.registry import Registry, registry
from bpnet.core.spec import load_pipeline

from .conftest import TEXT_PIPELINE
from .plugins import textstages


def ran(runs) -> list[str]:
    names = [name for name, _ in runs]
    runs.clear()
    return names


def run(spec: Path, **options):
    reg = registry()
    return {r.stage_id: r.status for r in Runner(load_pipeline(spec, reg), reg, **options).run()}


@pytest.fixture
def spec(write_spec, tmp_path):
    (tmp_path / "notes.txt").write_text("!")
    return write_spec(TEXT_PIPELINE)


def test_runs_stages_in_dependency_order_and_writes_outputs(text_registry, runs, spec, tmp_path):
    status = run(spec)
    assert status == {"hello": "ran", "world": "ran", "joined": "ran", "counted": "ran"}
    assert ran(runs) == ["write-text", "write-text", "concat", "count-chars"]
    assert (tmp_path / "out/joined/joined.txt").read_text() == "hello world!"
    assert (tmp_path / "out/counted/counts/n.txt").read_text() == "12"


def test_second_run_skips_every_stage(text_registry, runs, spec):
    run(spec)
    ran(runs)
    assert set(run(spec).values()) == {"skipped"}
    assert ran(runs) == []


def test_changed_user_input_reruns_only_its_dependents(text_registry, runs, spec, tmp_path):
    run(spec)
    ran(runs)
    (tmp_path / "notes.txt").write_text("?!")
    status = run(spec)
    assert status == {"hello": "skipped", "world": "skipped", "joined": "ran", "counted": "ran"}


def test_touched_but_identical_input_is_not_a_change(text_registry, runs, spec, tmp_path):
    run(spec)
    notes = tmp_path / "notes.txt"
    notes.write_text(notes.read_text())
    assert set(run(spec).values()) == {"skipped"}


def test_changed_parameter_reruns_the_stage_and_downstream(text_registry, runs, spec, tmp_path):
    run(spec)
    spec.write_text(spec.read_text().replace('"world"', '"there"'))
    status = run(spec)
    assert status == {"hello": "skipped", "world": "ran", "joined": "ran", "counted": "ran"}
    assert (tmp_path / "out/joined/joined.txt").read_text() == "hello there!"


def test_rerun_upstream_with_identical_output_does_not_rerun_downstream(text_registry, runs, spec):
    run(spec)
    status = run(spec, from_stage="world", until="world")
    assert status == {"world": "ran"}
    assert run(spec) == {"hello": "skipped", "world": "skipped", "joined": "skipped", "counted": "skipped"}


def test_changed_code_version_reruns_the_stage(text_registry, runs, spec, monkeypatch):
    from .plugins.textstages import CountChars

    run(spec)
    monkeypatch.setattr(CountChars, "version", "2")
    assert run(spec)["counted"] == "ran"


def test_deleted_output_reruns_only_its_stage(text_registry, runs, spec, tmp_path):
    run(spec)
    (tmp_path / "out/world/text.txt").unlink()
    status = run(spec)
    assert status == {"hello": "skipped", "world": "ran", "joined": "skipped", "counted": "skipped"}


def test_force_from_and_until(text_registry, runs, spec):
    run(spec)
    assert set(run(spec, force=True).values()) == {"ran"}
    assert run(spec, from_stage="joined") == {"hello": "skipped", "world": "skipped", "joined": "ran", "counted": "ran"}
    assert run(spec, until="joined", force=True) == {"hello": "ran", "world": "ran", "joined": "ran"}


def test_failing_stage_leaves_no_partial_output_and_the_next_run_continues(text_registry, runs, spec, tmp_path):
    spec.write_text(spec.read_text().replace("every: 1}", "every: 1, fail: true}"))
    status = run(spec)
    assert status["counted"] == "failed"
    stage_dir = tmp_path / "out/counted"
    assert not (stage_dir / "counts").exists()
    assert not [p for p in stage_dir.iterdir() if ".tmp-" in p.name]
    assert not (stage_dir / ".bpnet-stage.json").exists()
    ran(runs)
    spec.write_text(spec.read_text().replace("fail: true", "fail: false"))
    status = run(spec)
    assert status == {"hello": "skipped", "world": "skipped", "joined": "skipped", "counted": "ran"}
    assert (stage_dir / "counts/done.txt").exists()


def test_failed_rerun_keeps_the_previous_outputs_but_not_their_record(text_registry, runs, spec, tmp_path):
    run(spec)
    spec.write_text(spec.read_text().replace("every: 1}", "every: 2, fail: true}"))
    assert run(spec)["counted"] == "failed"
    assert (tmp_path / "out/counted/counts/n.txt").read_text() == "12"
    assert not (tmp_path / "out/counted/.bpnet-stage.json").exists()


def test_resolved_parameters_are_written_next_to_the_outputs_and_rerun_alone(text_registry, runs, spec, tmp_path):
    run(spec)
    params_file = tmp_path / "out/joined/params.yaml"
    text = params_file.read_text()
    assert "stage: concat" in text and str(tmp_path / "notes.txt") in text
    record = json.loads((tmp_path / "out/joined/.bpnet-stage.json").read_text())
    assert record["stage"] == "concat" and len(record["fingerprint"]) == 64
    ran(runs)
    alone = load_pipeline(params_file, text_registry)
    assert list(alone.stages) == ["joined"]
    assert {r.status for r in Runner(alone, text_registry).run()} == {"skipped"}
    assert {r.status for r in Runner(alone, text_registry, force=True).run()} == {"ran"}
    assert ran(runs) == ["concat"]


def test_cycles_are_refused(text_registry, write_spec):
    spec = write_spec(
        """
        stages:
          a: {stage: concat, params: {parts: ["@b.out"]}}
          b: {stage: concat, params: {parts: ["@a.out"]}}
        """
    )
    with pytest.raises(SpecError, match=r"cycle: a -> b -> a|cycle: b -> a -> b"):
        Runner(load_pipeline(spec, text_registry), text_registry)


def test_dependencies_also_come_from_matching_paths(text_registry, runs, write_spec, tmp_path):
    spec = write_spec(
        """
        output_dir: out
        stages:
          counted: {stage: count-chars, params: {source: out/hello/text.txt}}
          hello: {stage: write-text, params: {text: "hi"}}
        """
    )
    status = run(spec)
    assert list(status) == ["hello", "counted"]


def test_stale_temporaries_of_a_killed_run_are_removed(text_registry, runs, spec, tmp_path):
    stale = tmp_path / "out/hello/.text.txt.tmp-999-deadbeef"
    stale.parent.mkdir(parents=True)
    stale.write_text("half")
    run(spec)
    assert not stale.exists()


def test_forced_run_empties_the_resume_folder(text_registry, runs, spec, tmp_path):
    run(spec)
    resume = tmp_path / "out/hello/.resume"
    resume.mkdir()
    (resume / "last.ckpt").write_text("old")
    run(spec, from_stage="hello", until="hello")
    assert not resume.exists()


def test_constrained_list_of_inputs_is_still_an_input():
    from pydantic import Field

    from bpnet.core.stages import Input, StageParams
    from bpnet.core.stages.base import path_fields

    class Params(StageParams):
        reads: list[Input] = Field(..., min_length=1)

    assert path_fields(Params, "input") == {"reads": True}


# -- lifecycle hooks ----------------------------------------------------------------------


class Recorder:
    """A plugin that records the lifecycle hooks it hears; with ``broken`` its hooks raise."""

    __name__ = "recorder"

    def __init__(self, broken: bool = False):
        self.calls: list[tuple] = []
        self.broken = broken

    @hookimpl
    def bpnet_stage_started(self, stage_id, stage, params):
        self.calls.append(("started", stage_id, stage, params))
        if self.broken:
            raise RuntimeError("the recorder broke")

    @hookimpl
    def bpnet_stage_finished(self, result):
        self.calls.append(("finished", result.stage_id, result.stage, result.status, result.seconds > 0, result.message))
        if self.broken:
            raise RuntimeError("the recorder broke")


def run_with(recorder: Recorder, spec: Path) -> dict[str, str]:
    reg = Registry(plugins=[textstages, recorder])
    results = Runner(load_pipeline(spec, reg), reg).run()
    return {r.stage_id: r.status for r in results}


def finished(recorder: Recorder) -> list[tuple]:
    return [call[1:] for call in recorder.calls if call[0] == "finished"]


def test_lifecycle_hooks_hear_every_stage_with_its_params_and_result(text_registry, spec, tmp_path):
    recorder = Recorder()
    assert set(run_with(recorder, spec).values()) == {"ran"}
    started = [call[1:] for call in recorder.calls if call[0] == "started"]
    assert [call[:2] for call in started] == [
        ("hello", "write-text"), ("world", "write-text"), ("joined", "concat"), ("counted", "count-chars"),
    ]
    assert started[0][2] == {"text": "hello ", "chunk_bytes": 4096, "out": str(tmp_path / "out/hello/text.txt")}
    assert started[2][2]["parts"] == [str(tmp_path / p) for p in ("out/hello/text.txt", "out/world/text.txt", "notes.txt")]
    assert [call[0] for call in recorder.calls] == ["started", "finished"] * 4  # each stage ends before the next starts
    assert finished(recorder) == [(sid, name, "ran", True, "") for sid, name, *_ in started]

    recorder.calls.clear()
    spec.write_text(spec.read_text().replace("every: 1}", "every: 1, fail: true}"))
    assert run_with(recorder, spec)["counted"] == "failed"
    outcomes = finished(recorder)
    assert [(sid, status) for sid, _, status, *_ in outcomes] == [
        ("hello", "skipped"), ("world", "skipped"), ("joined", "skipped"), ("counted", "failed"),
    ]
    assert outcomes[0][3] is False  # a skipped stage took no time
    assert "stage 'counted' (count-chars) failed: RuntimeError: the counter broke midway" in outcomes[3][4]


def test_a_plugin_whose_hook_raises_does_not_break_the_run(text_registry, spec, caplog):
    broken = Recorder(broken=True)
    with caplog.at_level(logging.WARNING, logger="bpnet.core.plugin.registry"):
        assert set(run_with(broken, spec).values()) == {"ran"}
    assert len(finished(broken)) == 4
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 8  # two hooks for each of four stages
    assert "plugin 'recorder': its bpnet_stage_started hook failed and is ignored: RuntimeError: the recorder broke" in warnings


def test_a_parameter_added_with_a_neutral_default_leaves_finished_stages_up_to_date(text_registry, runs, spec, monkeypatch):
    from pydantic import Field

    from bpnet.core.stages.base import NEUTRAL_DEFAULT

    from .plugins.textstages import WriteText

    run(spec)

    class Upgraded(WriteText.Params):  # a later release adds an option whose default does what the stage did
        newline: str = Field("", json_schema_extra=NEUTRAL_DEFAULT)

    monkeypatch.setattr(WriteText, "Params", Upgraded)
    assert set(run(spec).values()) == {"skipped"}
    spec.write_text(spec.read_text().replace('params: {text: "hello "}', 'params: {text: "hello ", newline: "x"}'))
    assert run(spec)["hello"] == "ran"


def test_a_parameter_marked_same_results_does_not_make_outputs_stale(text_registry, runs, spec, tmp_path):
    run(spec)
    spec.write_text(spec.read_text().replace('params: {text: "hello "}', 'params: {text: "hello ", chunk_bytes: 16}'))
    assert set(run(spec).values()) == {"skipped"}
    spec.write_text(spec.read_text().replace('text: "hello ", chunk_bytes: 16', 'text: "hi ", chunk_bytes: 16'))
    assert run(spec)["hello"] == "ran"
