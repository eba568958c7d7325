"""Loci: the sequence and signal windows of peaks and negatives.

:func:`extract_loci` reads, for every peak and negative, a sequence window of
``input_length + 2 * max_jitter`` bp and signal (and control) windows of
``output_length + 2 * max_jitter`` bp centred on the locus, into a :class:`LociSet`.
The extra ``max_jitter`` bp on each side let the samplers (:mod:`bpnet.train.samplers`)
shift every window by up to ``max_jitter`` bp without touching the files again.

Sequences are kept as one byte per base (codes A=0, C=1, G=2, T=3, other=4; one-hot
is made per batch), signals and controls as float32 counts.

Memory per 10,000 loci at the defaults (input 2114 bp, output 1000 bp, jitter 128):

====================================  ==============================  =========
array                                 shape per locus                 10k loci
====================================  ==============================  =========
sequence codes (uint8)                2370                            23.7 MB
signals, one stranded pair (float32)  2 x 1256                        100.5 MB
controls, one stranded pair (float32) 2 x 1256                        100.5 MB
total (stranded ChIP with controls)                                   224.7 MB
====================================  ==============================  =========

Each further track adds 50.2 MB per 10k loci; jitter 500 (ChromBPNet) makes that
80 MB per track and 31.1 MB for the codes. :func:`memory_per_locus` computes it for
any setting.

``extract_loci(..., lazy=True)`` reads no window until rows are asked for, so the loci
stage writes ``loci.h5`` a chunk of rows at a time in bounded memory.

A :class:`LociSet` is written to and read from HDF5 (``loci.h5``) with
:meth:`LociSet.save` / :meth:`LociSet.load`. The file stores signal and control counts
that are all whole numbers as the smallest unsigned integer type that holds them
(uint8, uint16 or uint32; float32 otherwise), which is exact, and hands them out as
float32 again. :meth:`LociSet.open` reads only the labels and leaves the sequence and
signal arrays on disk, read by rows on demand (:mod:`bpnet.data.loci_store`), for
sets larger than memory.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bpnet.core.atomic import atomic_path

from .chroms import check_chromosomes
from .errors import DataError
from .intervals import Intervals
from .loci_store import LociFile
from .rows import LazyRows
from .sources import IntervalSource, SequenceSource, SignalSource, open_source
from .sources.bigwig import BigWigSource
from .sources.fasta import FastaSource
from .splits import Fold
from .tracks import read_track_set
from .window_reads import BLOCK_GAP, SequenceWindows, TrackWindows, WindowFiles
from .windows import OffChrom, WindowGeometry, keep_on_chromosome

log = logging.getLogger("bpnet.data.loci")

FORMAT = "bpnet-loci"
#: 2: signal and control windows sit where :mod:`bpnet.data.windows` puts them (version 1
#: put them one base to the right where an even and an odd window length meet);
#: 3: whole-number signals and controls may be stored as uint8, uint16 or uint32
VERSION = 3
#: split label of loci when no fold is given
UNASSIGNED = "unassigned"
#: bytes of rows summed (counts) or written (save) at a time
CHUNK_BYTES = 16 * 2**20

def memory_per_locus(
    input_length: int = 2114,
    output_length: int = 1000,
    max_jitter: int = 128,
    n_signals: int = 2,
    n_controls: int = 0,
    control_length: int | None = None,
) -> int:
    """Bytes one locus takes in a :class:`LociSet` (codes + float32 signals and controls).

    At the defaults with 2 signal and 2 control tracks: 2370 + 2*1256*4 + 2*1256*4 =
    22,466 bytes, i.e. 224.7 MB per 10,000 loci.
    """
    control_length = output_length if control_length is None else control_length
    pad = 2 * max_jitter
    return (input_length + pad) + 4 * n_signals * (output_length + pad) + 4 * n_controls * (control_length + pad)


@dataclass
class LociSet:
    """Sequence and signal windows of a set of loci, padded by ``max_jitter`` on each side.

    Per locus ``i``: ``chrom[i]``, ``centre[i]`` (0-based position the windows are centred
    on: the summit or the midpoint), ``is_peak[i]``, ``split[i]`` (``"train"``, ``"valid"``,
    ``"test"`` or ``"unassigned"``), ``source_row[i]`` (0-based data row in its BED file).

    Arrays (``W_x = input_length + 2 * max_jitter``, ``W_y = output_length + 2 * max_jitter``,
    ``W_c = control_length + 2 * max_jitter``):

    * ``codes`` uint8 ``(N, W_x)``: bases, A=0 C=1 G=2 T=3 other=4; the sequence window of
      locus ``i`` starts at ``centre[i] - input_length // 2 - max_jitter``.
    * ``signals`` float32 ``(N, T, W_y)``: counts, starting ``max_jitter`` bp before the
      output window of :attr:`geometry` (:mod:`bpnet.data.windows`).
    * ``controls`` float32 ``(N, C, W_c)`` (C may be 0).

    ``signal_pairs`` / ``control_pairs`` are the (plus, minus) track indices swapped by
    reverse complement; unpaired tracks (unstranded) stay where they are.
    Memory: :func:`memory_per_locus` bytes per locus (224.7 MB per 10k loci at the defaults
    with a stranded signal and a stranded control).

    A set from :meth:`open` (or :func:`extract_loci` with ``lazy=True``) is *lazy*:
    ``codes``, ``signals`` and ``controls`` are :class:`~bpnet.data.rows.LazyRows` that
    read rows on demand from ``loci.h5`` (or from the genome and bigWigs)
    (``loci.signals[rows]`` is a float32 array as above); :meth:`subset` of it stays lazy
    and the methods here read only the rows they need, a chunk at a time. ``store`` holds
    the open files (None for a set in memory); :meth:`close` closes them.
    """

    chrom: np.ndarray
    centre: np.ndarray
    is_peak: np.ndarray
    split: np.ndarray
    source_row: np.ndarray
    codes: np.ndarray | LazyRows
    signals: np.ndarray | LazyRows
    controls: np.ndarray | LazyRows
    input_length: int = 2114
    output_length: int = 1000
    control_length: int = 1000
    max_jitter: int = 128
    signal_names: list[str] = field(default_factory=list)
    signal_strands: list[str] = field(default_factory=list)
    signal_pairs: list[tuple[int, int]] = field(default_factory=list)
    control_names: list[str] = field(default_factory=list)
    control_strands: list[str] = field(default_factory=list)
    control_pairs: list[tuple[int, int]] = field(default_factory=list)
    fold: str | None = None
    use_summits: bool = True
    sources: dict = field(default_factory=dict)
    store: LociFile | WindowFiles | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.centre)

    @property
    def is_lazy(self) -> bool:
        """Whether the sequence and signal rows are read on demand (:meth:`open`, ``extract_loci(lazy=True)``)."""
        return isinstance(self.codes, LazyRows)

    def in_memory(self) -> LociSet:
        """This set with every row read into memory (itself when it is in memory already)."""
        if not self.is_lazy:
            return self
        arrays = {name: np.asarray(getattr(self, name)) for name in ("codes", "signals", "controls")}
        return replace(self, **arrays, store=None)

    def close(self) -> None:
        """Close the files of a lazy set (nothing for a set in memory)."""
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> LociSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def geometry(self) -> WindowGeometry:
        """Where the input, output and control windows of a locus lie (without jitter)."""
        return WindowGeometry(self.input_length, self.output_length, self.control_length)

    @property
    def n_peaks(self) -> int:
        return int(self.is_peak.sum())

    @property
    def n_negatives(self) -> int:
        return len(self) - self.n_peaks

    @property
    def n_signals(self) -> int:
        return self.signals.shape[1]

    @property
    def n_controls(self) -> int:
        return self.controls.shape[1]

    @property
    def nbytes(self) -> int:
        """Bytes held by the sequence, signal and control arrays."""
        return self.codes.nbytes + self.signals.nbytes + self.controls.nbytes

    def select(self, split: str | Sequence[str] | None = None, peaks: bool | None = None) -> np.ndarray:
        """Indices of the loci in ``split`` (a name, names, or None for all) that are
        peaks (``peaks=True``), negatives (``False``) or either (None), in stored order."""
        mask = np.ones(len(self), dtype=bool)
        if split is not None:
            names = [split] if isinstance(split, str) else list(split)
            mask &= np.isin(self.split, names)
        if peaks is not None:
            mask &= self.is_peak == bool(peaks)
        return np.flatnonzero(mask)

    def centred_codes(self, index: np.ndarray | slice) -> np.ndarray:
        """The un-jittered ``input_length`` sequence windows of ``index``: uint8 codes ``(n, input_length)``, contiguous."""
        j = self.max_jitter
        return np.ascontiguousarray(self.codes[index, j : j + self.input_length])

    def subset(self, index: np.ndarray | slice) -> LociSet:
        """The loci selected by a boolean mask, index array or slice (arrays are copied;
        a lazy set gives a lazy view on those rows and reads nothing)."""
        take = (lambda a: a.take(index)) if self.is_lazy else (lambda a: a[index])  # noqa: E731
        return replace(
            self,
            chrom=self.chrom[index], centre=self.centre[index], is_peak=self.is_peak[index],
            split=self.split[index], source_row=self.source_row[index], codes=take(self.codes),
            signals=take(self.signals), controls=take(self.controls),
        )

    def total_counts(self, index: np.ndarray | None = None, *, padded: bool = False) -> np.ndarray:
        """Per-locus signal counts summed over all tracks, float64 ``(n,)``.

        By default over the centred ``output_length`` window (what the model predicts);
        ``padded=True`` sums the whole jitter-padded window, as bpnet-lite does for its
        outlier filter and count-loss weight. Rows are read and summed a chunk at a time.
        """
        return self._signal_sums(index, padded, (1, 2))

    def track_counts(self, index: np.ndarray | None = None, *, padded: bool = False) -> np.ndarray:
        """Per-locus counts of each signal track, float64 ``(n, tracks)``, windows as :meth:`total_counts`."""
        return self._signal_sums(index, padded, -1)

    def _signal_sums(self, index: Any, padded: bool, axis: int | tuple[int, ...]) -> np.ndarray:
        """Sums of the signal windows of ``index`` over ``axis``, in fixed row chunks, so a set in
        memory and the same set read lazily add in the same order."""
        rows = np.arange(len(self)) if index is None else np.arange(len(self))[index] if isinstance(index, slice) else np.asarray(index)
        rows = np.flatnonzero(rows) if rows.dtype == bool else rows.astype(np.int64, copy=False).reshape(-1)
        lo, hi = (0, None) if padded or not self.max_jitter else (self.max_jitter, self.max_jitter + self.output_length)
        step = max(1, CHUNK_BYTES // max(1, self.signals.shape[-1] * self.n_signals * 4))
        parts = [self.signals[rows[k : k + step]][..., lo:hi].sum(axis=axis, dtype=np.float64) for k in range(0, len(rows), step)]
        if parts:
            return np.concatenate(parts)
        return np.zeros((0,) if axis == (1, 2) else (0, self.n_signals), np.float64)

    def counts_by_split(self) -> dict[str, tuple[int, int]]:
        """split name -> (peaks, negatives)."""
        result = {}
        for name in dict.fromkeys(self.split.tolist()):
            in_split = self.split == name
            result[str(name)] = (int((in_split & self.is_peak).sum()), int((in_split & ~self.is_peak).sum()))
        return result

    # ------------------------------------------------------------------ HDF5

    def save(self, path: str | Path) -> None:
        """Write ``loci.h5`` atomically, uncompressed (each array one contiguous stretch of the file).

        Signals and controls whose values are all whole numbers from 0 to 2^32 - 1 are stored
        as the smallest of uint8, uint16 and uint32 that holds them (exact; read back as
        float32), others as float32. Arrays are written a chunk of rows at a time, so a lazy
        set is copied without being read whole.
        """
        import h5py

        with atomic_path(Path(path)) as tmp, h5py.File(tmp, "w") as out:
            attrs = {
                "format": FORMAT, "version": VERSION, "input_length": self.input_length,
                "output_length": self.output_length, "control_length": self.control_length,
                "max_jitter": self.max_jitter, "use_summits": self.use_summits, "fold": self.fold or "",
                "n_peaks": self.n_peaks, "n_negatives": self.n_negatives,
            }
            out.attrs.update(attrs)
            for key in ("signal_names", "signal_strands", "control_names", "control_strands", "sources"):
                out.attrs[key] = json.dumps(getattr(self, key))
            out.attrs["signal_pairs"] = json.dumps([list(p) for p in self.signal_pairs])
            out.attrs["control_pairs"] = json.dumps([list(p) for p in self.control_pairs])
            out["chrom"] = np.asarray(self.chrom, dtype="S") if len(self) else np.zeros(0, "S1")
            out["split"] = np.asarray(self.split, dtype="S") if len(self) else np.zeros(0, "S1")
            out["centre"] = self.centre.astype(np.int64)
            out["is_peak"] = self.is_peak.astype(np.uint8)
            out["source_row"] = self.source_row.astype(np.int64)
            _write_rows(out, "codes", self.codes, np.dtype(np.uint8))
            _write_rows(out, "signals", self.signals, storage_dtype(self.signals))
            _write_rows(out, "controls", self.controls, storage_dtype(self.controls))

    @classmethod
    def load(cls, path: str | Path) -> LociSet:
        """Read a ``loci.h5`` written by :meth:`save` into memory (codes uint8, signals and controls float32)."""
        with cls.open(path) as lazy:
            return lazy.in_memory()

    @classmethod
    def open(cls, path: str | Path, memory_bytes: int | None = None) -> LociSet:
        """Open a ``loci.h5`` lazily: labels in memory, sequence and signal rows read on demand.

        ``memory_bytes``: the most bytes of rows the samplers built on this set hold at once
        (:class:`bpnet.train.samplers.BatchIterator`; None: their default). Close the set
        with :meth:`close` or a ``with`` block.
        """
        path = Path(path)
        if not path.exists():
            raise DataError(f"loci file {path} does not exist: run the loci stage or fix the path")
        try:
            store = LociFile(path, memory_bytes)
        except OSError as exc:
            raise DataError(f"{path}: not a readable HDF5 file ({exc}): re-run the loci stage") from None
        try:
            return cls._from_h5(store, path)
        except OSError as exc:
            store.close()
            raise DataError(f"{path}: not a readable HDF5 file ({exc}): re-run the loci stage") from None
        except BaseException:
            store.close()
            raise

    @classmethod
    def _from_h5(cls, store: LociFile, path: Path) -> LociSet:
        f = store.h5
        bad = f"{path}: not a bpnet loci file"
        if f.attrs.get("format") != FORMAT:
            raise DataError(f"{bad} (format attribute is {f.attrs.get('format')!r}, expected {FORMAT!r}): write it with the loci stage")
        version = int(f.attrs.get("version", -1))
        if version > VERSION:
            raise DataError(f"{path}: loci format version {version} is newer than this bpnet-data reads ({VERSION}): upgrade bpnet-data")
        if version < 2 and _shifted_in_version_1(f.attrs, f["controls"].shape[1] if "controls" in f else 0):
            raise DataError(
                f"{path}: written by an earlier bpnet-data that put the signal (or control) windows of an even and an odd "
                "window length 1 bp right of where the model predicts (or reads) them: re-run the loci stage "
                "(bpnet run SPEC --from LOCI-STAGE)"
            )
        names = ("chrom", "split", "centre", "is_peak", "source_row", "codes", "signals", "controls")
        missing = [n for n in names if n not in f]
        if missing:
            raise DataError(f"{bad}: dataset(s) {', '.join(missing)} missing: re-run the loci stage")
        try:
            a = f.attrs
            pairs = lambda key: [tuple(p) for p in json.loads(a[key])]  # noqa: E731
            loci = cls(
                chrom=f["chrom"][()].astype(str), split=f["split"][()].astype(str), centre=f["centre"][()],
                is_peak=f["is_peak"][()].astype(bool), source_row=f["source_row"][()], codes=store.rows("codes", np.uint8),
                signals=store.rows("signals", np.float32), controls=store.rows("controls", np.float32),
                input_length=int(a["input_length"]), output_length=int(a["output_length"]),
                control_length=int(a["control_length"]), max_jitter=int(a["max_jitter"]),
                signal_names=json.loads(a["signal_names"]), signal_strands=json.loads(a["signal_strands"]),
                signal_pairs=pairs("signal_pairs"), control_names=json.loads(a["control_names"]),
                control_strands=json.loads(a["control_strands"]), control_pairs=pairs("control_pairs"),
                fold=str(a["fold"]) or None, use_summits=bool(a["use_summits"]), sources=json.loads(a["sources"]),
                store=store,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise DataError(f"{bad}: attribute or dataset unreadable ({exc}): re-run the loci stage") from None
        loci.validate(str(path))
        return loci

    def validate(self, label: str = "loci") -> None:
        """Raise :class:`DataError` if the arrays disagree with each other or the lengths."""
        n, j = len(self), self.max_jitter
        expected = {
            "chrom": (n,), "split": (n,), "is_peak": (n,), "source_row": (n,),
            "codes": (n, self.input_length + 2 * j),
            "signals": (n, len(self.signal_names), self.output_length + 2 * j),
            "controls": (n, len(self.control_names), self.control_length + 2 * j),
        }
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise DataError(
                    f"{label}: {name} has shape {getattr(self, name).shape}, expected {shape}: the file is damaged, re-run the loci stage"
                )


def _shifted_in_version_1(attrs, n_controls: int) -> bool:
    """Whether a version-1 file's windows sit elsewhere than :mod:`bpnet.data.windows` puts them.

    Version 1 centred every window on the locus (start ``centre - length // 2``), which
    differs from the centre-crop geometry by 1 bp when an even and an odd length meet.
    """
    lengths = [int(attrs.get(key, 0)) for key in ("input_length", "output_length", "control_length")]
    geometry = WindowGeometry(*lengths)
    shifted = geometry.output_start(0) != -(lengths[1] // 2)
    return bool(shifted or (n_controls and geometry.control_start(0) != -(lengths[2] // 2)))


def _row_chunks(array: np.ndarray | LazyRows) -> list[slice]:
    """Slices of at most :data:`CHUNK_BYTES` of ``array``'s rows (as handed out)."""
    row_bytes = int(np.prod(array.shape[1:], dtype=np.int64)) * np.dtype(array.dtype).itemsize
    step = max(1, CHUNK_BYTES // max(1, row_bytes))
    return [slice(k, k + step) for k in range(0, len(array), step)]


def storage_dtype(array: np.ndarray | LazyRows) -> np.dtype:
    """The smallest of uint8, uint16 and uint32 that holds every value of ``array`` exactly
    (all whole numbers, none negative), else float32 (also for an empty array)."""
    if not np.prod(array.shape, dtype=np.int64):
        return np.dtype(np.float32)
    top = 0.0
    for rows in _row_chunks(array):
        chunk = np.asarray(array[rows])
        if chunk.size and not (np.array_equal(chunk, np.trunc(chunk)) and chunk.min() >= 0):  # NaN fails the first
            return np.dtype(np.float32)
        top = max(top, float(chunk.max())) if chunk.size else top
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.float32)


def _write_rows(out, name: str, array: np.ndarray | LazyRows, dtype: np.dtype) -> None:
    """Dataset ``name`` of ``array``'s shape and ``dtype`` (contiguous), written a chunk of rows at a time."""
    from bpnet.core.console import track

    dataset = out.create_dataset(name, shape=array.shape, dtype=dtype)
    if not np.prod(array.shape, dtype=np.int64):
        return
    chunks = _row_chunks(array)
    for rows in track(chunks, f"writing {name}") if isinstance(array, LazyRows) and len(chunks) > 1 else chunks:
        dataset[rows] = np.asarray(array[rows]).astype(dtype, copy=False)



# ---------------------------------------------------------------------- extraction


@dataclass
class _Tracks:
    """Concatenated bigWig tracks of several track sets or files."""

    sources: list[BigWigSource]
    names: list[str]
    strands: list[str]
    pairs: list[tuple[int, int]]
    files: list[str]


def open_tracks(locations: Sequence[str | Path]) -> _Tracks:
    """Open track-set folders and/or bigWig files, keeping each set's strand pairs."""
    sources, names, strands, pairs, files = [], [], [], [], []
    for location in locations:
        paths, track_set = read_track_set(Path(location))
        offset = len(sources)
        folder = Path(location).is_dir()
        for path, track in zip(paths, track_set.tracks):
            if not path.exists():
                raise DataError(f"bigWig {path} (listed in {location}) does not exist: re-run the stage that wrote it or fix the path")
            sources.append(open_source(path, SignalSource))
            names.append(f"{Path(location).name}/{track.file}" if folder else Path(location).name)
            strands.append(track.strand)
            files.append(str(path))
        pairs += [(offset + p, offset + m) for p, m in track_set.strand_pairs()]
    return _Tracks(sources, names, strands, pairs, files)


def _read_intervals(source: Intervals | str | Path | None, what: str) -> tuple[Intervals, str, Path | None]:
    if source is None:
        return Intervals.empty(), what, None
    if isinstance(source, Intervals):
        return source, what, None
    bed = open_source(source, IntervalSource)
    return bed.read(), bed.label, bed.path


def _line_of_row(path: Path | None, row: int) -> str:
    """``"line N"`` of the ``row``-th (0-based) data row of a BED file, else ``"row N"``."""
    if path is not None:
        from .textfiles import open_text

        seen = -1
        with open_text(path) as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip() and not line.startswith(("#", "track", "browser")):
                    seen += 1
                    if seen == row:
                        return f"line {number}"
    return f"row {row + 1}"


def extract_loci(
    genome: str | Path | FastaSource,
    peaks: Intervals | str | Path,
    negatives: Intervals | str | Path | None = None,
    signals: Sequence[str | Path] = (),
    controls: Sequence[str | Path] = (),
    *,
    input_length: int = 2114,
    output_length: int = 1000,
    control_length: int | None = None,
    max_jitter: int = 128,
    use_summits: bool = True,
    fold: Fold | None = None,
    fold_name: str | None = None,
    off_chrom: OffChrom = "drop",
    block_gap: int = BLOCK_GAP,
    lazy: bool = False,
) -> LociSet:
    """The sequence, signal and control windows of peaks and negatives: read into memory, or ``lazy``.

    Windows are centred on each peak's summit (narrowPeak column 10; the midpoint where
    there is none or with ``use_summits=False``) and on each negative's midpoint. A window
    of length ``L`` covers ``[centre - L // 2 - max_jitter, centre - L // 2 + L + max_jitter)``.

    ``signals`` and ``controls`` are track-set folders (``tracks.json``, as written by the
    reads-to-bigwig stage) or bigWig files; tracks are concatenated in the order given and
    each set's (+, -) strand pairs are kept for reverse complement. ``control_length``
    defaults to ``output_length`` (bpnet's BPNet centre-crops controls to that).

    With a ``fold``, each locus is labelled by the split of its chromosome and loci on
    chromosomes in none of the fold's lists are dropped; without one, every locus is
    ``"unassigned"``. Loci whose padded windows run off a chromosome end are dropped
    (counted in the log) or, with ``off_chrom="error"``, raise :class:`DataError` naming
    the BED file and line. Chromosomes missing from the FASTA or a bigWig raise
    :class:`DataError` naming both files.

    Sequences are read chromosome by chromosome in blocks (loci closer than
    ``block_gap`` bp share one FASTA read, up to 8 Mb per read); the bigWigs are read in
    one figwig call over all windows (:mod:`bpnet.data.window_reads`). Memory:
    :func:`memory_per_locus` bytes per locus, 224.7 MB per 10,000 loci at the defaults with
    one stranded signal pair and one stranded control pair.

    ``lazy=True`` reads nothing yet: the set holds the labels (about 100 bytes a locus)
    and open files, and reads windows when rows are asked for, so :meth:`LociSet.save`
    writes ``loci.h5`` a chunk of rows at a time whatever the number of loci (the loci
    stage does this). Close it with :meth:`LociSet.close` or a ``with`` block.
    """
    if min(input_length, output_length) < 1 or max_jitter < 0:
        raise DataError(
            f"input_length ({input_length}) and output_length ({output_length}) must be >= 1 and max_jitter ({max_jitter}) >= 0"
        )
    if off_chrom not in ("drop", "error"):
        raise DataError(f"off_chrom must be 'drop' or 'error', not {off_chrom!r}")
    control_length = output_length if control_length is None else control_length
    fasta = genome if isinstance(genome, SequenceSource) else open_source(genome, SequenceSource)
    peak_iv, peak_label, peak_path = _read_intervals(peaks, "peaks")
    neg_iv, neg_label, neg_path = _read_intervals(negatives, "negatives")
    sig, ctl = open_tracks(signals), open_tracks(controls)

    geometry = WindowGeometry(input_length, output_length, control_length if ctl.sources else 0)
    parts = []
    for iv, label, path, is_peak in ((peak_iv, peak_label, peak_path, True), (neg_iv, neg_label, neg_path, False)):
        if not len(iv):
            continue
        _check_files(iv, label, fasta, sig.sources + ctl.sources)
        centre = iv.centres(use_summits and is_peak)
        keep = _on_chromosome(iv, centre, geometry, max_jitter, fasta, label, path, off_chrom)
        parts.append((iv.chrom[keep].astype(str), centre[keep], np.full(keep.sum(), is_peak), np.flatnonzero(keep)))
    if not parts:
        raise DataError(f"{peak_label}: no loci to extract (the peak and negative files are empty)")
    chrom, centre, is_peak, source_row = (np.concatenate(col) for col in zip(*parts))

    split = _label_splits(chrom, fold, fold_name)
    used = split != ""
    if not used.all():
        log.info("dropped %d loci on chromosomes in none of the splits of fold %s", int((~used).sum()), fold_name or "")
        chrom, centre, is_peak, source_row, split = chrom[used], centre[used], is_peak[used], source_row[used], split[used]
    if not len(chrom):
        raise DataError(f"{peak_label}: no loci left to extract after dropping those off chromosome ends or outside fold {fold_name}")

    centre = centre.astype(np.int64)
    j = max_jitter
    files = WindowFiles(fasta, sig.sources + ctl.sources)
    loci = LociSet(
        chrom=chrom, centre=centre, is_peak=is_peak, split=split, source_row=source_row.astype(np.int64),
        codes=SequenceWindows(fasta, chrom, geometry.input_start(centre) - j, input_length + 2 * j, block_gap),
        signals=TrackWindows(sig.sources, chrom, geometry.output_start(centre) - j, output_length + 2 * j),
        controls=TrackWindows(ctl.sources, chrom, geometry.control_start(centre) - j, control_length + 2 * j),
        input_length=input_length, output_length=output_length, control_length=control_length, max_jitter=max_jitter,
        signal_names=sig.names, signal_strands=sig.strands, signal_pairs=sig.pairs,
        control_names=ctl.names, control_strands=ctl.strands, control_pairs=ctl.pairs,
        fold=fold_name, use_summits=use_summits,
        sources={"genome": str(fasta.location), "peaks": peak_label, "negatives": neg_label if negatives is not None else None,
                 "signals": sig.files, "controls": ctl.files},
        store=files,
    )
    if lazy:
        return loci
    with loci:
        return loci.in_memory()


def _check_files(iv: Intervals, label: str, fasta: FastaSource, tracks: list[BigWigSource]) -> None:
    used = iv.chromosomes()
    check_chromosomes(used, fasta.sizes, file=label, reference_file=fasta.label)
    for track in tracks:
        check_chromosomes(used, track.sizes, file=label, reference_file=f"the bigWig {track.label}")
        for chrom in used:
            if track.sizes[chrom] != fasta.sizes[chrom]:
                raise DataError(
                    f"{track.label}: {chrom} has {track.sizes[chrom]} bp but {fasta.sizes[chrom]} bp in {fasta.label}: "
                    "the bigWig was made on another genome assembly; rebuild it on this genome"
                )


def _on_chromosome(
    iv: Intervals, centre: np.ndarray, geometry: WindowGeometry, jitter: int, fasta: FastaSource,
    label: str, path: Path | None, off_chrom: OffChrom,
) -> np.ndarray:
    """Mask of loci whose every padded window lies on the chromosome."""
    return keep_on_chromosome(
        iv.chrom, centre, fasta.sizes, geometry, padding=jitter, off_chrom=off_chrom, what="locus/loci", plural="loci",
        describe=lambda i: (f"{label}:{_line_of_row(path, i)}", f"{iv.chrom[i]}:{iv.start[i]}-{iv.end[i]}"),
        label=label, reference_label=fasta.label, log=log,
    )


def _label_splits(chrom: np.ndarray, fold: Fold | None, fold_name: str | None) -> np.ndarray:
    if fold is None:
        return np.full(len(chrom), UNASSIGNED, dtype=object).astype(str)
    table = {c: fold.split_of(c) or "" for c in set(chrom.tolist())}
    return np.array([table[c] for c in chrom], dtype=object).astype(str) if len(chrom) else np.zeros(0, str)


# ---------------------------------------------------------------------- filters


def count_outliers(
    loci: LociSet, *, quantile: float = 0.99, factor: float = 1.2, splits: Sequence[str] = ("train", UNASSIGNED)
) -> np.ndarray:
    """Mask of peaks in ``splits`` whose total counts exceed ``factor * quantile(counts)``.

    Counts are summed over every signal track and the whole jitter-padded window, and
    the quantile is taken over the peaks in ``splits``: bpnet-lite's PeakGenerator rule
    (``1.2 x quantile 0.99``), applied to training peaks only so evaluation sees every peak.
    """
    candidates = loci.is_peak & np.isin(loci.split, list(splits))
    if not candidates.any() or not loci.n_signals:
        return np.zeros(len(loci), dtype=bool)
    counts = loci.total_counts(padded=True)
    threshold = factor * np.quantile(counts[candidates], quantile)
    return candidates & (counts > threshold)


def describe(loci: LociSet) -> list[str]:
    """Human-readable lines: loci per split and the bytes of their windows."""
    lines = [f"{name}: {p} peaks, {n} negatives" for name, (p, n) in loci.counts_by_split().items()]
    per10k = (
        memory_per_locus(
            loci.input_length, loci.output_length, loci.max_jitter, loci.n_signals, loci.n_controls, loci.control_length
        )
        * 1e4
        / 1e6
    )
    lines.append(
        f"{len(loci)} loci, {loci.n_signals} signal and {loci.n_controls} control track(s): "
        f"{loci.nbytes / 1e6:.1f} MB of windows as float32 ({per10k:.1f} MB per 10k loci; loci.h5 stores whole counts compactly)"
    )
    return lines


__all__ = [
    "LociSet", "count_outliers", "describe", "extract_loci", "memory_per_locus", "open_tracks", "storage_dtype", "UNASSIGNED",
]


def sample_rows(rows: np.ndarray, n: int | None, seed: int = 0) -> np.ndarray:
    """All of ``rows`` (``n`` None or at least their number), or ``n`` of them drawn without
    replacement (seeded) and kept in stored order."""
    if n is None or n >= len(rows):
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=n, replace=False))
