"""The training loop shared by every bpnet training stage.

:class:`Trainer` fits a model whose ``forward(X[, X_ctl])`` returns ``(profile_logits,
log_counts)`` on batches that carry ``X``, ``X_ctl``, ``y`` and ``is_peak`` (what
``bpnet.train.samplers.make_batches`` yields), with:

* Adam, optional gradient-norm clipping and an optional ReduceLROnPlateau schedule;
* validation once per epoch, early stopping on the validation loss (``patience``);
* ``best`` (lowest validation loss) and ``last`` checkpoints written atomically every
  epoch to ``workdir``; a new :meth:`Trainer.fit` with the same ``run_key`` resumes from
  ``last`` exactly (model, optimizer, scheduler, early-stopping state, RNG, epoch), so a
  killed run finishes with the same epochs and weights as an uninterrupted one (the
  batches of an epoch are a pure function of the seed and the epoch number);
* per-batch metrics appended to ``batches.jsonl`` and per-epoch metrics to
  ``epochs.csv`` as training goes, and a rich progress bar with ETA;
* bf16 autocast on CUDA as one switch (``precision="bf16"``) and ``torch.compile`` as an option;
* optionally an exponential moving average of the weights (``ema_decay``), updated after
  every step: validation, hence early stopping, the best epoch and the schedule, and the
  saved weights are the average's, while training goes on from the raw weights.

Only parameters with ``requires_grad`` are optimised, so a ChromBPNet's frozen bias model
stays as it is.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..atomic import atomic_path
from ..console import progress_bar
from ..errors import BpnetError
from ..formats.training import BATCHES_FILE, EPOCHS_FILE, write_epochs, write_run_logs
from ..outputs import call_model, total_log_counts
from .losses import ProfileScope, profile_count_loss

log = logging.getLogger("bpnet.training")

CHECKPOINT_FORMAT = 2


class BatchLike(Protocol):
    X: torch.Tensor
    X_ctl: torch.Tensor | None
    y: torch.Tensor
    is_peak: torch.Tensor


class Batches(Protocol):
    """An epoch-aware iterable of batches (``bpnet.train.samplers.BatchIterator``)."""

    def set_epoch(self, epoch: int) -> None: ...
    def __iter__(self) -> Iterator[BatchLike]: ...
    def __len__(self) -> int: ...


@dataclass
class TrainerSettings:
    """How to train; the training stages fill it from their parameters."""

    max_epochs: int = 50
    patience: int | None = 5
    learning_rate: float = 1e-3
    clip_grad_norm: float | None = 1.0
    count_loss_weight: float = 1.0
    profile_on: ProfileScope = "all"
    scheduler: bool = False
    scheduler_factor: float = 0.5
    scheduler_patience: int = 5
    min_learning_rate: float = 1e-4
    precision: str = "float32"
    compile: bool = False
    #: Adam's epsilon: PyTorch's 1e-8, or Keras' 1e-7 (the official ChromBPNet's)
    adam_epsilon: float = 1e-8
    #: decay of the exponential moving average of the weights that is validated and saved; None: no average
    ema_decay: float | None = None


@dataclass
class TrainingResult:
    """What :meth:`Trainer.fit` returns."""

    epochs_run: int
    best_epoch: int
    best_valid_loss: float
    stopped_early: bool
    seconds: float
    train_examples_per_s: float
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: int = 0


class Trainer:
    """Train ``model`` with ``settings`` on ``device``; checkpoints and logs go to ``workdir``.

    ``run_key`` identifies the run (a digest of the data and parameters): a checkpoint in
    ``workdir`` with another key is ignored, so changed parameters never resume a stale run.
    """

    def __init__(
        self, model: torch.nn.Module, settings: TrainerSettings, *, device: torch.device | str,
        workdir: Path | str, run_key: str = "", name: str = "training", logger: logging.Logger | None = None,
    ):
        self.model = model
        self.settings = settings
        self.device = torch.device(device)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.run_key = run_key
        self.name = name
        self.log = logger or log
        self.parameters = [p for p in model.parameters() if p.requires_grad]
        if not self.parameters:
            raise BpnetError(f"{name}: the model has no trainable parameters")
        self.optimizer = torch.optim.Adam(self.parameters, lr=settings.learning_rate, eps=settings.adam_epsilon)
        self.scheduler = (
            torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, factor=settings.scheduler_factor, patience=settings.scheduler_patience,
                threshold=1e-4, min_lr=settings.min_learning_rate,
            ) if settings.scheduler else None
        )
        self.ema = self._weight_average(model, settings.ema_decay)
        self._step_model = model
        self._valid_model = self.evaluated

    @staticmethod
    def _weight_average(model: torch.nn.Module, decay: float | None) -> AveragedModel | None:
        """The moving average of ``model``'s weights (a copy; buffers follow the model's), or None.

        It starts at the weights after the first step, then ``e = decay * e + (1 - decay) * w``
        after each step (:func:`torch.optim.swa_utils.get_ema_multi_avg_fn`).
        """
        if decay is None:
            return None
        return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)

    @property
    def evaluated(self) -> torch.nn.Module:
        """The weights that are validated and saved: the moving average's when there is one."""
        return self.model if self.ema is None else self.ema.module

    # ------------------------------------------------------------------ paths

    @property
    def last_path(self) -> Path:
        return self.workdir / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.workdir / "best.pt"

    @property
    def batches_path(self) -> Path:
        return self.workdir / BATCHES_FILE

    @property
    def epochs_path(self) -> Path:
        return self.workdir / EPOCHS_FILE

    # ------------------------------------------------------------------ fit

    def fit(self, train: Batches, valid: Batches) -> TrainingResult:
        """Train until ``max_epochs`` or early stopping; the model ends with the best weights."""
        s = self.settings
        self.model.to(self.device)
        if self.ema is not None:
            self.ema.to(self.device)
            self.log.info("%s: validating and saving a moving average of the weights (ema_decay %g)", self.name, s.ema_decay)
        if s.compile:
            self._step_model = torch.compile(self.model)
            self._valid_model = self._step_model if self.ema is None else torch.compile(self.ema.module)
        state = self._resume()
        history: list[dict[str, Any]] = state["history"]
        start = state["epoch"] + 1
        if start > 1:
            self.log.info("%s: resuming after epoch %d from %s", self.name, state["epoch"], self.last_path)
        stopped_early = state["stopped_early"]
        with progress_bar(transient=True) as bar:
            for epoch in range(start, s.max_epochs + 1):
                if stopped_early:
                    break
                t0 = time.perf_counter()
                train_terms, n_examples, data_seconds = self._train_epoch(train, epoch, bar)
                train_seconds = time.perf_counter() - t0
                valid_terms = self.validate(valid)
                if not math.isfinite(valid_terms["valid_loss"]):
                    raise BpnetError(f"{self.name}: the validation loss is not finite at epoch {epoch}; lower learning_rate")
                if self.scheduler is not None:
                    self.scheduler.step(valid_terms["valid_loss"])
                improved = valid_terms["valid_loss"] < state["best_loss"]
                if improved:
                    state.update(best_loss=valid_terms["valid_loss"], best_epoch=epoch, bad_epochs=0)
                    self._save_best(epoch)
                else:
                    state["bad_epochs"] += 1
                record = {
                    "epoch": epoch, "lr": self.optimizer.param_groups[0]["lr"], **train_terms, **valid_terms,
                    "seconds": round(time.perf_counter() - t0, 3),
                    "train_examples_per_s": round(n_examples / max(train_seconds, 1e-9), 2), "improved": int(improved),
                    "train_examples": n_examples, "train_seconds": train_seconds,  # for the totals; not in epochs.csv
                    "data_wait_share": round(data_seconds / max(train_seconds, 1e-9), 4),  # in the log line, not in epochs.csv
                }
                history.append(record)
                stopped_early = s.patience is not None and state["bad_epochs"] >= s.patience
                self._save_last(epoch, state, history, stopped_early)
                self._write_epochs(history)
                self._announce(record, state["bad_epochs"])
        epochs_run = history[-1]["epoch"] if history else 0
        if stopped_early:
            self.log.info("%s: early stop after epoch %d (no improvement for %d epochs)", self.name, epochs_run, s.patience)
            if state["best_epoch"] == 1:
                self.log.warning(
                    "%s: the validation loss never improved on epoch 1: the model is likely stuck at its starting plateau "
                    "(it predicts one average profile everywhere); a smaller batch_size (more steps per epoch), a larger "
                    "patience or more peaks gets it past", self.name,
                )
        self.load_best()
        return TrainingResult(
            epochs_run=epochs_run, best_epoch=state["best_epoch"], best_valid_loss=state["best_loss"],
            stopped_early=stopped_early, seconds=round(sum(r["seconds"] for r in history), 3),
            train_examples_per_s=round(
                sum(r["train_examples"] for r in history) / max(sum(r["train_seconds"] for r in history), 1e-9), 2,
            ) if history else 0.0,
            history=history, resumed_from=start - 1,
        )

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.settings.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _forward(self, batch: BatchLike, model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        with self._autocast():  # the compiled module, if any, forwards n_control_tracks
            logits, log_counts = call_model(model, batch.X, batch.X_ctl)
        return logits.float(), log_counts.float()

    def _train_epoch(self, train: Batches, epoch: int, bar) -> tuple[dict[str, float], int, float]:
        """One epoch: the mean loss terms, the examples seen and the seconds spent waiting for batches.

        Each step ends with ``.item()``, which waits for the device, so the time spent
        getting the next batch is time the device sat idle for want of data.
        """
        s = self.settings
        train.set_epoch(epoch)
        self.model.train()
        task = bar.add_task(f"{self.name} epoch {epoch}/{s.max_epochs}", total=len(train))
        sums = {"loss": 0.0, "profile": 0.0, "count": 0.0}
        n_examples = n_profile = 0
        data_seconds = 0.0
        batches = iter(train)
        with self.batches_path.open("a") as batch_log:
            for number in itertools.count(1):
                waited = time.perf_counter()
                batch = next(batches, None)
                data_seconds += time.perf_counter() - waited
                if batch is None:
                    break
                t0 = time.perf_counter()
                logits, log_counts = self._forward(batch, self._step_model)
                terms = profile_count_loss(logits, log_counts, batch.y, s.count_loss_weight, batch.is_peak, s.profile_on)
                if not torch.isfinite(terms.total):
                    raise BpnetError(
                        f"{self.name}: the loss became {terms.total.item()} at epoch {epoch}, batch {number}; "
                        "lower learning_rate or check the signal tracks for extreme values"
                    )
                self.optimizer.zero_grad(set_to_none=True)
                terms.total.backward()
                if s.clip_grad_norm:
                    torch.nn.utils.clip_grad_norm_(self.parameters, s.clip_grad_norm)
                self.optimizer.step()
                if self.ema is not None:
                    self.ema.update_parameters(self.model)
                b = len(batch.X)
                loss, profile, count = terms.total.item(), terms.profile.item(), terms.count.item()
                sums["loss"] += loss * b
                sums["count"] += count * b
                sums["profile"] += profile * terms.n_profile
                n_examples += b
                n_profile += terms.n_profile
                batch_log.write(json.dumps({
                    "epoch": epoch, "batch": number, "loss": loss, "profile_loss": profile, "count_loss": count,
                    "lr": self.optimizer.param_groups[0]["lr"], "examples": b,
                    "seconds": round(time.perf_counter() - t0, 4),
                }) + "\n")
                batch_log.flush()
                bar.update(task, advance=1, description=f"{self.name} epoch {epoch}/{s.max_epochs} loss {loss:.3g}")
        bar.remove_task(task)
        if not n_examples:
            raise BpnetError(f"{self.name}: the training split gave no batches")
        return {
            "train_loss": sums["loss"] / n_examples,
            "train_profile_loss": sums["profile"] / n_profile if n_profile else float("nan"),
            "train_count_loss": sums["count"] / n_examples,
        }, n_examples, data_seconds

    @torch.no_grad()
    def validate(self, valid: Batches) -> dict[str, float]:
        """Validation loss (profile on the same scope as training), count Pearson, profile JSD,
        of :attr:`evaluated` (the moving average of the weights, if any)."""
        from ..metrics import pearson_along, profile_jsd

        s = self.settings
        self.evaluated.eval()
        valid.set_epoch(0)
        profile_sum = count_sum = 0.0
        n = n_profile = 0
        predicted, observed, jsd = [], [], []
        for batch in valid:
            logits, log_counts = self._forward(batch, self._valid_model)
            terms = profile_count_loss(logits, log_counts, batch.y, s.count_loss_weight, batch.is_peak, s.profile_on)
            profile_sum += terms.profile.item() * terms.n_profile
            count_sum += terms.count.item() * len(batch.X)
            n += len(batch.X)
            n_profile += terms.n_profile
            predicted.append(total_log_counts(log_counts).cpu())
            observed.append(torch.log1p(batch.y.float().sum(dim=(1, 2))).cpu())
            jsd.append(profile_jsd(logits, batch.y).cpu())
        if not n:
            raise BpnetError(f"{self.name}: the validation split gave no batches")
        profile = profile_sum / n_profile if n_profile else 0.0
        count = count_sum / n
        return {
            "valid_loss": profile + s.count_loss_weight * count,
            "valid_profile_loss": profile,
            "valid_count_loss": count,
            "valid_count_pearson": float(pearson_along(torch.cat(predicted), torch.cat(observed))),
            "valid_profile_jsd": float(torch.nanmean(torch.cat(jsd).double())),
        }

    # ------------------------------------------------------------------ checkpoints

    def _resume(self) -> dict[str, Any]:
        fresh = {
            "epoch": 0, "best_loss": math.inf, "best_epoch": 0, "bad_epochs": 0, "history": [],
            "stopped_early": False,
        }
        if not self.last_path.exists():
            self._reset_logs()
            return fresh
        try:
            checkpoint = torch.load(self.last_path, map_location=self.device, weights_only=True)
        except Exception as exc:  # a checkpoint cut short by a crash: start over, loudly
            self.log.warning("%s: cannot read %s (%s); training from scratch", self.name, self.last_path, exc)
            self._reset_logs()
            return fresh
        if (
            checkpoint.get("run_key") != self.run_key or checkpoint.get("format") != CHECKPOINT_FORMAT
            or checkpoint.get("ema_decay") != self.settings.ema_decay
        ):
            self.log.info("%s: the checkpoint in %s is from other data or parameters; training from scratch", self.name, self.workdir)
            self._reset_logs()
            return fresh
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        if self.ema is not None:
            self.ema.load_state_dict(checkpoint["ema"])
        if self.scheduler is not None and checkpoint.get("scheduler"):
            self.scheduler.load_state_dict(checkpoint["scheduler"])
        torch.set_rng_state(checkpoint["rng"].cpu())
        if torch.cuda.is_available() and checkpoint.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(list(checkpoint["cuda_rng"]))
        state = {key: checkpoint[key] for key in fresh}
        state["history"] = json.loads(checkpoint["history"])
        self._truncate_batch_log(state["epoch"])
        return state

    def _reset_logs(self) -> None:
        for path in (self.last_path, self.best_path, self.batches_path, self.epochs_path):
            path.unlink(missing_ok=True)

    def _truncate_batch_log(self, epoch: int) -> None:
        """Drop batch lines of an epoch that a crash cut short (it is trained again)."""
        if not self.batches_path.exists():
            return
        kept = []
        for line in self.batches_path.read_text().splitlines():
            try:
                if json.loads(line)["epoch"] <= epoch:
                    kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line half-written when the process died
        with atomic_path(self.batches_path) as tmp:
            tmp.write_text("".join(f"{line}\n" for line in kept))

    def _save_last(
        self, epoch: int, state: dict[str, Any], history: list[dict[str, Any]], stopped_early: bool,
    ) -> None:
        checkpoint = {
            "format": CHECKPOINT_FORMAT, "run_key": self.run_key, "epoch": epoch,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "ema_decay": self.settings.ema_decay, "ema": self.ema.state_dict() if self.ema is not None else None,
            "best_loss": state["best_loss"], "best_epoch": state["best_epoch"], "bad_epochs": state["bad_epochs"],
            "history": json.dumps(history), "stopped_early": stopped_early,
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.stack(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else None,
        }
        with atomic_path(self.last_path) as tmp:
            torch.save(checkpoint, tmp)

    def _save_best(self, epoch: int) -> None:
        with atomic_path(self.best_path) as tmp:
            torch.save({"epoch": epoch, "model": self.evaluated.state_dict()}, tmp)

    def load_best(self) -> None:
        """Put the best checkpoint's weights into the model (no-op before the first epoch)."""
        if self.best_path.exists():
            best = torch.load(self.best_path, map_location=self.device, weights_only=True)
            self.model.load_state_dict(best["model"])

    def last_state(self) -> dict[str, torch.Tensor] | None:
        """The weights of the last epoch, the moving average's if any (None before the first)."""
        if not self.last_path.exists():
            return None
        checkpoint = torch.load(self.last_path, map_location="cpu", weights_only=True)
        if checkpoint.get("ema") is None:
            return checkpoint["model"]
        prefix = "module."  # AveragedModel keeps the copy as .module, beside its step count
        return {k[len(prefix):]: v for k, v in checkpoint["ema"].items() if k.startswith(prefix)}

    # ------------------------------------------------------------------ logs

    def _write_epochs(self, history: list[dict[str, Any]]) -> None:
        write_epochs(self.epochs_path, history)

    def _announce(self, record: dict[str, Any], bad_epochs: int) -> None:
        mark = "best" if record["improved"] else f"no improvement for {bad_epochs}"
        self.log.info(
            "%s epoch %d: train %.4g | valid %.4g (profile %.4g, count %.4g) | count r %.3f, JSD %.3f | %.1f ex/s, "
            "%.0f%% waiting for data | %s",
            self.name, record["epoch"], record["train_loss"], record["valid_loss"], record["valid_profile_loss"],
            record["valid_count_loss"], record["valid_count_pearson"], record["valid_profile_jsd"],
            record["train_examples_per_s"], 100 * record["data_wait_share"], mark,
        )

    def write_logs(self, folder: Path | str, summary: dict[str, Any]) -> None:
        """Copy ``epochs.csv`` and ``batches.jsonl`` into ``folder`` and write ``summary.json``
        (the layout of :mod:`bpnet.core.formats.training`)."""
        write_run_logs(Path(folder), self.epochs_path, self.batches_path, summary)


