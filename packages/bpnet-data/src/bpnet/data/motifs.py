"""Sequence motifs: MEME minimal-format files, sampling sites, log-odds scanning.

A :class:`Motif` is a position probability matrix (``pwm``, shape ``(L, 4)``, columns
A, C, G, T, rows summing to 1) with a name. :func:`read_meme` and :func:`write_meme`
read and write the MEME *minimal* motif format (what JASPAR, HOCOMOCO, MEME, STREME
and TF-MoDISco export); errors name the file and line. :func:`scan` scores every
window of a sequence (uint8 codes, see :mod:`bpnet.data.onehot`) on both strands in
a few vectorised passes, :func:`sample_sites` draws binding sites from a motif and
:func:`insert_at_centre` writes sites over the centre of windows (marginalization and
the footprint test of bias correction).

Built-in motif sets (:data:`BUILTIN_MOTIFS`): the enzymes' bias motifs of the official
ChromBPNet footprint test, ``tn5`` (ATAC-seq, Tn5 transposase) and ``dnase`` (DNase-I),
shipped as MEME files in ``bpnet/data/bias_motifs/``. A stage parameter that takes a
MEME file also takes their names through :func:`motifs_location` (the one place that
tells a name from a path); :func:`read_motifs` reads either.

Scores are log-odds in bits: ``sum_j log2(p'_j(b_j) / bg(b_j))`` where
``p' = (1 - pseudocount) * p + pseudocount * bg`` keeps zero probabilities finite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError, where

#: Built-in motif sets: name -> what they are (the MEME files are ``bias_motifs/<name>.meme`` beside this module).
BUILTIN_MOTIFS: dict[str, str] = {
    "tn5": "Tn5 transposase bias motifs tn5_1..tn5_5 (ATAC-seq), the official ChromBPNet sequences as one-hot motifs",
    "dnase": "DNase-I bias motif dnase_1 (DNase-seq), the official ChromBPNet sequence as a one-hot motif",
}
_BUILTIN_FOLDER = Path(__file__).parent / "bias_motifs"
#: a bare word (no '/', no '.'): names a built-in set, never a file
_BARE_WORD = re.compile(r"^[A-Za-z0-9_-]+$")
#: Uniform background (A, C, G, T).
UNIFORM = np.full(4, 0.25)
#: Rows of a letter-probability matrix may miss 1 by this much (rounding in files).
ROW_SUM_TOLERANCE = 0.02
_LETTERS = "ACGT"


@dataclass(eq=False)
class Motif:
    """A DNA motif: ``pwm`` is a float64 ``(L, 4)`` matrix of probabilities (A, C, G, T).

    ``name`` is the identifier of the MEME ``MOTIF`` line (e.g. ``MA0139.2``),
    ``alt_name`` its optional second word (e.g. ``CTCF``); ``nsites`` and ``url``
    are kept when a file gives them. Rows are renormalised to sum to exactly 1.
    """

    name: str
    pwm: np.ndarray
    alt_name: str | None = None
    nsites: int | None = None
    url: str | None = None
    _log_odds_cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        pwm = np.array(self.pwm, dtype=np.float64)
        if pwm.ndim != 2 or pwm.shape[1] != 4 or pwm.shape[0] == 0:
            raise ValueError(f"motif {self.name}: pwm must have shape (L, 4) with L >= 1, got {pwm.shape}")
        if (pwm < 0).any() or not np.isfinite(pwm).all():
            raise ValueError(f"motif {self.name}: probabilities must be finite and >= 0")
        sums = pwm.sum(axis=1, keepdims=True)
        if (sums <= 0).any():
            raise ValueError(f"motif {self.name}: a row of the pwm is all zeros")
        self.pwm = pwm / sums

    @property
    def width(self) -> int:
        return self.pwm.shape[0]

    @property
    def label(self) -> str:
        """``alt_name`` if there is one, else ``name`` (for tables and plots)."""
        return self.alt_name or self.name

    @property
    def consensus(self) -> str:
        """The most probable base at each position."""
        return "".join(_LETTERS[i] for i in self.pwm.argmax(axis=1))

    def reverse_complement(self) -> Motif:
        """The motif as read on the other strand."""
        return Motif(self.name, self.pwm[::-1, ::-1], self.alt_name, self.nsites, self.url)

    def log_odds(self, background: np.ndarray | None = None, pseudocount: float = 0.01) -> np.ndarray:
        """``(L, 5)`` log2-odds table; column 4 (N or any non-ACGT code) is the row minimum."""
        bg = UNIFORM if background is None else np.asarray(background, dtype=np.float64)
        key = (tuple(np.round(bg, 12)), float(pseudocount))
        table = self._log_odds_cache.get(key)
        if table is None:
            p = (1.0 - pseudocount) * self.pwm + pseudocount * bg
            scores = np.log2(p / bg)
            table = np.concatenate([scores, scores.min(axis=1, keepdims=True)], axis=1)
            self._log_odds_cache[key] = table
        return table

    def score_range(self, background: np.ndarray | None = None, pseudocount: float = 0.01) -> tuple[float, float]:
        """(lowest, highest) possible log-odds score of a window (bits)."""
        table = self.log_odds(background, pseudocount)[:, :4]
        return float(table.min(axis=1).sum()), float(table.max(axis=1).sum())


def information_content(ppm: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
    """Information content (bits) of each position of a probability matrix ``(L, 4)``
    against ``background`` (uniform); rows are normalised to sum to 1 first."""
    ppm = np.asarray(ppm, dtype=np.float64)
    ppm = ppm / np.maximum(ppm.sum(axis=1, keepdims=True), 1e-12)
    bg = UNIFORM if background is None else np.asarray(background, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ppm > 0, ppm * np.log2(ppm / bg), 0.0).sum(axis=1)


def read_meme(path: str | Path) -> list[Motif]:
    """Read every motif of a MEME minimal-format file.

    Understood: ``ALPHABET= ACGT`` (other alphabets are refused), ``MOTIF name
    [alt_name]``, ``letter-probability matrix: alength= 4 w= L nsites= n E= e`` followed
    by the rows, ``URL`` lines; ``log-odds matrix`` blocks are skipped; other lines
    (and lines starting with ``#``) are ignored. Raises :class:`DataError` naming the
    file and line for a malformed matrix (wrong column count, non-numbers, negative
    values, rows that do not sum to 1, fewer or more rows than ``w=``), a motif
    without a matrix, or a file without motifs.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: no such MEME file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read it as a MEME text file ({exc})") from None
    return _MemeParser(path, lines).parse()


class _MemeParser:
    """A line cursor over a MEME file (numbers are 1-based line numbers)."""

    def __init__(self, path: Path, lines: list[str]):
        self.path = path
        self.lines = lines
        self.i = 0

    def error(self, number: int, message: str) -> DataError:
        return DataError(f"{where(self.path, number)}: {message}")

    def parse(self) -> list[Motif]:
        motifs: list[Motif] = []
        pending: dict | None = None  # a MOTIF line still waiting for its matrix
        finished: Motif | None = None  # the motif whose matrix was just read (for URL lines)
        while self.i < len(self.lines):
            number, line = self.i + 1, self.lines[self.i].strip()
            self.i += 1
            if not line or line.startswith("#"):
                continue
            if line.startswith("ALPHABET"):
                self._check_alphabet(number, line)
            elif line.startswith("MOTIF"):
                if pending is not None:
                    raise self.error(pending["line"], f"motif {pending['name']} has no 'letter-probability matrix' block")
                pending, finished = self._motif_line(number, line), None
            elif line.startswith("letter-probability matrix"):
                if pending is None:
                    raise self.error(number, "a letter-probability matrix before any MOTIF line")
                finished = self._matrix(number, line, pending)
                motifs.append(finished)
                pending = None
            elif line.startswith("log-odds matrix"):
                self._skip_log_odds(number, line)
            elif line.startswith("URL") and finished is not None:
                finished.url = line[3:].strip() or None
        if pending is not None:
            raise self.error(pending["line"], f"motif {pending['name']} has no 'letter-probability matrix' block")
        if not motifs:
            raise DataError(
                f"{self.path}: no motifs found: expected MEME minimal format ('MOTIF name' lines, each followed by "
                "'letter-probability matrix: alength= 4 w= L' and L rows of 4 probabilities)"
            )
        return motifs

    def _check_alphabet(self, number: int, line: str) -> None:
        if "=" in line:
            letters = line.split("=", 1)[1].strip().upper()
            if letters != "ACGT":
                raise self.error(number, f"alphabet {letters!r} is not DNA: only ALPHABET= ACGT motifs are supported")
            return
        if "DNA" not in line.upper():  # a custom alphabet block: skip it if DNA-like
            raise self.error(number, f"alphabet {line!r} is not DNA: only DNA (ACGT) motifs are supported")
        while self.i < len(self.lines) and not self.lines[self.i].strip().upper().startswith("END ALPHABET"):
            self.i += 1
        self.i += 1

    def _motif_line(self, number: int, line: str) -> dict:
        words = line.split()
        if len(words) < 2:
            raise self.error(number, "MOTIF line without a name: expected 'MOTIF name [alt_name]'")
        return {"name": words[1], "alt": words[2] if len(words) > 2 else None, "line": number}

    def _keys(self, number: int, line: str) -> dict[str, str]:
        return dict(re.findall(r"(\w+)\s*=\s*(\S+)", line.split(":", 1)[1] if ":" in line else ""))

    def _int_key(self, keys: dict[str, str], key: str, number: int) -> int | None:
        if key not in keys:
            return None
        try:
            return int(float(keys[key]))
        except ValueError:
            raise self.error(number, f"{key}= must be a number, found {keys[key]!r}") from None

    def _matrix(self, number: int, line: str, current: dict) -> Motif:
        keys = self._keys(number, line)
        alength = self._int_key(keys, "alength", number) or 4
        if alength != 4:
            raise self.error(number, f"alength= {alength}: only DNA motifs (alength= 4) are supported")
        width = self._int_key(keys, "w", number)
        rows = self._rows(width, current)
        nsites = self._int_key(keys, "nsites", number)
        return Motif(current["name"], np.array(rows), current["alt"], nsites)

    def _rows(self, width: int | None, current: dict) -> list[list[float]]:
        rows: list[list[float]] = []
        name = current["name"]
        while self.i < len(self.lines):
            number, text = self.i + 1, self.lines[self.i].strip()
            if not text:
                if rows:
                    break
                self.i += 1
                continue
            if not _looks_numeric(text):
                break
            if width is not None and len(rows) == width:
                raise self.error(number, f"motif {name} has more rows than its w= {width}: fix w= or remove the extra row")
            rows.append(self._row(number, text, name))
            self.i += 1
        if not rows:
            raise self.error(
                self.i + 1 if self.i < len(self.lines) else len(self.lines),
                f"motif {name}: the letter-probability matrix has no rows",
            )
        if width is not None and len(rows) != width:
            raise self.error(
                self.i if self.i <= len(self.lines) else len(self.lines),
                f"motif {name} has {len(rows)} rows but w= {width}: fix w= or the matrix",
            )
        return rows

    def _row(self, number: int, text: str, name: str) -> list[float]:
        fields = text.split()
        if len(fields) != 4:
            raise self.error(number, f"motif {name}: a matrix row needs 4 columns (A C G T), found {len(fields)}: {text!r}")
        try:
            values = [float(f) for f in fields]
        except ValueError:
            raise self.error(number, f"motif {name}: non-numeric value in matrix row {text!r}") from None
        if any(v < 0 or not np.isfinite(v) for v in values):
            raise self.error(number, f"motif {name}: probabilities must be finite and >= 0, found {text!r}")
        total = sum(values)
        if abs(total - 1.0) > ROW_SUM_TOLERANCE:
            raise self.error(
                number,
                f"motif {name}: a letter-probability row must sum to 1, this one sums to {total:g} (counts? divide each row by its sum)",
            )
        return values

    def _skip_log_odds(self, number: int, line: str) -> None:
        width = self._int_key(self._keys(number, line), "w", number)
        skipped = 0
        while self.i < len(self.lines) and (width is None or skipped < width):
            text = self.lines[self.i].strip()
            if not text and skipped:
                break
            if text and not _looks_numeric(text):
                break
            skipped += bool(text)
            self.i += 1


def _looks_numeric(text: str) -> bool:
    """Whether a line starts like a matrix row (a number)."""
    first = text.split()[0]
    try:
        float(first)
    except ValueError:
        return False
    return True


def write_meme(
    path: str | Path,
    motifs: Iterable[Motif],
    *,
    background: Sequence[float] | None = None,
    comments: Sequence[str] = (),
) -> None:
    """Write ``motifs`` as a MEME minimal-format file, atomically.

    ``comments`` become ``#`` lines after the version line (for provenance and licence
    notes; MEME tools and :func:`read_meme` ignore them).
    """
    from bpnet.core.atomic import write_text_atomic

    write_text_atomic(path, format_meme(motifs, background=background, comments=comments))


def format_meme(motifs: Iterable[Motif], *, background: Sequence[float] | None = None, comments: Sequence[str] = ()) -> str:
    """The MEME minimal-format text of ``motifs`` (see :func:`write_meme`)."""
    bg = UNIFORM if background is None else np.asarray(background, dtype=np.float64)
    out = ["MEME version 4", ""]
    if comments:
        out += [f"# {c}".rstrip() for c in comments] + [""]
    out += ["ALPHABET= ACGT", "", "strands: + -", "", "Background letter frequencies"]
    out += [" ".join(f"{b} {p:.6g}" for b, p in zip(_LETTERS, bg)), ""]
    for motif in motifs:
        out.append(f"MOTIF {motif.name}" + (f" {motif.alt_name}" if motif.alt_name else ""))
        nsites = motif.nsites if motif.nsites is not None else 20
        out.append(f"letter-probability matrix: alength= 4 w= {motif.width} nsites= {nsites} E= 0")
        out += ["  " + "  ".join(f"{v:.6f}" for v in row) for row in motif.pwm]
        if motif.url:
            out.append(f"URL {motif.url}")
        out.append("")
    return "\n".join(out) + "\n"


def builtin_motifs_file(name: str) -> Path:
    """The MEME file of the built-in motif set ``name`` (a key of :data:`BUILTIN_MOTIFS`)."""
    if name not in BUILTIN_MOTIFS:
        raise ValueError(f"{name!r} is not a built-in motif set ({', '.join(BUILTIN_MOTIFS)})")
    return _BUILTIN_FOLDER / f"{name}.meme"


def motifs_location(value: str | Path) -> Path:
    """Where the motifs a parameter names are: a built-in set's MEME file for its name (``tn5``,
    ``dnase``), else ``value`` as a path.

    A string that is a bare word (letters, digits, ``_``, ``-``; no ``/`` or ``.``) names a
    built-in set: one that names none raises :class:`ValueError` (a file named so is written
    ``./name``). Pydantic turns the error into a validation error of the parameter, so a spec
    names its line. ``Path`` objects are always paths.
    """
    if isinstance(value, str) and _BARE_WORD.match(value):
        if value.lower() in BUILTIN_MOTIFS:
            return builtin_motifs_file(value.lower())
        raise ValueError(
            f"{value!r} is neither a built-in motif set ({', '.join(BUILTIN_MOTIFS)}) nor a MEME file path: give one of "
            f"them, or the MEME file's path (./{value} for a file named so)"
        )
    return Path(value)


def read_motifs(value: str | Path) -> list[Motif]:
    """The motifs of a built-in set (by name) or of a MEME file (see :func:`motifs_location`);
    an unknown name or a bad file raises :class:`DataError`."""
    try:
        path = motifs_location(value)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    return read_meme(path)


def sample_sites(motif: Motif, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, L)`` uint8 codes of ``n`` sites drawn base by base from the motif's probabilities."""
    cdf = np.cumsum(motif.pwm, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random((n, motif.width))
    return (u[:, :, None] >= cdf[None, :, :3]).sum(axis=2).astype(np.uint8)


def insertion_start(input_length: int, width: int) -> int:
    """First position of a ``width`` bp site centred in an ``input_length`` bp window: the
    official ChromBPNet footprinting's and :func:`tangermeme.ersatz.substitute`'s position."""
    return input_length // 2 - width // 2


def insert_at_centre(codes: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """A copy of uint8 ``codes`` ``(N, L)`` with ``sites`` ``(N, width)`` (or one site ``(width,)``
    for every window) written over the centre, from :func:`insertion_start`."""
    sites = np.asarray(sites, dtype=codes.dtype)
    width = sites.shape[-1]
    if width > codes.shape[1]:
        raise ValueError(f"a {width} bp site does not fit in {codes.shape[1]} bp windows")
    start = insertion_start(codes.shape[1], width)
    out = codes.copy()
    out[:, start : start + width] = sites
    return out


def score_sites(codes: np.ndarray, motif: Motif, *, background: np.ndarray | None = None, pseudocount: float = 0.01) -> np.ndarray:
    """Log-odds score (bits) of each ``(..., L)`` window of codes read on the motif's strand."""
    table = motif.log_odds(background, pseudocount)
    codes = np.asarray(codes)
    return table[np.arange(motif.width), codes].sum(axis=-1)


def scan(
    codes: np.ndarray,
    motif: Motif,
    *,
    background: np.ndarray | None = None,
    pseudocount: float = 0.01,
    both_strands: bool = True,
) -> np.ndarray:
    """Log-odds score (bits) of every window of ``codes`` (uint8, shape ``(..., n)``).

    Returns ``(..., 2, n - L + 1)`` (forward strand, then reverse) when
    ``both_strands``, else ``(..., n - L + 1)``. Entry ``i`` scores ``codes[..., i:i+L]``;
    the reverse score is that of the window's reverse complement (so a site planted on
    the minus strand at ``i`` scores high in row 1 at ``i``). Non-ACGT codes get the
    lowest score of their column. Memory: one float64 array of the output's size.
    """
    codes = np.asarray(codes)
    width, n = motif.width, codes.shape[-1]
    if n < width:
        shape = codes.shape[:-1] + ((2,) if both_strands else ()) + (0,)
        return np.zeros(shape)
    codes = np.minimum(codes, 4).astype(np.intp, copy=False)
    tables = [motif.log_odds(background, pseudocount)]
    if both_strands:
        tables.append(motif.reverse_complement().log_odds(_complement(background), pseudocount))
    m = n - width + 1
    scores = []
    for table in tables:
        total = np.zeros(codes.shape[:-1] + (m,))
        for j in range(width):
            total += table[j][codes[..., j : j + m]]
        scores.append(total)
    return np.stack(scores, axis=-2) if both_strands else scores[0]


def _complement(background: np.ndarray | None) -> np.ndarray | None:
    return None if background is None else np.asarray(background, dtype=np.float64)[::-1]


__all__ = [
    "BUILTIN_MOTIFS", "Motif", "builtin_motifs_file", "format_meme", "information_content", "insert_at_centre", "insertion_start",
    "motifs_location", "read_meme", "read_motifs", "sample_sites", "scan", "score_sites", "write_meme",
]
