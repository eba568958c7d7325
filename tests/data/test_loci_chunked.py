"""The loci stage at scale: windows read and written a chunk of rows at a time, the same loci.h5 as in memory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.data import loci as loci_module
from bpnet.data.bigwig_io import write_bigwig
from bpnet.data.loci import LociSet, count_outliers, extract_loci
from bpnet.data.splits import Fold, Splits
from bpnet.data.tracks import Track, TrackSet
from bpnet.data.window_reads import SequenceWindows, TrackWindows

from ..conftest import random_sequence, write_fasta

SIZES = {"chr1": 120_000, "chr2": 80_000}
LIN, LOUT, J, N_PEAKS = 1000, 500, 50, 700


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """A genome, Poisson counts on a stranded signal (a few loud spots) and a control, peaks in
    shuffled order with summits, negatives and a two-split fold."""
    tmp = tmp_path_factory.mktemp("chunked")
    rng = np.random.default_rng(7)
    genome = write_fasta(tmp / "genome.fa", {c: random_sequence(n, i) for i, (c, n) in enumerate(SIZES.items())})
    counts = {c: rng.poisson(0.6, (3, n)).astype(np.float32) for c, n in SIZES.items()}
    counts["chr1"][:2, 50_000:50_300] += 400  # loud training peaks the outlier filter drops
    signal = tmp / "signal"
    signal.mkdir()
    write_bigwig(signal / "plus.bw", SIZES, {c: v[0] for c, v in counts.items()})
    write_bigwig(signal / "minus.bw", SIZES, {c: v[1] for c, v in counts.items()})
    TrackSet(tracks=[Track(file="plus.bw", strand="+"), Track(file="minus.bw", strand="-")]).write(signal)
    write_bigwig(tmp / "control.bw", SIZES, {c: v[2] for c, v in counts.items()})
    rows = []
    for i in range(N_PEAKS):
        chrom = "chr1" if i % 3 else "chr2"
        start = int(rng.integers(1000, SIZES[chrom] - 1500))
        rows.append(f"{chrom}\t{start}\t{start + 300}\tp{i}\t0\t.\t1\t-1\t-1\t{int(rng.integers(0, 300))}\n")
    rows += [f"chr1\t{s}\t{s + 300}\tloud{s}\t0\t.\t1\t-1\t-1\t150\n" for s in range(49_900, 50_200, 100)]
    (tmp / "peaks.narrowPeak").write_text("".join(rows))  # in no order, as peaks sorted by score are
    (tmp / "negatives.bed").write_text(
        "".join(f"chr2\t{s}\t{s + 300}\n" for s in rng.integers(1000, SIZES["chr2"] - 1500, 300).tolist())
    )
    Splits(folds={"fold_0": Fold(train=["chr1"], valid=["chr2"])}).write(tmp / "splits.json")
    return {"genome": genome, "signal": signal, "control": tmp / "control.bw", "peaks": tmp / "peaks.narrowPeak",
            "negatives": tmp / "negatives.bed", "splits": tmp / "splits.json", "dir": tmp}


def extract(data, lazy: bool) -> LociSet:
    fold = Fold(train=["chr1"], valid=["chr2"])
    return extract_loci(
        data["genome"], data["peaks"], data["negatives"], [data["signal"]], [data["control"]], input_length=LIN,
        output_length=LOUT, max_jitter=J, fold=fold, fold_name="fold_0", lazy=lazy,
    )


def test_lazy_extraction_reads_the_windows_of_the_in_memory_set_in_any_order(data):
    whole = extract(data, lazy=False)
    with extract(data, lazy=True) as lazy:
        assert lazy.is_lazy and not whole.is_lazy and len(lazy) == len(whole) == N_PEAKS + 3 + 300
        rows = np.random.default_rng(0).permutation(len(whole))[:200]
        rows = np.concatenate([rows, rows[:5]])  # repeated rows too
        for name in ("codes", "signals", "controls"):
            assert np.array_equal(getattr(lazy, name)[rows], getattr(whole, name)[rows]), name
        view = lazy.subset(whole.is_peak)
        assert view.is_lazy and np.array_equal(np.asarray(view.signals), whole.signals[whole.is_peak])
        assert np.array_equal(lazy.total_counts(padded=True), whole.total_counts(padded=True))


def spec(tmp_path: Path, data) -> Path:
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(f"""
        output_dir: {tmp_path / 'out'}
        stages:
          loci:
            stage: loci
            params:
              genome: {data['genome']}
              peaks: {data['peaks']}
              negatives: {data['negatives']}
              signals: [{data['signal']}]
              controls: [{data['control']}]
              splits: {data['splits']}
              input_length: {LIN}
              output_length: {LOUT}
              max_jitter: {J}
    """))
    return path


def datasets(path: Path) -> dict:
    with h5py.File(path, "r") as f:
        return {"attrs": dict(f.attrs), **{name: (f[name].dtype, f[name][()]) for name in f}}


def test_the_stage_writes_the_in_memory_file_holding_one_chunk_of_windows_at_a_time(data, tmp_path, monkeypatch, capsys):
    whole = extract(data, lazy=False)
    outliers = count_outliers(whole)
    assert outliers.sum() >= 3  # the loud peaks (and random ones overlapping them)
    whole.subset(~outliers).save(tmp_path / "in-memory.h5")

    chunk = 32 * 1024  # the windows take 8.3 MB
    monkeypatch.setattr(loci_module, "CHUNK_BYTES", chunk)
    largest: dict[str, int] = {}
    for kind in (SequenceWindows, TrackWindows):  # record the bytes of every read of windows, then read them
        def reading(self, rows, out, staging_rows, read=kind._read_sorted):
            largest[self.name] = max(largest.get(self.name, 0), len(rows) * self.row_bytes)
            read(self, rows, out, staging_rows)

        monkeypatch.setattr(kind, "_read_sorted", reading)
    code = run_cli(["run", str(spec(tmp_path, data))])
    assert code == 0, capsys.readouterr()
    written = datasets(tmp_path / "out/loci/loci.h5")
    expected = datasets(tmp_path / "in-memory.h5")
    assert written.keys() == expected.keys()
    assert written.pop("attrs") == expected.pop("attrs")
    for name, (dtype, values) in expected.items():
        assert written[name][0] == dtype and np.array_equal(written[name][1], values), name
    assert written["signals"][0] == np.uint8  # whole counts stored compactly (the loud peaks, over 255, dropped)
    assert whole.nbytes > 8e6 and set(largest) == {"codes", "tracks"}
    assert max(largest.values()) <= chunk, largest  # never more than one chunk of windows at a time
