"""Attribution score files: the contract between ``attribute`` and the stages that read it.

One HDF5 file per explained head (``counts.h5``, ``profile.h5``), laid out as the
official ChromBPNet pipeline writes its ``*_scores.h5`` so that modisco-lite reads it
directly (``modisco motifs -i counts.h5``), plus the loci and provenance bpnet needs:

=========================  ==========================================================
``raw/seq``                float32 ``(N, 4, L)`` one-hot input sequences (A, C, G, T)
``shap/seq``               float32 ``(N, 4, L)`` hypothetical contributions
``projected_shap/seq``     float32 ``(N, 4, L)`` observed contributions (raw x shap)
``loci/chrom``             bytes ``(N,)`` chromosome of each input window
``loci/start``             int64 ``(N,)`` 0-based start of each input window (end = start + L)
``loci/is_peak``           bool ``(N,)`` peak (True) or background locus
``loci/delta``             float32 ``(N,)`` convergence delta (sum of attributions minus
                           the change of the target), mean over references and models
attrs                      ``format`` = ``bpnet-scores``, ``version``, ``head``,
                           ``input_length`` (= L), ``models`` (JSON list of model folders),
                           ``submodel``, ``n_shuffles``, ``seed``
=========================  ==========================================================

:func:`write_scores` writes one (to a temporary file, then renames it);
:func:`read_scores` reads and checks one, raising :class:`~bpnet.data.errors.DataError`
that names the file and what is wrong (a different window length than expected, arrays
of different shapes, a file that is not an attribution file).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bpnet.data.errors import DataError

FORMAT = "bpnet-scores"
VERSION = 1
HEADS = ("counts", "profile")


@dataclass(eq=False)
class Scores:
    """Attributions of one head for ``N`` input windows of length ``L``.

    ``one_hot`` and ``hypothetical`` are float32 ``(N, 4, L)``; ``chrom``, ``start`` and
    ``is_peak`` locate each window on the genome; ``delta`` is each window's
    convergence delta; ``meta`` holds the provenance attributes (``head``, ``models``,
    ``submodel``, ``n_shuffles``, ``seed``, ...).
    """

    one_hot: np.ndarray
    hypothetical: np.ndarray
    chrom: np.ndarray
    start: np.ndarray
    is_peak: np.ndarray
    delta: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.one_hot)

    @property
    def input_length(self) -> int:
        return int(self.one_hot.shape[-1])

    @property
    def head(self) -> str:
        return str(self.meta.get("head", ""))

    @property
    def observed(self) -> np.ndarray:
        """Observed contributions ``(N, 4, L)``: the hypothetical ones at the present base."""
        return self.one_hot * self.hypothetical

    @property
    def projected(self) -> np.ndarray:
        """Observed contribution per position ``(N, L)`` (summed over bases)."""
        return self.observed.sum(axis=1)

    def subset(self, index: np.ndarray | slice) -> Scores:
        """The windows at ``index`` (same metadata)."""
        return Scores(
            self.one_hot[index], self.hypothetical[index], self.chrom[index], self.start[index],
            self.is_peak[index], self.delta[index], dict(self.meta),
        )


def write_scores(path: str | Path, scores: Scores) -> None:
    """Write ``scores`` to ``path`` (HDF5, see the module docstring), atomically."""
    import h5py

    path = Path(path)
    _check_shapes(scores, str(path))
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w") as f:
        one_hot = scores.one_hot.astype(np.float32, copy=False)
        hyp = scores.hypothetical.astype(np.float32, copy=False)
        opts = {"compression": "gzip", "compression_opts": 1, "chunks": (min(len(scores), 64) or 1, 4, scores.input_length)}
        if len(scores) == 0:
            opts = {}
        f.create_dataset("raw/seq", data=one_hot, **opts)
        f.create_dataset("shap/seq", data=hyp, **opts)
        f.create_dataset("projected_shap/seq", data=one_hot * hyp, **opts)
        f.create_dataset("loci/chrom", data=np.asarray(scores.chrom, dtype="S"))
        f.create_dataset("loci/start", data=np.asarray(scores.start, dtype=np.int64))
        f.create_dataset("loci/is_peak", data=np.asarray(scores.is_peak, dtype=bool))
        f.create_dataset("loci/delta", data=np.asarray(scores.delta, dtype=np.float32))
        f.attrs["format"] = FORMAT
        f.attrs["version"] = VERSION
        f.attrs["input_length"] = scores.input_length
        for key, value in scores.meta.items():
            f.attrs[key] = value if isinstance(value, (int, float, str, bool)) else json.dumps(value)
    tmp.replace(path)


@contextmanager
def open_scores(path: str | Path, label: str = "attributions") -> Iterator[tuple[Any, dict[str, Any], dict[str, np.ndarray]]]:
    """Open an attribution file for reading without loading its arrays: yields
    ``(h5py file, meta, loci)`` with ``loci`` the ``loci/*`` arrays. The format, the
    ``(N, 4, L)`` shapes of ``raw/seq`` and ``shap/seq`` and the loci lengths are checked
    first; every problem (also an unreadable file or a missing dataset met inside the
    ``with`` block) is a :class:`DataError` naming ``label`` and ``path``."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{label}: {path} does not exist; point it at counts.h5 or profile.h5 from an attribute stage")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT or "shap/seq" not in f or "raw/seq" not in f:
                raise DataError(
                    f"{label}: {path} is not a bpnet attribution file (no format={FORMAT!r} with raw/seq and shap/seq); "
                    "make it with the attribute stage"
                )
            shape = f["shap/seq"].shape
            if len(shape) != 3 or shape[1] != 4 or f["raw/seq"].shape != shape:
                raise DataError(
                    f"{label}: {path} holds raw/seq {f['raw/seq'].shape} and shap/seq {shape}; both must be (N, 4, L) "
                    "from the same windows"
                )
            loci = {name: f[f"loci/{name}"][...] for name in ("chrom", "start", "is_peak", "delta")}
            for name, values in loci.items():
                if len(values) != shape[0]:
                    raise DataError(
                        f"{label}: {path} loci/{name} has {len(values)} entries for {shape[0]} windows; re-run the attribute stage"
                    )
            meta = {k: _decode_attr(v) for k, v in f.attrs.items() if k not in ("format", "version")}
            yield f, meta, loci
    except OSError as error:
        raise DataError(f"{label}: cannot read {path} as HDF5 ({error}); re-run the attribute stage") from None
    except KeyError as error:
        raise DataError(f"{label}: {path} lacks {error}; re-run the attribute stage") from None


def read_scores(path: str | Path, *, input_length: int | None = None, label: str = "attributions") -> Scores:
    """Read an attribution file written by :func:`write_scores` and check it.

    ``input_length``, when given, is the window the caller expects (a model's input
    length, or another attribution file's): a file made for another window is refused
    with a :class:`DataError` naming both lengths. ``label`` names the spec field.
    """
    with open_scores(path, label) as (f, meta, loci):
        scores = Scores(
            one_hot=f["raw/seq"][...].astype(np.float32, copy=False),
            hypothetical=f["shap/seq"][...].astype(np.float32, copy=False),
            chrom=loci["chrom"].astype(str),
            start=loci["start"].astype(np.int64),
            is_peak=loci["is_peak"].astype(bool),
            delta=loci["delta"].astype(np.float32),
            meta=meta,
        )
    _check_shapes(scores, f"{label}: {path}")
    recorded = int(scores.meta.get("input_length", scores.input_length))
    if recorded != scores.input_length:
        raise DataError(
            f"{label}: {path} says its windows are {recorded} bp but its arrays are {scores.input_length} bp; "
            "the file was altered: re-run the attribute stage"
        )
    if input_length is not None and input_length != scores.input_length:
        raise DataError(
            f"{label}: {path} holds attributions of {scores.input_length} bp windows but {input_length} bp "
            "were expected (a different model window); attribute with the same model and loci"
        )
    return scores


def _check_shapes(scores: Scores, where: str) -> None:
    n = len(scores.one_hot)
    if scores.one_hot.ndim != 3 or scores.one_hot.shape[1] != 4:
        raise DataError(f"{where}: sequences must have shape (N, 4, L), not {scores.one_hot.shape}")
    if scores.hypothetical.shape != scores.one_hot.shape:
        raise DataError(
            f"{where}: attributions have shape {scores.hypothetical.shape} but sequences {scores.one_hot.shape}; "
            "both must come from the same windows"
        )
    for name in ("chrom", "start", "is_peak", "delta"):
        if len(getattr(scores, name)) != n:
            raise DataError(f"{where}: loci/{name} has {len(getattr(scores, name))} entries for {n} windows")


def _decode_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


__all__ = ["FORMAT", "HEADS", "Scores", "VERSION", "read_scores", "write_scores"]
