"""The ``train-bpnet`` stage: a BPNet (or any registered architecture) on loci.h5.

For ChIP-seq, ChIP-nexus and ChIP-exo: stranded tracks share one multinomial, control
tracks (when the loci hold them) feed the model as ``X_ctl``. Each epoch uses every
training peak and ``negative_ratio x n_peaks`` negatives drawn afresh; validation runs
on every locus of the validation split once per epoch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from bpnet.core.stages.base import NEUTRAL_DEFAULT, Input, Output, Stage, StageContext

from ..session import TrainingLoopParams
from . import STAGE_VERSION

if TYPE_CHECKING:  # pragma: no cover
    from bpnet.data.loci import LociSet


class TrainBPNetParams(TrainingLoopParams):
    loci: Input = Field(..., description="loci.h5 from the loci stage (with train and valid splits)")
    architecture: str = Field("bpnet", description="registered architecture name or 'module:Class'")
    hyperparameters: dict[str, Any] = Field(
        default_factory=lambda: {"n_filters": 64, "n_layers": 8},
        description="the architecture's hyperparameters; n_outputs, n_control_tracks and output_length default to the loci's",
    )
    negative_ratio: float = Field(
        0.333,
        ge=0,
        description="negatives per peak in each training epoch, drawn afresh every epoch (bpnet-lite: 0.333)",
    )
    max_jitter: int | None = Field(
        None, ge=0, description="largest jitter of training peaks (bp); default: all the loci were extracted with (128)"
    )
    count_loss_weight: float | Literal["auto"] = Field(
        "auto",
        description="weight of the count loss; auto = median total count of peaks + sampled negatives / 10, at least 1 (official rule)",
    )
    profile_loss_on: Literal["all", "peaks"] = Field(
        "all", description="examples the profile (MNLL) loss covers: all (official) or peaks only (bpnet-lite)"
    )
    calibrate_counts: bool = Field(
        False,
        description=(
            "after training, fit observed log(1 + counts) = scale x predicted + shift on the validation peaks and fold it "
            "into the count head: count MSE on peaks falls (0.76 -> 0.12 and 0.77 -> 0.37 on held-out peaks in "
            "benchmarks/convergence.py) but rises on negatives (to about 4.5), so use it only when peaks' counts are what "
            "matters; count Pearson r and profiles unchanged; summary.json count_calibration"
        ),
        json_schema_extra=NEUTRAL_DEFAULT,
    )
    model: Output = Field(Path("model"), description="the model with the lowest validation loss (bpnet model folder)")
    training: Output = Field(Path("training"), description="epochs.csv, batches.jsonl, summary.json and the last epoch's model (last/)")


class TrainBPNet(Stage):
    """Train a BPNet on loci.h5 (resumable; best and last checkpoints every epoch)."""

    name = "train-bpnet"
    version = STAGE_VERSION
    Params = TrainBPNetParams

    def run(self, params: TrainBPNetParams, context: StageContext) -> None:
        from ..session import load_training_loci

        loci = load_training_loci(
            params.loci, memory_mb=params.loci_memory_mb, batch_sizes=(params.batch_size,), log=context.log,
        )
        with loci:  # a streamed loci.h5 closes at the end
            self._train(params, context, loci)

    def _train(self, params: TrainBPNetParams, context: StageContext, loci: LociSet) -> None:
        from ..calibration import linear_count_head
        from ..session import (
            TrainingRun,
            build_for_loci,
            fill_hyperparameters,
            initialise_count_bias,
            official_count_loss_weight,
            training_peak_counts,
        )

        peak_counts = training_peak_counts(loci, params.loci)
        hyperparameters = fill_hyperparameters(params.architecture, params.hyperparameters, loci)
        run = TrainingRun(params, context)
        model = run.seeded(lambda: build_for_loci(params.architecture, hyperparameters, loci, params.loci, "train-bpnet"))
        if params.calibrate_counts:  # a count head that cannot take it is refused before training, not after it
            linear_count_head(model, f"{context.stage_id}: calibrate_counts")
        if params.count_bias_init:
            initialise_count_bias(
                model, loci, loci.select("train", peaks=True), loci.select("train", peaks=False), params.negative_ratio, context.log,
            )
        weight = params.count_loss_weight
        if weight == "auto":
            negatives = loci.total_counts(loci.select("train", peaks=False))
            weight = official_count_loss_weight(peak_counts, negatives, params.negative_ratio, params.seed)
        context.log.info("count-loss weight %.4g", weight)
        train = run.batches(loci, "train", train=True, negative_ratio=params.negative_ratio, max_jitter=params.max_jitter)
        valid = run.batches(loci, "valid", train=False)
        finished = run.fit(model, train, valid, count_loss_weight=weight, profile_on=params.profile_loss_on, name="bpnet")
        extra = {"count_calibration": self._calibrate(model, loci, run, context, params.batch_size) if params.calibrate_counts else None}
        finished.save(
            model, params.model, params.training, architecture=params.architecture, hyperparameters=hyperparameters, **extra,
        )

    @staticmethod
    def _calibrate(model, loci: LociSet, run, context: StageContext, batch_size: int) -> dict | None:
        from ..calibration import calibrate_counts

        calibration = calibrate_counts(model, loci, "valid", run.device, batch_size)
        model.to("cpu")
        if calibration is None:
            context.log.warning("calibrate_counts: too few validation peaks to fit a calibration; the count head is left as trained")
            return None
        context.log.info(
            "count calibration on %d validation peaks: log counts x %.4g %+.4g (count MSE %.4g -> %.4g)",
            calibration.n, calibration.scale, calibration.shift, calibration.mse_before, calibration.mse_after,
        )
        return calibration.record()
