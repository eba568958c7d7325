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

Outputs: the combined model, the scaled bias model and the accessibility model (the
de-biased model for interpretation), plus the logs of both runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from bpnet.core.stages.base import Input, Output, Stage, StageContext

from ..session import TrainingLoopParams
from . import STAGE_VERSION


class TrainChromBPNetParams(TrainingLoopParams):
    loci: Input = Field(..., description="loci.h5 of ATAC/DNase (unstranded, no controls) with peaks, negatives and train/valid/test splits")
    hyperparameters: dict[str, Any] = Field(
        default_factory=lambda: {"n_filters": 512, "n_layers": 8},
        description="BPNet hyperparameters of the accessibility model (official: 512 filters, 8 layers)",
    )
    bias_hyperparameters: dict[str, Any] = Field(
        default_factory=lambda: {"n_filters": 128, "n_layers": 4},
        description="BPNet hyperparameters of the bias model (official: 128 filters, 4 layers)",
    )
    bias_model: Input | None = Field(None, description="a trained bias model to use instead of training one (it is still scaled)")
    bias_threshold_factor: float = Field(0.5, gt=0, description="bias model trains on negatives with counts below this x the 1% quantile of peak counts (0.5 ATAC, 0.8 DNase)")
    outlier_quantile: float = Field(0.9999, gt=0.5, le=1, description="drop loci with counts outside the (1-q, q) quantiles (official 0.9999)")
    bias_max_epochs: int | None = Field(None, ge=1, description="most epochs of the bias model (default: max_epochs)")
    bias_max_jitter: int = Field(0, ge=0, description="jitter of the bias model's background loci (the official generator never jitters non-peaks)")
    bias_check: Literal["warn", "error", "off"] = Field("warn", description="what to do when the bias model explains peak counts too well")
    bias_max_peak_pearson: float = Field(0.5, description="largest acceptable count Pearson r of the bias model on validation peaks")
    negative_ratio: float = Field(0.1, ge=0, description="negatives per peak in each epoch of the accessibility model, drawn afresh (official 0.1)")
    max_jitter: int | None = Field(None, ge=0, description="jitter of training peaks (bp); default: the loci's (extract them with max_jitter 500 as the official code)")
    count_loss_weight: float | Literal["auto"] = Field("auto", description="accessibility model's count-loss weight; auto = official median/10")
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


#: below this ``count_separation`` (predicted peak-vs-negative gap / observed gap) training warns
MIN_COUNT_SEPARATION = 0.25


class TrainChromBPNet(Stage):
    """Train ChromBPNet: bias model on background, frozen and scaled, then the accessibility model."""

    name = "train-chrombpnet"
    version = STAGE_VERSION
    Params = TrainChromBPNetParams

    def run(self, params: TrainChromBPNetParams, context: StageContext) -> None:
        from ..session import TrainingRun, check_signal, load_training_loci

        loci = load_training_loci(params.loci)
        check_signal(loci, params.loci)
        if loci.n_controls:
            context.log.warning("ChromBPNet takes no control tracks: the loci's controls are ignored")
        run = TrainingRun(params, context)
        report: dict[str, Any] = {}
        bias, bias_run = self.bias_model(params, context, loci, run, report)
        self.check_bias(params, context, loci, bias, run, report)
        model, acc_run = self.accessibility(params, context, loci, bias, run, report)
        self.check_counts(context, loci, model, run, report)
        self.save(params, context, model, bias_run, acc_run, report)

    # ------------------------------------------------------------------ steps

    def bias_model(self, params, context, loci, run, report):
        from bpnet.core.modelfile import load_model

        from ..chrombpnet import select_bias_loci
        from ..session import build_for_loci, initialise_count_bias

        chosen = select_bias_loci(loci, params.loci, params.bias_threshold_factor, params.outlier_quantile)
        report.update(
            bias_count_threshold=chosen.threshold, bias_count_bounds=[chosen.lower, chosen.upper],
            bias_count_loss_weight=chosen.count_loss_weight, n_bias_training_loci=int(len(chosen.rows)),
        )
        self.bias_rows = chosen.rows
        context.log.info(
            "bias model: %d background loci below %.4g counts, count-loss weight %.4g",
            len(chosen.rows), chosen.threshold, chosen.count_loss_weight,
        )
        if params.bias_model is not None:
            bias = load_model(params.bias_model)
            report["bias_model_source"] = str(params.bias_model)
            return bias, None
        background = loci.subset(chosen.rows)
        hyper = {"n_outputs": 1, "output_length": loci.output_length, **params.bias_hyperparameters}
        bias = run.seeded(lambda: build_for_loci("bpnet", hyper, loci, params.loci, "train-chrombpnet bias model"))
        if params.count_bias_init:
            rows = chosen.rows[loci.split[chosen.rows] == "train"]
            initialise_count_bias(bias, loci, rows, rows[:0], None, context.log)
        train = run.batches(background, "train", train=True, negative_ratio=None, max_jitter=min(params.bias_max_jitter, loci.max_jitter), jitter_negatives=True)
        valid = run.batches(background, "valid", train=False)
        finished = run.fit(
            bias, train, valid, count_loss_weight=chosen.count_loss_weight, profile_on="all", name="bias",
            max_epochs=params.bias_max_epochs or params.max_epochs,
        )
        report["bias_hyperparameters"] = hyper
        return bias, finished

    def check_bias(self, params, context, loci, bias, run, report) -> None:
        from bpnet.core.errors import BpnetError

        from ..chrombpnet import count_pearson

        peaks = loci.select("valid", peaks=True)
        background = self.bias_rows[loci.split[self.bias_rows] == "valid"]
        check = {
            "peaks_count_pearson": count_pearson(bias, loci, peaks, run.device),
            "background_count_pearson": count_pearson(bias, loci, background, run.device),
            "max_peaks_count_pearson": params.bias_max_peak_pearson,
        }
        check["passed"] = not (check["peaks_count_pearson"] > params.bias_max_peak_pearson)
        report["bias_check"] = check
        message = (
            f"bias model count r on validation peaks {check['peaks_count_pearson']:.3f} "
            f"(limit {params.bias_max_peak_pearson}), on background {check['background_count_pearson']:.3f}"
        )
        if check["passed"] or params.bias_check == "off":
            context.log.info("%s", message)
        elif params.bias_check == "error":
            raise BpnetError(f"{message}: the bias model explains accessibility; lower bias_threshold_factor")
        else:
            context.log.warning("%s: the bias model may capture accessibility; consider a lower bias_threshold_factor", message)

    def check_counts(self, context, loci, model, run, report) -> None:
        """Warn when the trained model's counts barely tell validation peaks from validation negatives."""
        from ..chrombpnet import count_separation

        check = count_separation(model, loci, loci.select("valid", peaks=True), loci.select("valid", peaks=False), run.device)
        check["min_separation"] = MIN_COUNT_SEPARATION
        check["passed"] = not (check["separation"] < MIN_COUNT_SEPARATION)
        report["count_check"] = check
        message = (
            f"predicted log counts {check['predicted_peaks']:.2f} on validation peaks and {check['predicted_negatives']:.2f} "
            f"on validation negatives (observed {check['observed_peaks']:.2f} and {check['observed_negatives']:.2f}): "
            f"separation {check['separation']:.2f}"
        )
        if check["passed"]:
            context.log.info("%s", message)
        else:
            context.log.warning(
                "%s: the count head barely tells peaks from background; with few peaks, raise negative_ratio "
                "(e.g. 0.5) and count_loss_weight (e.g. 500), as examples/quickstart.yaml does", message,
            )

    def accessibility(self, params, context, loci, bias, run, report):
        from bpnet.core.architectures.chrombpnet import ChromBPNet

        from ..chrombpnet import scale_bias_counts, select_accessibility_loci, validation_rows
        from ..session import build_for_loci, initialise_count_bias

        chosen = select_accessibility_loci(loci, params.negative_ratio, params.outlier_quantile, params.seed)
        background = chosen.rows[~loci.is_peak[chosen.rows] & (loci.split[chosen.rows] != "test")]
        shift = scale_bias_counts(bias, loci, background, run.device)
        context.log.info("bias count head shifted by %.4g (mean log-count residual on %d negatives)", shift, len(background))
        weight = chosen.count_loss_weight if params.count_loss_weight == "auto" else float(params.count_loss_weight)
        report.update(bias_count_shift=shift, count_loss_weight=weight, count_bounds=[chosen.lower, chosen.upper])
        hyper = {"n_outputs": 1, "output_length": loci.output_length, **params.hyperparameters}
        accessibility = run.seeded(lambda: build_for_loci("bpnet", hyper, loci, params.loci, "train-chrombpnet accessibility model"))
        model = ChromBPNet(bias, accessibility)
        kept = loci.subset(chosen.rows)
        if params.count_bias_init:
            train_rows = chosen.rows[loci.split[chosen.rows] == "train"]
            peaks = train_rows[loci.is_peak[train_rows].astype(bool)]
            initialise_count_bias(model, loci, peaks, train_rows[~loci.is_peak[train_rows].astype(bool)], params.negative_ratio, context.log)
        train = run.batches(kept, "train", train=True, negative_ratio=params.negative_ratio, max_jitter=params.max_jitter)
        valid_rows = validation_rows(loci, chosen.rows, params.negative_ratio, params.seed)
        report["n_validation_loci"] = int(len(valid_rows))
        valid = run.batches(loci.subset(valid_rows), "valid", train=False)
        finished = run.fit(model, train, valid, count_loss_weight=weight, profile_on="all", name="accessibility")
        report["hyperparameters"] = hyper
        return model, finished

    def save(self, params, context, model, bias_run, acc_run, report) -> None:
        from bpnet.core.modelfile import save_model

        provenance = {"stage": context.stage_id, "seed": params.seed, "loci": str(params.loci)}
        save_model(model, params.model, provenance={**provenance, "best_epoch": acc_run.result.best_epoch})
        save_model(model.bias, params.bias_model_out, provenance={**provenance, "bias_count_shift": report["bias_count_shift"]})
        save_model(model.accessibility, params.accessibility_model, provenance=provenance)
        params.training.mkdir(parents=True, exist_ok=True)
        if bias_run is not None:
            bias_run.write_logs(params.training / "bias", model.bias)
        acc_run.write_logs(params.training / "accessibility", model)
        (params.training / "chrombpnet.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
