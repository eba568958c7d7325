"""One-hot encoding of DNA in the order every official model uses: A, C, G, T.

Lower case is upper-cased first; any other character (N, IUPAC codes) is an all-zero
column, as in the official ``dna_to_one_hot``.
"""

from __future__ import annotations

import numpy as np

_LOOKUP = np.full(256, 4, dtype=np.int64)
for _i, _base in enumerate("ACGT"):
    _LOOKUP[ord(_base)] = _i
    _LOOKUP[ord(_base.lower())] = _i
_EYE = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])


_CODE_TABLE = bytes(_LOOKUP.astype(np.uint8).tolist())


def encode_codes(sequence: str | bytes) -> np.ndarray:
    """uint8 codes of ``sequence``: A=0, C=1, G=2, T=3 (either case), anything else 4."""
    raw = sequence.encode("latin-1") if isinstance(sequence, str) else bytes(sequence)
    return np.frombuffer(bytearray(raw.translate(_CODE_TABLE)), dtype=np.uint8)


def codes_to_one_hot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """``(..., 4, L)`` one-hot of ``(..., L)`` codes (code 4 is an all-zero column)."""
    return np.ascontiguousarray(np.moveaxis(_EYE.astype(dtype)[codes], -1, -2))


def one_hot_encode(sequence: str) -> np.ndarray:
    """``(4, len(sequence))`` float32 one-hot of ``sequence`` (A, C, G, T rows)."""
    codes = _LOOKUP[np.frombuffer(sequence.encode("latin-1"), dtype=np.uint8)]
    return np.ascontiguousarray(_EYE[codes].T)


def reverse_complement(one_hot: np.ndarray) -> np.ndarray:
    """Reverse complement of a ``(..., 4, L)`` one-hot array (A<->T, C<->G, reversed)."""
    return one_hot[..., ::-1, ::-1].copy()
