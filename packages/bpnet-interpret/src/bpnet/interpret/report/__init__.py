"""The HTML report of training and evaluation, built from the files the stages saved.

:mod:`.inputs` reads the files (``training/``, ``metrics.json``, ``predictions.npz``),
:mod:`.interpret_inputs` the optional interpretation files (attributions, TF-MoDISco
results, annotations, marginalization), :mod:`.guidance` says how to read each number,
:mod:`.plots` and :mod:`.interpret_plots` draw the figures, :mod:`.sections` and
:mod:`.interpretation` put one model's pieces together and :mod:`.html` writes the page.
:func:`build_report` is the whole thing.
"""

from __future__ import annotations

from .sections import build_report

__all__ = ["build_report"]
