"""Naming motifs: TOMTOM matches of patterns and seqlets against a MEME motif database.

Similarity and p-values come from memelite's TOMTOM (:func:`memelite.tomtom.tomtom`, a
Python reimplementation: no MEME binary). Each query (a pattern's trimmed position
probability matrix, or a seqlet's one-hot sequence) is compared with every database
motif on both strands; memelite gives, per pair, the p-value of the best alignment,
its offset and strand.

**q-values** are computed here, with Benjamini-Hochberg over each query's tests across
the whole database: for a query compared with ``m`` motifs, the ``i``-th smallest
p-value gets ``q = min over j >= i of p_(j) * m / j`` (capped at 1). A q-value is thus
the false discovery rate at which that motif would be called a match of that query.
(MEME's tomtom computes q-values over all pairs of a run instead; per-query values do
not change when other queries are added, so a pattern's q-value is the same in the
modisco report and the annotate tables.)

**offset** is memelite's: the column of the database motif, read on the matched
strand, where the query's first column falls (negative when the query starts before
the motif); **strand** is ``+`` when the motif matched as given, ``-`` when its reverse
complement did.

TOMTOM's background is built from the database's own columns, so p-values from a
database of fewer than 25 motifs depend on which motifs it holds (memelite warns; this
module logs that warning once per call).
"""

from __future__ import annotations

import csv
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpnet.data.errors import DataError
from bpnet.data.motifs import Motif, read_meme

#: queries per call to memelite (its full p-value matrix is queries x database motifs x 5 floats)
CHUNK = 1000
#: memelite warns below this many database motifs
FEW_TARGETS = 25
#: widest seqlet accepted: TOMTOM's scratch memory grows with the cube of the query width
MAX_SEQLET_WIDTH = 200


@dataclass(frozen=True)
class Match:
    """One query's match to one database motif (``rank`` 1 = smallest p-value)."""

    query: str
    rank: int
    motif: str
    motif_alt_name: str
    p_value: float
    q_value: float
    offset: int
    strand: str


@dataclass(eq=False)
class Query:
    """Something to name: ``matrix`` is ``(W, 4)`` (A, C, G, T), probabilities or one-hot."""

    name: str
    matrix: np.ndarray


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis (each row is one family of tests)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.shape[-1]
    if m == 0:
        return p.copy()
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    q = np.empty_like(ranked)
    np.put_along_axis(q, order, np.minimum(ranked, 1.0), axis=-1)
    return q


def read_database(paths: str | Path | Sequence[str | Path], *, label: str = "motifs") -> list[Motif]:
    """The motifs of a MEME database, or of several merged in order; a malformed file raises
    :class:`DataError` naming file and line, and so does a motif name found in two files."""
    motifs: list[Motif] = []
    found_in: dict[str, Path] = {}
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{label}: {path} does not exist; give a MEME motif file (e.g. JASPAR's MEME download)")
        for motif in read_meme(path):
            if motif.name in found_in and found_in[motif.name] != path:
                raise DataError(
                    f"{label}: motif {motif.name} is in both {found_in[motif.name]} and {path}; the tables name motifs by it: "
                    "rename it in one file"
                )
            found_in[motif.name] = path
            motifs.append(motif)
    return motifs


def match_motifs(
    queries: Sequence[Query],
    database: Sequence[Motif],
    *,
    top_k: int = 3,
    max_q: float | None = None,
    log: logging.Logger | None = None,
) -> list[list[Match]]:
    """The ``top_k`` best database matches of each query, smallest p-value first.

    Matches with a q-value above ``max_q`` (when given) are left out, so a query may get
    fewer than ``top_k`` (or none). See the module docstring for p, q, offset and strand.
    """
    log = log or logging.getLogger(__name__)
    if not database:
        raise ValueError("the motif database is empty")
    if not queries:
        return []
    if len(database) < FEW_TARGETS:
        log.warning(
            "the motif database holds %d motifs: TOMTOM builds its background from the database's columns, so with "
            "fewer than %d motifs its p-values depend on which motifs are in it; prefer a whole database (e.g. JASPAR)",
            len(database), FEW_TARGETS,
        )
    targets = [np.asfortranarray(m.pwm.T, dtype=np.float64) for m in database]
    out: list[list[Match]] = []
    for begin in range(0, len(queries), CHUNK):
        chunk = queries[begin : begin + CHUNK]
        p, offsets, strands = _tomtom(chunk, targets)
        q = benjamini_hochberg(p)
        for i, query in enumerate(chunk):
            best = np.argsort(p[i], kind="stable")[:top_k]
            out.append([
                Match(query.name, rank, database[j].name, database[j].alt_name or "", float(p[i, j]), float(q[i, j]),
                      int(offsets[i, j]), "-" if strands[i, j] else "+")
                for rank, j in enumerate(best, start=1)
                if max_q is None or q[i, j] <= max_q
            ])
    return out


def _tomtom(queries: Sequence[Query], targets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """memelite's p-values, offsets and strands ``(queries, targets)``; all-zero queries get p = 1."""
    from memelite.tomtom import tomtom

    n = len(queries)
    p = np.ones((n, len(targets)))
    offsets = np.zeros((n, len(targets)), dtype=np.int64)
    strands = np.zeros((n, len(targets)), dtype=bool)
    usable = [i for i, query in enumerate(queries) if len(query.matrix) and np.asarray(query.matrix).any()]
    if not usable:
        return p, offsets, strands
    matrices = [np.asfortranarray(np.asarray(queries[i].matrix, dtype=np.float64).T) for i in usable]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="tomtom was given", category=UserWarning)
        results = tomtom(matrices, targets)
    p[usable] = np.clip(results[0], 0.0, 1.0)
    offsets[usable] = results[2].astype(np.int64)
    strands[usable] = results[4].astype(bool)
    return p, offsets, strands


# --- queries ------------------------------------------------------------------------------------


@dataclass(eq=False)
class PatternQuery(Query):
    """A pattern to name, with its number of seqlets."""

    n_seqlets: int = 0


def read_patterns(path: str | Path, *, label: str = "patterns") -> list[PatternQuery]:
    """Patterns from a modisco stage: ``modisco_results.h5`` (trimmed as the modisco stage trims) or ``patterns.meme``.

    A MEME file without any ``MOTIF`` line (the modisco stage's file when TF-MoDISco found
    nothing) or a results file without pattern groups gives ``[]``; any other file (an
    attribution file, a BED) raises :class:`DataError` naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{label}: {path} does not exist; point it at modisco_results.h5 or patterns.meme from a modisco stage")
    if _is_hdf5(path):
        from .modisco import read_results

        return [PatternQuery(p.name, p.trimmed(p.ppm), n_seqlets=p.n_seqlets) for p in read_results(path, label=label)]
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{label}: cannot read {path} as a MEME text file or a modisco_results.h5 ({error})") from None
    lines = [line.strip() for line in text.splitlines()]
    if not any(line.startswith("MOTIF") for line in lines):
        if any(line.startswith("MEME version") for line in lines):
            return []  # a MEME file without motifs: TF-MoDISco found nothing
        raise DataError(
            f"{label}: {path} is neither a MEME motif file nor a TF-MoDISco results file; "
            "point it at patterns.meme or modisco_results.h5 from a modisco stage"
        )
    return [PatternQuery(m.name, m.pwm, n_seqlets=m.nsites or 0) for m in read_meme(path)]


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(8) == b"\x89HDF\r\n\x1a\n"


@dataclass(eq=False)
class SeqletQuery(Query):
    """A seqlet to name, with its place on the genome."""

    chrom: str = ""
    start: int = 0
    end: int = 0


def read_seqlets(bed: str | Path, genome: str | Path, *, log: logging.Logger | None = None) -> list[SeqletQuery]:
    """Seqlets of a BED file (e.g. ``seqlets.bed``) as one-hot sequences cut from ``genome``.

    Seqlets of zero width or made only of N are skipped (logged). A seqlet off a
    chromosome, on one the genome lacks, or wider than ``MAX_SEQLET_WIDTH`` raises
    :class:`DataError`.
    """
    from bpnet.data.onehot import codes_to_one_hot
    from bpnet.data.sources import SequenceSource, open_source, read_bed

    log = log or logging.getLogger(__name__)
    intervals = read_bed(bed)
    wide = np.flatnonzero(intervals.end - intervals.start > MAX_SEQLET_WIDTH)
    if len(wide):
        i = int(wide[0])
        raise DataError(
            f"seqlets: {bed} holds {len(wide)} intervals wider than {MAX_SEQLET_WIDTH} bp (the first: "
            f"{intervals.chrom[i]}:{intervals.start[i]}-{intervals.end[i]}); seqlets are short stretches (TF-MoDISco's "
            "and the seqlets stage's are under 60 bp) and TOMTOM's memory grows with the cube of the width: is this a peak file?"
        )
    source = open_source(genome, SequenceSource)
    queries, skipped = [], 0
    for i in range(len(intervals)):
        chrom, start, end = str(intervals.chrom[i]), int(intervals.start[i]), int(intervals.end[i])
        name = str(intervals.name[i]) if intervals.name[i] not in (".", "") else f"{chrom}:{start}-{end}"
        codes = source.codes(chrom, start, end) if end > start else np.zeros(0, dtype=np.uint8)
        if not (codes < 4).any():
            skipped += 1
            continue
        queries.append(SeqletQuery(name, codes_to_one_hot(codes, dtype=np.float64).T, chrom, start, end))
    if skipped:
        log.warning("%d of %d seqlets in %s are empty or all N: they are not annotated", skipped, len(intervals), bed)
    return queries


# --- tables -------------------------------------------------------------------------------------

PATTERN_COLUMNS = ("pattern", "rank", "motif", "motif_alt_name", "p_value", "q_value", "offset", "strand", "n_seqlets")
SEQLET_COLUMNS = ("seqlet", "chrom", "start", "end", "rank", "motif", "motif_alt_name", "p_value", "q_value", "offset", "strand")
COUNT_COLUMNS = ("motif", "motif_alt_name", "n_patterns", "n_pattern_seqlets", "n_seqlets")


def _match_cells(match: Match | None) -> list[str]:
    if match is None:
        return ["", "", "", "", "", "", ""]
    return [
        str(match.rank),
        match.motif,
        match.motif_alt_name,
        f"{match.p_value:.4g}",
        f"{match.q_value:.4g}",
        str(match.offset),
        match.strand,
    ]


def pattern_rows(patterns: Sequence[PatternQuery], matches: Sequence[Sequence[Match]]) -> list[list[str]]:
    """Rows of ``patterns.tsv``: one per kept match; a pattern without any gets one row with empty match cells."""
    rows = []
    for pattern, found in zip(patterns, matches):
        for match in found or [None]:
            cells = _match_cells(match)
            rows.append([pattern.name, *cells, str(pattern.n_seqlets)])
    return rows


def seqlet_rows(seqlets: Sequence[SeqletQuery], matches: Sequence[Sequence[Match]]) -> list[list[str]]:
    """Rows of ``seqlets.tsv``: one per kept match; a seqlet without any gets one row with empty match cells."""
    rows = []
    for seqlet, found in zip(seqlets, matches):
        for match in found or [None]:
            rows.append([seqlet.name, seqlet.chrom, str(seqlet.start), str(seqlet.end), *_match_cells(match)])
    return rows


def count_rows(
    database: Sequence[Motif],
    patterns: Sequence[PatternQuery],
    pattern_matches: Sequence[Sequence[Match]],
    seqlet_matches: Sequence[Sequence[Match]],
) -> list[list[str]]:
    """Rows of ``motif_counts.tsv``: per database motif, the patterns (and their seqlets) and the
    seqlets whose best kept match it is; motifs nobody matched are left out; most seqlets first."""
    counts: dict[str, list[int]] = {}
    for pattern, found in zip(patterns, pattern_matches):
        if found:
            entry = counts.setdefault(found[0].motif, [0, 0, 0])
            entry[0] += 1
            entry[1] += pattern.n_seqlets
    for found in seqlet_matches:
        if found:
            counts.setdefault(found[0].motif, [0, 0, 0])[2] += 1
    alt = {m.name: m.alt_name or "" for m in database}
    order = sorted(counts, key=lambda name: (-counts[name][2], -counts[name][1], name))
    return [[name, alt.get(name, ""), *(str(c) for c in counts[name])] for name in order]


def write_table(path: str | Path, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A tab-separated table with a header line, written atomically."""
    import io

    from bpnet.core.atomic import write_text_atomic

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


__all__ = [
    "COUNT_COLUMNS", "Match", "PATTERN_COLUMNS", "PatternQuery", "Query", "SEQLET_COLUMNS", "SeqletQuery",
    "benjamini_hochberg", "count_rows", "match_motifs", "pattern_rows", "read_database", "read_patterns",
    "read_seqlets", "seqlet_rows", "write_table",
]
