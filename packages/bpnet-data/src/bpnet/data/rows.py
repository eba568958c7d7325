"""Arrays whose rows are read on demand, so a :class:`~bpnet.data.loci.LociSet` need not be in memory.

:class:`LazyRows` is what the loci code sees of such an array: ``shape``, ``dtype``
(what reads hand out), ``nbytes`` (the bytes it would take in memory), ``len()``,
``rows[index]`` and ``rows[index, ...more]`` (rows read, then the rest applied),
``np.asarray(rows)`` (everything) and :meth:`~LazyRows.take`, a view on some rows that
reads nothing. Subclasses say where rows come from: ``loci.h5``
(:class:`bpnet.data.loci_store.H5Rows`) or the genome and bigWig files themselves
(:class:`bpnet.data.window_reads.WindowRows`, while the loci stage writes ``loci.h5``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np


class LazyRows:
    """An array of ``shape`` whose rows are read on demand as ``dtype``.

    ``rows`` maps the rows of this view to rows of the source (None: all, in order).
    Subclasses implement :meth:`_read_sorted`.
    """

    name = "rows"

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype | type, rows: np.ndarray | None = None):
        self.source_shape, self.dtype = tuple(shape), np.dtype(dtype)
        self._rows = rows

    # ------------------------------------------------------------ array-like

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self.source_shape[1:])

    @property
    def ndim(self) -> int:
        return len(self.source_shape)

    def __len__(self) -> int:
        return self.source_shape[0] if self._rows is None else len(self._rows)

    @property
    def row_items(self) -> int:
        return int(np.prod(self.source_shape[1:], dtype=np.int64))

    @property
    def row_bytes(self) -> int:
        """Bytes of one row as handed out."""
        return self.row_items * self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return len(self) * self.row_bytes

    def staging_bytes(self, n_rows: int, staging_rows: int | None = None) -> int:
        """Bytes a read of ``n_rows`` rows allocates besides its result."""
        return 0

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self.read(np.arange(len(self)))
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> np.ndarray:
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        if first is Ellipsis:
            first, rest = slice(None), key if isinstance(key, tuple) else ()
        if isinstance(first, (int, np.integer)):
            one = self.read(self._positions([first]))[0]
            return one[rest] if rest else one
        out = self.read(self._positions(first))
        return out[(slice(None), *rest)] if rest else out

    def take(self, index: Any) -> LazyRows:
        """A view on the rows ``index`` (mask, index array or slice) selects; nothing is read."""
        view = copy.copy(self)
        view._rows = self.file_rows(self._positions(index))
        return view

    # ------------------------------------------------------------ reading

    def _positions(self, index: Any) -> np.ndarray:
        n = len(self)
        if isinstance(index, slice):
            return np.arange(n)[index]
        index = np.asarray(index)
        if index.dtype == bool:
            if index.shape != (n,):
                raise IndexError(f"boolean index of shape {index.shape} for {n} rows")
            return np.flatnonzero(index)
        index = index.astype(np.int64, copy=False).reshape(-1)
        if len(index) and (index.min() < -n or index.max() >= n):
            raise IndexError(f"row index out of range for {n} rows of {self.name}")
        return np.where(index < 0, index + n, index)

    def file_rows(self, positions: np.ndarray) -> np.ndarray:
        """Rows of the source that ``positions`` of this view refer to."""
        positions = np.asarray(positions, dtype=np.int64)
        return positions if self._rows is None else self._rows[positions]

    def read(self, positions: np.ndarray, staging_rows: int | None = None) -> np.ndarray:
        """Rows at ``positions`` (of this view), in that order, as :attr:`dtype`."""
        rows = self.file_rows(positions)
        ordered = len(rows) < 2 or bool(np.all(rows[1:] > rows[:-1]))
        unique, inverse = (rows, None) if ordered else np.unique(rows, return_inverse=True)
        out = self.read_file_rows(unique, staging_rows)
        return out if inverse is None else out[inverse]

    def read_file_rows(self, rows: np.ndarray, staging_rows: int | None = None) -> np.ndarray:
        """Strictly increasing ``rows`` of the source (:meth:`file_rows`), as :attr:`dtype`;
        ``staging_rows``: rows converted at a time where the source stores another type."""
        out = np.empty((len(rows), *self.source_shape[1:]), self.dtype)
        if len(rows) and self.row_items:
            self._read_sorted(np.asarray(rows, dtype=np.int64), out, staging_rows)
        return out

    def _read_sorted(self, rows: np.ndarray, out: np.ndarray, staging_rows: int | None) -> None:
        """``out[i] = source[rows[i]]`` for strictly increasing, non-empty source ``rows``."""
        raise NotImplementedError


__all__ = ["LazyRows"]
