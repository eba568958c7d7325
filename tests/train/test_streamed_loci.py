"""Loci larger than loci_memory_mb: streamed from loci.h5 in blocks, with the same batches,
the same trained models and the same evaluation as in memory, within the budget."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from bpnet.core.architectures.bpnet import BPNet
from bpnet.core.architectures.chrombpnet import ChromBPNet
from bpnet.core.cli.main import run_cli
from bpnet.core.errors import InputError
from bpnet.core.modelfile import load_model, save_model
from bpnet.core.stages.base import StageContext
from bpnet.data.loci import LociSet
from bpnet.train.samplers import make_batches
from bpnet.train.stages.evaluate import Evaluate

TINY = {"n_filters": 8, "n_layers": 2}
MB = 2**20


@pytest.fixture(scope="module")
def tiled(preprocessed, tmp_path_factory) -> dict[str, Path]:
    """The small simulations' loci four times over (about 4 MB of ChIP windows, 2 MB of ATAC), written by LociSet.save."""
    folder = tmp_path_factory.mktemp("tiled")
    paths = {}
    for name in ("chip", "atac"):
        loci = LociSet.load(preprocessed[f"{name}_loci"])
        paths[name] = folder / f"{name}.h5"
        loci.subset(np.tile(np.arange(len(loci)), 4)).save(paths[name])
        assert LociSet.load(paths[name]).nbytes > (2 * MB if name == "chip" else MB)
    return paths


def same_batches(a, b) -> None:
    assert len(list(a)) == len(a)
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y):
            assert (u is None and v is None) or torch.equal(u, v)


@pytest.mark.parametrize(
    ("name", "split", "options"),
    [
        ("chip", "train", {"train": True}),
        ("chip", "train", {"train": True, "negative_ratio": None, "jitter_negatives": True, "drop_last": True}),
        ("chip", "valid", {"train": False}),
        ("atac", "test", {"train": False, "peaks": False}),
        ("atac", "train", {"train": True, "negative_ratio": 2.5}),  # negatives drawn with replacement: rows repeat
    ],
)
def test_streamed_batches_are_the_in_memory_batches_and_stay_within_the_budget(tiled, name, split, options):
    budget = 300_000
    eager = LociSet.load(tiled[name])
    with LociSet.open(tiled[name], memory_bytes=budget) as lazy:
        for epoch in (1, 2):
            memory, streamed = (make_batches(loci, split, 32, seed=4, **options) for loci in (eager, lazy))
            memory.set_epoch(epoch)
            streamed.set_epoch(epoch)
            assert not memory.streamed and streamed.streamed and streamed._batches_per_block < len(streamed)
            same_batches(memory, streamed)
            assert 0 < streamed.peak_bytes <= budget
            assert streamed.batch(np.array([3, 0, 3]), np.array([1, -2, 0]), np.array([True, False, True])).y.shape[0] == 3


def test_streaming_a_view_with_rows_shuffled_and_repeated_gives_the_in_memory_batches(preprocessed):
    path = preprocessed["chip_loci"]
    eager = LociSet.load(path)
    rows = np.random.default_rng(0).permutation(np.tile(np.arange(len(eager)), 3))
    with LociSet.open(path, memory_bytes=200_000) as lazy:
        view = lazy.subset(rows)  # as ChromBPNet's backgrounds are: nothing read until batches are
        for train, split in ((True, "train"), (False, "valid")):
            memory, streamed = (make_batches(loci, split, 16, train=train, seed=2) for loci in (eager.subset(rows), view))
            same_batches(memory, streamed)
            assert 0 < streamed.peak_bytes <= 200_000


def test_a_budget_below_two_blocks_of_one_batch_is_a_clear_error(tiled):
    with LociSet.open(tiled["chip"]) as lazy, pytest.raises(InputError, match=r"too small .* at least 1 or lower batch_size"):
        make_batches(lazy, "train", 32, memory_bytes=100_000)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_streamed_batches_on_a_gpu_equal_the_in_memory_cpu_batches(tiled):
    eager = LociSet.load(tiled["chip"])
    with LociSet.open(tiled["chip"], memory_bytes=300_000) as lazy:
        cpu, gpu = make_batches(eager, "train", 32, seed=1), make_batches(lazy, "train", 32, device="cuda", seed=1)
        for a, b in zip(cpu, gpu, strict=True):
            assert b.X.is_cuda and all(torch.equal(u, v.cpu()) for u, v in zip(a, b))


def train_spec(folder: Path, loci: Path, stage: str = "train-bpnet", **params) -> Path:
    base = {"loci": str(loci), "max_epochs": 2, "batch_size": 32, "device": "cpu", "seed": 3}
    if stage == "train-bpnet":
        base["hyperparameters"] = TINY
    else:
        base.update(hyperparameters=TINY, bias_hyperparameters={"n_filters": 4, "n_layers": 2}, max_epochs=1)
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", "stages": {"train": {"stage": stage, "params": {**base, **params}}}}))
    return spec


def losses(folder: Path) -> list[dict]:
    with open(folder / "epochs.csv") as handle:
        return [{k: v for k, v in row.items() if "loss" in k or "pearson" in k or "jsd" in k} for row in csv.DictReader(handle)]


@pytest.mark.parametrize("stage", ["train-bpnet", "train-chrombpnet"])
def test_training_streamed_from_a_loci_file_larger_than_the_budget_gives_the_same_model(tiled, tmp_path, stage):
    loci = tiled["chip" if stage == "train-bpnet" else "atac"]
    runs = {}
    for name, budget in (("memory", None), ("streamed", 1)):
        (tmp_path / name).mkdir()
        assert run_cli(["run", str(train_spec(tmp_path / name, loci, stage, loci_memory_mb=budget))]) == 0
        runs[name] = tmp_path / name / "out"
    assert "streamed from disk" in (runs["streamed"] / "run.log").read_text()
    assert "streamed from disk" not in (runs["memory"] / "run.log").read_text()
    a, b = (load_model(run / "train" / "model").state_dict() for run in runs.values())
    assert all(torch.equal(a[k], b[k]) for k in a)
    logs = [run / "train" / "training" for run in runs.values()]
    if stage == "train-chrombpnet":
        records = [json.loads((log / "chrombpnet.json").read_text()) for log in logs]
        assert records[0]["bias_count_shift"] == records[1]["bias_count_shift"]
        assert records[0]["bias_candidates"] == records[1]["bias_candidates"]
        logs = [log / "accessibility" for log in logs]
    assert losses(logs[0]) == losses(logs[1])


def test_a_budget_too_small_for_one_batch_stops_the_stage_with_one_line_before_training(tiled, tmp_path, capsys):
    spec = train_spec(tmp_path, tiled["chip"], loci_memory_mb=1, batch_size=256)
    assert run_cli(["run", str(spec)]) == 2
    output = capsys.readouterr()
    text = output.out + output.err
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert "Traceback" not in text and len(errors) == 1
    assert "loci_memory_mb 1 is too small to stream" in errors[0] and "in batches of 256" in errors[0]
    assert not (tmp_path / "out" / "train" / "model").exists()


def evaluate(tmp_path: Path, model: torch.nn.Module, loci: Path, budget: int | None, **options) -> tuple[str, dict]:
    folder = tmp_path / f"budget-{budget}"
    save_model(model, folder / "model")
    params = Evaluate.Params(
        model=folder / "model", loci=loci, device="cpu", batch_size=16, loci_memory_mb=budget,
        metrics=folder / "metrics.json", predictions=folder / "predictions.npz", **options,
    )
    log = logging.getLogger(f"test-evaluate-{budget}")
    Evaluate().run(params, StageContext("evaluate", folder, folder / "resume", log))
    with np.load(folder / "predictions.npz") as data:
        return (folder / "metrics.json").read_text().replace(str(folder), ""), {k: data[k] for k in data.files}


@pytest.mark.parametrize("kind", ["bpnet", "chrombpnet"])
def test_evaluate_gives_the_same_metrics_and_predictions_streamed_and_in_memory(tiled, tmp_path, kind):
    torch.manual_seed(0)
    if kind == "bpnet":
        model, loci, options = BPNet(n_outputs=2, n_control_tracks=2, output_length=200, **TINY), tiled["chip"], {}
    else:
        bias, accessibility = (BPNet(n_outputs=1, output_length=200, **TINY) for _ in range(2))
        model, loci, options = ChromBPNet(bias, accessibility), tiled["atac"], {"bias_motifs": "tn5", "footprint_loci": 40}
    memory, streamed = (evaluate(tmp_path, model, loci, budget, **options) for budget in (None, 1))
    assert memory[0] == streamed[0]
    assert memory[1].keys() == streamed[1].keys()
    assert all(np.array_equal(memory[1][k], streamed[1][k]) for k in memory[1])
    if kind == "chrombpnet":
        assert json.loads(memory[0])["chrombpnet"]["footprints"]["n_loci"] == 40
