"""The report's figures, drawn with matplotlib's Agg canvas (no pyplot, no display needed).

Each function returns a :class:`matplotlib.figure.Figure`; :func:`png_bytes` renders one.
Colours are fixed so that every section reads the same way: training blue, validation
red; peaks blue, negatives orange; observed grey, predicted blue, bias red; validation
count Pearson green, profile JSD purple.
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bpnet.core.formats.predictions import Predictions
from bpnet.core.formats.training import TrainingLog

from .derived import pearson

TRAIN, VALID = "#1f6fb4", "#d1495b"
PEAK, NEGATIVE = "#1f6fb4", "#f28e2b"
OBSERVED, PREDICTED, BIAS = "#8c8c8c", "#1f6fb4", "#d1495b"
PEARSON, JSD = "#2a9d5c", "#7b5ea7"
#: most points drawn in a counts scatter; more are subsampled (deterministically)
MAX_SCATTER_POINTS = 20_000
#: most example loci drawn
MAX_EXAMPLES = 6

LOSS_PANELS = (
    ("total loss", "train_loss", "valid_loss"),
    ("profile loss (MNLL)", "train_profile_loss", "valid_profile_loss"),
    ("count loss (MSE of log counts)", "train_count_loss", "valid_count_loss"),
)


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes, rendered by the Agg canvas."""
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas: savefig renders with Agg whatever the backend
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def _style(ax: Axes, title: str = "", xlabel: str = "", ylabel: str = "") -> None:
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(True, color="#e6e6e6", linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def best_epoch(run: TrainingLog) -> float | None:
    """The epoch whose model was kept: the summary's ``best_epoch``, else the lowest valid_loss."""
    if run.summary and isinstance(run.summary.get("best_epoch"), (int, float)):
        return float(run.summary["best_epoch"])
    valid = run.epochs["valid_loss"]
    if np.isfinite(valid).any():
        return float(run.epochs["epoch"][np.nanargmin(valid)])
    return None


def loss_figure(run: TrainingLog) -> Figure:
    """Training and validation losses per epoch (total, profile, count) and the validation metrics."""
    fig = Figure(figsize=(13, 3.1), layout="constrained")
    axes = fig.subplots(1, 4)
    epochs = run.epochs["epoch"]
    best = best_epoch(run)
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax, (title, train_key, valid_key) in zip(axes, LOSS_PANELS):
        _style(ax, title, "epoch")
        drawn = False
        for key, colour, label in ((train_key, TRAIN, "train"), (valid_key, VALID, "valid")):
            values = run.epochs.get(key)
            if values is not None and np.isfinite(values).any():
                ax.plot(epochs, values, color=colour, marker="o", markersize=3, linewidth=1.5, label=label)
                drawn = True
        if not drawn:
            _not_available(ax, f"no {train_key} / {valid_key} column")
            continue
        if best is not None:
            ax.axvline(best, color="#555555", linestyle=":", linewidth=1, label=f"best epoch ({best:g})")
        _legend(ax)
    _validation_panel(axes[3], run, best)
    return fig


def _validation_panel(ax: Axes, run: TrainingLog, best: float | None) -> None:
    _style(ax, "validation metrics", "epoch", "count Pearson r")
    epochs = run.epochs["epoch"]
    pearson_values = run.epochs.get("valid_count_pearson")
    jsd_values = run.epochs.get("valid_profile_jsd")
    lines = []
    if pearson_values is not None and np.isfinite(pearson_values).any():
        lines += ax.plot(epochs, pearson_values, color=PEARSON, marker="o", markersize=3, linewidth=1.5, label="count Pearson r")
    if jsd_values is not None and np.isfinite(jsd_values).any():
        twin = ax.twinx()
        lines += twin.plot(epochs, jsd_values, color=JSD, marker="s", markersize=3, linewidth=1.5, label="profile JSD")
        twin.set_ylabel("profile JSD", fontsize=9)
        twin.tick_params(labelsize=8)
        twin.spines["top"].set_visible(False)
    if not lines:
        _not_available(ax, "no valid_count_pearson / valid_profile_jsd column")
        return
    if best is not None:
        ax.axvline(best, color="#555555", linestyle=":", linewidth=1)
    ax.legend(lines, [line.get_label() for line in lines], fontsize=7, frameon=False, loc="center right")


def _legend(ax: Axes, **options) -> None:
    """A frameless legend, only when something was labelled (no empty-legend warning)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, **{"fontsize": 7, **options})


def _not_available(ax: Axes, why: str) -> None:
    ax.text(0.5, 0.5, f"not available\n({why})", ha="center", va="center", fontsize=8, color="#777777", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _subsample(n: int, limit: int = MAX_SCATTER_POINTS) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size=limit, replace=False))


def counts_figure(predictions: Predictions) -> Figure:
    """Predicted vs observed log counts, peaks and negatives coloured (and the bias model alone, if
    present), then the distributions of predicted log counts on peaks and negatives."""
    panels = [("model", predictions.pred_log_counts)]
    if predictions.bias_pred_log_counts is not None:
        panels = [("combined model", predictions.pred_log_counts), ("bias model alone", predictions.bias_pred_log_counts)]
    fig = Figure(figsize=(4.6 * (len(panels) + 1), 4.3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels) + 1))
    observed, is_peak = predictions.obs_log_counts, predictions.is_peak
    keep = _subsample(len(observed))
    values = np.concatenate([observed, *[predicted for _, predicted in panels]])
    values = values[np.isfinite(values)]
    low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    pad = 0.03 * (high - low or 1.0)
    limits = (low - pad, high + pad)
    for ax, (title, predicted) in zip(axes, panels):
        _style(ax, f"predicted vs observed: {title}", "observed log(1 + counts)", "predicted log(1 + counts)")
        # negatives first, so the peaks are drawn on top
        for mask, colour, label in ((~is_peak, NEGATIVE, "negatives"), (is_peak, PEAK, "peaks")):
            if not mask.any():
                continue
            r = pearson(observed[mask], predicted[mask])
            shown = keep[mask[keep]]
            ax.scatter(
                observed[shown], predicted[shown], s=6, alpha=0.35 if len(shown) > 2000 else 0.6, color=colour,
                linewidths=0, rasterized=True, label=f"{label} (n={int(mask.sum()):,}, r={'n/a' if r is None else f'{r:.3f}'})",
            )
        ax.plot(limits, limits, color="#555555", linestyle="--", linewidth=1, label="y = x")
        ax.set_xlim(limits)
        ax.set_ylim(limits)
        _legend(ax, loc="upper left", markerscale=2)
    _distribution_panel(axes[-1], predictions, limits)
    return fig


def _distribution_panel(ax: Axes, predictions: Predictions, limits: tuple[float, float]) -> None:
    _style(ax, "predicted log counts: peaks vs negatives", "predicted log(1 + counts)", "density")
    bins = np.linspace(*limits, 41)
    for mask, colour, label in ((~predictions.is_peak, NEGATIVE, "negatives"), (predictions.is_peak, PEAK, "peaks")):
        if mask.any():
            counts, _ = np.histogram(predictions.pred_log_counts[mask], bins=bins, density=True)
            ax.stairs(counts, bins, color=colour, fill=True, alpha=0.35)
            ax.stairs(counts, bins, color=colour, linewidth=1.3, label=f"{label} (n={int(mask.sum()):,})")
    _legend(ax, loc="upper left")


def examples_figure(predictions: Predictions, limit: int = MAX_EXAMPLES) -> Figure:
    """Observed vs predicted profiles of the example loci; with two tracks the second is the minus strand, drawn below 0."""
    observed, predicted = predictions.example_observed[:limit], predictions.example_predicted[:limit]
    bias = None if predictions.example_bias is None else predictions.example_bias[:limit]
    k, tracks, length = observed.shape
    columns = 2 if k > 1 else 1
    rows = math.ceil(k / columns)
    fig = Figure(figsize=(6.4 * columns, 2.5 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    positions = np.arange(length) - length // 2
    for i, ax in enumerate(axes):
        if i >= k:
            ax.set_visible(False)
            continue
        _style(ax, _example_title(predictions, i), "position from centre (bp)", "counts")
        for track in range(tracks):
            sign, label = _track_sign_label(predictions, track, tracks)
            fill = OBSERVED if tracks <= 2 else _track_colour(track, tracks)
            ax.fill_between(positions, 0, sign * observed[i, track], step="mid", color=fill, alpha=0.55 if tracks <= 2 else 0.3,
                            linewidth=0, label=f"observed{label}")
            ax.plot(positions, sign * predicted[i, track], color=_track_colour(track, tracks), linewidth=1.2, label=f"predicted{label}")
            if bias is not None:
                ax.plot(positions, sign * bias[i, track], color=BIAS, linewidth=1, linestyle="--", label=f"bias model{label}")
        if tracks == 2:
            ax.axhline(0, color="#555555", linewidth=0.6)
        if i == 0:
            _legend(ax, ncol=2, loc="upper right")
    return fig


def _track_sign_label(predictions: Predictions, track: int, tracks: int) -> tuple[float, str]:
    if tracks == 2:
        return (1.0, " (+)") if track == 0 else (-1.0, " (−)")
    if tracks == 1:
        return 1.0, ""
    names = predictions.signal_names
    return 1.0, f" ({names[track]})" if names and len(names) == tracks else f" (track {track})"


def _track_colour(track: int, tracks: int) -> str:
    if tracks <= 2:
        return PREDICTED
    return ("#1f6fb4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#bcbd22")[track % 6]


def _example_title(predictions: Predictions, i: int) -> str:
    locus = int(predictions.example_index[i])
    where = f"locus {locus}"
    if predictions.chrom is not None and predictions.centre is not None:
        where = f"{predictions.chrom[locus]}:{int(predictions.centre[locus]):,}"
    kind = "peak" if predictions.is_peak[locus] else "negative"
    counts = f"log counts obs {predictions.obs_log_counts[locus]:.2f}, pred {predictions.pred_log_counts[locus]:.2f}"
    return f"{where} ({kind}) · {counts}"


#: most footprint panels per row
FOOTPRINT_COLUMNS = 4


def footprint_figure(footprints: dict) -> Figure:
    """One panel per bias motif: the de-biased model's mean footprint with the motif inserted (blue, red when
    uncorrected) and without it (grey), around the insertion, with the threshold on the same scale.

    ``footprints`` is the ``chrombpnet.footprints`` block of metrics.json.
    """
    motifs = footprints.get("motifs") or []
    columns = min(max(len(motifs), 1), FOOTPRINT_COLUMNS)
    rows = max(1, math.ceil(len(motifs) / columns))
    fig = Figure(figsize=(3.6 * columns, 2.7 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    length = int(footprints.get("output_length") or 0)
    start = int(footprints.get("window_start") or 0)
    without = np.asarray(footprints.get("without_motif") or [], dtype=float)
    for ax, motif in zip(axes, motifs):
        verdict = motif.get("verdict") or {}
        with_motif = np.asarray(motif.get("with_motif") or [], dtype=float)
        positions = np.arange(start, start + len(with_motif)) - length // 2
        word = "corrected" if verdict.get("level") == "pass" else "uncorrected"
        value = verdict.get("value")
        title = f"{motif.get('motif', '?')}: {word}" + (f" ({value:.3f})" if isinstance(value, (int, float)) else "")
        _style(ax, title, "position from the insertion (bp)", "mean footprint")
        ax.plot(positions, with_motif, color=PREDICTED if word == "corrected" else BIAS, linewidth=1.3, label="with motif")
        if len(without):  # dashed and on top: where the motif changes nothing the two lines coincide
            ax.plot(np.arange(start, start + len(without)) - length // 2, without, color=OBSERVED, linewidth=1.1,
                    linestyle="--", label="without motif")
        threshold = verdict.get("threshold")
        if isinstance(threshold, (int, float)) and length:
            # the threshold is on the official output length's scale; on this model's it is threshold * reference / length
            reference = footprints.get("reference_output_length") or length
            ax.axhline(threshold * reference / length, color="#555555", linestyle=":", linewidth=1, label="threshold")
        _legend(ax, loc="center right")
    for ax in axes[len(motifs):]:
        ax.set_visible(False)
    return fig
