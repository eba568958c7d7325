"""Window geometry: where a locus's input, output and control windows lie on the genome.

One definition for every stage that cuts windows (loci, predict, evaluate, attribute,
marginalize), so that the signal a model is trained on sits exactly where the model
predicts it:

* the **input** (sequence) window of a locus centred on ``c`` starts at
  ``c - input_length // 2``;
* the **output** window starts :func:`output_offset` = ``(input_length - output_length) // 2``
  bp later. That is where a model with 'valid' convolutions, or one that centre-crops
  its output (:func:`bpnet.core.architectures.layers.centre_crop`, Keras' ``Cropping1D``),
  puts it: an odd surplus leaves the extra base on the right;
* the **control** window surrounds the output window the same way: it starts
  ``(control_length - output_length) // 2`` bp before it, so a model that centre-crops
  its controls to the output window (as BPNet does) lines them up base for base.

For an even input and an even output (2114 and 1000) the output window is centred on
``c`` too; with an even input and an odd output it starts one base left of
``c - output_length // 2`` (``tests/data/test_windows.py`` checks all four parities
against a real model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .errors import DataError

OffChrom = Literal["drop", "error"]


def output_offset(input_length: int, output_length: int) -> int:
    """Bases from the input window's start to the output window's start (centre crop)."""
    return (input_length - output_length) // 2


@dataclass(frozen=True)
class WindowGeometry:
    """The windows of one model design: input, output and (0: none) control lengths in bp."""

    input_length: int
    output_length: int
    control_length: int = 0

    def input_start(self, centre: np.ndarray | int) -> np.ndarray | int:
        """First base of the sequence window of loci centred on ``centre``."""
        return centre - self.input_length // 2

    def output_start(self, centre: np.ndarray | int) -> np.ndarray | int:
        """First base of the predicted (signal) window."""
        return self.input_start(centre) + output_offset(self.input_length, self.output_length)

    def control_start(self, centre: np.ndarray | int) -> np.ndarray | int:
        """First base of the control window (around the output window, as a centre crop expects)."""
        return self.output_start(centre) - output_offset(self.control_length, self.output_length)

    def span(self, centre: np.ndarray, padding: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)``: the bases every window of ``centre`` covers, widened by ``padding`` on each side."""
        starts = [(self.input_start(centre), self.input_length), (self.output_start(centre), self.output_length)]
        if self.control_length:
            starts.append((self.control_start(centre), self.control_length))
        lo = np.min([start for start, _ in starts], axis=0) - padding
        hi = np.max([start + length for start, length in starts], axis=0) + padding
        return lo, hi


def on_chromosome(
    chrom: np.ndarray, centre: np.ndarray, sizes: dict[str, int], geometry: WindowGeometry, *, padding: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ok, lo, hi, size)`` per locus: whether every (padded) window lies on its chromosome."""
    lo, hi = geometry.span(np.asarray(centre, np.int64), padding)
    size = np.array([sizes[c] for c in chrom], dtype=np.int64)
    return (lo >= 0) & (hi <= size), lo, hi, size


def keep_on_chromosome(
    chrom: np.ndarray, centre: np.ndarray, sizes: dict[str, int], geometry: WindowGeometry, *,
    padding: int = 0, off_chrom: OffChrom = "drop", what: str = "region(s)", plural: str = "regions", describe=None,
    label: str = "regions", reference_label: str = "the genome", log=None,
) -> np.ndarray:
    """Mask of loci whose windows lie on their chromosome: others are dropped (logged) or,
    with ``off_chrom="error"``, refused with a :class:`DataError` naming the first one.

    ``describe(i)`` gives ``(where, region)`` of locus ``i`` for that message: the file
    (and line) it comes from and its interval; by default ``label`` and ``chrom:centre``.
    ``what`` names them in the error (``"1 region(s)"``), ``plural`` in the log line.
    """
    if off_chrom not in ("drop", "error"):
        raise DataError(f"off_chrom must be 'drop' or 'error', not {off_chrom!r}")
    ok, lo, hi, size = on_chromosome(chrom, centre, sizes, geometry, padding=padding)
    bad = np.flatnonzero(~ok)
    if len(bad) and off_chrom == "error":
        i = int(bad[0])
        where, region = describe(i) if describe else (label, f"{chrom[i]}:{centre[i]}")
        raise DataError(
            f"{where}: {len(bad)} {what} have windows off a chromosome end, the first {region} needs "
            f"{chrom[i]}:{lo[i]}-{hi[i]} ({chrom[i]} has {size[i]} bp in {reference_label}): "
            f"drop such {what} (off_chrom: drop) or use shorter windows"
        )
    if len(bad) and log is not None:
        log.info("%s: dropped %d of %d %s whose windows run off a chromosome end", label, len(bad), len(ok), plural)
    return ok


__all__ = ["OffChrom", "WindowGeometry", "keep_on_chromosome", "on_chromosome", "output_offset"]
