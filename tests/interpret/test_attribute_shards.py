"""The attribute stage in shards: the same bytes as one shard, resumption after `kill -9`
without recomputing finished shards, any shard order through the ShardedStage protocol,
and a clear error for more shards than loci."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from bpnet.core.architectures.bpnet import BPNet
from bpnet.core.cli.main import run_cli
from bpnet.core.dag.executor import RESUME_NAME
from bpnet.core.modelfile import save_model
from bpnet.core.stages.base import StageContext
from bpnet.core.stages.sharded import ShardedStage
from bpnet.data.loci import LociSet
from bpnet.interpret.shards import FOLDER
from bpnet.interpret.stages.attribute import Attribute

OUTPUTS = ("counts.h5", "profile.h5", "counts.bw", "profile.bw")
TIMING = ("seconds", "sequences_per_s")


def common_params(preprocessed, model: Path) -> dict:
    """Peaks and negatives of the small ChIP simulation, both heads, small batches (many chunks per shard)."""
    return {
        "models": [str(model)], "loci": str(preprocessed["chip_loci"]), "peaks_only": False, "n_shuffles": 3, "seed": 5,
        "batch_size": 16, "device": "cpu",
    }


def write_spec(folder: Path, stages: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", "stages": stages}))
    return spec


@pytest.fixture(scope="module")
def sharded(preprocessed, tmp_path_factory) -> dict:
    """One spec, run once: the same attributions in one shard and in three."""
    folder = tmp_path_factory.mktemp("attribute-shards")
    loci = LociSet.load(preprocessed["chip_loci"])
    torch.manual_seed(0)
    bpnet = BPNet(n_filters=8, n_layers=2, n_outputs=loci.signals.shape[1], n_control_tracks=loci.controls.shape[1],
                  output_length=loci.output_length).eval()
    model = save_model(bpnet, folder / "model")
    common = common_params(preprocessed, model)
    stages = {name: {"stage": "attribute", "params": {**common, "shards": n}} for name, n in (("one", 1), ("three", 3))}
    assert run_cli(["run", str(write_spec(folder, stages))]) == 0
    return {"folder": folder, "out": folder / "out", "model": model, "common": common, "n_loci": len(loci)}


def assert_same_outputs(scores: Path, reference: Path) -> None:
    for name in OUTPUTS:
        assert (scores / name).read_bytes() == (reference / name).read_bytes(), name


def test_three_shards_write_the_same_bytes_as_one(sharded):
    out = sharded["out"]
    assert_same_outputs(out / "three" / "scores", out / "one" / "scores")
    one, three = (json.loads((out / name / "scores" / "summary.json").read_text()) for name in ("one", "three"))
    for head in ("counts", "profile"):
        assert one[head]["shards"] == 1 and three[head]["shards"] == 3
        for summary in (one, three):
            for key in (*TIMING, "shards"):
                summary[head].pop(key)
    assert one == three
    assert not (out / "three" / RESUME_NAME).exists()  # emptied after success


def test_shards_run_in_any_order_then_merged_give_the_bytes_of_run(sharded, tmp_path):
    """What a distributed executor does with the ShardedStage protocol."""
    stage = Attribute()
    assert isinstance(stage, ShardedStage)
    params = Attribute.Params(**sharded["common"], shards=3, scores=tmp_path / "scores")
    ids = stage.shard_ids(params)
    assert ids == [f"{head}-{k}-of-3" for head in ("counts", "profile") for k in (1, 2, 3)]
    context = StageContext("attr", tmp_path, tmp_path / "resume", logging.getLogger("test"))
    for shard_id in reversed(ids):
        stage.run_shard(params, context, shard_id)
    assert sorted(p.name for p in (tmp_path / "resume" / FOLDER).iterdir()) == sorted(f"{i}.npz" for i in ids)
    stage.merge(params, context)
    assert_same_outputs(tmp_path / "scores", sharded["out"] / "one" / "scores")
    with pytest.raises(ValueError, match="not a shard"):
        stage.run_shard(params, context, "counts-4-of-3")


def test_a_shard_file_from_other_settings_or_unreadable_is_recomputed(sharded, tmp_path, caplog):
    stage = Attribute()
    context = StageContext("attr", tmp_path, tmp_path / "resume", logging.getLogger("bpnet.test"))
    other = Attribute.Params(**{**sharded["common"], "seed": 6}, shards=3, heads=["counts"], scores=tmp_path / "other")
    stage.run_shard(other, context, "counts-1-of-3")  # seed 6: not this run's
    (tmp_path / "resume" / FOLDER / "counts-2-of-3.npz").write_bytes(b"not a zip file")
    params = Attribute.Params(**sharded["common"], shards=3, heads=["counts"], scores=tmp_path / "scores")
    with caplog.at_level(logging.INFO, logger="bpnet"):
        stage.run(params, context)
    assert "counts-1-of-3.npz was written with other settings" in caplog.text
    assert "counts-2-of-3.npz is unreadable" in caplog.text
    assert (tmp_path / "scores" / "counts.h5").read_bytes() == (sharded["out"] / "one" / "scores" / "counts.h5").read_bytes()


def test_a_forced_run_recomputes_finished_shards(sharded, tmp_path, caplog):
    stage = Attribute()
    params = Attribute.Params(**sharded["common"], shards=3, heads=["counts"], scores=tmp_path / "scores")
    stage.run_shard(params, StageContext("attr", tmp_path, tmp_path / "resume", logging.getLogger("bpnet.test")), "counts-1-of-3")
    saved = (tmp_path / "resume" / FOLDER / "counts-1-of-3.npz").stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="bpnet"):
        stage.run(params, StageContext("attr", tmp_path, tmp_path / "resume", logging.getLogger("bpnet.test"), force=True))
    assert "resumed" not in caplog.text and "shard 1 of 3 done" in caplog.text
    assert (tmp_path / "resume" / FOLDER / "counts-1-of-3.npz").stat().st_mtime_ns != saved


def bpnet_run(spec: Path, **options) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "BPNET_NO_PROGRESS": "1"}
    return subprocess.Popen([str(Path(sys.executable).parent / "bpnet"), "run", str(spec)], env=env, **options)


def kill_after_new_shards(spec: Path, shards: Path, before: int) -> dict[str, int]:
    """Run `bpnet run spec`, SIGKILL it once more than ``before`` shard files exist; the shard files' mtimes (ns)."""
    process = bpnet_run(spec, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(shards.glob("*.npz"))) <= before:
        assert process.poll() is None, "the run ended before it was killed"
        assert time.monotonic() < deadline, "no shard was finished in time"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return {p.name: p.stat().st_mtime_ns for p in shards.glob("*.npz")}


def test_a_run_killed_with_sigkill_resumes_without_recomputing_finished_shards(sharded, tmp_path):
    n = 20
    spec = write_spec(tmp_path, {"attr": {"stage": "attribute", "params": {**sharded["common"], "shards": n}}})
    shards = tmp_path / "out" / "attr" / RESUME_NAME / FOLDER
    first = kill_after_new_shards(spec, shards, 0)
    assert 1 <= len(first) < 2 * n
    assert not (tmp_path / "out" / "attr" / "scores").exists()
    second = kill_after_new_shards(spec, shards, len(first))  # killed again, later: finished files are never rewritten
    assert len(second) > len(first) and all(second[name] == mtime for name, mtime in first.items())

    run_log = tmp_path / "out" / "run.log"
    earlier = len(run_log.read_text())
    process = bpnet_run(spec, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    log = run_log.read_text()[earlier:]
    for head in ("counts", "profile"):
        finished = sum(name.startswith(f"{head}-") for name in second)
        if finished:
            assert f"resumed {finished} of {n} shards of the {head} head; computing {n - finished}" in log
    computed = {f"{head}-{k}-of-{n}.npz" for head, k in re.findall(r"(\w+) head: shard (\d+) of \d+ done", log)}
    assert computed.isdisjoint(second) and len(computed) == 2 * n - len(second)
    assert_same_outputs(tmp_path / "out" / "attr" / "scores", sharded["out"] / "one" / "scores")
    assert not shards.exists()


def test_more_shards_than_loci_is_exit_2_with_one_line_and_no_output(sharded, tmp_path, capsys):
    spec = write_spec(tmp_path, {"attr": {"stage": "attribute", "params": {**sharded["common"], "max_loci": 4, "shards": 5}}})
    assert run_cli(["run", str(spec)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "5 shards for 4 selected loci" in errors[0] and "at most 4" in errors[0], errors
    assert not (tmp_path / "out" / "attr" / "scores").exists()
    assert not list((tmp_path / "out" / "attr").glob(f"{RESUME_NAME}/{FOLDER}/*"))
