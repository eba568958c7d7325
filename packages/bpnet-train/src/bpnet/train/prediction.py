"""Predictions of trained models over any set of loci, averaged over models (folds).

The steps, each a function here (the ``predict`` stage strings them together):

1. :func:`prediction_windows`: one input window per BED/narrowPeak region, centred on
   its summit (or midpoint), and the output window the model predicts inside it
   (:mod:`bpnet.data.windows`); regions whose windows run off a chromosome are dropped
   (logged) or refused.
2. The model folders (or a ChromBPNet's ``accessibility`` / ``bias`` submodel), which
   must agree on the number of profile tracks, the output length and the number of
   control tracks (:func:`bpnet.core.outputs.load_models`,
   :func:`bpnet.core.outputs.check_models_agree`).
3. :func:`predict_windows`: batches of one-hot sequence (and control tracks) through
   every model, optionally also the reverse complement, averaged as
   :func:`bpnet.core.outputs.average_predictions` does (mean probabilities, mean log
   counts).
4. :func:`write_prediction_bigwigs` and :func:`write_prediction_arrays`: one bigWig of
   expected counts per track (a track-set folder with ``tracks.json``; overlapping
   windows share bases by nearest centre, :func:`bpnet.data.bigwig_io.owned_spans`),
   and an npz that keeps every window whole.

Memory: the averaged profiles of all windows, ``4 * tracks * output_length`` bytes per
region (8 kB at 2 x 1000: 800 MB per 100,000 regions), plus one batch on the device.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bpnet.core.atomic import atomic_path
from bpnet.core.outputs import Predictions, average_predictions
from bpnet.data.bigwig_io import write_window_values
from bpnet.data.chroms import check_chromosomes
from bpnet.data.errors import DataError
from bpnet.data.intervals import Intervals
from bpnet.data.onehot import codes_to_one_hot
from bpnet.data.sources import IntervalSource, SequenceSource, open_source
from bpnet.data.tracks import Track, TrackSet
from bpnet.data.windows import OffChrom, WindowGeometry, keep_on_chromosome

log = logging.getLogger("bpnet.train.prediction")


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
    if not len(regions):
        raise DataError(f"{label}: no regions to predict (the file has no intervals)")
    check_chromosomes(regions.chromosomes(), sizes, file=label, reference_file=reference_label)
    centre = regions.centres(use_summits)
    geometry = WindowGeometry(input_length, output_length, control_length)
    ok = keep_on_chromosome(
        regions.chrom, centre, sizes, geometry, off_chrom=off_chrom, what="region(s)",
        describe=lambda i: (label, f"(data row {i + 1}) {regions.chrom[i]}:{regions.start[i]}-{regions.end[i]}"),
        label=label, reference_label=reference_label, log=log,
    )
    if not ok.any():
        raise DataError(f"{label}: every region's window runs off a chromosome end: nothing to predict")
    input_start, output_start = geometry.input_start(centre), geometry.output_start(centre)
    return PredictionWindows(
        chrom=regions.chrom[ok].astype(str), centre=centre[ok], input_start=input_start[ok],
        output_start=output_start[ok], name=regions.name[ok].astype(str), source_row=np.flatnonzero(ok),
        input_length=input_length, output_length=output_length,
    )


# ---------------------------------------------------------------------- predicting


class ControlReader:
    """Control-track windows from bigWig files or track-set folders."""

    def __init__(self, locations: Sequence[str | Path], length: int):
        from bpnet.data.loci import open_tracks

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

    def read(self, chroms: Sequence[str], starts: np.ndarray) -> np.ndarray:
        """``(N, C, length)`` float32 counts of the control windows starting at ``starts``."""
        out = np.zeros((len(chroms), self.n_tracks, self.length), np.float32)
        for i, (chrom, start) in enumerate(zip(chroms, starts)):
            for t, source in enumerate(self.tracks.sources):
                out[i, t] = source.values(chrom, int(start), int(start) + self.length)
        return out

    def close(self) -> None:
        for source in self.tracks.sources if self.tracks else []:
            source.close()


def predict_windows(
    models: Sequence[torch.nn.Module],
    genome: SequenceSource,
    windows: PredictionWindows,
    *,
    controls: ControlReader | None = None,
    reverse_complement_average: bool = False,
    strand_pairs: Sequence[tuple[int, int]] = (),
    batch_size: int = 64,
    progress: bool = True,
) -> Predictions:
    """Average predictions of ``models`` (and, optionally, of both strands) over ``windows``.

    The models must agree on tracks and output length (:func:`bpnet.core.outputs.check_models_agree`).

    Profiles are averaged as probabilities and counts as log counts (module docstring).
    Under reverse complement the sequence and the controls are reversed and complemented
    (control ``controls.pairs`` swapped), and the prediction is flipped back with the
    profile ``strand_pairs`` swapped.
    """
    from bpnet.core.console import track

    device = next((p.device for p in models[0].parameters()), torch.device("cpu"))
    if reverse_complement_average and (windows.input_length - windows.output_length) % 2:
        log.warning(
            "input_length - output_length is odd (%d): the reverse-complement prediction lands 1 bp off the forward one",
            windows.input_length - windows.output_length,
        )
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
            geometry = WindowGeometry(windows.input_length, windows.output_length, controls.length)
            starts = geometry.control_start(windows.centre[rows])
            ctl = torch.from_numpy(controls.read(windows.chrom[rows], starts)).to(device)
        probs, counts = average_predictions(
            models, X, ctl, reverse_complement=reverse_complement_average, strand_pairs=strand_pairs,
            control_pairs=controls.pairs if controls else (),
        )
        if profiles is None:
            profiles = np.empty((len(windows), *probs.shape[1:]), np.float32)
        profiles[rows] = probs.cpu().numpy()
        log_counts[rows] = counts.cpu().numpy()
    return Predictions(profiles, log_counts)


# ---------------------------------------------------------------------- writing


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
    atomically; each file as :func:`bpnet.data.bigwig_io.write_window_values` writes it
    (overlapping windows share bases by nearest centre).
    """
    strands = ["."] * len(track_names)
    for plus, minus in strand_pairs:
        strands[plus], strands[minus] = "+", "-"
    files = [f"{name}.bw" for name in track_names]
    with atomic_path(Path(folder)) as tmp:
        tmp.mkdir(parents=True)
        for t, file in enumerate(files):
            write_window_values(tmp / file, sizes, windows.chrom, windows.output_start, expected[:, t])
        TrackSet(tracks=[Track(file=f, strand=s) for f, s in zip(files, strands)], description=description or {}).write(tmp)
    return [Path(folder) / f for f in files]


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
    """(intervals, label for messages) of a BED/narrowPeak file (or any other registered interval source)."""
    source = open_source(path, IntervalSource)
    return source.read(), source.label
