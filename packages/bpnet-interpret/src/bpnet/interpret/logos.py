"""Sequence logos drawn with matplotlib.

A logo is drawn from an ``(L, 4)`` matrix of letter heights (columns A, C, G, T):
positive heights stack upwards from zero, tallest letter on top; negative ones stack
downwards, the most negative at the bottom (contribution weight matrices have both).
Two kinds of matrix are usual:

* a contribution weight matrix (CWM, or its hypothetical version): heights are the
  matrix itself (:func:`logo_figure`);
* a position probability matrix (PFM): heights are ``p * IC`` where ``IC`` is the
  column's information content in bits against a uniform background
  (:func:`information_heights`), as in classic logos.

Figures are drawn on an Agg canvas (no pyplot, no display); the reports embed them
with :func:`bpnet.interpret.report.html.figure`. Letters are the glyphs of DejaVu Sans
Bold (bundled with matplotlib) stretched to their box: A green, C blue, G orange, T red.
"""

from __future__ import annotations

import functools

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

LETTERS = "ACGT"
COLORS = {"A": "#109648", "C": "#255c99", "G": "#f7b32b", "T": "#d62839"}
#: letter widths are this fraction of a column, so neighbouring columns do not touch
_LETTER_WIDTH = 0.9


@functools.cache
def _glyph(letter: str):
    """The outline of ``letter`` with its bounding box (cached: each letter is laid out once)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    path = TextPath((0, 0), letter, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold"))
    return path, path.get_extents()


def _draw_letter(ax, letter: str, x: float, bottom: float, height: float) -> None:
    """``letter`` stretched to the box ``[x - w/2, x + w/2] x [bottom, bottom + height]`` (height > 0)."""
    from matplotlib.patches import PathPatch
    from matplotlib.transforms import Affine2D

    path, box = _glyph(letter)
    transform = (
        Affine2D()
        .translate(-box.x0, -box.y0)
        .scale(_LETTER_WIDTH / box.width, height / box.height)
        .translate(x - _LETTER_WIDTH / 2, bottom)
    )
    ax.add_patch(PathPatch(transform.transform_path(path), facecolor=COLORS[letter], edgecolor="none", linewidth=0))


def information_heights(ppm: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
    """Letter heights ``p * IC`` (bits) of a position probability matrix ``(L, 4)``."""
    from bpnet.data.motifs import information_content

    ppm = np.asarray(ppm, dtype=np.float64)
    ppm = ppm / np.maximum(ppm.sum(axis=1, keepdims=True), 1e-12)
    return ppm * information_content(ppm, background)[:, None]


def draw_logo(ax, heights: np.ndarray) -> None:
    """Draw the logo of ``heights`` ``(L, 4)`` on ``ax`` (positions 0..L-1 on the x axis)."""
    heights = np.asarray(heights, dtype=np.float64)
    if heights.ndim != 2 or heights.shape[1] != 4:
        raise ValueError(f"a logo needs an (L, 4) matrix, got shape {heights.shape}")
    low, high = 0.0, 0.0
    for x, column in enumerate(heights):
        order = np.argsort(np.abs(column))  # smallest first: the tallest letter ends up farthest from zero
        up, down = 0.0, 0.0
        for i in order:
            value = column[i]
            if value > 0:
                _draw_letter(ax, LETTERS[i], x, up, value)
                up += value
            elif value < 0:
                down += value
                _draw_letter(ax, LETTERS[i], x, down, -value)
        low, high = min(low, down), max(high, up)
    span = max(high - low, 1e-6)
    ax.set_xlim(-0.5, len(heights) - 0.5)
    ax.set_ylim(low - 0.02 * span if low < 0 else 0.0, high + 0.05 * span)
    ax.axhline(0.0, color="#888888", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=7)


def logo_figure(
    heights: np.ndarray,
    *,
    title: str = "",
    ylabel: str = "",
    width_per_base: float = 0.28,
    height: float = 1.6,
) -> Figure:
    """A figure holding one logo of ``heights`` ``(L, 4)`` (no pyplot: nothing is shown or kept)."""
    heights = np.asarray(heights, dtype=np.float64)
    width = max(2.5, 0.6 + width_per_base * len(heights))
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.6 / width, 0.18, 1 - 0.75 / width, 0.66 if title else 0.76))
    draw_logo(ax, heights)
    if title:
        ax.set_title(title, fontsize=8, loc="left")
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=7)
    ticks = range(0, len(heights), 5 if len(heights) > 12 else 1)
    ax.set_xticks(list(ticks))
    return fig


__all__ = ["COLORS", "LETTERS", "draw_logo", "information_heights", "logo_figure"]
