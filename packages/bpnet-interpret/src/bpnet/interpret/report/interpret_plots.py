"""Figures of the report's interpretation sections (matplotlib Agg canvas, no pyplot).

* :func:`attribution_figure`: one window's contribution per position over the whole
  window, and the observed contributions of its centre as a sequence logo (letters
  scaled by contribution; :mod:`bpnet.interpret.logos` draws them);
* :func:`effects_figure`: marginalization effects, mean +- sd delta log counts per motif;
* :func:`profile_change_figure`: the mean predicted profile before and after inserting
  each of a few motifs, and their difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..logos import draw_logo
from .interpret_inputs import AttributionExample, MarginalEffects
from .plots import OBSERVED, PREDICTED, _legend, _style

#: bases at the window centre drawn as a logo
LOGO_BP = 120
#: motifs drawn in the marginalization bar chart
MAX_EFFECT_BARS = 20
#: motifs drawn in the profile-change figure
MAX_PROFILE_MOTIFS = 3
RAISE, LOWER = "#1f6fb4", "#d1495b"
TRACK_COLOURS = ("#1f6fb4", "#d1495b", "#2a9d5c", "#7b5ea7", "#f28e2b")


def logo_span(length: int, width: int = LOGO_BP) -> tuple[int, int]:
    """``(start, end)`` of the ``width`` central bases of a ``length`` bp window."""
    width = min(width, length)
    start = length // 2 - width // 2
    return start, start + width


def attribution_figure(example: AttributionExample, width: int = LOGO_BP) -> Figure:
    """Contribution per position over the window (the logo's span shaded) above the logo of its centre."""
    observed = example.observed
    length = observed.shape[1]
    start, end = logo_span(length, width)
    centre = length // 2
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    line_ax, logo_ax = fig.subplots(2, 1, height_ratios=[1, 1.35])
    _style(line_ax, "", "position from window centre (bp)", "contribution")
    positions = np.arange(length) - centre
    projected = example.projected
    line_ax.fill_between(positions, 0, projected, where=projected >= 0, color=RAISE, linewidth=0, alpha=0.8, step="mid")
    line_ax.fill_between(positions, 0, projected, where=projected < 0, color=LOWER, linewidth=0, alpha=0.8, step="mid")
    line_ax.axvspan(
        start - centre - 0.5,
        end - centre - 0.5,
        color="#f2c14e",
        alpha=0.25,
        linewidth=0,
        label=f"logo below ({end - start} bp)",
    )
    line_ax.axhline(0, color="#888888", linewidth=0.6)
    line_ax.set_xlim(positions[0] - 0.5, positions[-1] + 0.5)
    _legend(line_ax, loc="upper right")
    draw_logo(logo_ax, observed[:, start:end].T)
    step = 20 if end - start > 60 else 10 if end - start > 20 else 2
    ticks = [i for i in range(end - start) if (start + i - centre) % step == 0]
    logo_ax.set_xticks(ticks, [str(start + i - centre) for i in ticks])
    logo_ax.set_xlabel("position from window centre (bp)", fontsize=9)
    logo_ax.set_ylabel("contribution", fontsize=9)
    return fig


def motif_label(row: dict[str, Any]) -> str:
    """``alt_name (motif)``, or the motif name alone."""
    alt = str(row.get("alt_name") or "")
    return f"{alt} ({row['motif']})" if alt and alt != row["motif"] else str(row["motif"])


def effects_figure(rows: Sequence[dict[str, Any]], limit: int = MAX_EFFECT_BARS) -> Figure:
    """Horizontal bars of mean delta log counts (+- sd) of the first ``limit`` motifs of the table, top first."""
    rows = list(rows[:limit])
    labels = [motif_label(row) for row in rows]
    means = np.array([float(row["mean_delta_log_counts"]) for row in rows])
    sds = np.array([float(row.get("sd_delta_log_counts") or 0.0) for row in rows])
    fig = Figure(figsize=(8.5, 1.0 + 0.27 * max(len(rows), 2)), layout="constrained")
    ax = fig.subplots()
    _style(ax, "effect on predicted counts of inserting each motif", "mean Δ log counts (after − before), ± sd over loci")
    y = np.arange(len(rows))[::-1]
    colours = [RAISE if m >= 0 else LOWER for m in means]
    ax.barh(y, means, xerr=sds, color=colours, alpha=0.85, height=0.7, error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#444444"})
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_yticks(y, [label[:40] for label in labels], fontsize=8)
    ax.grid(False, axis="y")
    return fig


def profile_change_figure(effects: MarginalEffects, motifs: Sequence[str], labels: Sequence[str]) -> Figure:
    """Per motif (columns): mean expected counts before (grey) and after (colour), then after − before."""
    index = {name: i for i, name in enumerate(effects.motif)}
    chosen = [(index[name], label) for name, label in zip(motifs, labels) if name in index][:MAX_PROFILE_MOTIFS]
    before = effects.mean_profile_before
    n_tracks, length = before.shape
    fig = Figure(figsize=(4.4 * max(len(chosen), 1), 4.6), layout="constrained")
    axes = np.asarray(fig.subplots(2, max(len(chosen), 1), squeeze=False, sharey="row"))  # one scale per row: effects compare
    x = np.arange(length) - length // 2
    for column, (i, label) in enumerate(chosen):
        after = effects.mean_profile_after[i]
        top, bottom = axes[0, column], axes[1, column]
        _style(top, label[:45], "", "mean expected counts")
        _style(bottom, "after − before", "position from centre (bp)", "Δ expected counts")
        for t in range(n_tracks):
            sign = -1.0 if n_tracks == 2 and t == 1 else 1.0  # the minus strand of a stranded pair is drawn below 0
            colour = TRACK_COLOURS[t % len(TRACK_COLOURS)] if n_tracks > 1 else PREDICTED
            name = effects.track_names[t] if t < len(effects.track_names) else f"track {t}"
            top.plot(x, sign * before[t], color=OBSERVED, linewidth=1.0, label="before" if t == 0 else None)
            top.plot(x, sign * after[t], color=colour, linewidth=1.1, label=f"after ({name})" if n_tracks > 1 else "after")
            bottom.plot(x, sign * (after[t] - before[t]), color=colour, linewidth=1.1)
        for ax in (top, bottom):
            ax.axhline(0, color="#bbbbbb", linewidth=0.6)
        if column == 0:
            _legend(top, loc="upper right")
    if not chosen:
        for ax in axes.ravel():
            ax.set_visible(False)
    return fig


__all__ = ["LOGO_BP", "attribution_figure", "effects_figure", "logo_span", "motif_label", "profile_change_figure"]
