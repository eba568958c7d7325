"""``ema_decay``: a moving average of the weights is validated and saved; training goes on from the raw weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from bpnet.core.cli.main import run_cli
from bpnet.core.modelfile import build_model, load_model
from bpnet.core.training import Trainer, TrainerSettings
from bpnet.data.loci import LociSet
from bpnet.train.samplers import make_batches

DECAY = 0.9


def run_train_bpnet(folder: Path, loci: Path, **params) -> int:
    """``bpnet run`` of a one-epoch train-bpnet of a tiny BPNet in ``folder``."""
    stage = {"stage": "train-bpnet", "params": {
        "loci": str(loci), "hyperparameters": {"n_filters": 4, "n_layers": 1}, "max_epochs": 1, "batch_size": 32,
        "device": "cpu", "seed": 3, **params}}
    folder.mkdir()
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", "stages": {"train": stage}}))
    return run_cli(["run", str(spec)])


def tiny_model_and_batches(preprocessed) -> tuple[torch.nn.Module, tuple]:
    """A seeded tiny BPNet for the ChIP loci and its (train, valid) batches."""
    loci = LociSet.load(preprocessed["chip_loci"])
    torch.manual_seed(0)
    model = build_model("bpnet", n_filters=4, n_layers=1, n_outputs=loci.n_signals, n_control_tracks=loci.n_controls,
                        output_length=loci.output_length)
    return model, (make_batches(loci, "train", 8, "cpu", train=True), make_batches(loci, "valid", 64, "cpu", train=False))


def fit(model: torch.nn.Module, batches: tuple, folder: Path, **settings) -> Trainer:
    trainer = Trainer(model, TrainerSettings(patience=None, **settings), device="cpu", workdir=folder)
    trainer.fit(*batches)
    return trainer


def moving_average(steps: list[dict[str, torch.Tensor]], decay: float) -> dict[str, torch.Tensor]:
    """The average from the first step's weights, then ``e = decay * e + (1 - decay) * w`` each step."""
    average = {k: v.double() for k, v in steps[0].items()}
    for weights in steps[1:]:
        average = {k: decay * average[k] + (1 - decay) * weights[k].double() for k in average}
    return {k: v.float() for k, v in average.items()}


def test_ema_decay_null_trains_exactly_the_weights_of_a_run_without_it(preprocessed, tmp_path):
    assert run_train_bpnet(tmp_path / "default", preprocessed["chip_loci"]) == 0
    assert run_train_bpnet(tmp_path / "null", preprocessed["chip_loci"], ema_decay=None) == 0
    assert run_train_bpnet(tmp_path / "ema", preprocessed["chip_loci"], ema_decay=DECAY) == 0
    default, null, ema = (load_model(tmp_path / name / "out" / "train" / "model").state_dict() for name in ("default", "null", "ema"))
    assert all(torch.equal(default[k], null[k]) for k in default)
    assert not all(torch.equal(default[k], ema[k]) for k in default)
    summaries = [json.loads((tmp_path / name / "out/train/training/summary.json").read_text()) for name in ("null", "ema")]
    assert [s["settings"]["ema_decay"] for s in summaries] == [None, DECAY]


def test_the_saved_weights_are_the_moving_average_of_the_raw_weights_after_each_step(preprocessed, tmp_path):
    model, batches = tiny_model_and_batches(preprocessed)
    trainer = Trainer(model, TrainerSettings(max_epochs=1, patience=None, ema_decay=DECAY), device="cpu", workdir=tmp_path)
    raw: list[dict[str, torch.Tensor]] = []
    trainer.optimizer.register_step_post_hook(lambda *_: raw.append({k: v.detach().clone() for k, v in model.state_dict().items()}))
    trainer.fit(*batches)
    assert len(raw) == len(batches[0]) > 2
    expected = moving_average(raw, DECAY)
    saved = model.state_dict()  # fit ends with the best epoch's weights: here the only one
    for key in saved:
        torch.testing.assert_close(saved[key], expected[key], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(trainer.last_state()[key], expected[key], rtol=1e-5, atol=1e-6)
    assert not all(torch.allclose(saved[k], raw[-1][k]) for k in saved)
    checkpoint = torch.load(trainer.last_path, weights_only=True)
    assert all(torch.equal(checkpoint["model"][k], raw[-1][k]) for k in saved), "training goes on from the raw weights"


def test_the_validation_loss_of_each_epoch_is_that_of_the_averaged_weights(preprocessed, tmp_path):
    model, batches = tiny_model_and_batches(preprocessed)
    trainer = fit(model, batches, tmp_path / "ema", max_epochs=2, ema_decay=DECAY)
    last = torch.load(trainer.last_path, weights_only=True)
    history = {r["epoch"]: r["valid_loss"] for r in json.loads(last["history"])}
    best = torch.load(trainer.best_path, weights_only=True)
    judge = Trainer(model, TrainerSettings(), device="cpu", workdir=tmp_path / "judge")
    for epoch, weights in ((best["epoch"], best["model"]), (2, trainer.last_state())):
        model.load_state_dict(weights)
        assert judge.validate(batches[1])["valid_loss"] == pytest.approx(history[epoch], rel=1e-6)
    model.load_state_dict(last["model"])  # the raw weights
    assert judge.validate(batches[1])["valid_loss"] != pytest.approx(history[2], rel=1e-3)


def test_a_resumed_run_ends_with_the_same_average_as_an_uninterrupted_one(preprocessed, tmp_path):
    model, batches = tiny_model_and_batches(preprocessed)
    straight = fit(model, batches, tmp_path / "straight", max_epochs=3, ema_decay=DECAY)
    # a run stopped after epoch 1 leaves last.pt of epoch 1, as one killed during epoch 2 does
    model, batches = tiny_model_and_batches(preprocessed)
    fit(model, batches, tmp_path / "resumed", max_epochs=1, ema_decay=DECAY)
    model, batches = tiny_model_and_batches(preprocessed)
    resumed = Trainer(model, TrainerSettings(max_epochs=3, patience=None, ema_decay=DECAY), device="cpu", workdir=tmp_path / "resumed")
    assert resumed.fit(*batches).resumed_from == 1
    a, b = (torch.load(t.last_path, weights_only=True)["ema"] for t in (straight, resumed))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert int(b["n_averaged"]) == 3 * len(batches[0])
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("decay", [1.0, -0.1])
def test_an_ema_decay_outside_0_to_1_is_refused_in_one_line(preprocessed, tmp_path, capsys, decay):
    assert run_train_bpnet(tmp_path / "bad", preprocessed["chip_loci"], ema_decay=decay) == 2
    captured = capsys.readouterr()
    output = captured.out + captured.err
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert "Traceback" not in output and len(errors) == 1 and "ema_decay" in errors[0], output
    assert not (tmp_path / "bad" / "out" / "train" / "model").exists()
