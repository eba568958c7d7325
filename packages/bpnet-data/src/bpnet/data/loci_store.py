"""Rows of ``loci.h5`` read on demand, so a :class:`~bpnet.data.loci.LociSet` need not fit in memory.

:meth:`LociSet.open <bpnet.data.loci.LociSet.open>` keeps the per-locus labels (chrom,
centre, is_peak, split, source_row: about 80 bytes a locus) in memory and gives
``codes``, ``signals`` and ``controls`` as :class:`H5Rows`: array-likes whose
``rows[index]`` reads only those rows from the file (any index order, duplicates
allowed, the result in that order), as uint8 codes and float32 counts whatever the
stored type (format version 3 stores whole-number counts as uint8/16/32).

``loci.h5`` datasets are written uncompressed, so each is one contiguous stretch of the
file: rows are read with positioned reads (``os.preadv``) at the offsets HDF5 reports,
one read per run of consecutive rows, without HDF5's per-selection overhead and from
any thread (the samplers read the next block in the background). A dataset stored
otherwise (chunked or compressed, e.g. after ``h5repack``) is read through h5py.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .rows import LazyRows

#: bytes of stored rows converted to float32 at a time (the staging buffer of compact dtypes)
STAGING_BYTES = 16 * 2**20
#: default budget (MB) of the readers of a lazy set (the training stages' ``loci_memory_mb``)
DEFAULT_MEMORY_MB = 4096


class LociFile:
    """An open ``loci.h5``: the h5py file (labels, attributes, fallback reads) and a raw
    descriptor for positioned reads. ``memory_bytes`` is the budget readers of the set
    (:class:`bpnet.train.samplers.BatchIterator`) keep to; None: theirs.

    Closed by :meth:`close`, or when it is garbage collected.
    """

    def __init__(self, path: Path, memory_bytes: int | None = None):
        import h5py

        self.path, self.memory_bytes = Path(path), memory_bytes
        self.h5 = h5py.File(self.path, "r")
        self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._finalizer = weakref.finalize(self, _close, self.h5, self.fd)

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Close the file (readers of it fail afterwards)."""
        self._finalizer()

    def rows(self, name: str, dtype: np.dtype | type) -> H5Rows:
        """Every row of dataset ``name``, handed out as ``dtype``."""
        dataset = self.h5[name]
        offset = _contiguous_offset(dataset)
        return H5Rows(self, _Layout(name, tuple(dataset.shape), np.dtype(dataset.dtype), offset), np.dtype(dtype))


def _close(h5: Any, fd: int) -> None:
    try:
        h5.close()
    finally:
        os.close(fd)


def _contiguous_offset(dataset: Any) -> int | None:
    """File offset of a contiguous, uncompressed dataset (None: read it through h5py)."""
    if not hasattr(os, "preadv") and not hasattr(os, "pread"):
        return None
    if dataset.chunks is not None or dataset.compression is not None or dataset.dtype.kind not in "uif":
        return None
    return dataset.id.get_offset()


@dataclass(frozen=True)
class _Layout:
    name: str
    shape: tuple[int, ...]
    stored: np.dtype
    offset: int | None

    @property
    def row_items(self) -> int:
        return int(np.prod(self.shape[1:], dtype=np.int64))


class H5Rows(LazyRows):
    """One array of ``loci.h5`` (``codes``, ``signals`` or ``controls``), read by rows
    (:class:`~bpnet.data.rows.LazyRows`) as uint8 codes and float32 counts whatever the stored type."""

    def __init__(self, file: LociFile, layout: _Layout, dtype: np.dtype, rows: np.ndarray | None = None):
        super().__init__(layout.shape, dtype, rows)
        self.file, self.layout, self.name = file, layout, layout.name

    def staging_bytes(self, n_rows: int, staging_rows: int | None = None) -> int:
        """Bytes a read of ``n_rows`` rows allocates besides its result (0 when stored as handed out)."""
        if self.layout.stored == self.dtype or not n_rows:
            return 0
        return min(n_rows, staging_rows or self._staging_rows()) * self.layout.row_items * self.layout.stored.itemsize

    def _staging_rows(self) -> int:
        return max(1, STAGING_BYTES // max(1, self.layout.row_items * self.layout.stored.itemsize))

    def _read_sorted(self, rows: np.ndarray, out: np.ndarray, staging_rows: int | None) -> None:
        """``out[i] = dataset[rows[i]]`` for strictly increasing file ``rows``."""
        if self.file.closed:
            raise DataError(f"{self.file.path}: the loci file was closed; open it again (LociSet.open)")
        step = staging_rows or self._staging_rows()
        if self.layout.offset is None:
            dataset = self.file.h5[self.layout.name]
            for k in range(0, len(rows), step):  # h5py serialises reads from several threads itself
                out[k : k + step] = dataset[rows[k : k + step]]
            return
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [len(rows)]])
        if self.layout.stored == self.dtype:  # straight into the result
            for a, b in zip(starts.tolist(), ends.tolist()):
                self._pread(out[a:b], int(rows[a]))
            return
        staging = np.empty((min(step, len(rows)), *self.layout.shape[1:]), self.layout.stored)
        filled, base = 0, 0
        for a, b in zip(starts.tolist(), ends.tolist()):
            while a < b:
                n = min(b - a, len(staging) - filled)
                self._pread(staging[filled : filled + n], int(rows[a]))
                filled, a = filled + n, a + n
                if filled == len(staging):
                    np.copyto(out[base : base + filled], staging[:filled], casting="unsafe")
                    base, filled = base + filled, 0
        if filled:
            np.copyto(out[base : base + filled], staging[:filled], casting="unsafe")

    def _pread(self, target: np.ndarray, first_row: int) -> None:
        """Fill the contiguous ``target`` with stored rows from ``first_row`` on."""
        row_bytes = self.layout.row_items * self.layout.stored.itemsize
        view = memoryview(target.reshape(-1).view(np.uint8))
        offset, done = self.layout.offset + first_row * row_bytes, 0
        while done < len(view):
            if hasattr(os, "preadv"):
                n = os.preadv(self.file.fd, [view[done:]], offset + done)
            else:
                chunk = os.pread(self.file.fd, len(view) - done, offset + done)
                n = len(chunk)
                view[done : done + n] = chunk
            if n <= 0:
                raise DataError(
                    f"{self.file.path}: the file ends inside dataset {self.layout.name}: it is truncated, re-run the loci stage"
                )
            done += n


__all__ = ["DEFAULT_MEMORY_MB", "H5Rows", "LociFile", "STAGING_BYTES"]
