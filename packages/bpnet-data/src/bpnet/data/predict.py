"""Predictions of trained models over any set of loci, averaged over models (folds).

The steps, each a function here (the ``predict`` stage strings them together):

1. :func:`prediction_windows`: one input window per BED/narrowPeak region, centred on
   its summit (or midpoint), and the output window the model predicts inside it;
   regions whose windows run off a chromosome are dropped (logged) or refused.
2. :func:`load_predictors` and :func:`check_predictors`: the model folders (or a
   ChromBPNet's ``accessibility`` / ``bias`` submodel), which must agree on the number
   of profile tracks, the output length and the number of control tracks.
3. :func:`predict_windows`: batches of one-hot sequence (and control tracks) through
   every model, optionally also the reverse complement, averaged.
4. :func:`write_prediction_bigwigs` and :func:`write_prediction_arrays`: one bigWig of
   expected counts per track (a track-set folder with ``tracks.json``), and an npz.

**What is averaged.** Each model (and each strand, with reverse-complement averaging)
gives a profile *probability* over all tracks and positions of the output window and a
total *log count*. Profiles are one softmax over tracks x positions jointly (the
multinomial the BPNet loss uses for stranded data); a model with one count output per
track gets a softmax per track, weighted by each track's share of the total count, so
both kinds give one distribution that sums to 1. The average profile is the **mean of
the probabilities**; the average count is the **mean of the log counts** (a geometric
mean of counts, as fold ensembles in the field do). Expected counts are
``profile x exp(log_counts)``.

**Window geometry.** The input window of a region centred on ``c`` starts at
``c - input_length // 2``; the output window starts ``(input_length - output_length) // 2``
bp later, where a symmetric ('valid' or centre-cropped) model puts it. Control tracks
are read over ``control_length`` bp centred the same way as the output window.

**Overlapping windows.** In the bigWigs every base belongs to exactly one window: of the
windows that cover it, the one whose centre is nearest (the left one on a tie), so the
files have no overlapping entries and each base shows the prediction made with the
most context around it. The npz keeps every window whole.

Memory: the averaged profiles of all windows, ``4 * tracks * output_length`` bytes per
region (8 kB at 2 x 1000: 800 MB per 100,000 regions), plus one batch on the device.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from bpnet.core.architectures.base import call_model
from bpnet.core.atomic import atomic_path
from bpnet.core.errors import InputError

from .bigwig_io import bigwig_writer
from .chroms import check_chromosomes
from .errors import DataError
from .intervals import Intervals
from .onehot import codes_to_one_hot
from .sources.bed import BedSource
from .sources.fasta import FastaSource
from .tracks import Track, TrackSet

log = logging.getLogger("bpnet.data.predict")

#: input length used when no model says how long its input must be
DEFAULT_INPUT_LENGTH = 2114
Submodel = Literal["model", "accessibility", "bias"]
OffChrom = Literal["drop", "error"]


# ---------------------------------------------------------------------- windows


@dataclass
class PredictionWindows:
    """The windows predicted, one per kept region, in the order of the regions file.

    ``centre``: the region's summit or midpoint; ``input_start``: first base of the
    sequence window; ``output_start``: first base of the predicted window;
    ``source_row``: 0-based data row of the region in its BED file.
    """

    chrom: np.ndarray
    centre: np.ndarray
    input_start: np.ndarray
    output_start: np.ndarray
    name: np.ndarray
    source_row: np.ndarray
    input_length: int
    output_length: int

    def __len__(self) -> int:
        return len(self.centre)

    @property
    def output_end(self) -> np.ndarray:
        return self.output_start + self.output_length


def output_offset(input_length: int, output_length: int) -> int:
    """Bases from the input window's start to the output window's start (centre crop)."""
    return (input_length - output_length) // 2


def prediction_windows(
    regions: Intervals,
    sizes: dict[str, int],
    *,
    input_length: int,
    output_length: int,
    control_length: int = 0,
    use_summits: bool = True,
    off_chrom: OffChrom = "drop",
    label: str = "regions",
    reference_label: str = "the genome",
) -> PredictionWindows:
    """Input and output windows of ``regions``, dropping (or refusing) those off a chromosome.

    A region is kept when its input window, output window and control window (if
    ``control_length``) all lie on the chromosome. Chromosomes missing from ``sizes``
    raise :class:`DataError`; so does an empty result.
    """
    if off_chrom not in ("drop", "error"):
        raise DataError(f"off_chrom must be 'drop' or 'error', not {off_chrom!r}")
    if not len(regions):
        raise DataError(f"{label}: no regions to predict (the file has no intervals)")
    check_chromosomes(regions.chromosomes(), sizes, file=label, reference_file=reference_label)
    centre = regions.centres(use_summits)
    input_start = centre - input_length // 2
    output_start = input_start + output_offset(input_length, output_length)
    lo, hi = np.minimum(input_start, output_start), np.maximum(input_start + input_length, output_start + output_length)
    if control_length:
        control_start = output_start + output_length // 2 - control_length // 2
        lo, hi = np.minimum(lo, control_start), np.maximum(hi, control_start + control_length)
    size = np.array([sizes[c] for c in regions.chrom], dtype=np.int64)
    ok = (lo >= 0) & (hi <= size)
    bad = np.flatnonzero(~ok)
    if len(bad) and off_chrom == "error":
        i = bad[0]
        raise DataError(
            f"{label}: {len(bad)} region(s) have windows off a chromosome end, the first (data row {i + 1}) "
            f"{regions.chrom[i]}:{regions.start[i]}-{regions.end[i]} needs {regions.chrom[i]}:{lo[i]}-{hi[i]} "
            f"({regions.chrom[i]} has {size[i]} bp in {reference_label}): drop such regions (off_chrom: drop) or use a shorter input_length"
        )
    if len(bad):
        log.info("%s: dropped %d of %d region(s) whose windows run off a chromosome end", label, len(bad), len(regions))
    if not ok.any():
        raise DataError(f"{label}: every region's window runs off a chromosome end: nothing to predict")
    return PredictionWindows(
        chrom=regions.chrom[ok].astype(str), centre=centre[ok], input_start=input_start[ok],
        output_start=output_start[ok], name=regions.name[ok].astype(str), source_row=np.flatnonzero(ok),
        input_length=input_length, output_length=output_length,
    )


# ---------------------------------------------------------------------- models


@dataclass
class PredictorShape:
    """What every averaged model must agree on."""

    n_tracks: int
    output_length: int
    n_control_tracks: int


def select_submodel(model: torch.nn.Module, submodel: Submodel, label: str) -> torch.nn.Module:
    """``model`` itself, or a ChromBPNet's ``accessibility`` or ``bias`` model."""
    if submodel == "model":
        return model
    if not (hasattr(model, "accessibility") and hasattr(model, "bias") and isinstance(getattr(model, submodel), torch.nn.Module)):
        raise InputError(
            f"{label}: submodel '{submodel}' needs a ChromBPNet (a model with accessibility and bias parts), "
            f"but this is a {type(model).__name__}: use submodel: model"
        )
    return getattr(model, submodel)


def load_predictors(paths: Sequence[str | Path], submodel: Submodel = "model", device: str | torch.device = "cpu") -> list[torch.nn.Module]:
    """Load every model folder onto ``device`` (in eval mode), taking ``submodel`` of each."""
    from bpnet.core.modelfile import load_model

    if not paths:
        raise InputError("give at least one model folder to predict with")
    models = []
    for path in paths:
        model = select_submodel(load_model(path, device=device), submodel, str(path))
        model.eval()
        models.append(model)
    return models


def default_input_length(models: Sequence[torch.nn.Module]) -> int:
    """The longest ``minimum_input_length()`` of the models, else 2114."""
    lengths = [int(m.minimum_input_length()) for m in models if callable(getattr(m, "minimum_input_length", None))]
    return max(lengths) if lengths else DEFAULT_INPUT_LENGTH


def predictor_shape(model: torch.nn.Module, input_length: int, label: str) -> PredictorShape:
    """Profile tracks, output length and control tracks of ``model`` on ``input_length`` bp.

    Found by one forward pass of an all-N sequence (and zero controls), so any module
    with the ``forward(X, X_ctl=None) -> (logits, log_counts)`` contract works.
    """
    minimum = getattr(model, "minimum_input_length", None)
    if callable(minimum) and input_length < minimum():
        raise InputError(f"{label}: input_length {input_length} is shorter than the model's minimum input ({minimum()} bp): raise input_length or leave it unset")
    n_ctl = int(getattr(model, "n_control_tracks", 0) or 0)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    X = torch.zeros(1, 4, input_length, device=device)
    try:
        with torch.no_grad():
            logits, log_counts = model(X, torch.zeros(1, n_ctl, input_length, device=device)) if n_ctl else model(X)
    except (ValueError, RuntimeError) as exc:
        raise InputError(f"{label}: the model does not run on {input_length} bp inputs ({str(exc).splitlines()[0]}): check input_length") from None
    if logits.ndim != 3 or log_counts.ndim != 2:
        raise InputError(f"{label}: the model returns logits of shape {tuple(logits.shape)} and log counts {tuple(log_counts.shape)}; expected (N, tracks, length) and (N, counts)")
    if log_counts.shape[-1] not in (1, logits.shape[1]):
        raise InputError(f"{label}: the model has {log_counts.shape[-1]} count outputs for {logits.shape[1]} profile tracks; expected 1 or one per track")
    return PredictorShape(int(logits.shape[1]), int(logits.shape[-1]), n_ctl)


def check_predictors(models: Sequence[torch.nn.Module], labels: Sequence[str], input_length: int) -> PredictorShape:
    """The shape all ``models`` share; :class:`InputError` naming the two that differ otherwise."""
    shapes = [predictor_shape(m, input_length, label) for m, label in zip(models, labels)]
    first = shapes[0]
    for shape, label in zip(shapes[1:], labels[1:]):
        if shape != first:
            raise InputError(
                f"models cannot be averaged: {labels[0]} predicts {first.n_tracks} track(s) of {first.output_length} bp "
                f"with {first.n_control_tracks} control track(s), but {label} predicts {shape.n_tracks} track(s) of "
                f"{shape.output_length} bp with {shape.n_control_tracks} control track(s): give models of the same design (e.g. the folds of one experiment)"
            )
    return first


# ---------------------------------------------------------------------- predicting


def default_track_names(n_tracks: int) -> list[str]:
    """``plus``/``minus`` for 2 tracks, ``signal`` for 1, else ``track_0``, ``track_1``, ..."""
    if n_tracks == 2:
        return ["plus", "minus"]
    if n_tracks == 1:
        return ["signal"]
    return [f"track_{i}" for i in range(n_tracks)]


def default_strand_pairs(n_tracks: int) -> list[tuple[int, int]]:
    """Track pairs that swap under reverse complement: (0, 1) for a 2-track (stranded) model."""
    return [(0, 1)] if n_tracks == 2 else []


def profile_probabilities(logits: torch.Tensor, log_counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(profile probabilities ``(N, T, L)`` summing to 1 per window, total log counts ``(N,)``).

    One count output: one softmax over all tracks and positions. One count output per
    track: a softmax per track times that track's share of the total count.
    """
    n, t, length = logits.shape
    logits, log_counts = logits.float(), log_counts.float()
    if log_counts.shape[-1] == 1:
        return torch.softmax(logits.reshape(n, t * length), dim=-1).reshape(n, t, length), log_counts[:, 0]
    share = torch.softmax(log_counts, dim=-1)
    return torch.softmax(logits, dim=-1) * share[:, :, None], torch.logsumexp(log_counts, dim=-1)


def flip_strands(values: torch.Tensor, pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
    """Reverse the last axis of ``(N, T, L)`` values and swap the track ``pairs``."""
    values = values.flip(-1)
    if pairs:
        order = list(range(values.shape[1]))
        for a, b in pairs:
            order[a], order[b] = b, a
        values = values[:, order]
    return values


class ControlReader:
    """Control-track windows from bigWig files or track-set folders."""

    def __init__(self, locations: Sequence[str | Path], length: int):
        from .loci import open_tracks

        self.tracks = open_tracks(locations) if locations else None
        self.length = length

    @property
    def n_tracks(self) -> int:
        return len(self.tracks.sources) if self.tracks else 0

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """Strand pairs from the track sets' manifests (single bigWigs are unstranded)."""
        return list(self.tracks.pairs) if self.tracks else []

    def check(self, chroms: Sequence[str], sizes: dict[str, int], *, label: str, genome_label: str) -> None:
        """Every chromosome used in ``label`` is in every control bigWig, with the genome's length."""
        for source in self.tracks.sources if self.tracks else []:
            check_chromosomes(chroms, source.sizes, file=label, reference_file=f"the control bigWig {source.label}")
            for chrom in chroms:
                if source.sizes[chrom] != sizes[chrom]:
                    raise DataError(
                        f"{source.label}: {chrom} has {source.sizes[chrom]} bp but {sizes[chrom]} bp in {genome_label}: "
                        "the control bigWig was made on another genome assembly; rebuild it on this genome"
                    )

    def read(self, chroms: Sequence[str], output_starts: np.ndarray, output_length: int) -> np.ndarray:
        """``(N, C, length)`` float32 counts centred on each output window."""
        out = np.zeros((len(chroms), self.n_tracks, self.length), np.float32)
        starts = output_starts + output_length // 2 - self.length // 2
        for i, (chrom, start) in enumerate(zip(chroms, starts)):
            for t, source in enumerate(self.tracks.sources):
                out[i, t] = source.values(chrom, int(start), int(start) + self.length)
        return out

    def close(self) -> None:
        for source in self.tracks.sources if self.tracks else []:
            source.close()


@dataclass
class Predictions:
    """Averaged predictions of the windows: ``profiles`` ``(N, T, L)`` probabilities and
    ``log_counts`` ``(N,)`` natural-log total counts."""

    profiles: np.ndarray
    log_counts: np.ndarray

    def expected_counts(self) -> np.ndarray:
        """``(N, T, L)`` float32 expected counts: profile x exp(log counts)."""
        return self.profiles * np.exp(self.log_counts, dtype=np.float64).astype(np.float32)[:, None, None]


def predict_windows(
    models: Sequence[torch.nn.Module],
    genome: FastaSource,
    windows: PredictionWindows,
    *,
    controls: ControlReader | None = None,
    reverse_complement_average: bool = False,
    strand_pairs: Sequence[tuple[int, int]] = (),
    batch_size: int = 64,
    progress: bool = True,
) -> Predictions:
    """Average predictions of ``models`` (and, optionally, of both strands) over ``windows``.

    The models must agree on tracks and output length (:func:`check_predictors`).

    Profiles are averaged as probabilities and counts as log counts (module docstring).
    Under reverse complement the sequence and the controls are reversed and complemented
    (control ``controls.pairs`` swapped), and the prediction is flipped back with the
    profile ``strand_pairs`` swapped.
    """
    from bpnet.core.console import track

    device = next((p.device for p in models[0].parameters()), torch.device("cpu"))
    if reverse_complement_average and (windows.input_length - windows.output_length) % 2:
        log.warning("input_length - output_length is odd (%d): the reverse-complement prediction lands 1 bp off the forward one", windows.input_length - windows.output_length)
    profiles: np.ndarray | None = None
    log_counts = np.empty(len(windows), np.float32)
    batches = range(0, len(windows), batch_size)
    for first in track(batches, "predicting") if progress else batches:
        rows = slice(first, min(first + batch_size, len(windows)))
        codes = np.stack([
            genome.codes(chrom, int(start), int(start) + windows.input_length)
            for chrom, start in zip(windows.chrom[rows], windows.input_start[rows])
        ])
        X = torch.from_numpy(codes_to_one_hot(codes)).to(device)
        ctl = None
        if controls is not None and controls.n_tracks:
            ctl = torch.from_numpy(controls.read(windows.chrom[rows], windows.output_start[rows], windows.output_length)).to(device)
        probs, counts = average_predictions(
            models, X, ctl, reverse_complement=reverse_complement_average, strand_pairs=strand_pairs,
            control_pairs=controls.pairs if controls else (),
        )
        if profiles is None:
            profiles = np.empty((len(windows), *probs.shape[1:]), np.float32)
        profiles[rows] = probs.cpu().numpy()
        log_counts[rows] = counts.cpu().numpy()
    return Predictions(profiles, log_counts)


def average_predictions(
    models: Sequence[torch.nn.Module], X: torch.Tensor, ctl: torch.Tensor | None = None, *,
    reverse_complement: bool = False, strand_pairs: Sequence[tuple[int, int]] = (),
    control_pairs: Sequence[tuple[int, int]] = (),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean profile probabilities and mean log counts of one batch over ``models`` (and
    over both strands with ``reverse_complement``; see the module docstring)."""
    inputs = [(X, ctl, False)]
    if reverse_complement:
        inputs.append((X.flip(-2, -1), None if ctl is None else flip_strands(ctl, control_pairs), True))
    prob_sum, count_sum = 0.0, 0.0
    with torch.no_grad():
        for model in models:
            for x, c, reverse in inputs:
                logits, counts = call_model(model, x, c)
                probs, total = profile_probabilities(logits, counts)
                prob_sum = prob_sum + (flip_strands(probs, strand_pairs) if reverse else probs)
                count_sum = count_sum + total
    n = len(models) * len(inputs)
    return prob_sum / n, count_sum / n


# ---------------------------------------------------------------------- writing


def owned_spans(starts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """For windows ``[starts, starts + length)`` of one chromosome, sorted by start with no
    duplicate starts: the span ``[lo, hi)`` of bases each window keeps.

    A base goes to the covering window with the nearest centre (the left one on a tie).
    With equal lengths the border between neighbours ``a`` and ``b`` is the first base
    ``x`` with ``2x > a + b + length - 1``. A window may keep nothing (``lo >= hi``).
    """
    starts = np.asarray(starts, np.int64)
    borders = (starts[:-1] + starts[1:] + length - 1) // 2 + 1
    lo = np.concatenate([starts[:1], np.maximum(starts[1:], borders)])
    hi = np.concatenate([np.minimum(starts[:-1] + length, borders), starts[-1:] + length])
    return lo, hi


def write_prediction_bigwigs(
    folder: str | Path,
    sizes: dict[str, int],
    windows: PredictionWindows,
    expected: np.ndarray,
    track_names: Sequence[str],
    *,
    strand_pairs: Sequence[tuple[int, int]] = (),
    description: dict | None = None,
) -> list[Path]:
    """Write ``<folder>/<track>.bw`` of ``expected`` counts ``(N, T, L)`` and ``tracks.json``.

    The folder is a track set (strands ``+``/``-`` for ``strand_pairs``), written
    atomically. Overlapping windows are resolved by :func:`owned_spans`; windows with
    the same start are written once (the first). Every chromosome of ``sizes`` is in
    the header, in its order, so genome browsers show the files on that assembly.
    """
    strands = ["."] * len(track_names)
    for plus, minus in strand_pairs:
        strands[plus], strands[minus] = "+", "-"
    spans = _spans_by_chromosome(windows, sizes)
    files = [f"{name}.bw" for name in track_names]
    with atomic_path(Path(folder)) as tmp:
        tmp.mkdir(parents=True)
        for t, file in enumerate(files):
            with bigwig_writer(tmp / file, sizes) as bw:
                for chrom, rows, lo, hi in spans:
                    for i, a, b in zip(rows, lo, hi):
                        offset = int(a - windows.output_start[i])
                        values = expected[i, t, offset : offset + int(b - a)].astype(np.float64)
                        bw.addEntries(chrom, int(a), values=values, span=1, step=1)
        TrackSet(tracks=[Track(file=f, strand=s) for f, s in zip(files, strands)], description=description or {}).write(tmp)
    return [Path(folder) / f for f in files]


def _spans_by_chromosome(windows: PredictionWindows, sizes: dict[str, int]) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(chrom, window rows, lo, hi) per chromosome in ``sizes`` order, empty spans left out."""
    result = []
    for chrom in sizes:
        rows = np.flatnonzero(windows.chrom == chrom)
        if not len(rows):
            continue
        rows = rows[np.argsort(windows.output_start[rows], kind="stable")]
        starts = windows.output_start[rows]
        first = np.concatenate([[True], starts[1:] != starts[:-1]])
        rows, starts = rows[first], starts[first]
        lo, hi = owned_spans(starts, windows.output_length)
        keep = hi > lo
        result.append((chrom, rows[keep], lo[keep], hi[keep]))
    return result


def write_prediction_arrays(
    path: str | Path,
    windows: PredictionWindows,
    predictions: Predictions,
    track_names: Sequence[str],
    models: Sequence[str | Path],
    submodel: str = "model",
) -> None:
    """Write the npz (atomically): window coordinates, profiles, log counts and provenance.

    Arrays: ``chrom``, ``start``, ``end`` (output windows), ``centre``, ``name``,
    ``source_row`` (0-based data row in the regions file), ``log_counts`` float32 (N,),
    ``profiles`` float32 (N, T, L) probabilities, ``track_names``, ``models`` (paths),
    ``submodel``. Strings are stored as unicode arrays (no pickle needed to load).
    """
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as out:
        np.savez(
            out,
            chrom=np.asarray(windows.chrom, dtype=str), start=windows.output_start.astype(np.int64),
            end=windows.output_end.astype(np.int64), centre=windows.centre.astype(np.int64),
            name=np.asarray(windows.name, dtype=str), source_row=windows.source_row.astype(np.int64),
            log_counts=predictions.log_counts.astype(np.float32), profiles=predictions.profiles.astype(np.float32),
            track_names=np.asarray(list(track_names), dtype=str), models=np.asarray([str(m) for m in models], dtype=str),
            submodel=np.asarray(submodel),
        )


def read_regions(path: str | Path) -> tuple[Intervals, str]:
    """(intervals, label for messages) of a BED/narrowPeak file."""
    source = BedSource(path)
    return source.read(), source.label
