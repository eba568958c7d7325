"""The HTML report of training and evaluation, built from the files the stages saved.

:mod:`.inputs` reads the files (``training/``, ``metrics.json``, ``predictions.npz``),
:mod:`.guidance` says how to read each number, :mod:`.plots` draws the figures,
:mod:`.sections` puts one model's pieces together and :mod:`.html` writes the page.
:func:`build_report` is the whole thing.
"""

from __future__ import annotations

from .sections import build_report

__all__ = ["build_report"]
