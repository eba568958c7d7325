"""The ``train-chrombpnet`` stage: the full official ChromBPNet procedure on ATAC/DNase loci.

1. **Bias model** (128 x 4 BPNet by default) on background loci below the official count
   threshold (:func:`bpnet.train.chrombpnet.select_bias_loci`), all of them every epoch:
   one per ``bias_threshold_factor`` when it is a list (the functions of
   :mod:`.chrombpnet_bias`); or the bias model(s) you give (``bias_model``: a model
   folder, or the ``bias_models`` folder of train-chrombpnet-bias).
2. **Check and choose**: every candidate gets the official verdicts on its count Pearson
   on validation peaks and background; ``bias_choice`` (auto, or a factor) picks one
   (:func:`bpnet.train.chrombpnet.choose_bias`). When every candidate fails, a warning,
   or an error with ``bias_check: error``; a failed check keeps the candidates'
   checkpoints, so a re-run with another ``bias_choice`` trains no bias model again.
3. **Freeze** it and **scale** its count head on the kept negatives.
4. **Accessibility model** (512 x 8 by default) trained through the combined model on
   peaks plus ``negative_ratio x n_peaks`` negatives drawn afresh each epoch, jittered by
   up to the loci's ``max_jitter`` (500 official), profile loss on every example,
   validation on the validation peaks plus ``negative_ratio x n_peaks`` validation
   negatives drawn once.
5. **Check** that its counts tell validation peaks from validation negatives (a warning).
6. **Save** the combined model, the scaled bias model and the accessibility model (the
   de-biased model for interpretation), the logs of both runs and ``chrombpnet.json``
   (and, with several factors, every candidate in ``training/bias_candidates``).

Each step is a function returning a typed result (:mod:`bpnet.train.chrombpnet`);
``chrombpnet.json`` is assembled from them at the end.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from bpnet.core.stages.base import Input, Output, Stage, StageContext

from ..qc import BIAS_PEAKS_MAX_PEARSON
from . import STAGE_VERSION
from .chrombpnet_bias import BiasTrainingParams

if TYPE_CHECKING:  # pragma: no cover
    from bpnet.data.loci import LociSet

    from ..chrombpnet import AccessibilityModel, BiasChoice, BiasModel


class TrainChromBPNetParams(BiasTrainingParams):
    hyperparameters: dict[str, Any] = Field(
        default_factory=lambda: {"n_filters": 512, "n_layers": 8},
        description="BPNet hyperparameters of the accessibility model (official: 512 filters, 8 layers)",
    )
    bias_model: Input | None = Field(
        None,
        description="trained bias model(s) instead of training them: a bpnet model folder (e.g. a converted ENCODE bias "
        "model, checked on the background of bias_threshold_factor) or train-chrombpnet-bias's bias_models folder (its "
        "candidates; bias_choice picks one); either is still scaled",
    )
    bias_choice: Literal["auto"] | float = Field(
        "auto",
        description="the bias candidate the accessibility model uses: auto (no failed check, then no advice, then the "
        "highest specificity, then the smallest factor; docs/training.md) or a candidate's bias_threshold_factor, used "
        "even when it fails a check (with a warning)",
    )
    bias_check: Literal["warn", "error", "off"] = Field(
        "warn",
        description="when the chosen bias model fails the official bias checks (every candidate fails): warn and go on, "
        "stop (error) or say nothing (off); the candidates' checkpoints survive a stop",
    )
    bias_max_peak_pearson: float = Field(
        BIAS_PEAKS_MAX_PEARSON,
        description="largest acceptable count Pearson r of the bias model on validation peaks (above it, it explains accessibility)",
    )
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
    model: Output = Field(Path("model"), description="combined ChromBPNet (frozen scaled bias + accessibility)")
    bias_model_out: Output = Field(Path("bias_model"), description="the scaled bias model")
    accessibility_model: Output = Field(Path("accessibility_model"), description="the accessibility model alone: the de-biased model")
    training: Output = Field(
        Path("training"),
        description="bias/ and accessibility/ training logs, chrombpnet.json and, with several factors, bias_candidates/",
    )


class TrainChromBPNet(Stage):
    """Train ChromBPNet: bias model(s) on background, one chosen, frozen and scaled, then the accessibility model."""

    name = "train-chrombpnet"
    version = STAGE_VERSION
    Params = TrainChromBPNetParams

    def run(self, params: TrainChromBPNetParams, context: StageContext) -> None:
        from ..chrombpnet import assess_bias_candidates, check_counts, choose_bias, enforce_bias_check
        from ..session import TrainingRun
        from .chrombpnet_bias import load_chrombpnet_loci, log_bias_choice, train_bias_candidates

        with load_chrombpnet_loci(params, context.log) as loci:
            session = TrainingRun(params, context)
            if params.bias_model is not None:
                biases = given_bias_models(params, context, loci)
            else:
                biases = train_bias_candidates(params, context, loci, session)
            candidates = assess_bias_candidates(biases, loci, params.bias_max_peak_pearson, session.device)
            choice = choose_bias(candidates, params.bias_choice)
            log_bias_choice(choice, context.log)
            save_trained_candidates(params, context, choice)  # before the check can stop the stage, and unscaled
            enforce_bias_check(choice, params.bias_check, context.log)
            accessibility = train_accessibility_model(params, context, loci, choice.chosen.bias.model, session)
            count_check = check_counts(accessibility.model, loci, session.device)
        count_check.report(context.log)
        save_models(params, context, choice, accessibility, count_check)


def given_bias_models(params: TrainChromBPNetParams, context: StageContext, loci: LociSet) -> list[BiasModel]:
    """Step 1 with ``bias_model``: every candidate of a bias candidates folder, or the one model folder."""
    from bpnet.core.errors import InputError
    from bpnet.core.formats.training import is_bias_candidates_folder, read_bias_candidates
    from bpnet.core.modelfile import load_model

    from ..chrombpnet import BiasModel, select_bias_loci

    path = params.bias_model
    assert path is not None

    def given(model: Path, factor: float, **extra: Any) -> BiasModel:
        selection = select_bias_loci(loci, params.loci, factor, params.outlier_quantile)
        return BiasModel(load_model(model), selection, factor, source=str(model), **extra)

    if is_bias_candidates_folder(path):
        record, entries = read_bias_candidates(path)
        trained_on = record.get("loci")
        if trained_on and Path(trained_on).resolve() != params.loci.resolve():
            context.log.warning(
                "the bias candidates in %s were trained on %s, not on %s: with other chromosome splits the bias model "
                "may have seen this fold's test chromosomes", path, trained_on, params.loci,
            )
        return [given(e.model, e.factor, hyperparameters=e.record.get("hyperparameters"), logs=e.logs) for e in entries]
    if len(params.bias_factors) > 1:
        raise InputError(
            f"bias_threshold_factor lists {len(params.bias_factors)} factors but bias_model {path} is one trained model: "
            "give one factor (it picks the background the model is checked on), or give a train-chrombpnet-bias folder"
        )
    return [given(path, params.bias_factors[0])]


def save_trained_candidates(params: TrainChromBPNetParams, context: StageContext, choice: BiasChoice) -> None:
    """With several candidates trained here, all of them in ``training/bias_candidates`` (a bias candidates folder)."""
    from bpnet.core.formats.training import BIAS_CANDIDATES

    from .chrombpnet_bias import save_bias_candidates

    if params.bias_model is None and len(choice.candidates) > 1:
        save_bias_candidates(params.training / BIAS_CANDIDATES, choice, params.loci, context.stage_id)


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


def save_models(
    params: TrainChromBPNetParams, context: StageContext, choice: BiasChoice, accessibility: AccessibilityModel, count_check,
) -> None:
    """Step 6: the three models, the logs of both runs and ``chrombpnet.json``."""
    from bpnet.core.formats.training import ACCESSIBILITY_RUN, BIAS_RUN, write_chrombpnet_record
    from bpnet.core.modelfile import save_model

    from ..chrombpnet import chrombpnet_record

    model, bias = accessibility.model, choice.chosen.bias
    provenance = {"stage": context.stage_id, "seed": params.seed, "loci": str(params.loci)}
    save_model(model, params.model, provenance={**provenance, "best_epoch": accessibility.run.result.best_epoch})
    save_model(model.bias, params.bias_model_out, provenance={
        **provenance, "bias_threshold_factor": bias.factor, "bias_count_shift": accessibility.bias_count_shift,
    })
    save_model(model.accessibility, params.accessibility_model, provenance=provenance)
    params.training.mkdir(parents=True, exist_ok=True)
    if bias.run is not None:
        bias.run.write_logs(params.training / BIAS_RUN, model.bias)
    elif bias.logs is not None:  # a candidate of train-chrombpnet-bias: its run's logs
        shutil.copytree(bias.logs, params.training / BIAS_RUN)
    accessibility.run.write_logs(params.training / ACCESSIBILITY_RUN, model)
    write_chrombpnet_record(params.training, chrombpnet_record(choice, accessibility, count_check))
