"""TF-MoDISco on an attribution file, through modisco-lite's Python API.

:func:`run_modisco` takes a :class:`~bpnet.interpret.scores.Scores` (one head's
attributions), cuts the central ``window`` bases of every input window (as
``modisco motifs -w`` does: ``centre - window // 2`` to ``centre + window // 2``) and
runs :func:`modiscolite.tfmodisco.TFMoDISco` with the settings of ``modisco motifs``
(``target_seqlet_fdr`` 0.05, initial flank 10, final flank 0). The result holds
modisco-lite's own pattern objects, which :func:`save_results` writes with
:func:`modiscolite.io.save_hdf5` (so ``modisco report`` and every reader of that format
read it), and :class:`Pattern` views of them.

TF-MoDISco finds nothing when the attributions hold too few seqlets (it clusters a
sign's seqlets only when there are more than 100, and keeps clusters of at least 20),
and modisco-lite raises on some degenerate inputs (no windows, all-zero attributions).
Both give an *empty* :class:`ModiscoResult` whose ``message`` says what was found and
what to do; its results file is still valid (only the ``window_size`` attribute and no
pattern group, which modisco-lite's readers accept).

A pattern's motif (:meth:`Pattern.motif`) is its position probability matrix (the
seqlets' base frequencies) trimmed to the columns that matter: from the first to the
last column whose summed absolute contribution (CWM) is at least ``TRIM_THRESHOLD``
(30 %) of the largest, the rule modisco-lite's report uses before TOMTOM. The CWM and
hypothetical CWM are kept, trimmed the same way, for logos.

modisco-lite seeds its own random steps (the Leiden runs use seeds 1..n, subsampling a
fixed RandomState), so the same attributions and settings give the same patterns.
"""

from __future__ import annotations

import gc
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bpnet.data.errors import DataError
from bpnet.data.motifs import Motif

from .scores import Scores

#: a column is kept when its summed |CWM| is at least this fraction of the largest column's
TRIM_THRESHOLD = 0.3
#: the metacluster groups of modisco-lite's results file, in report order
GROUPS = ("pos_patterns", "neg_patterns")
#: modisco-lite clusters a sign's seqlets only when there are more than this many (min_metacluster_size)
MIN_METACLUSTER_SIZE = 100
#: and keeps clusters with at least this many seqlets (final_min_cluster_size)
MIN_CLUSTER_SIZE = 20
_LETTERS = "ACGT"


@dataclass(frozen=True)
class ModiscoSettings:
    """TF-MoDISco parameters (names as in ``modisco motifs``; defaults are its defaults)."""

    window: int = 400
    sliding_window: int = 20
    flank: int = 5
    trim: int = 30
    max_seqlets: int = 50_000
    n_leiden_runs: int = 2
    initial_flank: int = 10
    final_flank: int = 0
    target_fdr: float = 0.05

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(eq=False)
class Pattern:
    """One TF-MoDISco pattern: ``(W, 4)`` matrices (A, C, G, T) and its seqlets.

    ``name`` is ``<group>.pattern_<i>`` (``pos_patterns.pattern_0``), the name modisco-lite's
    report and ``meme`` export use. ``ppm`` is the seqlets' base frequencies, ``cwm`` their
    mean contributions, ``hcwm`` their mean hypothetical contributions; ``seqlets`` maps
    ``example_idx``, ``start``, ``end``, ``is_revcomp`` to arrays (coordinates inside the
    analysed central window of each input window), empty when unknown.
    """

    name: str
    ppm: np.ndarray
    cwm: np.ndarray
    hcwm: np.ndarray
    n_seqlets: int
    seqlets: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def trim_bounds(self) -> tuple[int, int]:
        """``(start, end)`` of the informative columns (see :func:`trim_bounds`)."""
        return trim_bounds(self.cwm)

    def trimmed(self, matrix: np.ndarray) -> np.ndarray:
        start, end = self.trim_bounds
        return matrix[start:end]

    @property
    def consensus(self) -> str:
        """The most frequent base of each trimmed column."""
        return "".join(_LETTERS[i] for i in self.trimmed(self.ppm).argmax(axis=1))

    def motif(self) -> Motif:
        """The trimmed position probability matrix as a :class:`Motif` (``nsites`` = seqlets)."""
        ppm = self.trimmed(self.ppm)
        ppm = np.where(ppm.sum(axis=1, keepdims=True) > 0, ppm, 0.25)  # a column no seqlet covered
        return Motif(self.name, ppm, nsites=int(self.n_seqlets))


@dataclass(eq=False)
class ModiscoResult:
    """What one TF-MoDISco run found.

    ``pos``/``neg``: modisco-lite's pattern objects (``None`` when a sign found nothing),
    ``patterns``: :class:`Pattern` views of both, positive first; ``message``: why the
    result is empty (``None`` when patterns were found); ``n_windows``/``window_start``:
    the windows analysed and where the analysed window starts inside each input window.
    """

    pos: list | None
    neg: list | None
    patterns: list[Pattern]
    settings: ModiscoSettings
    n_windows: int
    window_start: int
    message: str | None = None

    @property
    def empty(self) -> bool:
        return not self.patterns


def trim_bounds(cwm: np.ndarray, threshold: float = TRIM_THRESHOLD) -> tuple[int, int]:
    """First and one-past-last column whose summed ``|cwm|`` is ``>= threshold`` x the largest."""
    score = np.abs(np.asarray(cwm, dtype=np.float64)).sum(axis=1)
    if len(score) == 0 or not np.isfinite(score).all() or score.max() <= 0:
        return 0, len(score)
    keep = np.flatnonzero(score >= threshold * score.max())
    return int(keep[0]), int(keep[-1]) + 1


def central_window(length: int, window: int) -> tuple[int, int]:
    """``(start, end)`` of the ``window`` bases at the centre of ``length`` (as ``modisco motifs -w``)."""
    centre = length // 2
    return centre - window // 2, centre + window // 2


def run_modisco(scores: Scores, settings: ModiscoSettings, log: logging.Logger, *, label: str = "attributions") -> ModiscoResult:
    """Run TF-MoDISco on the central ``settings.window`` bases of ``scores`` (see the module docstring)."""
    length = scores.input_length
    if settings.window > length:
        raise DataError(
            f"window: {settings.window} bp is longer than the {length} bp windows of {label}; "
            f"set window to at most {length}"
        )
    start, end = central_window(length, settings.window)
    one_hot = np.ascontiguousarray(scores.one_hot[:, :, start:end].transpose(0, 2, 1), dtype=np.float32)
    hypothetical = np.ascontiguousarray(scores.hypothetical[:, :, start:end].transpose(0, 2, 1), dtype=np.float32)
    empty = ModiscoResult(None, None, [], settings, len(scores), start)
    if not np.isfinite(hypothetical).all():
        raise DataError(f"{label}: the attributions hold NaN or infinite values; re-run the attribute stage")
    if len(one_hot) == 0:
        empty.message = f"TF-MoDISco found no pattern: {label} holds no windows to look at; attribute some loci first"
        return empty
    contributions = (one_hot * hypothetical).sum(axis=2)
    if not contributions.any():
        empty.message = (
            f"TF-MoDISco found no pattern: every attribution in the central {end - start} bp of the {len(one_hot)} windows "
            "is zero, so there are no seqlets; check the model (an untrained or constant model attributes nothing) "
            "and the attribute stage"
        )
        return empty

    pos, neg, failure = _call_tfmodisco(one_hot, hypothetical, settings, log)
    patterns = [
        pattern_from_seqlet_set(f"{group}.pattern_{i}", seqlet_set)
        for group, found in zip(GROUPS, (pos, neg))
        for i, seqlet_set in enumerate(found or [])
    ]
    result = ModiscoResult(pos, neg, patterns, settings, len(one_hot), start)
    if not patterns:
        result.message = failure or _nothing_found_message(contributions, settings)
    return result


def _call_tfmodisco(one_hot: np.ndarray, hypothetical: np.ndarray, settings: ModiscoSettings, log: logging.Logger):
    """``(pos, neg, failure)``: modisco-lite's patterns, or ``None, None`` and why it raised."""
    from modiscolite import tfmodisco

    from bpnet.core.console import console

    n, width = one_hot.shape[:2]
    log.info("TF-MoDISco on %d windows of %d bp (seqlets of %d bp + %d bp flanks, at most %d per sign, %d Leiden runs)",
             n, width, settings.sliding_window, settings.flank, settings.max_seqlets, settings.n_leiden_runs)
    _start_precompiling()
    try:
        with console.status(f"TF-MoDISco: finding and clustering seqlets in {n} windows"):
            pos, neg = tfmodisco.TFMoDISco(
                one_hot=one_hot,
                hypothetical_contribs=hypothetical,
                max_seqlets_per_metacluster=settings.max_seqlets,
                sliding_window_size=settings.sliding_window,
                flank_size=settings.flank,
                trim_to_window_size=settings.trim,
                initial_flank_to_add=settings.initial_flank,
                final_flank_to_add=settings.final_flank,
                target_seqlet_fdr=settings.target_fdr,
                n_leiden_runs=settings.n_leiden_runs,
                verbose=False,
            )
    except (IndexError, ValueError, ZeroDivisionError, FloatingPointError) as error:
        # modisco-lite indexes empty arrays when a step keeps nothing (too few or too weak seqlets)
        log.debug("modisco-lite raised", exc_info=True)
        return None, None, (
            f"TF-MoDISco could not cluster these attributions (modisco-lite raised {type(error).__name__}: {error}); "
            f"this happens when too few seqlets pass its thresholds in {n} windows. Attribute more loci (more peaks) "
            "or check that the model learned motifs"
        )
    return pos, neg, None


def _start_precompiling() -> None:
    """Let modisco-lite (3.x) compile its numba kernels into numba's cache in forked children.

    It does so only while no other thread runs, so this is called before the status
    spinner starts its thread; later runs from a fresh process then load the cache.
    Older modisco-lite versions have no ``precompile`` module and compile as they go.
    """
    try:
        from modiscolite import precompile
    except ImportError:
        return
    precompile.start()


def _nothing_found_message(contributions: np.ndarray, settings: ModiscoSettings) -> str:
    """Why no pattern came out, with the seqlets of each sign TF-MoDISco's seqlet step finds."""
    counts = count_seqlets(contributions, settings)
    n = len(contributions)
    advice = "Attribute more loci (more peaks), or check that the model learned motifs (weak, noisy attributions give few seqlets)"
    if counts is not None and max(counts) <= MIN_METACLUSTER_SIZE:
        return (
            f"TF-MoDISco found no pattern: only {counts[0]} positive and {counts[1]} negative seqlets in {n} windows, "
            f"and it clusters a sign's seqlets only when there are more than {MIN_METACLUSTER_SIZE}. {advice}"
        )
    found = f"{counts[0]} positive and {counts[1]} negative seqlets" if counts is not None else "seqlets"
    return (
        f"TF-MoDISco found no pattern: its {found} in {n} windows formed no cluster of at least {MIN_CLUSTER_SIZE} "
        f"seqlets with informative sequence. {advice}"
    )


def count_seqlets(contributions: np.ndarray, settings: ModiscoSettings) -> tuple[int, int] | None:
    """(positive, negative) seqlets modisco-lite's seqlet step finds in ``(N, W)`` contributions, or None."""
    from modiscolite import extract_seqlets

    try:
        coords, threshold = extract_seqlets.extract_seqlets(
            attribution_scores=contributions,
            window_size=settings.sliding_window,
            flank=settings.flank,
            suppress=int(0.5 * settings.sliding_window) + settings.flank,
            target_fdr=settings.target_fdr,
            min_passing_windows_frac=0.03,
            max_passing_windows_frac=0.2,
            weak_threshold_for_counting_sign=0.8,
        )
    except (IndexError, ValueError, ZeroDivisionError, FloatingPointError):
        return None
    flank = settings.flank
    sums = np.array([contributions[c.example_idx, c.start + flank : c.end - flank].sum() for c in coords])
    return int((sums > threshold).sum()), int((sums < -threshold).sum())


def pattern_from_seqlet_set(name: str, seqlet_set) -> Pattern:
    """A :class:`Pattern` of one of modisco-lite's ``SeqletSet`` objects."""
    seqlets = seqlet_set.seqlets
    return Pattern(
        name=name,
        ppm=np.asarray(seqlet_set.sequence, dtype=np.float64),
        cwm=np.asarray(seqlet_set.contrib_scores, dtype=np.float64),
        hcwm=np.asarray(seqlet_set.hypothetical_contribs, dtype=np.float64),
        n_seqlets=len(seqlets),
        seqlets={
            "example_idx": np.array([s.example_idx for s in seqlets], dtype=np.int64),
            "start": np.array([s.start for s in seqlets], dtype=np.int64),
            "end": np.array([s.end for s in seqlets], dtype=np.int64),
            "is_revcomp": np.array([s.is_revcomp for s in seqlets], dtype=bool),
        },
    )


# --- files ------------------------------------------------------------------------------------


def save_results(path: str | Path, result: ModiscoResult, provenance: dict[str, Any] | None = None) -> None:
    """Write ``result`` with :func:`modiscolite.io.save_hdf5`, plus bpnet's attributes.

    Extra root attributes (``bpnet_settings``, ``bpnet_window_start``, ``bpnet_n_windows``,
    ``bpnet_message`` and ``bpnet_<key>`` for each ``provenance`` entry) are ignored by
    modisco-lite's readers. An empty result writes no pattern group.
    """
    import h5py
    from modiscolite.io import save_hdf5

    path = Path(path)
    save_hdf5(str(path), result.pos or None, result.neg or None, result.settings.window)
    gc.collect()  # save_hdf5 leaves closing its h5py.File to garbage collection
    with h5py.File(path, "a") as f:
        f.attrs["bpnet_settings"] = json.dumps(result.settings.as_dict())
        f.attrs["bpnet_window_start"] = int(result.window_start)
        f.attrs["bpnet_n_windows"] = int(result.n_windows)
        f.attrs["bpnet_message"] = result.message or ""
        for key, value in (provenance or {}).items():
            f.attrs[f"bpnet_{key}"] = value if isinstance(value, (int, float, str, bool)) else json.dumps(value)


def read_results(path: str | Path, *, label: str = "patterns") -> list[Pattern]:
    """The patterns of a modisco-lite results file (ours, or ``modisco motifs -o``), positive first.

    Raises :class:`DataError` naming the file for something that is not HDF5 or lacks a
    pattern's matrices. A file without pattern groups (TF-MoDISco found nothing) gives ``[]``.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{label}: {path} does not exist; point it at modisco_results.h5 from a modisco stage")
    patterns: list[Pattern] = []
    try:
        with h5py.File(path, "r") as f:
            if not any(group in f for group in GROUPS) and "window_size" not in f.attrs:
                raise DataError(
                    f"{label}: {path} is not a TF-MoDISco results file (no pos_patterns / neg_patterns group, no "
                    "window_size attribute); point it at modisco_results.h5 from a modisco stage"
                )
            for group in GROUPS:
                if group not in f:
                    continue
                names = sorted(f[group].keys(), key=_pattern_number)
                patterns += [_read_pattern(f[group][name], f"{group}.{name}") for name in names]
    except OSError as error:
        raise DataError(f"{label}: cannot read {path} as HDF5 ({error}); point it at modisco_results.h5 from a modisco stage") from None
    except KeyError as error:
        raise DataError(f"{label}: {path} is not a TF-MoDISco results file: a pattern lacks {error}") from None
    return patterns


def results_message(path: str | Path) -> str:
    """The ``bpnet_message`` a modisco stage left in its results file ("" when none)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            value = f.attrs.get("bpnet_message", "")
    except OSError:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def _pattern_number(name: str) -> tuple[int, str]:
    tail = name.rsplit("_", 1)[-1]
    return (int(tail), name) if tail.isdigit() else (math.inf, name)  # type: ignore[return-value]


def _read_pattern(group, name: str) -> Pattern:
    seqlets: dict[str, np.ndarray] = {}
    n_seqlets = 0
    if "seqlets" in group:
        s = group["seqlets"]
        seqlets = {key: s[key][...] for key in ("example_idx", "start", "end", "is_revcomp") if key in s}
        n_seqlets = int(s["n_seqlets"][...].ravel()[0]) if "n_seqlets" in s else len(seqlets.get("start", []))
    return Pattern(
        name=name,
        ppm=np.asarray(group["sequence"][...], dtype=np.float64),
        cwm=np.asarray(group["contrib_scores"][...], dtype=np.float64),
        hcwm=np.asarray(group["hypothetical_contribs"][...], dtype=np.float64),
        n_seqlets=n_seqlets,
        seqlets=seqlets,
    )


def write_patterns_meme(path: str | Path, patterns: list[Pattern], comments: list[str] = ()) -> None:
    """Every pattern's trimmed PFM as MEME minimal format (no motif: a header-only file)."""
    from bpnet.core.atomic import write_text_atomic
    from bpnet.data.motifs import format_meme

    notes = list(comments) + [
        f"Position probability matrices of TF-MoDISco patterns, trimmed to the columns whose summed |CWM| is at "
        f"least {TRIM_THRESHOLD:g} x the largest; nsites = seqlets in the pattern.",
    ]
    if not patterns:
        notes.append("TF-MoDISco found no pattern: this file holds no motif.")
    write_text_atomic(path, format_meme([p.motif() for p in patterns], comments=notes))


def write_patterns_table(path: str | Path, patterns: list[Pattern]) -> None:
    """``patterns.tsv``: pattern, n_seqlets, consensus (trimmed), width (trimmed); header only when empty."""
    from bpnet.core.atomic import write_text_atomic

    lines = ["pattern\tn_seqlets\tconsensus\twidth"]
    lines += [f"{p.name}\t{p.n_seqlets}\t{p.consensus}\t{len(p.consensus)}" for p in patterns]
    write_text_atomic(path, "\n".join(lines) + "\n")


__all__ = [
    "GROUPS", "ModiscoResult", "ModiscoSettings", "Pattern", "TRIM_THRESHOLD", "central_window", "count_seqlets",
    "read_results", "results_message", "run_modisco", "save_results", "trim_bounds", "write_patterns_meme",
    "write_patterns_table",
]
