"""What the training stages share: loop parameters, data checks, model sizing, count weights.

Every check here runs before the first batch, so a bad input stops the stage with a
clear message instead of an hour into training:

* a split the trainer needs (train, valid) with no loci;
* training peaks whose signal is zero everywhere (an empty or mis-named bigWig);
* an architecture whose receptive field needs a longer input than the loci hold;
* a ``loci_memory_mb`` too small to stream even one batch.

``loci_memory_mb`` (:class:`LociMemoryParams`) decides how the loci are held: a
``loci.h5`` whose windows fit in it is read into memory whole, as always; a larger one
is opened lazily and streamed (:meth:`bpnet.data.loci.LociSet.open`,
:class:`bpnet.train.samplers.BatchIterator`), with the same batches and results.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from bpnet.core.initialisation import WeightInit
from bpnet.core.stages.base import NEUTRAL_DEFAULT, SAME_RESULTS, StageParams
from bpnet.core.stages.params import DeviceParams
from bpnet.data.errors import DataError
from bpnet.data.loci import LociSet
from bpnet.data.loci_store import DEFAULT_MEMORY_MB

log = logging.getLogger("bpnet.train.session")


#: default of ``loci_memory_mb`` (the samplers' default budget)
DEFAULT_LOCI_MEMORY_MB = DEFAULT_MEMORY_MB
LOCI_MEMORY_HELP = (
    "most memory (MB) the loci's sequence and signal windows may take: a loci.h5 whose windows fit (as float32 counts: "
    "memory_per_locus x loci) is read into memory whole; a larger one is streamed from disk in blocks of batches "
    f"within this budget, with the same batches and results (default {DEFAULT_LOCI_MEMORY_MB}); null always reads it whole"
)


class LociMemoryParams(StageParams):
    """``loci_memory_mb``: in memory or streamed (:func:`open_loci`)."""

    loci_memory_mb: int | None = Field(DEFAULT_LOCI_MEMORY_MB, ge=1, description=LOCI_MEMORY_HELP, json_schema_extra=SAME_RESULTS)


def open_loci(path: Path, memory_mb: int | None, batch_sizes: tuple[int, ...] = (), log: logging.Logger = log) -> LociSet:
    """``loci.h5`` in memory when its windows fit in ``memory_mb`` (or it is None), else lazy
    with that budget for the samplers; an :class:`~bpnet.core.errors.InputError` when the
    budget cannot stream batches of ``batch_sizes`` (close a lazy set with ``close()`` or ``with``)."""
    from .samplers import check_memory_bytes

    loci = LociSet.open(path, None if memory_mb is None else memory_mb * 2**20)
    if memory_mb is None or loci.nbytes <= memory_mb * 2**20:
        with loci:
            return loci.in_memory()
    try:
        for batch_size in batch_sizes:
            check_memory_bytes(loci, batch_size, memory_mb * 2**20)
    except BaseException:
        loci.close()
        raise
    log.info(
        "%s: %.0f MB of windows > loci_memory_mb %d: streamed from disk in blocks of batches", path, loci.nbytes / 2**20, memory_mb,
    )
    return loci


class TrainingLoopParams(LociMemoryParams, DeviceParams):
    """Parameters of the training loop shared by train-bpnet and train-chrombpnet."""

    max_epochs: int = Field(50, ge=1, description="most epochs to train (official: 50)")
    patience: int | None = Field(
        5,
        ge=1,
        description="stop after this many epochs without a lower validation loss (official: 5); null never stops early",
    )
    batch_size: int = Field(64, ge=1, description="examples per batch")
    learning_rate: float = Field(1e-3, gt=0, description="Adam learning rate")
    clip_grad_norm: float | None = Field(1.0, gt=0, description="clip the gradient norm to this value; null does not clip")
    scheduler: bool = Field(
        False,
        description="halve the learning rate after 5 epochs without improvement (ReduceLROnPlateau, min 1e-4, as bpnet-lite)",
    )
    reverse_complement: bool = Field(True, description="reverse-complement half of the training examples")
    seed: int = Field(0, description="seed of the weight initialisation and of the sampling (jitter, flips, negatives)")
    precision: Literal["float32", "bf16"] = Field("float32", description="bf16 autocast on a CUDA GPU, or float32")
    compile: bool = Field(False, description="compile the model with torch.compile")
    weight_init: WeightInit = Field(
        "torch",
        description="starting weights: torch (PyTorch's defaults, as bpnet-lite) or keras (glorot-uniform, zero biases, as "
        "the official TensorFlow code)",
    )
    adam_epsilon: float = Field(1e-8, gt=0, description="Adam's epsilon (PyTorch 1e-8; Keras and the official code 1e-7)")
    count_bias_init: bool = Field(
        True,
        description="start the count head's bias at the mean log(1 + count) of the training examples "
        "(false: PyTorch's default initialisation, as bpnet-lite and the official code)",
    )
    ema_decay: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="keep an exponential moving average of the weights, updated after every step with this decay "
        "(e.g. 0.999), and validate, early-stop and save with it (training goes on from the raw weights); null: no average",
        json_schema_extra=NEUTRAL_DEFAULT,
    )


def load_training_loci(
    path: Path, splits: tuple[str, ...] = ("train", "valid"), *, memory_mb: int | None = None,
    batch_sizes: tuple[int, ...] = (), log: logging.Logger = log,
) -> LociSet:
    """Open ``loci.h5`` (:func:`open_loci`) and check that each split in ``splits`` has loci."""
    loci = open_loci(path, memory_mb, batch_sizes, log)
    present = loci.counts_by_split()
    for split in splits:
        if not len(loci.select(split)):
            loci.close()
            found = ", ".join(f"{name}: {p} peaks + {n} negatives" for name, (p, n) in present.items()) or "none"
            raise DataError(
                f"{path}: the '{split}' split has no loci (splits present: {found}); "
                f"give the loci stage a splits file whose fold puts chromosomes in '{split}'"
            )
    return loci


def training_peak_counts(loci: LociSet, path: Path, split: str = "train") -> np.ndarray:
    """Total counts of the split's peaks; an error when every one of them is zero."""
    peaks = loci.select(split, peaks=True)
    if not len(peaks):
        raise DataError(f"{path}: the '{split}' split has no peaks to train on")
    counts = loci.total_counts(peaks)
    if not np.any(counts > 0):
        names = ", ".join(loci.sources.get("signals", []) or loci.signal_names) or "the signal tracks"
        raise DataError(
            f"{path}: all {len(peaks)} '{split}' peaks have zero counts in {names}; "
            "check that the bigWigs hold reads and use the genome's chromosome names"
        )
    return counts


def fill_hyperparameters(architecture: str, hyperparameters: dict[str, Any], loci: LociSet) -> dict[str, Any]:
    """The architecture's hyperparameters with the data's shape filled in where not given."""
    from bpnet.core.architectures.base import Architecture
    from bpnet.core.plugin.registry import registry

    cls = registry().architecture(architecture)
    fields = cls.Config.model_fields if isinstance(cls, type) and issubclass(cls, Architecture) else {}
    shape = {"n_outputs": loci.n_signals, "n_control_tracks": loci.n_controls, "output_length": loci.output_length}
    return {**{k: v for k, v in shape.items() if k in fields}, **hyperparameters}


def build_for_loci(architecture: str, hyperparameters: dict[str, Any], loci: LociSet, path: Path, label: str):
    """Build the model and check that it fits the loci's windows (before any training)."""
    from bpnet.core.errors import BpnetError
    from bpnet.core.modelfile import build_model

    try:
        model = build_model(architecture, **hyperparameters)
    except (BpnetError, ValueError, TypeError) as exc:
        raise DataError(f"{label}: cannot build '{architecture}' with {hyperparameters}: {exc}") from None
    needed = getattr(model, "minimum_input_length", lambda: None)()
    if needed is not None and needed > loci.input_length:
        layers = hyperparameters.get("n_layers")
        raise DataError(
            f"{label}: {architecture} with n_layers={layers} needs input windows of at least {needed} bp "
            f"but {path} holds {loci.input_length} bp windows; lower n_layers or re-extract the loci "
            f"with input_length >= {needed}"
        )
    output = model.output_length(loci.input_length) if hasattr(model, "output_length") else loci.output_length
    if output != loci.output_length:
        raise DataError(
            f"{label}: {architecture} predicts {output} bp but {path} holds {loci.output_length} bp signal windows; "
            "set hyperparameters.output_length to match"
        )
    return model


def initialise_count_bias(
    model, loci: LociSet, peaks: np.ndarray, negatives: np.ndarray, negative_ratio: float | None, log: logging.Logger = log,
) -> float | None:
    """Set ``model.count_bias()`` to the mean log(1 + count) of the examples an epoch trains on.

    An epoch holds every row of ``peaks`` and ``negative_ratio x len(peaks)`` rows drawn
    from ``negatives`` (``None``: all of them), so negatives are weighted to that share.
    A freshly initialised count head predicts about 0 against targets near
    ``log(1 + reads)``; its huge first errors dominate the shared trunk's gradient and
    hold the profile head on a flat prediction for many epochs (measured on simulated
    ChIP-seq: the validation JSD did not move in 15 epochs; with this start it fell from
    epoch 4, as with no count loss at all). Returns the value set, or None when the
    model exposes no count bias.
    """
    bias = getattr(model, "count_bias", lambda: None)()
    if bias is None:
        log.info("count_bias_init: the model exposes no count bias (Architecture.count_bias); left as initialised")
        return None
    groups = [(peaks, 1.0), (negatives, 1.0)]
    if negative_ratio is not None and len(negatives):
        groups[1] = (negatives, negative_ratio * len(peaks) / len(negatives))
    per_track = bias.numel() > 1
    total, weight = np.zeros(bias.numel()), 0.0
    for rows, w in groups:
        if len(rows):
            targets = np.log1p(_window_counts(loci, rows, per_track))
            total += w * targets.sum(axis=0)
            weight += w * len(rows)
    if weight == 0:
        return None
    value = total / weight
    import torch

    with torch.no_grad():
        bias.copy_(torch.as_tensor(value, dtype=bias.dtype).reshape(bias.shape))
    log.info("count head bias set to %s (mean log(1 + count) of the training examples)", np.round(value, 4).tolist())
    return float(value.mean())


def _window_counts(loci: LociSet, rows: np.ndarray, per_track: bool) -> np.ndarray:
    """Counts in the centred output window: ``(n, 1)`` totals or ``(n, tracks)``."""
    return loci.total_counts(rows)[:, None] if not per_track else loci.track_counts(rows)


def official_count_loss_weight(
    peak_counts: np.ndarray, negative_counts: np.ndarray, negative_ratio: float, seed: int = 0,
) -> float:
    """ChromBPNet's rule: median total count of the peaks plus ``negative_ratio x n_peaks``
    randomly drawn negatives, divided by 10, at least 1."""
    from .chrombpnet import median_count_weight, pooled_counts

    return median_count_weight(pooled_counts(peak_counts, negative_counts, negative_ratio, seed), "train-bpnet")


def run_key(params: StageParams, loci_path: Path, *extra: Any) -> str:
    """A digest of the training parameters and the loci file: checkpoints resume only under it."""
    from bpnet.core.stages.base import path_fields

    outputs = set(path_fields(type(params), "output"))
    # none changes a result: a run resumes on another device, or under another SAME_RESULTS value (memory budget),
    # or after an upgrade that added a NEUTRAL_DEFAULT option
    fields = params.model_dump(mode="json", exclude={"device", *params.fingerprint_exclusions(), *outputs})
    stat = loci_path.stat()
    payload = json.dumps([fields, str(loci_path.resolve()), stat.st_size, stat.st_mtime_ns, *map(str, extra)], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class TrainingRun:
    """One training stage's run: device, seeding, batches, the trainer and the outputs.

    Checkpoints live in ``context.resume_dir/<name>`` (kept when the stage fails, so the
    next run resumes; removed when it succeeds).
    """

    def __init__(self, params: TrainingLoopParams, context: Any):
        self.params, self.context = params, context
        self.device = params.setup_device(params.precision, check_precision=True)
        self.loci_path: Path = params.loci

    def seeded(self, build):
        """Call ``build()`` right after seeding torch and start its weights by ``weight_init``, so they follow ``seed``."""
        import torch

        from bpnet.core.initialisation import initialise

        torch.manual_seed(self.params.seed)
        return initialise(build(), self.params.weight_init)

    def batches(self, loci: LociSet, split: str, *, train: bool, **options: Any):
        """Batches of ``split`` on the device (training: jitter, flips, fresh negatives each epoch)."""
        from .samplers import make_batches

        if train:
            options.setdefault("reverse_complement", self.params.reverse_complement)
        return make_batches(loci, split, self.params.batch_size, self.device, train=train, seed=self.params.seed, **options)

    def fit(self, model, train, valid, *, count_loss_weight: float, profile_on: str, name: str, **settings: Any) -> FinishedRun:
        """Train ``model`` (checkpoints in ``resume_dir/<name>``); it ends with its best weights."""
        from bpnet.core.training import Trainer, TrainerSettings

        p = self.params
        trainer_settings = TrainerSettings(
            max_epochs=settings.pop("max_epochs", p.max_epochs), patience=p.patience, learning_rate=p.learning_rate,
            clip_grad_norm=p.clip_grad_norm, count_loss_weight=float(count_loss_weight), profile_on=profile_on,
            scheduler=p.scheduler, precision=p.precision, compile=p.compile, adam_epsilon=p.adam_epsilon,
            ema_decay=p.ema_decay, **settings,
        )
        trainer = Trainer(
            model, trainer_settings, device=self.device, workdir=self.context.resume_dir / name,
            run_key=run_key(p, self.loci_path, name), name=name, logger=self.context.log,
        )
        n = sum(x.numel() for x in model.parameters() if x.requires_grad)
        self.context.log.info("%s: %d trainable parameters, %d batches per epoch", name, n, len(train))
        result = trainer.fit(train, valid)
        model.to("cpu")
        return FinishedRun(self, trainer, result)


class FinishedRun:
    """A finished :meth:`TrainingRun.fit`: writes the model and the training logs."""

    def __init__(self, run: TrainingRun, trainer: Any, result: Any):
        self.run, self.trainer, self.result = run, trainer, result

    def summary(self, model, **extra: Any) -> dict[str, Any]:
        """What ``summary.json`` records about the run."""
        from dataclasses import asdict

        from bpnet.core.device import describe_device

        r, p = self.result, self.run.params
        return {
            "device": describe_device(self.run.device, p.precision), "precision": p.precision,
            "epochs_run": r.epochs_run, "best_epoch": r.best_epoch, "best_valid_loss": r.best_valid_loss,
            "stopped_early": r.stopped_early, "resumed_after_epoch": r.resumed_from, "seconds": r.seconds,
            "train_examples_per_s": r.train_examples_per_s, "count_loss_weight": self.trainer.settings.count_loss_weight,
            "n_parameters": sum(x.numel() for x in model.parameters()), "settings": asdict(self.trainer.settings), **extra,
        }

    def write_logs(self, folder: Path, model, **extra: Any) -> None:
        """epochs.csv, batches.jsonl, summary.json and the last epoch's weights (``last/``):
        the layout of :mod:`bpnet.core.formats.training`."""
        from bpnet.core.formats.training import LAST_MODEL
        from bpnet.core.modelfile import save_model

        self.trainer.write_logs(folder, self.summary(model, **extra))
        last = self.trainer.last_state()
        if last is not None:
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
            model.load_state_dict(last)
            save_model(model, folder / LAST_MODEL, provenance={"stage": self.run.context.stage_id, "checkpoint": "last"})
            model.load_state_dict(best)

    def save(self, model, model_path: Path, training_path: Path, **extra: Any) -> None:
        """Write the best model and the training folder."""
        from bpnet.core.modelfile import save_model

        r = self.result
        provenance = {
            "stage": self.run.context.stage_id, "best_epoch": r.best_epoch, "epochs_run": r.epochs_run,
            "best_valid_loss": r.best_valid_loss, "seed": self.run.params.seed, "loci": str(self.run.loci_path),
        }
        save_model(model, model_path, provenance=provenance)
        self.write_logs(training_path, model, **extra)
