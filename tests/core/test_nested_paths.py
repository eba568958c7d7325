"""Inputs and outputs declared inside nested models and lists of models: resolved, linked,
checked, downloaded and written atomically like top-level ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

import bpnet.core.builtin
from bpnet.core.dag import Runner
from bpnet.core.errors import SpecError
from bpnet.core.plugin.registry import Registry
from bpnet.core.spec import load_pipeline
from bpnet.core.stages.base import Input, Output, StageParams, path_fields, path_items, replace_paths

from ..http_server import serve_folder
from .plugins import nestedstages, textstages
from .plugins.nestedstages import Bundle

SPEC = """
output_dir: out
stages:
  hello:
    stage: write-text
    params: {text: "hello"}
  bundle:
    stage: bundle
    params:
      parts:
        - label: a
          source: a.txt
        - label: b
          source: "@hello.out"
          notes: notes.txt
"""


@pytest.fixture
def reg() -> Registry:
    nestedstages.RUNS.clear()
    return Registry([bpnet.core.builtin, textstages, nestedstages], entry_points=False)


@pytest.fixture
def spec(tmp_path) -> Path:
    (tmp_path / "a.txt").write_text("apple")
    (tmp_path / "notes.txt").write_text("fresh")
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    return path


def run(spec: Path, reg: Registry, **options) -> dict[str, str]:
    return {r.stage_id: r.status for r in Runner(load_pipeline(spec, reg), reg, **options).run()}


def edit_bundle(spec: Path, **params) -> None:
    data = yaml.safe_load(spec.read_text())
    data["stages"]["bundle"]["params"].update(params)
    spec.write_text(yaml.safe_dump(data, sort_keys=False))


# --- the walker ---------------------------------------------------------------------------------


class Entry(BaseModel):
    name: str
    files: list[Input] = []
    out: Output | None = None


class Params(StageParams):
    entries: list[Entry]
    single: Input | None = None
    either: Entry | Input | None = None
    count: int = 0


def test_paths_are_found_with_their_locations_in_models_and_in_raw_mappings():
    raw = {
        "entries": [{"name": "x", "files": ["a", "b"]}, {"name": "y", "out": "o"}],
        "single": "s",
        "either": {"name": "z", "files": ["c"]},
    }
    expected = [(("entries", 0, "files", 0), "a"), (("entries", 0, "files", 1), "b"), (("single",), "s"), (("either", "files", 0), "c")]
    assert path_items(raw, "input", Params) == expected
    assert path_items(Params.model_validate(raw), "input") == [(loc, Path(p)) for loc, p in expected]
    assert path_items(Params.model_validate({**raw, "either": "e"}), "input")[-1] == (("either",), Path("e"))
    assert path_items(raw, "output", Params) == [(("entries", 1, "out"), "o")]
    assert path_fields(Params, "input") == {"single": False}  # paths in nested models: path_items


def test_replacing_paths_keeps_everything_else_and_leaves_the_original_alone():
    params = Params.model_validate({"entries": [{"name": "x", "files": ["a"]}], "count": 3})
    moved = replace_paths(params, "input", lambda path, loc: Path("/data") / path)
    assert moved.entries[0].files == [Path("/data/a")] and moved.entries[0].name == "x" and moved.count == 3
    assert params.entries[0].files == [Path("a")]
    raw = {"entries": [{"name": "x", "files": "not a list"}], "single": None}
    assert replace_paths(raw, "input", lambda path, loc: "changed", model=Params) == raw  # left for validation to refuse


# --- resolving a spec ---------------------------------------------------------------------------


def test_nested_inputs_resolve_against_the_spec_folder_and_references_add_dependencies(reg, spec, tmp_path):
    pipeline = load_pipeline(spec, reg)
    bundle = pipeline.stages["bundle"]
    first, second = bundle.params.parts
    assert first.source == tmp_path / "a.txt" and second.notes == tmp_path / "notes.txt"
    assert second.source == tmp_path / "out/hello/text.txt"
    assert bundle.depends_on == {"hello"}
    assert bundle.params.outputs.text == tmp_path / "out/bundle/bundle.txt"
    assert set(bundle.paths("output")) == {tmp_path / "out/bundle/bundle.txt", tmp_path / "out/bundle/lengths.txt"}


def test_a_nested_input_inside_another_stages_output_folder_is_linked_to_it(reg, spec, tmp_path):
    edit_bundle(spec, parts=[{"label": "a", "source": "out/hello/text.txt"}])
    assert load_pipeline(spec, reg).stages["bundle"].depends_on == {"hello"}


def test_a_missing_nested_input_names_its_yaml_path_and_line(reg, spec, tmp_path):
    (tmp_path / "notes.txt").unlink()
    line = next(i for i, text in enumerate(spec.read_text().splitlines(), 1) if "notes: notes.txt" in text)
    with pytest.raises(SpecError) as caught:
        load_pipeline(spec, reg)
    message = str(caught.value)
    assert message.startswith(f"{spec}:{line}: stages.bundle.params.parts[1].notes: input file")
    assert "notes.txt does not exist" in message


def test_a_bad_nested_reference_names_its_yaml_path(reg, spec):
    spec.write_text(SPEC.replace("@hello.out", "@hello.nothing"))
    with pytest.raises(SpecError, match=r"stages\.bundle\.params\.parts\[1\]\.source: stage 'hello' has no output 'nothing'"):
        load_pipeline(spec, reg)


# --- running --------------------------------------------------------------------------------------


def test_nested_outputs_are_written_recorded_and_skipped_when_up_to_date(reg, spec, tmp_path):
    assert run(spec, reg) == {"hello": "ran", "bundle": "ran"}
    assert (tmp_path / "out/bundle/bundle.txt").read_text() == "a: apple\nb: hello (fresh)"
    assert (tmp_path / "out/bundle/lengths.txt").read_text() == "8 16"
    assert run(spec, reg) == {"hello": "skipped", "bundle": "skipped"}
    (tmp_path / "notes.txt").write_text("stale")  # a nested input changed: the stage runs again
    assert run(spec, reg) == {"hello": "skipped", "bundle": "ran"}
    (tmp_path / "out/bundle/lengths.txt").unlink()  # a nested output is gone: the stage runs again
    assert run(spec, reg) == {"hello": "skipped", "bundle": "ran"}


def test_a_failing_stage_leaves_no_nested_output_half_written(reg, spec, tmp_path):
    edit_bundle(spec, fail=True)
    assert run(spec, reg)["bundle"] == "failed"
    folder = tmp_path / "out/bundle"
    assert not (folder / "bundle.txt").exists() and not (folder / "lengths.txt").exists()
    assert not list(folder.glob(".*.tmp-*"))
    assert nestedstages.RUNS[-1]["outputs"]["text"] != str(folder / "bundle.txt")  # the stage wrote to a temporary path


def test_a_nested_output_the_stage_did_not_write_is_named(reg, spec, tmp_path):
    edit_bundle(spec, skip_lengths=True)
    results = Runner(load_pipeline(spec, reg), reg).run()
    failed = next(r for r in results if r.stage_id == "bundle")
    assert failed.status == "failed" and "did not write its output 'outputs.lengths'" in failed.message
    assert not (tmp_path / "out/bundle/bundle.txt").exists()


def test_a_nested_url_input_is_downloaded_and_recorded_as_its_url(reg, spec, tmp_path, monkeypatch):
    monkeypatch.setenv("BPNET_CACHE_DIR", str(tmp_path / "cache"))
    served = tmp_path / "www"
    served.mkdir()
    (served / "remote.txt").write_text("far")
    with serve_folder(served) as base:
        edit_bundle(spec, parts=[{"label": "r", "source": f"{base}/remote.txt"}])
        assert run(spec, reg)["bundle"] == "ran"
        assert (tmp_path / "out/bundle/bundle.txt").read_text() == "r: far"
        recorded = yaml.safe_load((tmp_path / "out/bundle/params.yaml").read_text())
        assert recorded["stages"]["bundle"]["params"]["parts"][0]["source"] == f"{base}/remote.txt"
        assert isinstance(Bundle.Params.model_validate(recorded["stages"]["bundle"]["params"]), StageParams)
