"""The ``train-chrombpnet-bias`` stage: ChromBPNet bias models at one or more count thresholds, each checked.

Steps 1 and 2 of train-chrombpnet on their own: one bias model per
``bias_threshold_factor`` (same seed), each with the official checks, all written to
``bias_models/`` (``candidates.json`` and one folder per factor, see
:mod:`bpnet.core.formats.training`). It never fails on a check: train-chrombpnet reads
the folder through ``bias_model:`` and picks a candidate with ``bias_choice``, so a
failed check or a new choice re-runs only the accessibility model.

The parameters that train a bias model (:class:`BiasTrainingParams`) are shared with
train-chrombpnet, which trains its candidates with the same functions.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from bpnet.core.initialisation import WeightInit
from bpnet.core.stages.base import Input, Output, Stage, StageContext

from ..qc import BIAS_PEAKS_MAX_PEARSON
from ..session import TrainingLoopParams
from . import STAGE_VERSION

if TYPE_CHECKING:  # pragma: no cover
    from bpnet.data.loci import LociSet

    from ..chrombpnet import BiasChoice, BiasModel
    from ..session import TrainingRun


class BiasTrainingParams(TrainingLoopParams):
    """What trains ChromBPNet bias models (train-chrombpnet-bias, and train-chrombpnet's step 1).

    A candidate's checkpoints are keyed on these fields with its own factor only
    (:func:`candidate_session`), so a failed check, another ``bias_choice`` or another
    accessibility setting resumes them instead of training them again.
    """

    loci: Input = Field(
        ...,
        description="loci.h5 of ATAC/DNase (unstranded, no controls) with peaks, negatives and train/valid/test splits",
    )
    bias_hyperparameters: dict[str, Any] = Field(
        default_factory=lambda: {"n_filters": 128, "n_layers": 4},
        description="BPNet hyperparameters of the bias model (official: 128 filters, 4 layers)",
    )
    bias_threshold_factor: float | list[float] = Field(
        0.5,
        description="bias model trains on negatives with counts below this x the 1% quantile of peak counts (0.5 ATAC, "
        "0.8 DNase); a list (e.g. [0.3, 0.5, 0.7]) trains one bias model per factor and bias_choice picks one",
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
    # the official ChromBPNet's optimisation (TensorFlow/Keras): benchmarks/README.md, ChromBPNet beside the official code
    weight_init: WeightInit = Field(
        "keras",
        description="starting weights of the bias and accessibility models: keras (glorot-uniform, zero biases: the official "
        "code) or torch (PyTorch's defaults)",
    )
    adam_epsilon: float = Field(1e-7, gt=0, description="Adam's epsilon (official, Keras: 1e-7; PyTorch: 1e-8)")
    clip_grad_norm: float | None = Field(
        None, gt=0, description="clip the gradient norm to this value; null (official) does not clip",
    )
    count_bias_init: bool = Field(
        False,
        description="start the count heads' biases (bias model, then accessibility model) at the mean log(1 + count) of "
        "their training examples; off by default, as the official code: on simulated ATAC it left the accessibility "
        "model's count head nearly constant (see docs/training.md)",
    )

    @field_validator("bias_threshold_factor")
    @classmethod
    def _positive_distinct_factors(cls, value: float | list[float]) -> float | list[float]:
        from bpnet.core.formats.training import bias_candidate_folder

        factors = value if isinstance(value, list) else [value]
        if not factors:
            raise ValueError("give at least one factor, e.g. 0.5 (ATAC), 0.8 (DNase) or [0.3, 0.5, 0.7]")
        for factor in factors:
            if not factor > 0:
                raise ValueError(f"every factor must be > 0, not {factor:g} (ATAC starts at 0.5, DNase at 0.8)")
        names = [bias_candidate_folder(f) for f in factors]
        twice = next((f for f, name in zip(factors, names) if names.count(name) > 1), None)
        if twice is not None:
            raise ValueError(f"factor {twice:g} is listed twice; list each factor once")
        return value

    @property
    def bias_factors(self) -> list[float]:
        """The factors to train, smallest first."""
        factor = self.bias_threshold_factor
        return sorted(factor) if isinstance(factor, list) else [factor]


class TrainChromBPNetBiasParams(BiasTrainingParams):
    bias_models: Output = Field(
        Path("bias_models"),
        description="candidates.json (every candidate's checks) and one folder per factor with its model/ and training/ logs",
    )


class TrainChromBPNetBias(Stage):
    """Train ChromBPNet bias models, one per bias_threshold_factor, and check each; train-chrombpnet picks one."""

    name = "train-chrombpnet-bias"
    version = STAGE_VERSION
    Params = TrainChromBPNetBiasParams

    def run(self, params: TrainChromBPNetBiasParams, context: StageContext) -> None:
        from ..chrombpnet import assess_bias_candidates, choose_bias
        from ..session import TrainingRun

        with load_chrombpnet_loci(params, context.log) as loci:
            session = TrainingRun(params, context)
            biases = train_bias_candidates(params, context, loci, session)
            choice = choose_bias(assess_bias_candidates(biases, loci, BIAS_PEAKS_MAX_PEARSON, session.device))
        log_bias_choice(choice, context.log, "auto would choose")
        if not choice.chosen.check.passed:
            context.log.warning(
                "every bias candidate fails the official bias checks; train-chrombpnet with bias_check: error will stop. "
                "Name one there with bias_choice: <factor>, or train other bias_threshold_factor values"
            )
        save_bias_candidates(params.bias_models, choice, params.loci, context.stage_id)


def load_chrombpnet_loci(params: BiasTrainingParams, log: logging.Logger) -> LociSet:
    """The loci of a ChromBPNet stage (in memory or streamed: ``loci_memory_mb``, checked for
    the training batches and the bias checks' prediction batches), with the training checks
    of :mod:`bpnet.train.session`."""
    from ..chrombpnet import PREDICT_BATCH_SIZE
    from ..session import load_training_loci, training_peak_counts

    path = params.loci
    loci = load_training_loci(
        path, memory_mb=params.loci_memory_mb, batch_sizes=(params.batch_size, PREDICT_BATCH_SIZE), log=log,
    )
    try:
        training_peak_counts(loci, path)
    except BaseException:
        loci.close()
        raise
    if loci.n_controls:
        log.warning("ChromBPNet takes no control tracks: the loci's controls are ignored")
    return loci


def candidate_session(session: TrainingRun, params: BiasTrainingParams, factor: float) -> TrainingRun:
    """``session`` (same device and context) keyed on one candidate's training parameters alone."""
    fields = {name: getattr(params, name) for name in BiasTrainingParams.model_fields}
    one = copy.copy(session)
    one.params = BiasTrainingParams.model_validate({**fields, "bias_threshold_factor": factor})
    return one


def train_bias_candidates(params: BiasTrainingParams, context: StageContext, loci: LociSet, session: TrainingRun) -> list[BiasModel]:
    """Step 1 for every factor, smallest first, each from the same seed."""
    return [train_bias_model(context, loci, candidate_session(session, params, factor)) for factor in params.bias_factors]


def train_bias_model(context: StageContext, loci: LociSet, session: TrainingRun) -> BiasModel:
    """Step 1: a bias model trained on the background below the count threshold of ``session.params``' one factor."""
    from ..chrombpnet import BiasModel, select_bias_loci
    from ..session import build_for_loci, initialise_count_bias

    params: BiasTrainingParams = session.params
    factor = float(params.bias_threshold_factor)  # type: ignore[arg-type]  # one factor per candidate session
    chosen = select_bias_loci(loci, params.loci, factor, params.outlier_quantile)
    context.log.info(
        "bias model (factor %g): %d background loci below %.4g counts, count-loss weight %.4g",
        factor, len(chosen.rows), chosen.threshold, chosen.count_loss_weight,
    )
    background = loci.subset(chosen.rows)
    hyper = {"n_outputs": 1, "output_length": loci.output_length, **params.bias_hyperparameters}
    bias = session.seeded(lambda: build_for_loci("bpnet", hyper, loci, params.loci, "ChromBPNet bias model"))
    if params.count_bias_init:
        rows = chosen.rows[loci.split[chosen.rows] == "train"]
        initialise_count_bias(bias, loci, rows, rows[:0], None, context.log)
    train = session.batches(
        background, "train", train=True, negative_ratio=None, max_jitter=min(params.bias_max_jitter, loci.max_jitter),
        jitter_negatives=True,
    )
    valid = session.batches(background, "valid", train=False)
    finished = session.fit(
        bias, train, valid, count_loss_weight=chosen.count_loss_weight, profile_on="all", name=f"bias-{factor:g}",
        max_epochs=params.bias_max_epochs or params.max_epochs,
    )
    return BiasModel(bias, chosen, factor, run=finished, hyperparameters=hyper)


def log_bias_choice(choice: BiasChoice, log: logging.Logger, chosen_label: str = "chosen") -> None:
    """Every candidate's checks as a table on the terminal and as one line each in the run log."""
    from rich.table import Table

    from bpnet.core.console import LOG_FILE_ONLY, console

    table = Table(title=f"ChromBPNet bias candidates ({chosen_label}: factor {choice.chosen.factor:g}; why: run.log)")
    columns = ("factor", "threshold", "loci", "r peaks", "r background", "r shared bg", "specificity", "verdict", "chosen")
    for column in columns:
        table.add_column(column, justify="left" if column in ("verdict", "chosen") else "right")
    for candidate in choice.candidates:
        c, s = candidate.check, candidate.bias.selection
        table.add_row(
            f"{candidate.factor:g}", f"{s.threshold:.4g}", str(len(s.rows)), f"{c.peaks_count_pearson:.3f}",
            f"{c.background_count_pearson:.3f}", f"{c.shared_background_count_pearson:.3f}", f"{c.specificity:.3f}",
            c.level, "yes" if candidate is choice.chosen else "",
        )
    console.print(table)
    for candidate, why in zip(choice.candidates, choice.why):
        log.info("bias candidate %s; %s", candidate.summary(), why, extra=LOG_FILE_ONLY)


def save_bias_candidates(folder: Path, choice: BiasChoice, loci: Path, stage_id: str) -> None:
    """A bias candidates folder: each candidate's model and run logs, and ``candidates.json``."""
    from bpnet.core.formats.training import (
        BIAS_CANDIDATE_LOGS,
        BIAS_CANDIDATE_MODEL,
        bias_candidate_folder,
        write_bias_candidates,
    )
    from bpnet.core.modelfile import save_model

    records = []
    for candidate, record in zip(choice.candidates, choice.records()):
        bias, name = candidate.bias, bias_candidate_folder(candidate.factor)
        provenance = {"stage": stage_id, "loci": str(loci), "bias_threshold_factor": candidate.factor}
        save_model(bias.model, folder / name / BIAS_CANDIDATE_MODEL, provenance=provenance)
        if bias.run is not None:
            bias.run.write_logs(folder / name / BIAS_CANDIDATE_LOGS, bias.model)
        records.append({**record, "folder": name, "hyperparameters": bias.hyperparameters})
    write_bias_candidates(folder, {"loci": str(loci), "chosen": choice.chosen.factor, "candidates": records})
