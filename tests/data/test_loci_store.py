"""loci.h5 storage: whole-number counts stored compactly and exactly, older files still read,
and a lazily opened set (LociSet.open) that reads any rows on demand like the loaded one."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from bpnet.data.errors import DataError
from bpnet.data.loci import VERSION, LociSet

ARRAYS = ("codes", "signals", "controls")


def stored_dtypes(path: Path) -> dict[str, np.dtype]:
    with h5py.File(path) as f:
        return {name: f[name].dtype for name in ARRAYS}


def assert_same(a: LociSet, b: LociSet) -> None:
    for name in ("chrom", "centre", "is_peak", "split", "source_row", *ARRAYS):
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.dtype == y.dtype and np.array_equal(x, y), name


def test_the_loci_stage_stores_read_counts_as_uint8_and_they_load_as_the_same_float32(preprocessed):
    path = preprocessed["chip_loci"]
    assert stored_dtypes(path) == {"codes": np.uint8, "signals": np.uint8, "controls": np.uint8}
    loci = LociSet.load(path)
    assert loci.signals.dtype == loci.controls.dtype == np.float32 and not loci.is_lazy
    assert loci.signals.max() > 1 and np.array_equal(loci.signals, np.round(loci.signals))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s * 200, np.uint16),  # up to 65535
        (lambda s: s + 70_000, np.uint32),
        (lambda s: s + 2.0**33, np.float32),  # beyond uint32
        (lambda s: s + 0.5, np.float32),  # not whole numbers
        (lambda s: s - 1, np.float32),  # negative
        (lambda s: np.where(s > 3, np.nan, s), np.float32),
    ],
)
def test_counts_are_stored_as_the_smallest_exact_type_and_read_back_unchanged(preprocessed, tmp_path, change, expected):
    loci = LociSet.load(preprocessed["chip_loci"])
    loci.signals = change(loci.signals).astype(np.float32)
    loci.save(tmp_path / "loci.h5")
    assert stored_dtypes(tmp_path / "loci.h5")["signals"] == expected
    back = LociSet.load(tmp_path / "loci.h5")
    assert back.signals.dtype == np.float32
    assert np.array_equal(back.signals, loci.signals, equal_nan=True)
    assert np.array_equal(back.controls, loci.controls) and np.array_equal(back.codes, loci.codes)


def test_a_version_2_file_of_float32_counts_still_loads_eagerly_and_lazily(preprocessed, tmp_path):
    loci = LociSet.load(preprocessed["chip_loci"])
    old = tmp_path / "v2.h5"
    with h5py.File(preprocessed["chip_loci"]) as new, h5py.File(old, "w") as out:
        out.attrs.update(dict(new.attrs))
        out.attrs["version"] = 2  # as bpnet-data wrote it before compact storage: float32 counts
        for name, dataset in new.items():
            out[name] = dataset[()].astype(np.float32) if name in ("signals", "controls") else dataset[()]
    assert VERSION == 3 and stored_dtypes(old)["signals"] == np.float32
    assert_same(LociSet.load(old), loci)
    with LociSet.open(old) as lazy:
        assert_same(lazy.in_memory(), loci)


def test_a_file_from_a_newer_format_is_refused_with_what_to_do(preprocessed, tmp_path):
    newer = tmp_path / "newer.h5"
    newer.write_bytes(preprocessed["chip_loci"].read_bytes())
    with h5py.File(newer, "a") as f:
        f.attrs["version"] = VERSION + 1
    with pytest.raises(DataError, match="newer than this bpnet-data reads.*upgrade bpnet-data"):
        LociSet.load(newer)


def test_a_lazy_set_reads_any_rows_in_any_order_like_the_loaded_one(preprocessed):
    loci = LociSet.load(preprocessed["chip_loci"])
    n = len(loci)
    with LociSet.open(preprocessed["chip_loci"]) as lazy:
        assert lazy.is_lazy and lazy.signals.shape == loci.signals.shape and lazy.nbytes == loci.nbytes
        order = np.array([n - 1, 5, 3, 3, 0, 7, 6])  # unsorted, repeated
        for index in (order, slice(3, 40, 4), loci.is_peak, np.array([], np.int64)):
            for name in ARRAYS:
                got, want = getattr(lazy, name)[index], getattr(loci, name)[index]
                assert got.dtype == want.dtype and np.array_equal(got, want), (name, index)
        assert np.array_equal(lazy.signals[-1], loci.signals[-1])
        assert np.array_equal(lazy.codes[order, 4:20], loci.codes[order, 4:20])
        assert np.array_equal(lazy.controls[order][..., 2:9], loci.controls[order][..., 2:9])
        assert np.array_equal(lazy.centred_codes(order), loci.centred_codes(order))
        for padded in (False, True):
            assert np.array_equal(lazy.total_counts(padded=padded), loci.total_counts(padded=padded))
            assert np.array_equal(lazy.track_counts(order, padded=padded), loci.track_counts(order, padded=padded))
        view = lazy.subset(order).subset(np.array([4, 0, 1]))  # a view of a view reads nothing until asked
        assert view.is_lazy and np.array_equal(np.asarray(view.signals), loci.signals[order][[4, 0, 1]])
        assert_same(lazy.subset(loci.is_peak).in_memory(), loci.subset(loci.is_peak))
    with pytest.raises(DataError, match="closed"):
        lazy.signals[[0]]


def test_a_lazy_set_saves_the_same_file_and_a_repacked_chunked_file_reads_the_same(preprocessed, tmp_path):
    loci = LociSet.load(preprocessed["chip_loci"])
    with LociSet.open(preprocessed["chip_loci"]) as lazy:
        lazy.save(tmp_path / "copy.h5")
    assert_same(LociSet.load(tmp_path / "copy.h5"), loci)
    chunked = tmp_path / "chunked.h5"  # as h5repack -f GZIP would leave it: read through h5py instead
    with h5py.File(preprocessed["chip_loci"]) as src, h5py.File(chunked, "w") as out:
        out.attrs.update(dict(src.attrs))
        for name, dataset in src.items():
            options = {"chunks": True, "compression": "gzip"} if name in ARRAYS and dataset.size else {}
            out.create_dataset(name, data=dataset[()], **options)
    with LociSet.open(chunked) as lazy:
        rows = np.array([9, 2, 2, 30])
        assert np.array_equal(lazy.signals[rows], loci.signals[rows]) and np.array_equal(lazy.codes[rows], loci.codes[rows])
    assert_same(LociSet.load(chunked), loci)
