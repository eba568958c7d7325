"""The ``train-chrombpnet`` stage: the full official ChromBPNet procedure on ATAC/DNase loci.

1. **Bias model** (128 x 4 BPNet by default) on background loci below the official count
   threshold (:func:`bpnet.train.chrombpnet.select_bias_loci`), all of them every epoch,
   or a bias model you give (``bias_model``).
2. **Check** it: its count Pearson on validation peaks must stay low (it should explain
   the enzyme's sequence preference, not accessibility); a warning, or an error with
   ``bias_check: error``.
3. **Freeze** it and **scale** its count head on the kept negatives.
4. **Accessibility model** (512 x 8 by default) trained through the combined model on
   peaks plus ``negative_ratio x n_peaks`` negatives drawn afresh each epoch, jittered by
   up to the loci's ``max_jitter`` (500 official), profile loss on every example,
   validation on the validation peaks plus ``negative_ratio x n_peaks`` validation
   negatives drawn once.
5. **Check** that its counts tell validation peaks from validation negatives (a warning).
6. **Save** the combined model, the scaled bias model and the accessibility model (the
   de-biased model for interpretation), the logs of both runs and ``chrombpnet.json``.

Each step is a function returning a typed result (:mod:`bpnet.train.chrombpnet`);
``chrombpnet.json`` is assembled from them at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from bpnet.core.stages.base import Input, Output, Stage, StageContext

from ..session import TrainingLoopParams
from . import STAGE_VERSION

if TYPE_CHECKING:  # pragma: no cover
    from ..chrombpnet import AccessibilityModel, BiasModel


class TrainChromBPNetParams(TrainingLoopParams):
    loci: Input = Field(
        ...,
        description="loci.h5 of ATAC/DNase (unstranded, no controls) with peaks, negatives and train/valid/test splits",
    )
    hyperparameters: dict[str, Any] = Field(
        default_factory=lambda: {"n_filters": 512, "n_layers": 8},
        description="BPNet hyperparameters of the accessibility model (official: 512 filters, 8 layers)",
    )
    bias_hyperparameters: dict[str, Any] = Field(
        default_factory=lambda: {"n_filters": 128, "n_layers": 4},
        description="BPNet hyperparameters of the bias model (official: 128 filters, 4 layers)",
    )
    bias_model: Input | None = Field(None, description="a trained bias model to use instead of training one (it is still scaled)")
    bias_threshold_factor: float = Field(
        0.5,
        gt=0,
        description="bias model trains on negatives with counts below this x the 1% quantile of peak counts (0.5 ATAC, 0.8 DNase)",
    )
    outlier_quantile: float = Field(
        0.9999, gt=0.5, le=1, description="drop loci with counts outside the (1-q, q) quantiles (official 0.9999)"
    )
    bias_max_epochs: int | None = Field(None, ge=1, description="most epochs of the bias model (default: max_epochs)")
    bias_max_jitter: int = Field(
        0,
        ge=0,
        description="jitter of the bias model's background loci (the official generator never jitters non-peaks)",
    )
    bias_check: Literal["warn", "error", "off"] = Field("warn", description="what to do when the bias model explains peak counts too well")
    bias_max_peak_pearson: float = Field(0.5, description="largest acceptable count Pearson r of the bias model on validation peaks")
    negative_ratio: float = Field(
        0.1,
        ge=0,
        description="negatives per peak in each epoch of the accessibility model, drawn afresh (official 0.1)",
    )
    max_jitter: int | None = Field(
        None,
        ge=0,
        description="jitter of training peaks (bp); default: the loci's (extract them with max_jitter 500 as the official code)",
    )
    count_loss_weight: float | Literal["auto"] = Field(
        "auto", description="accessibility model's count-loss weight; auto = official median/10"
    )
    count_bias_init: bool = Field(
        False,
        description="start the count heads' biases (bias model, then accessibility model) at the mean log(1 + count) of "
        "their training examples; off by default, as the official code: on simulated ATAC it left the accessibility "
        "model's count head nearly constant (see docs/training.md)",
    )
    model: Output = Field(Path("model"), description="combined ChromBPNet (frozen scaled bias + accessibility)")
    bias_model_out: Output = Field(Path("bias_model"), description="the scaled bias model")
    accessibility_model: Output = Field(Path("accessibility_model"), description="the accessibility model alone: the de-biased model")
    training: Output = Field(Path("training"), description="bias/ and accessibility/ training logs and chrombpnet.json")


class TrainChromBPNet(Stage):
    """Train ChromBPNet: bias model on background, frozen and scaled, then the accessibility model."""

    name = "train-chrombpnet"
    version = STAGE_VERSION
    Params = TrainChromBPNetParams

    def run(self, params: TrainChromBPNetParams, context: StageContext) -> None:
        from ..chrombpnet import check_bias, check_counts
        from ..session import TrainingRun, load_training_loci, training_peak_counts

        loci = load_training_loci(params.loci)
        training_peak_counts(loci, params.loci)
        if loci.n_controls:
            context.log.warning("ChromBPNet takes no control tracks: the loci's controls are ignored")
        session = TrainingRun(params, context)
        bias = train_bias_model(params, context, loci, session)
        bias_check = check_bias(bias.model, loci, bias.selection, params.bias_max_peak_pearson, session.device)
        bias_check.report(params.bias_check, context.log)
        accessibility = train_accessibility_model(params, context, loci, bias.model, session)
        count_check = check_counts(accessibility.model, loci, session.device)
        count_check.report(context.log)
        save_models(params, context, bias, bias_check, accessibility, count_check)


def train_bias_model(params: TrainChromBPNetParams, context: StageContext, loci, session) -> BiasModel:
    """Step 1: the bias model, trained on the background below the count threshold (or the one given)."""
    from bpnet.core.modelfile import load_model

    from ..chrombpnet import BiasModel, select_bias_loci
    from ..session import build_for_loci, initialise_count_bias

    chosen = select_bias_loci(loci, params.loci, params.bias_threshold_factor, params.outlier_quantile)
    context.log.info(
        "bias model: %d background loci below %.4g counts, count-loss weight %.4g",
        len(chosen.rows), chosen.threshold, chosen.count_loss_weight,
    )
    if params.bias_model is not None:
        return BiasModel(load_model(params.bias_model), chosen, source=str(params.bias_model))
    background = loci.subset(chosen.rows)
    hyper = {"n_outputs": 1, "output_length": loci.output_length, **params.bias_hyperparameters}
    bias = session.seeded(lambda: build_for_loci("bpnet", hyper, loci, params.loci, "train-chrombpnet bias model"))
    if params.count_bias_init:
        rows = chosen.rows[loci.split[chosen.rows] == "train"]
        initialise_count_bias(bias, loci, rows, rows[:0], None, context.log)
    train = session.batches(
        background, "train", train=True, negative_ratio=None, max_jitter=min(params.bias_max_jitter, loci.max_jitter),
        jitter_negatives=True,
    )
    valid = session.batches(background, "valid", train=False)
    finished = session.fit(
        bias, train, valid, count_loss_weight=chosen.count_loss_weight, profile_on="all", name="bias",
        max_epochs=params.bias_max_epochs or params.max_epochs,
    )
    return BiasModel(bias, chosen, run=finished, hyperparameters=hyper)


def train_accessibility_model(
    params: TrainChromBPNetParams, context: StageContext, loci, bias, session,
) -> AccessibilityModel:
    """Steps 3 and 4: scale the frozen bias model's counts to the background, then train the
    accessibility model through the combined model."""
    from bpnet.core.architectures.chrombpnet import ChromBPNet

    from ..chrombpnet import AccessibilityModel, scale_bias_counts, select_accessibility_loci, validation_rows
    from ..session import build_for_loci, initialise_count_bias

    chosen = select_accessibility_loci(loci, params.negative_ratio, params.outlier_quantile, params.seed)
    background = chosen.rows[~loci.is_peak[chosen.rows] & (loci.split[chosen.rows] != "test")]
    shift = scale_bias_counts(bias, loci, background, session.device)
    context.log.info("bias count head shifted by %.4g (mean log-count residual on %d negatives)", shift, len(background))
    weight = chosen.count_loss_weight if params.count_loss_weight == "auto" else float(params.count_loss_weight)
    hyper = {"n_outputs": 1, "output_length": loci.output_length, **params.hyperparameters}
    accessibility = session.seeded(lambda: build_for_loci("bpnet", hyper, loci, params.loci, "train-chrombpnet accessibility model"))
    model = ChromBPNet(bias, accessibility)
    if params.count_bias_init:
        train_rows = chosen.rows[loci.split[chosen.rows] == "train"]
        peaks = loci.is_peak[train_rows].astype(bool)
        initialise_count_bias(model, loci, train_rows[peaks], train_rows[~peaks], params.negative_ratio, context.log)
    train = session.batches(
        loci.subset(chosen.rows),
        "train",
        train=True,
        negative_ratio=params.negative_ratio,
        max_jitter=params.max_jitter,
    )
    valid_rows = validation_rows(loci, chosen.rows, params.negative_ratio, params.seed)
    valid = session.batches(loci.subset(valid_rows), "valid", train=False)
    finished = session.fit(model, train, valid, count_loss_weight=weight, profile_on="all", name="accessibility")
    return AccessibilityModel(model, chosen, finished, shift, weight, len(valid_rows), hyper)


def save_models(params: TrainChromBPNetParams, context: StageContext, bias, bias_check, accessibility, count_check) -> None:
    """Step 6: the three models, the logs of both runs and ``chrombpnet.json``."""
    from bpnet.core.formats.training import ACCESSIBILITY_RUN, BIAS_RUN, write_chrombpnet_record
    from bpnet.core.modelfile import save_model

    from ..chrombpnet import chrombpnet_record

    model = accessibility.model
    provenance = {"stage": context.stage_id, "seed": params.seed, "loci": str(params.loci)}
    save_model(model, params.model, provenance={**provenance, "best_epoch": accessibility.run.result.best_epoch})
    save_model(model.bias, params.bias_model_out, provenance={**provenance, "bias_count_shift": accessibility.bias_count_shift})
    save_model(model.accessibility, params.accessibility_model, provenance=provenance)
    params.training.mkdir(parents=True, exist_ok=True)
    if bias.run is not None:
        bias.run.write_logs(params.training / BIAS_RUN, model.bias)
    accessibility.run.write_logs(params.training / ACCESSIBILITY_RUN, model)
    write_chrombpnet_record(params.training, chrombpnet_record(bias, bias_check, accessibility, count_check))
