"""BED and narrowPeak files (plain or gzipped), local or by URL."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..intervals import Intervals
from ..textfiles import open_text
from .roles import IntervalSource


class BedSource(IntervalSource):
    """Intervals from BED, BED6+ or narrowPeak (column 10: summit offset from start).

    Lines starting with ``#``, ``track`` or ``browser`` are skipped. Every other line
    needs at least 3 tab- or space-separated columns with ``0 <= start <= end``;
    otherwise the error names the file and line.
    """

    name = "bed"
    suffixes = (".bed", ".bed.gz", ".narrowPeak", ".narrowPeak.gz", ".broadPeak", ".broadPeak.gz", ".bedgraph")

    def read(self) -> Intervals:
        path = self.path
        chrom, start, end, summit, names, score = [], [], [], [], [], []
        try:
            with open_text(path) as lines:
                for number, line in enumerate(lines, start=1):
                    if not line.strip() or line.startswith(("#", "track", "browser")):
                        continue
                    fields = line.split()
                    if len(fields) < 3:
                        raise DataError(
                            f"{self.label}:{number}: expected at least 3 columns (chrom, start, end), found {len(fields)}: {line.strip()!r}"
                        )
                    try:
                        s, e = int(fields[1]), int(fields[2])
                    except ValueError:
                        raise DataError(
                            f"{self.label}:{number}: start and end must be integers, found {fields[1]!r} and {fields[2]!r}"
                        ) from None
                    if s < 0 or s > e:
                        raise DataError(f"{self.label}:{number}: start {s} must be >= 0 and <= end {e}: fix or drop this line")
                    offset = _summit_offset(fields, number, self.label)
                    chrom.append(fields[0])
                    start.append(s)
                    end.append(e)
                    summit.append(s + offset if 0 <= offset <= e - s else -1)
                    names.append(fields[3] if len(fields) > 3 else ".")
                    score.append(_float(fields[6]) if len(fields) >= 10 else _float(fields[4]) if len(fields) > 4 else 0.0)
        except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
            raise DataError(f"{self.label}: cannot read it as BED text ({exc}): is it a BED/narrowPeak file (gzipped or not)?") from None
        return Intervals(
            np.array(chrom, dtype=object),
            np.array(start),
            np.array(end),
            np.array(summit),
            np.array(names, dtype=object),
            np.array(score),
        )


def read_bed(location: str | Path) -> Intervals:
    """Every interval of a BED/narrowPeak file (path or URL), read by the registered
    intervals source for it (:func:`bpnet.data.sources.open_source`)."""
    from . import open_source
    from .roles import IntervalSource

    return open_source(location, IntervalSource).read()


def _summit_offset(fields: list[str], number: int, label: str) -> int:
    if len(fields) < 10:
        return -1
    try:
        return int(fields[9])
    except ValueError:
        raise DataError(f"{label}:{number}: narrowPeak column 10 (summit offset) must be an integer, found {fields[9]!r}") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0
