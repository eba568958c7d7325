"""Marginalization: the effect of each motif of a database inserted into background sequences.

The steps (the ``marginalize`` stage strings them together):

1. :func:`select_background`: a seeded choice of ``n_loci`` loci of a ``loci.h5`` (the
   negatives by default: sequence the model should find unremarkable), their centred
   input windows and, for models with control tracks, their control windows.
2. :func:`bpnet.core.outputs.load_models` and :func:`bpnet.core.outputs.check_models_fit`:
   the model folders (a ChromBPNet's de-biased ``accessibility`` model with ``submodel: auto``), which must fit the loci's
   windows: an input window the model runs on, the loci's output window, and the
   control tracks the model takes.
3. :func:`marginalize_motif`, per motif: the models' predictions (averaged as the
   predict stage does: mean probabilities, mean log counts) before and after putting a
   site of the motif at the centre of every window, at position
   ``input_length // 2 - width // 2`` as :func:`tangermeme.marginalize` does. The site
   is the consensus (the most probable base at each position) or, with
   ``insertion='sample'``, one site per window drawn from the motif's probabilities.
   Controls are the loci's own, the same before and after.
4. :func:`effect_table`, :func:`write_effects` and :func:`plot_effect`: the ranked
   table, the per-locus arrays and one figure per motif.

**Effects.** Counts: ``delta = log_counts_after - log_counts_before`` per locus (natural
log of the total predicted count); the table gives its mean and standard deviation and
``fold_change = exp(mean delta)`` (the geometric-mean fold change of the predicted
count). Profile: per locus the Jensen-Shannon divergence (natural log, in ``[0, ln 2]``)
between the probability profiles before and after (``profile_jsd``, mean over loci: a
change of shape, whatever the count), and the largest absolute change of the mean
expected-count profile over tracks and positions (``max_abs_profile_change``, in counts).
Motifs are ranked by mean delta log counts, largest first.

Memory: the background's profiles before, one motif's after (``4 * N * tracks *
output_length`` bytes each: 0.8 MB for 100 loci of 2 x 1000 bp), and per motif the
mean profile and the per-locus numbers. Time: one forward pass of ``n_loci`` windows
per motif and model, plus one for the background.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from bpnet.core.atomic import atomic_path
from bpnet.core.metrics import jensen_shannon
from bpnet.core.outputs import Predictions, average_predictions
from bpnet.data.errors import DataError
from bpnet.data.loci import LociSet, sample_rows
from bpnet.data.motifs import Motif, insert_at_centre, insertion_start, sample_sites
from bpnet.data.onehot import codes_to_one_hot, encode_codes
from bpnet.data.windows import output_offset

log = logging.getLogger("bpnet.interpret.marginalize")

Insertion = Literal["consensus", "sample"]

#: columns of marginalization.tsv, in order
TABLE_COLUMNS = (
    "rank", "motif", "alt_name", "consensus", "width", "n_loci", "mean_delta_log_counts", "sd_delta_log_counts",
    "fold_change", "mean_log_counts_before", "mean_log_counts_after", "profile_jsd", "max_abs_profile_change", "plot",
)


# ---------------------------------------------------------------------- background


@dataclass
class Background:
    """The windows motifs are inserted into.

    ``codes``: uint8 ``(N, input_length)`` centred sequence windows (A=0 C=1 G=2 T=3,
    other 4); ``controls``: float32 ``(N, C, control_length)`` centred control windows, or
    None; ``loci_index``: rows of loci.h5; ``chrom``/``centre``: where they are.
    """

    codes: np.ndarray
    controls: np.ndarray | None
    loci_index: np.ndarray
    chrom: np.ndarray
    centre: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)


def select_background(
    loci: LociSet,
    *,
    split: str | Sequence[str] | None = None,
    peaks: bool = False,
    n_loci: int | None = 100,
    seed: int = 0,
    controls: bool = True,
    label: str = "loci",
) -> Background:
    """``n_loci`` loci (all with None) of ``split`` that are peaks or negatives, chosen with ``seed``.

    ``controls``: also take their control windows (for models with control tracks). The
    choice is a uniform draw without replacement, kept in loci.h5 order. Raises
    :class:`DataError` listing what the file holds when nothing matches.
    """
    index = loci.select(split, peaks=peaks)
    if not len(index):
        present = ", ".join(f"{name} ({p} peaks, {n} negatives)" for name, (p, n) in loci.counts_by_split().items()) or "none"
        what = "peaks" if peaks else "negatives"
        where = "" if split is None else f" in split {split!r}"
        hint = "set peaks: true to use peaks as the background" if not peaks else "set peaks: false to use the negatives"
        raise DataError(f"{label}: no {what}{where}; the file holds: {present}. Choose another split, or {hint}")
    index = sample_rows(index, n_loci, seed)
    j = loci.max_jitter
    control = loci.controls[index, :, j : j + loci.control_length] if controls and loci.n_controls else None
    return Background(loci.centred_codes(index), control, index, loci.chrom[index], loci.centre[index])


# ---------------------------------------------------------------------- models


def trained_input_length(path: str | Path) -> int | None:
    """The input window of the loci the model folder ``path`` was trained on, when its
    provenance names a loci.h5 that still exists (train-bpnet and train-chrombpnet record
    it); else None."""
    import h5py

    from bpnet.core.errors import ModelFileError
    from bpnet.core.modelfile import read_config

    try:
        provenance = read_config(path).get("provenance") or {}
    except ModelFileError:
        return None
    loci = provenance.get("loci")
    if not isinstance(loci, str) or not Path(loci).is_file():
        return None
    try:
        with h5py.File(loci, "r") as f:
            value = f.attrs.get("input_length")
            return int(value) if value is not None else None
    except (OSError, ValueError, TypeError):
        return None


# ---------------------------------------------------------------------- predicting


def predict_codes(
    models: Sequence[torch.nn.Module],
    codes: np.ndarray,
    controls: np.ndarray | None = None,
    *,
    batch_size: int = 64,
) -> Predictions:
    """Average predictions of ``models`` on uint8 ``codes`` ``(N, L)`` (and ``controls`` for
    models that take them): mean probabilities ``(N, T, L_out)`` and mean log counts ``(N,)``."""
    device = next((p.device for p in models[0].parameters()), torch.device("cpu"))
    profiles: np.ndarray | None = None
    log_counts = np.empty(len(codes), np.float32)
    for first in range(0, len(codes), batch_size):
        rows = slice(first, first + batch_size)
        X = torch.from_numpy(codes_to_one_hot(codes[rows])).to(device)
        ctl = None if controls is None else torch.from_numpy(np.ascontiguousarray(controls[rows])).to(device)
        probs, counts = average_predictions(models, X, ctl)
        if profiles is None:
            profiles = np.empty((len(codes), *probs.shape[1:]), np.float32)
        profiles[rows] = probs.cpu().numpy()
        log_counts[rows] = counts.cpu().numpy()
    assert profiles is not None, "predict_codes needs at least one sequence"
    return Predictions(profiles, log_counts)


# ---------------------------------------------------------------------- inserting


def insertion_sites(motif: Motif, n: int, insertion: Insertion = "consensus", rng: np.random.Generator | None = None) -> np.ndarray:
    """uint8 codes ``(n, width)``: the consensus ``n`` times, or ``n`` sites drawn from the motif."""
    if insertion == "consensus":
        return np.tile(encode_codes(motif.consensus), (n, 1))
    if insertion == "sample":
        return sample_sites(motif, n, rng if rng is not None else np.random.default_rng(0))
    raise ValueError(f"insertion must be 'consensus' or 'sample', not {insertion!r}")


# ---------------------------------------------------------------------- effects


@dataclass
class MotifEffect:
    """What inserting one motif did: per locus ``log_counts_after``, ``delta_log_counts``
    and ``profile_jsd``; ``mean_profile_after`` ``(T, L)`` mean expected counts."""

    motif: Motif
    log_counts_after: np.ndarray
    delta_log_counts: np.ndarray
    profile_jsd: np.ndarray
    mean_profile_after: np.ndarray

    @property
    def mean_delta(self) -> float:
        return float(self.delta_log_counts.mean())

    @property
    def sd_delta(self) -> float:
        return float(self.delta_log_counts.std(ddof=1)) if len(self.delta_log_counts) > 1 else 0.0


def marginalize_motif(
    models: Sequence[torch.nn.Module],
    background: Background,
    before: Predictions,
    motif: Motif,
    *,
    insertion: Insertion = "consensus",
    rng: np.random.Generator | None = None,
    batch_size: int = 64,
    label: str = "motifs",
) -> MotifEffect:
    """Predict ``background`` with ``motif`` inserted at the centre and compare with ``before``."""
    length = background.codes.shape[1]
    if motif.width > length:
        raise DataError(f"{label}: motif {motif.name} is {motif.width} bp, longer than the {length} bp windows: drop it from the file")
    sites = insertion_sites(motif, len(background), insertion, rng)
    after = predict_codes(models, insert_at_centre(background.codes, sites), background.controls, batch_size=batch_size)
    return MotifEffect(
        motif=motif, log_counts_after=after.log_counts, delta_log_counts=after.log_counts - before.log_counts,
        profile_jsd=jensen_shannon(before.profiles, after.profiles), mean_profile_after=after.mean_expected_profile(),
    )


def rank_effects(effects: Sequence[MotifEffect]) -> list[MotifEffect]:
    """``effects`` by mean delta log counts, largest first (ties keep database order)."""
    return sorted(effects, key=lambda e: -e.mean_delta)


# ---------------------------------------------------------------------- writing


def safe_file_name(text: str, max_length: int = 80) -> str:
    """``text`` with every character but letters, digits, '.', '-' and '_' made '_'
    (MOTIF identifiers may hold ':' or '/'), cut to ``max_length``."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "motif"
    return name[:max_length]


def plot_names(ranked: Sequence[MotifEffect]) -> list[str]:
    """One distinct PNG file name per ranked motif: ``<rank>_<name>[_<alt_name>].png``."""
    digits = max(3, len(str(len(ranked))))
    names = []
    for rank, effect in enumerate(ranked, start=1):
        motif = effect.motif
        text = motif.name if not motif.alt_name else f"{motif.name}_{motif.alt_name}"
        names.append(f"{rank:0{digits}d}_{safe_file_name(text)}.png")
    return names


def effect_table(ranked: Sequence[MotifEffect], before: Predictions, plots: Sequence[str]) -> list[dict[str, object]]:
    """The rows of marginalization.tsv (keys :data:`TABLE_COLUMNS`), in rank order."""
    mean_before = before.mean_expected_profile()
    rows = []
    for rank, (effect, plot) in enumerate(zip(ranked, plots), start=1):
        rows.append({
            "rank": rank, "motif": effect.motif.name, "alt_name": effect.motif.alt_name or "",
            "consensus": effect.motif.consensus, "width": effect.motif.width, "n_loci": len(effect.delta_log_counts),
            "mean_delta_log_counts": effect.mean_delta, "sd_delta_log_counts": effect.sd_delta,
            "fold_change": float(np.exp(effect.mean_delta)), "mean_log_counts_before": float(before.log_counts.mean()),
            "mean_log_counts_after": float(effect.log_counts_after.mean()), "profile_jsd": float(effect.profile_jsd.mean()),
            "max_abs_profile_change": float(np.abs(effect.mean_profile_after - mean_before).max()), "plot": plot,
        })
    return rows


def write_table(path: str | Path, rows: Sequence[dict[str, object]]) -> None:
    """Write the table as tab-separated text with a header line, atomically."""
    def text(value: object) -> str:
        return f"{value:.6g}" if isinstance(value, float) else str(value)

    with atomic_path(Path(path)) as tmp, open(tmp, "w") as out:
        out.write("\t".join(TABLE_COLUMNS) + "\n")
        for row in rows:
            out.write("\t".join(text(row[c]) for c in TABLE_COLUMNS) + "\n")


def write_effects(
    path: str | Path,
    ranked: Sequence[MotifEffect],
    background: Background,
    before: Predictions,
    *,
    track_names: Sequence[str],
    models: Sequence[str],
    submodels: Sequence[str],
    insertion: str,
    seed: int,
) -> None:
    """Write effects.npz (atomically; strings as unicode arrays, no pickle needed to load).

    Per motif ``m`` (rank order): ``motif``, ``alt_name``, ``consensus``;
    ``log_counts_after`` and ``delta_log_counts`` ``(M, N)``; ``profile_jsd`` ``(M, N)``;
    ``mean_profile_after`` ``(M, T, L)`` mean expected counts. Shared: ``loci_index``,
    ``chrom``, ``centre`` ``(N,)``; ``log_counts_before`` ``(N,)``; ``mean_profile_before``
    ``(T, L)``; ``track_names``, ``models``, ``submodels``, ``insertion``, ``seed``.
    """
    n_tracks, length = before.profiles.shape[1:]
    stack = lambda values, shape: np.stack(values).astype(np.float32) if len(values) else np.zeros(shape, np.float32)  # noqa: E731
    n = len(background)
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as out:
        np.savez_compressed(
            out,
            motif=np.asarray([e.motif.name for e in ranked], dtype=str),
            alt_name=np.asarray([e.motif.alt_name or "" for e in ranked], dtype=str),
            consensus=np.asarray([e.motif.consensus for e in ranked], dtype=str),
            log_counts_after=stack([e.log_counts_after for e in ranked], (0, n)),
            delta_log_counts=stack([e.delta_log_counts for e in ranked], (0, n)),
            profile_jsd=stack([e.profile_jsd for e in ranked], (0, n)),
            mean_profile_after=stack([e.mean_profile_after for e in ranked], (0, n_tracks, length)),
            loci_index=background.loci_index.astype(np.int64), chrom=np.asarray(background.chrom, dtype=str),
            centre=background.centre.astype(np.int64), log_counts_before=before.log_counts.astype(np.float32),
            mean_profile_before=before.mean_expected_profile().astype(np.float32),
            track_names=np.asarray(list(track_names), dtype=str), models=np.asarray(list(models), dtype=str),
            submodels=np.asarray(list(submodels), dtype=str), insertion=np.asarray(insertion), seed=np.asarray(seed),
        )


# ---------------------------------------------------------------------- plotting

BEFORE = "#9a9a9a"
#: colours of the tracks after insertion (plus, minus, ...)
TRACK_COLOURS = ("#1f6fb4", "#d1495b", "#2a9d5c", "#7b5ea7", "#f28e2b")


def plot_effect(
    path: str | Path,
    effect: MotifEffect,
    before: Predictions,
    *,
    rank: int,
    track_names: Sequence[str],
    input_length: int,
) -> None:
    """One PNG: mean expected profile before/after, their difference, and counts before vs after.

    The motif's position in the output window is shaded; with two (stranded) tracks the
    second is drawn below the axis. Drawn on matplotlib's Agg canvas (no display needed).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    mean_before = before.mean_expected_profile()
    n_tracks, length = mean_before.shape
    site = insertion_start(input_length, effect.motif.width) - output_offset(input_length, length)
    x = np.arange(length)
    motif = effect.motif
    title = f"#{rank} {motif.name}" + (f" ({motif.alt_name})" if motif.alt_name else "") + f"  {motif.consensus[:30]}"

    fig = Figure(figsize=(12, 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    profile_ax, diff_ax, count_ax = fig.subplots(1, 3, width_ratios=[2.2, 2.2, 1])
    for t in range(n_tracks):
        sign = -1.0 if n_tracks == 2 and t == 1 else 1.0  # minus strand drawn below the axis
        name = track_names[t] if t < len(track_names) else f"track_{t}"
        colour = TRACK_COLOURS[t % len(TRACK_COLOURS)]
        profile_ax.plot(x, sign * mean_before[t], color=BEFORE, linewidth=0.9, label="before" if t == 0 else None)
        profile_ax.plot(x, sign * effect.mean_profile_after[t], color=colour, linewidth=0.9, label=f"after ({name})")
        diff_ax.plot(x, sign * (effect.mean_profile_after[t] - mean_before[t]), color=colour, linewidth=0.9, label=name)
    for ax, label in ((profile_ax, "mean expected counts"), (diff_ax, "after - before")):
        if 0 <= site < length:
            ax.axvspan(site, min(site + motif.width, length), color="#f2c14e", alpha=0.35, linewidth=0)
        ax.set_xlabel("position in output window (bp)", fontsize=9)
        ax.set_ylabel(label, fontsize=9)
        ax.tick_params(labelsize=8)
    profile_ax.set_title(title, fontsize=10, loc="left")
    profile_ax.legend(fontsize=7, frameon=False, ncol=2)
    diff_ax.set_title(f"profile change (JSD {effect.profile_jsd.mean():.3g})", fontsize=10, loc="left")
    diff_ax.axhline(0, color="#bbbbbb", linewidth=0.7)

    count_ax.scatter(before.log_counts, effect.log_counts_after, s=8, color=TRACK_COLOURS[0], alpha=0.7, linewidths=0)
    lo = float(min(before.log_counts.min(), effect.log_counts_after.min()))
    hi = float(max(before.log_counts.max(), effect.log_counts_after.max()))
    count_ax.plot([lo, hi], [lo, hi], color="#bbbbbb", linewidth=0.8)
    count_ax.set_xlabel("log counts before", fontsize=9)
    count_ax.set_ylabel("log counts after", fontsize=9)
    count_ax.tick_params(labelsize=8)
    count_ax.set_title(f"mean delta {effect.mean_delta:+.3g}", fontsize=10, loc="left")
    fig.savefig(path, format="png", dpi=90, facecolor="white")


__all__ = [
    "Background", "MotifEffect", "TABLE_COLUMNS", "effect_table", "insert_at_centre", "insertion_sites",
    "insertion_start", "marginalize_motif", "plot_effect", "plot_names", "predict_codes", "rank_effects", "safe_file_name",
    "select_background", "trained_input_length", "write_effects", "write_table",
]
