"""The trainer records the share of each epoch spent waiting for batches (the device idles meanwhile)."""

from __future__ import annotations

import time

import torch

from bpnet.core.modelfile import build_model
from bpnet.core.training.trainer import Trainer, TrainerSettings
from bpnet.data.loci import LociSet
from bpnet.train.samplers import BatchIterator, make_batches


class SlowBatches(BatchIterator):
    """Batches that take ``delay`` seconds each to arrive, like a loader that cannot keep up."""

    delay = 0.05

    def __iter__(self):
        for batch in super().__iter__():
            time.sleep(self.delay)
            yield batch


def fit_one_epoch(loci: LociSet, batches: BatchIterator, folder) -> dict:
    torch.manual_seed(0)
    model = build_model("bpnet", n_filters=4, n_layers=1, n_outputs=loci.n_signals, n_control_tracks=loci.n_controls,
                        output_length=loci.output_length)
    valid = make_batches(loci, "valid", 64, "cpu", train=False)
    trainer = Trainer(model, TrainerSettings(max_epochs=1, patience=None), device="cpu", workdir=folder)
    return trainer.fit(batches, valid).history[0]


def test_an_epoch_records_the_share_of_time_spent_waiting_for_data(preprocessed, tmp_path):
    loci = LociSet.load(preprocessed["chip_loci"])
    options = {"batch_size": 32, "device": "cpu", "train": True, "negative_ratio": 0.1}
    fast = fit_one_epoch(loci, BatchIterator(loci, "train", **options), tmp_path / "fast")
    slow_batches = SlowBatches(loci, "train", **options)
    slow = fit_one_epoch(loci, slow_batches, tmp_path / "slow")
    assert 0 <= fast["data_wait_share"] < slow["data_wait_share"] <= 1
    waited = SlowBatches.delay * len(slow_batches)
    assert slow["data_wait_share"] * slow["train_seconds"] >= 0.9 * waited
