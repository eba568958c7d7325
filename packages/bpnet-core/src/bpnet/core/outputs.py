"""What a model's outputs mean: one vocabulary for every stage that runs a model.

A bpnet model maps one-hot sequence ``X`` ``(N, 4, L)`` (and, for models that take
them, control tracks ``X_ctl``) to ``(profile_logits, log_counts)``: logits ``(N, T, L_out)``
and natural-log counts ``(N, 1)`` (one count for all tracks) or ``(N, T)`` (one per track).
Everything built on that contract lives here, once:

* :func:`call_model`: the model with or without controls (zeros when asked);
* :func:`total_log_counts`: the total predicted log count, ``(N,)``;
* :func:`profile_probabilities` and :func:`expected_counts`: one distribution over
  tracks x positions per window, and that distribution times the total count;
* :func:`flip_strands`, :func:`strand_pairs` and :func:`track_names`: reverse
  complement of predictions, and the conventional names of the tracks;
* :func:`average_predictions` and :class:`Predictions`: mean probabilities and mean
  log counts over models (folds) and strands;
* :func:`resolve_submodel`, :func:`select_submodel` and :func:`load_models`: which part
  of a ChromBPNet to use (``auto | model | accessibility | bias``), on which device;
* :func:`output_shape`, :func:`check_models_agree` and :func:`check_models_fit`: what
  several averaged models must share, and whether they fit a set of windows.

**One count or several.** A model with one count output predicts one multinomial
over all tracks and positions jointly (the distribution the BPNet loss trains); a
model with one count output per track predicts a softmax per track, weighted by each
track's share of the total count. Both give one distribution summing to 1 per window.

**Averaging.** The mean of the *probabilities* and the mean of the *log counts* (a
geometric mean of counts, as fold ensembles in the field do).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from .stages.params import Submodel
#: input length used when no model says how long its input must be
DEFAULT_INPUT_LENGTH = 2114


# ---------------------------------------------------------------------- calling


def call_model(
    model: torch.nn.Module, X: torch.Tensor, X_ctl: torch.Tensor | None = None, *, zero_controls: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``model(X, X_ctl)`` for a model that takes control tracks, else ``model(X)``.

    With ``zero_controls``, a model that takes controls gets all-zero control tracks
    as long as ``X`` when ``X_ctl`` is None (as the official code and bpnet-lite
    explain models: the sequence alone); otherwise it is called without them.
    """
    n_ctl = getattr(model, "n_control_tracks", 0)
    if X_ctl is None and n_ctl and zero_controls:
        X_ctl = X.new_zeros(X.shape[0], n_ctl, X.shape[-1])
    if X_ctl is not None and n_ctl:
        return model(X, X_ctl)
    return model(X)


# ---------------------------------------------------------------------- what the outputs mean


def total_log_counts(log_counts: torch.Tensor) -> torch.Tensor:
    """``(N,)`` total predicted log count: the one output itself, or the logsumexp of several."""
    return log_counts[:, 0] if log_counts.shape[-1] == 1 else torch.logsumexp(log_counts, dim=-1)


def profile_probabilities(logits: torch.Tensor, log_counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(profile probabilities ``(N, T, L)`` summing to 1 per window, total log counts ``(N,)``), float32.

    One count output: one softmax over all tracks and positions. One count output per
    track: a softmax per track times that track's share of the total count.
    """
    n, t, length = logits.shape
    logits, log_counts = logits.float(), log_counts.float()
    if log_counts.shape[-1] == 1:
        return torch.softmax(logits.reshape(n, t * length), dim=-1).reshape(n, t, length), log_counts[:, 0]
    share = torch.softmax(log_counts, dim=-1)
    return torch.softmax(logits, dim=-1) * share[:, :, None], torch.logsumexp(log_counts, dim=-1)


def expected_counts(logits: torch.Tensor, log_counts: torch.Tensor) -> torch.Tensor:
    """``(N, T, L)`` expected counts: the profile probabilities times the total predicted count."""
    probabilities, total = profile_probabilities(logits, log_counts)
    return probabilities * total.exp()[:, None, None]


def strand_pairs(n_tracks: int) -> list[tuple[int, int]]:
    """Track pairs that swap under reverse complement: (0, 1) for a 2-track (stranded) model."""
    return [(0, 1)] if n_tracks == 2 else []


def track_names(n_tracks: int) -> list[str]:
    """``plus``/``minus`` for 2 tracks, ``signal`` for 1, else ``track_0``, ``track_1``, ..."""
    if n_tracks == 2:
        return ["plus", "minus"]
    if n_tracks == 1:
        return ["signal"]
    return [f"track_{i}" for i in range(n_tracks)]


def flip_strands(values: torch.Tensor, pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
    """Reverse the last axis of ``(N, T, L)`` values and swap the track ``pairs``."""
    values = values.flip(-1)
    if pairs:
        order = list(range(values.shape[1]))
        for a, b in pairs:
            order[a], order[b] = b, a
        values = values[:, order]
    return values


# ---------------------------------------------------------------------- averaging


@dataclass
class Predictions:
    """Averaged predictions of ``N`` windows: ``profiles`` ``(N, T, L)`` probabilities and
    ``log_counts`` ``(N,)`` natural-log total counts."""

    profiles: np.ndarray
    log_counts: np.ndarray

    def expected_counts(self) -> np.ndarray:
        """``(N, T, L)`` float32 expected counts: profile x exp(log counts)."""
        return self.profiles * np.exp(self.log_counts, dtype=np.float64).astype(np.float32)[:, None, None]

    def mean_expected_profile(self) -> np.ndarray:
        """``(T, L)`` float64 mean over windows of the expected counts."""
        return self.expected_counts().astype(np.float64).mean(axis=0)


def average_predictions(
    models: Sequence[torch.nn.Module], X: torch.Tensor, X_ctl: torch.Tensor | None = None, *,
    reverse_complement: bool = False, strand_pairs: Sequence[tuple[int, int]] = (),
    control_pairs: Sequence[tuple[int, int]] = (),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean profile probabilities and mean log counts of one batch over ``models``.

    With ``reverse_complement`` the reverse complement of the batch is predicted too
    (controls flipped with their ``control_pairs`` swapped) and flipped back with the
    profile ``strand_pairs`` swapped, and both strands enter the mean.
    """
    prob_sum, count_sum = 0.0, 0.0
    with torch.no_grad():
        for model in models:
            probs, total = profile_probabilities(*call_model(model, X, X_ctl))
            prob_sum, count_sum = prob_sum + probs, count_sum + total
            if reverse_complement:
                probs, total = reverse_complement_prediction(model, X, X_ctl, strand_pairs, control_pairs)
                prob_sum, count_sum = prob_sum + probs, count_sum + total
    n = len(models) * (2 if reverse_complement else 1)
    return prob_sum / n, count_sum / n


def reverse_complement_prediction(
    model: torch.nn.Module, X: torch.Tensor, X_ctl: torch.Tensor | None = None,
    strand_pairs: Sequence[tuple[int, int]] = (), control_pairs: Sequence[tuple[int, int]] = (),
) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's prediction for the reverse complement of a batch, turned back to the forward strand:
    profile probabilities ``(N, T, L)`` (flipped, ``strand_pairs`` swapped) and total log counts ``(N,)``.

    The one-hot sequence is reversed and complemented (A<->T, C<->G: the ACGT channel
    order reversed) and the controls reversed with their ``control_pairs`` swapped.
    """
    rc_ctl = None if X_ctl is None else flip_strands(X_ctl, control_pairs)
    probs, total = profile_probabilities(*call_model(model, X.flip(-2, -1), rc_ctl))
    return flip_strands(probs, strand_pairs), total


# ---------------------------------------------------------------------- choosing and loading


def is_chrombpnet(model: torch.nn.Module) -> bool:
    """Whether ``model`` is a ChromBPNet: it has ``accessibility`` and ``bias`` parts."""
    parts = (getattr(model, "accessibility", None), getattr(model, "bias", None))
    return all(isinstance(part, torch.nn.Module) for part in parts)


def resolve_submodel(model: torch.nn.Module, submodel: Submodel) -> str:
    """``auto`` becomes ``accessibility`` for a ChromBPNet, else ``model``; other choices stay."""
    if submodel != "auto":
        return submodel
    return "accessibility" if is_chrombpnet(model) else "model"


def select_submodel(model: torch.nn.Module, submodel: Submodel, label: str) -> torch.nn.Module:
    """The part of ``model`` that ``submodel`` names; :class:`InputError` naming ``label`` when it has none."""
    submodel = resolve_submodel(model, submodel)
    if submodel == "model":
        return model
    if not is_chrombpnet(model):
        raise InputError(
            f"{label}: submodel '{submodel}' needs a ChromBPNet (a model with accessibility and bias parts), "
            f"but this is a {type(model).__name__}: use submodel: model"
        )
    return getattr(model, submodel)


@dataclass
class LoadedModels:
    """Models in eval mode on one device, each with its label (its path) and the submodel taken."""

    models: list[torch.nn.Module]
    labels: list[str]
    submodels: list[str]

    def __len__(self) -> int:
        return len(self.models)


def load_models(paths: Sequence[str | Path], submodel: Submodel = "auto", device: str | torch.device = "cpu") -> LoadedModels:
    """Load every model folder onto ``device`` (eval mode), taking ``submodel`` of each."""
    from .modelfile import load_model

    if not paths:
        raise InputError("give at least one model folder")
    loaded = LoadedModels([], [], [])
    for path in paths:
        model = load_model(path, device=device)
        chosen = resolve_submodel(model, submodel)
        loaded.models.append(select_submodel(model, chosen, str(path)).eval())
        loaded.labels.append(str(path))
        loaded.submodels.append(chosen)
    return loaded


# ---------------------------------------------------------------------- shapes


@dataclass
class OutputShape:
    """What every averaged model must agree on."""

    n_tracks: int
    output_length: int
    n_control_tracks: int


def default_input_length(models: Sequence[torch.nn.Module]) -> int:
    """The longest ``minimum_input_length()`` of the models, else 2114."""
    lengths = [int(m.minimum_input_length()) for m in models if callable(getattr(m, "minimum_input_length", None))]
    return max(lengths) if lengths else DEFAULT_INPUT_LENGTH


def output_shape(model: torch.nn.Module, input_length: int, label: str) -> OutputShape:
    """Profile tracks, output length and control tracks of ``model`` on ``input_length`` bp.

    Found by one forward pass of an all-N sequence (and zero controls), so any module
    with the ``forward(X, X_ctl=None) -> (logits, log_counts)`` contract works.
    """
    minimum = getattr(model, "minimum_input_length", None)
    if callable(minimum) and input_length < minimum():
        raise InputError(
            f"{label}: input_length {input_length} is shorter than the model's minimum input ({minimum()} bp): "
            "raise input_length or leave it unset"
        )
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    X = torch.zeros(1, 4, input_length, device=device)
    try:
        with torch.no_grad():
            logits, log_counts = call_model(model, X, zero_controls=True)
    except (ValueError, RuntimeError) as exc:
        raise InputError(
            f"{label}: the model does not run on {input_length} bp inputs ({str(exc).splitlines()[0]}): check input_length"
        ) from None
    if logits.ndim != 3 or log_counts.ndim != 2:
        raise InputError(
            f"{label}: the model returns logits of shape {tuple(logits.shape)} and log counts {tuple(log_counts.shape)}; "
            "expected (N, tracks, length) and (N, counts)"
        )
    if log_counts.shape[-1] not in (1, logits.shape[1]):
        raise InputError(
            f"{label}: the model has {log_counts.shape[-1]} count outputs for {logits.shape[1]} profile tracks; "
            "expected 1 or one per track"
        )
    return OutputShape(int(logits.shape[1]), int(logits.shape[-1]), int(getattr(model, "n_control_tracks", 0) or 0))


def check_models_agree(models: Sequence[torch.nn.Module], labels: Sequence[str], input_length: int) -> OutputShape:
    """The shape all ``models`` share; :class:`InputError` naming the two that differ otherwise."""
    shapes = [output_shape(m, input_length, label) for m, label in zip(models, labels)]
    first = shapes[0]
    for shape, label in zip(shapes[1:], labels[1:]):
        if shape != first:
            raise InputError(
                f"models cannot be averaged: {labels[0]} predicts {first.n_tracks} track(s) of {first.output_length} bp "
                f"with {first.n_control_tracks} control track(s), but {label} predicts {shape.n_tracks} track(s) of "
                f"{shape.output_length} bp with {shape.n_control_tracks} control track(s): "
                "give models of the same design (e.g. the folds of one experiment)"
            )
    return first


def check_models_fit(
    models: Sequence[torch.nn.Module], labels: Sequence[str], *, input_length: int, output_length: int,
    windows: str, n_tracks: int | None = None, n_control_tracks: int | None = None,
    trained_input_lengths: Sequence[int | None] | None = None,
) -> OutputShape:
    """The shape ``models`` share on ``windows`` (e.g. a loci.h5) of ``input_length`` bp in
    and ``output_length`` bp out; :class:`InputError` when they do not fit it.

    Refused: a model that needs longer input windows, one trained on windows of another
    input length (``trained_input_lengths``, where known), models that disagree
    (:func:`check_models_agree`), an output window other than ``output_length``, another
    number of profile tracks than ``n_tracks`` and control tracks the windows do not hold
    (``n_control_tracks``; None: not checked, e.g. when zero controls are fed).
    """
    trained_input_lengths = trained_input_lengths or [None] * len(models)
    for model, label, trained in zip(models, labels, trained_input_lengths):
        minimum = getattr(model, "minimum_input_length", None)
        needed = int(minimum()) if callable(minimum) else None
        if needed is not None and needed > input_length:
            raise InputError(
                f"{label} needs input windows of at least {needed} bp but {windows} holds {input_length} bp windows "
                "(made for another model window): use the loci the model was trained on"
            )
        if trained is not None and trained != input_length:
            raise InputError(
                f"{label} was trained on {trained} bp input windows but {windows} holds {input_length} bp windows: "
                "use loci extracted with the model's input_length (e.g. the loci it was trained on)"
            )
    shape = check_models_agree(models, labels, input_length)
    if shape.output_length != output_length:
        raise InputError(
            f"{labels[0]} predicts {shape.output_length} bp from {input_length} bp inputs but {windows} holds "
            f"{output_length} bp output windows: they were made for another model; use the loci the model was trained on "
            "(or re-run the loci stage with this model's input_length and output_length)"
        )
    if n_tracks is not None and shape.n_tracks != n_tracks:
        raise InputError(
            f"{labels[0]} predicts {shape.n_tracks} track(s) but {windows} holds {n_tracks} signal track(s): "
            "use the loci the model was trained on"
        )
    if n_control_tracks is not None and shape.n_control_tracks and shape.n_control_tracks != n_control_tracks:
        raise InputError(
            f"{labels[0]} takes {shape.n_control_tracks} control track(s) but {windows} holds {n_control_tracks}: "
            "extract the loci with the control tracks the model was trained with"
        )
    return shape


__all__ = [
    "DEFAULT_INPUT_LENGTH", "LoadedModels", "OutputShape", "Predictions", "average_predictions", "call_model",
    "check_models_agree", "check_models_fit", "default_input_length", "expected_counts", "flip_strands", "is_chrombpnet", "load_models",
    "output_shape", "profile_probabilities", "resolve_submodel", "reverse_complement_prediction", "select_submodel", "strand_pairs",
    "total_log_counts",
    "track_names",
]
