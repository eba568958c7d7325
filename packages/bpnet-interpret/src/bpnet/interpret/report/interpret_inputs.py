"""Read the interpretation files a report shows: attributions, TF-MoDISco patterns, their
database matches and the marginalization table; for a ChromBPNet, its bias model's
TF-MoDISco patterns and their annotations (:func:`read_bias_patterns`).

Each input is optional: a model without it has no such section, and a file that was
given but does not exist (a head that was not explained, a stage that was skipped)
becomes ``None`` and shows as "not available". A file that exists but cannot be read
raises :class:`~bpnet.data.errors.DataError` naming it and what to do.

Only what the page shows is read: of an attribution file, the summed |contribution|
of every window (chunk by chunk) and then the few windows drawn; of ``effects.npz``, the
mean profiles.
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bpnet.core.formats.json_npz import read_npz
from bpnet.data.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from ..bias_patterns import BiasPatternCheck

log = logging.getLogger("bpnet.interpret.report")

#: windows drawn as example attribution tracks
MAX_ATTRIBUTION_EXAMPLES = 3
#: windows read at a time when summing contributions
ATTRIBUTION_CHUNK = 256
#: columns of the annotate stage's patterns.tsv the report needs
ANNOTATION_COLUMNS = ("pattern", "motif", "q_value")
#: columns of the marginalize stage's marginalization.tsv the report needs
MARGINALIZATION_COLUMNS = ("motif", "mean_delta_log_counts")
#: arrays of effects.npz the profile-change figure needs
EFFECT_ARRAYS = ("motif", "mean_profile_before", "mean_profile_after")


# --- attributions -------------------------------------------------------------------------------


@dataclass
class AttributionExample:
    """One window drawn in the report: ``observed`` contributions ``(4, L)`` (A, C, G, T)."""

    row: int
    chrom: str
    start: int
    is_peak: bool
    total_abs: float
    observed: np.ndarray

    @property
    def projected(self) -> np.ndarray:
        """Contribution per position ``(L,)`` (summed over bases)."""
        return self.observed.sum(axis=0)


@dataclass
class AttributionExamples:
    """The windows with the largest summed |contribution| of one attribution file, and its facts."""

    path: Path
    head: str
    n_windows: int
    n_peaks: int
    input_length: int
    delta_max_abs: float | None
    delta_mean_abs: float | None
    meta: dict[str, Any]
    examples: list[AttributionExample]
    from_peaks: bool


def read_attribution_examples(path: Path, k: int = MAX_ATTRIBUTION_EXAMPLES, *, label: str = "attributions") -> AttributionExamples:
    """The ``k`` peak windows (all windows when there is no peak) with the largest summed
    |contribution| in the attribution file ``path`` (see :mod:`bpnet.interpret.scores`)."""
    from ..scores import open_scores

    with open_scores(path, label) as (f, meta, loci):
        n, _, length = f["shap/seq"].shape
        totals = _summed_contributions(f, n, path, label)
        is_peak = loci["is_peak"].astype(bool)
        candidates = np.flatnonzero(is_peak) if is_peak.any() else np.arange(n)
        chosen = candidates[np.argsort(-totals[candidates], kind="stable")[:k]]
        observed = _observed_rows(f, np.sort(chosen))
    by_row = dict(zip(np.sort(chosen).tolist(), observed))
    chrom = loci["chrom"].astype(str)
    delta = np.abs(loci["delta"].astype(np.float64))
    examples = [
        AttributionExample(int(i), str(chrom[i]), int(loci["start"][i]), bool(is_peak[i]), float(totals[i]), by_row[int(i)])
        for i in chosen
    ]
    return AttributionExamples(
        path=path, head=str(meta.get("head", "")), n_windows=int(n), n_peaks=int(is_peak.sum()), input_length=int(length),
        delta_max_abs=float(delta.max()) if len(delta) else None, delta_mean_abs=float(delta.mean()) if len(delta) else None,
        meta=meta, examples=examples, from_peaks=bool(is_peak.any()),
    )


def _summed_contributions(f, n: int, path: Path, label: str) -> np.ndarray:
    """Per window, the sum over positions of |observed contribution| (bases summed first)."""
    from bpnet.core.console import track

    totals = np.empty(n, dtype=np.float64)
    for first in track(range(0, n, ATTRIBUTION_CHUNK), f"report: summing the attributions of {Path(path).name}"):
        rows = slice(first, min(first + ATTRIBUTION_CHUNK, n))
        projected = _observed_block(f, rows).sum(axis=1)
        totals[rows] = np.abs(projected).sum(axis=1)
    if not np.isfinite(totals).all():
        bad = int(np.flatnonzero(~np.isfinite(totals))[0])
        raise DataError(f"{label}: {path} holds NaN or infinite attributions (first in window {bad}); re-run the attribute stage")
    return totals


def _observed_block(f, rows) -> np.ndarray:
    """Observed contributions of ``rows``: ``projected_shap/seq`` when present, else raw x shap."""
    if "projected_shap/seq" in f:
        return np.asarray(f["projected_shap/seq"][rows], dtype=np.float64)
    return np.asarray(f["raw/seq"][rows], dtype=np.float64) * np.asarray(f["shap/seq"][rows], dtype=np.float64)


def _observed_rows(f, rows: np.ndarray) -> list[np.ndarray]:
    if not len(rows):
        return []
    return list(_observed_block(f, rows))


# --- TF-MoDISco patterns ------------------------------------------------------------------------


@dataclass
class ModiscoPatterns:
    """The patterns of a modisco results file; ``message`` says why there are none (may be empty)."""

    path: Path
    patterns: list  # bpnet.interpret.modisco.Pattern, positive first, then by seqlets
    message: str
    window: int | None
    #: the head whose attributions the modisco stage read (counts or profile; ``None``: not recorded)
    head: str | None = None


def read_modisco(path: Path, *, label: str = "modisco") -> ModiscoPatterns:
    """The patterns of ``modisco_results.h5`` (ours or ``modisco motifs -o``), positive patterns
    first, each sign by decreasing seqlet count."""
    import h5py

    from ..modisco import read_results, results_message

    patterns = read_results(path, label=label)
    patterns.sort(key=lambda p: (p.group != "pos_patterns", -p.n_seqlets))
    window, head = None, None
    try:
        with h5py.File(path, "r") as f:
            value = f.attrs.get("window_size")
            window = int(np.asarray(value).ravel()[0]) if value is not None else None
            recorded = f.attrs.get("bpnet_head")  # the modisco stage's provenance; files of modisco-lite lack it
            if recorded is not None:
                head = (recorded.decode() if isinstance(recorded, bytes) else str(recorded)) or None
    except (OSError, ValueError, TypeError, IndexError):
        window = None
    return ModiscoPatterns(path, patterns, results_message(path), window, head)


# --- database matches ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PatternMatch:
    """One database match of a pattern (rank 1 is the best)."""

    rank: int | None
    motif: str
    alt_name: str
    p_value: float | None
    q_value: float | None


@dataclass
class AnnotatedPattern:
    """A pattern of the annotate stage's table: its seqlets and matches (best first; may be none)."""

    name: str
    n_seqlets: int | None
    matches: list[PatternMatch] = field(default_factory=list)

    @property
    def best(self) -> PatternMatch | None:
        return self.matches[0] if self.matches else None


@dataclass
class Annotations:
    """The annotate stage's ``patterns.tsv``: pattern name -> matches, in file order."""

    path: Path
    patterns: dict[str, AnnotatedPattern]


def read_annotations(path: Path, *, label: str = "annotations") -> Annotations:
    """The annotate stage's ``patterns.tsv`` (pattern, rank, motif, motif_alt_name, p_value,
    q_value, offset, strand, n_seqlets; one row per match, empty match cells for none)."""
    rows = read_tsv(path, ANNOTATION_COLUMNS, label, "give the patterns.tsv of an annotate stage")
    patterns: dict[str, AnnotatedPattern] = {}
    for line, row in rows:
        name = row["pattern"]
        if not name:
            raise DataError(f"{label}: {path}:{line}: empty pattern name")
        entry = patterns.setdefault(name, AnnotatedPattern(name, None))
        seqlets = _optional_number(row.get("n_seqlets", ""), path, line, "n_seqlets", label)
        if seqlets is not None:
            entry.n_seqlets = int(seqlets)
        if row["motif"]:
            rank = _optional_number(row.get("rank", ""), path, line, "rank", label)
            entry.matches.append(PatternMatch(
                rank=None if rank is None else int(rank), motif=row["motif"], alt_name=row.get("motif_alt_name", ""),
                p_value=_optional_number(row.get("p_value", ""), path, line, "p_value", label),
                q_value=_optional_number(row["q_value"], path, line, "q_value", label),
            ))
    for entry in patterns.values():
        entry.matches.sort(key=lambda m: (m.rank is None, m.rank or 0, m.q_value if m.q_value is not None else math.inf))
    return Annotations(path, patterns)


# --- marginalization ----------------------------------------------------------------------------


@dataclass
class Marginalization:
    """The marginalize stage's table, in rank order (values parsed: numbers as float, empty as None)."""

    path: Path
    rows: list[dict[str, Any]]


@dataclass
class MarginalEffects:
    """Mean expected-count profiles of ``effects.npz``: before ``(T, L)``, after ``(M, T, L)``."""

    path: Path
    motif: list[str]
    alt_name: list[str]
    mean_profile_before: np.ndarray
    mean_profile_after: np.ndarray
    track_names: list[str]


#: marginalization.tsv columns that hold text
_TEXT_COLUMNS = {"motif", "alt_name", "consensus", "plot"}


def read_marginalization(path: Path, *, label: str = "marginalization") -> Marginalization:
    """The marginalize stage's ``marginalization.tsv``, sorted by its ``rank`` column (file order without one)."""
    rows = read_tsv(path, MARGINALIZATION_COLUMNS, label, "give the marginalization.tsv of a marginalize stage")
    parsed = []
    for line, row in rows:
        values: dict[str, Any] = {}
        for key, cell in row.items():
            values[key] = cell if key in _TEXT_COLUMNS else _optional_number(cell, path, line, key, label)
        if values["mean_delta_log_counts"] is None:
            raise DataError(f"{label}: {path}:{line}: mean_delta_log_counts is empty; re-run the marginalize stage")
        parsed.append(values)
    if all(isinstance(v.get("rank"), float) for v in parsed):
        parsed.sort(key=lambda v: v["rank"])
    return Marginalization(path, parsed)


def read_effects(path: Path, *, label: str = "marginalization_effects") -> MarginalEffects:
    """The mean profiles of the marginalize stage's ``effects.npz`` (plain arrays only: no pickle)."""
    arrays = read_npz(path, f"{label}: {path}", "re-run the marginalize stage")
    missing = [key for key in EFFECT_ARRAYS if key not in arrays]
    if missing:
        raise DataError(f"{label}: {path} lacks {', '.join(missing)}; give the effects.npz of a marginalize stage")
    motifs = [str(m) for m in np.atleast_1d(arrays["motif"])]
    before, after = arrays["mean_profile_before"], arrays["mean_profile_after"]
    if before.ndim != 2 or after.shape != (len(motifs), *before.shape):
        raise DataError(
            f"{label}: {path} has mean_profile_before {before.shape} and mean_profile_after {after.shape} for "
            f"{len(motifs)} motifs; expected (T, L) and ({len(motifs)}, T, L): re-run the marginalize stage"
        )
    alt = [str(a) for a in np.atleast_1d(arrays.get("alt_name", np.array([""] * len(motifs))))]
    tracks = [str(t) for t in np.atleast_1d(arrays.get("track_names", np.array([], dtype=str)))]
    return MarginalEffects(path, motifs, alt if len(alt) == len(motifs) else [""] * len(motifs),
                           before.astype(np.float64), after.astype(np.float64), tracks)


# --- shared -------------------------------------------------------------------------------------


def read_tsv(path: Path, required: tuple[str, ...], label: str, hint: str) -> list[tuple[int, dict[str, str]]]:
    """``(line number, row)`` of a tab-separated table with a header line; ``required`` columns must be there."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            lines = [(i, row) for i, row in enumerate(csv.reader(handle, delimiter="\t"), start=1) if row and not row[0].startswith("#")]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{label}: cannot read {path} ({error}); {hint}") from None
    if not lines:
        raise DataError(f"{label}: {path} is empty; it needs a header line ({', '.join(required)}, ...); {hint}")
    header = [name.strip() for name in lines[0][1]]
    missing = [name for name in required if name not in header]
    if missing:
        raise DataError(f"{label}: {path} lacks the column(s) {', '.join(missing)} (header: {', '.join(header)}); {hint}")
    rows = []
    for line, cells in lines[1:]:
        if len(cells) != len(header):
            raise DataError(f"{label}: {path}:{line}: {len(cells)} fields where the header has {len(header)}")
        rows.append((line, {name: cell.strip() for name, cell in zip(header, cells)}))
    return rows


def _optional_number(cell: str, path: Path, line: int, column: str, label: str) -> float | None:
    if cell in ("", "NA", "nan", "NaN"):
        return None
    try:
        return float(cell)
    except ValueError:
        raise DataError(f"{label}: {path}:{line}: column {column} holds {cell!r}, not a number") from None


# --- one model --------------------------------------------------------------------------------


@dataclass
class Interpretation:
    """One model's interpretation inputs. A ``*_path`` of ``None`` means not requested (no
    section); a path whose value is ``None`` means the file was not there ("not available")."""

    attributions_path: Path | None = None
    attributions: AttributionExamples | None = None
    modisco_path: Path | None = None
    modisco: ModiscoPatterns | None = None
    annotations_path: Path | None = None
    annotations: Annotations | None = None
    marginalization_path: Path | None = None
    marginalization: Marginalization | None = None
    effects_path: Path | None = None
    effects: MarginalEffects | None = None
    #: the profile head's TF-MoDISco patterns and annotations, shown beside these (``None``: not requested)
    profile: Interpretation | None = None

    @property
    def motifs_requested(self) -> bool:
        return self.modisco_path is not None or self.annotations_path is not None


def _if_present(path: Path | None, reader, what: str, label: str):
    """``reader(path)`` (its errors name the field ``label``), or ``None`` (logged) when ``path`` was given but is not there."""
    if path is None:
        return None
    if not Path(path).exists():
        log.warning("report: %s %s does not exist; its section shows as not available", what, path)
        return None
    return reader(Path(path), label=label)


def read_interpretation(
    attributions: Path | None = None,
    modisco: Path | None = None,
    annotations: Path | None = None,
    marginalization: Path | None = None,
    effects: Path | None = None,
    profile_modisco: Path | None = None,
    profile_annotations: Path | None = None,
    *,
    prefix: str = "",
) -> Interpretation:
    """Read the interpretation files of one model (each may be ``None``: not requested); ``profile_*``: the
    profile head's patterns, shown beside those of ``modisco`` and ``annotations``. Errors name the
    section's fields, ``prefix`` before each (``bias_modisco``)."""
    profile = None
    if profile_modisco is not None or profile_annotations is not None:
        profile = read_interpretation(modisco=profile_modisco, annotations=profile_annotations, prefix="profile_")
    return Interpretation(
        attributions_path=attributions,
        attributions=_if_present(attributions, read_attribution_examples, "attribution file", f"{prefix}attributions"),
        modisco_path=modisco,
        modisco=_if_present(modisco, read_modisco, "TF-MoDISco results", f"{prefix}modisco"),
        annotations_path=annotations,
        annotations=_if_present(annotations, read_annotations, "pattern annotations", f"{prefix}annotations"),
        marginalization_path=marginalization,
        marginalization=_if_present(marginalization, read_marginalization, "marginalization table", f"{prefix}marginalization"),
        effects_path=effects,
        effects=_if_present(effects, read_effects, "marginalization effects", f"{prefix}marginalization_effects"),
        profile=profile,
    )


# --- a ChromBPNet's bias model -----------------------------------------------------------------


@dataclass
class BiasPatterns:
    """A ChromBPNet bias model's TF-MoDISco patterns (``patterns``: its modisco results and annotations,
    read as a model's are) and their check (``None`` without annotations); ``bias_motifs``: the set
    or MEME file whose motifs are the enzyme's (``None``: every built-in set)."""

    patterns: Interpretation
    bias_motifs: Path | None
    check: BiasPatternCheck | None


def read_bias_patterns(modisco: Path | None, annotations: Path | None, bias_motifs: Path | None = None) -> BiasPatterns:
    """Read a bias model's TF-MoDISco results and annotations (either may be ``None``) and check them
    (:func:`bpnet.interpret.bias_patterns.check_bias_patterns`)."""
    from ..bias_patterns import bias_motif_names, check_bias_patterns

    patterns = read_interpretation(modisco=modisco, annotations=annotations, prefix="bias_")
    check = None
    if patterns.annotations is not None:
        check = check_bias_patterns(patterns.annotations, bias_motif_names(bias_motifs))
    return BiasPatterns(patterns, bias_motifs, check)


__all__ = [
    "AnnotatedPattern", "Annotations", "AttributionExample", "AttributionExamples", "BiasPatterns", "Interpretation",
    "MarginalEffects", "Marginalization", "ModiscoPatterns", "PatternMatch", "read_annotations", "read_attribution_examples",
    "read_bias_patterns", "read_effects", "read_interpretation", "read_marginalization", "read_modisco", "read_tsv",
]
