"""One-hot encoding in the official order (A, C, G, T; anything else all zeros)."""

from __future__ import annotations

import numpy as np

from bpnet.data import one_hot_encode, reverse_complement


def test_one_hot_order_case_and_unknown_bases():
    x = one_hot_encode("ACGTacgtNRx")
    assert x.shape == (4, 11) and x.dtype == np.float32
    assert x[:, :8].argmax(axis=0).tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert x[:, :8].sum(axis=0).tolist() == [1] * 8
    assert not x[:, 8:].any()


def test_reverse_complement_pairs_bases_and_reverses():
    x = one_hot_encode("AACGN")
    assert np.array_equal(reverse_complement(x), one_hot_encode("NCGTT"))
    assert np.array_equal(reverse_complement(np.stack([x, x]))[1], one_hot_encode("NCGTT"))
