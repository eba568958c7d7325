"""Samplers: jitter, strand-aware reverse complement, per-epoch negatives, and the fast batch path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bpnet.data.loci import LociSet
from bpnet.train.samplers import (
    BatchIterator,
    LociDataset,
    PeakNegativeSampler,
    augmentation,
    epoch_positions,
    make_batches,
    make_dataloader,
)

torch.set_num_threads(1)

LIN, LOUT, J = 30, 10, 4
COMPLEMENT = np.array([3, 2, 1, 0, 4])


def make_loci(n_peaks: int = 10, n_negatives: int = 30, max_jitter: int = J, controls: bool = True, seed: int = 0) -> LociSet:
    """Random codes and distinct signal values; signals (+, -, .), controls (+, -)."""
    rng = np.random.default_rng(seed)
    n = n_peaks + n_negatives
    w_x, w_y = LIN + 2 * max_jitter, LOUT + 2 * max_jitter
    n_ctl = 2 if controls else 0
    return LociSet(
        chrom=np.array(["chr1"] * n), centre=np.arange(n) * 1000 + 500, is_peak=np.arange(n) < n_peaks,
        split=np.array(["train", "valid"] * (n // 2) + ["train"] * (n % 2)), source_row=np.arange(n),
        codes=rng.integers(0, 5, (n, w_x), dtype=np.uint8),
        signals=rng.random((n, 3, w_y), dtype=np.float32), controls=rng.random((n, n_ctl, w_y), dtype=np.float32),
        input_length=LIN, output_length=LOUT, control_length=LOUT, max_jitter=max_jitter,
        signal_names=["s/plus.bw", "s/minus.bw", "u.bw"], signal_strands=["+", "-", "."], signal_pairs=[(0, 1)],
        control_names=["c/plus.bw", "c/minus.bw"][:n_ctl], control_strands=["+", "-"][:n_ctl],
        control_pairs=[(0, 1)] if controls else [],
    )


def one_hot(codes: np.ndarray) -> np.ndarray:
    return np.vstack([np.eye(4), np.zeros((1, 4))])[codes].T.astype(np.float32)


def test_jitter_covers_minus_to_plus_max_jitter_inclusive():
    index = np.arange(20_000)
    shift, flip = augmentation(0, 0, index, np.ones(len(index), bool), max_jitter=3, reverse_complement=True)
    assert set(shift.tolist()) == set(range(-3, 4))
    assert np.bincount(shift + 3).min() > 20_000 / 7 * 0.9
    assert 0.48 < flip.mean() < 0.52


def test_items_are_the_window_shifted_by_the_drawn_jitter():
    loci = make_loci()
    ds = LociDataset(loci, reverse_complement=False)
    shifts, _ = ds.augmentation(np.arange(len(ds)), 0)
    assert shifts[ds.is_peak].any() and not shifts[~ds.is_peak].any()  # negatives stay centred by default
    for i in range(len(ds)):
        X, X_ctl, y = ds[i]
        start = J + shifts[i]
        assert X.shape == (4, LIN) and X.dtype == torch.float32
        assert np.array_equal(X.numpy(), one_hot(loci.codes[i, start : start + LIN]))
        assert np.array_equal(y.numpy(), loci.signals[i, :, start : start + LOUT])
        assert np.array_equal(X_ctl.numpy(), loci.controls[i, :, start : start + LOUT])


def test_jitter_negatives_shifts_negatives_too():
    ds = LociDataset(make_loci(), jitter_negatives=True)
    shifts, _ = ds.augmentation(np.arange(len(ds)), 0)
    assert shifts[~ds.is_peak].any()


def test_max_jitter_zero_works_for_loci_and_for_the_sampler():
    unpadded = LociDataset(make_loci(max_jitter=0))
    X, X_ctl, y = unpadded[0]
    assert X.shape == (4, LIN) and y.shape == (3, LOUT)
    loci = make_loci()
    centred = LociDataset(loci, max_jitter=0, reverse_complement=False)
    assert all(np.array_equal(centred[i][2].numpy(), loci.signals[i, :, J : J + LOUT]) for i in range(len(centred)))
    with pytest.raises(ValueError, match="max_jitter"):
        LociDataset(loci, max_jitter=J + 1)


def test_reverse_complement_swaps_strand_pairs_and_keeps_unstranded_tracks():
    loci = make_loci()
    ds = LociDataset(loci, max_jitter=0)
    _, flips = ds.augmentation(np.arange(len(ds)), 0)
    i = int(np.flatnonzero(flips)[0])
    X, X_ctl, y = ds[i]
    codes = loci.codes[i, J : J + LIN]
    assert np.array_equal(X.numpy(), one_hot(COMPLEMENT[codes[::-1]]))
    fwd = loci.signals[i, :, J : J + LOUT]
    assert np.array_equal(y[0].numpy(), fwd[1, ::-1])  # + <- reversed -
    assert np.array_equal(y[1].numpy(), fwd[0, ::-1])  # - <- reversed +
    assert np.array_equal(y[2].numpy(), fwd[2, ::-1])  # unstranded stays, reversed
    ctl = loci.controls[i, :, J : J + LOUT]
    assert np.array_equal(X_ctl.numpy(), ctl[::-1, ::-1])


def test_reverse_complement_of_unstranded_multitask_data_keeps_track_order():
    loci = make_loci(controls=False)
    loci.signal_pairs, loci.signal_strands = [], [".", ".", "."]
    ds = LociDataset(loci, max_jitter=0)
    _, flips = ds.augmentation(np.arange(len(ds)), 0)
    i = int(np.flatnonzero(flips)[0])
    X, y = ds[i]  # no controls: (X, y)
    assert np.array_equal(y.numpy(), loci.signals[i, :, J : J + LOUT][:, ::-1])


def test_each_epoch_has_all_peaks_and_the_ratio_of_fresh_negatives():
    is_peak = np.arange(40) < 10
    sampler = PeakNegativeSampler(is_peak, negative_ratio=0.5, seed=1)
    seen = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        positions = [p for p, e in sampler]
        assert len(positions) == len(sampler) == 15
        assert sorted(p for p in positions if p < 10) == list(range(10))
        negatives = [p for p in positions if p >= 10]
        assert len(negatives) == len(set(negatives)) == 5
        seen.append(frozenset(negatives))
    assert len(set(seen)) == 3  # drawn afresh each epoch


def test_same_seed_and_epoch_reproduce_the_epoch_exactly():
    is_peak = np.arange(40) < 10
    a = epoch_positions(is_peak, 0.5, seed=7, epoch=4)
    assert np.array_equal(a, epoch_positions(is_peak, 0.5, seed=7, epoch=4))
    assert not np.array_equal(a, epoch_positions(is_peak, 0.5, seed=8, epoch=4))
    assert not np.array_equal(a, epoch_positions(is_peak, 0.5, seed=7, epoch=5))


def test_too_few_negatives_are_drawn_with_replacement():
    positions = epoch_positions(np.arange(12) < 10, 1.0)
    assert len(positions) == 20 and (positions >= 10).sum() == 10


def test_negative_ratio_none_uses_every_negative_once():
    positions = epoch_positions(np.arange(40) < 10, None, shuffle=False)
    assert positions.tolist() == list(range(40))


def test_distributed_shards_split_one_epoch_between_ranks():
    is_peak = np.arange(40) < 11
    full = epoch_positions(is_peak, 0.333, seed=3, epoch=2)
    shards = [epoch_positions(is_peak, 0.333, seed=3, epoch=2, num_replicas=3, rank=r) for r in range(3)]
    assert len({len(s) for s in shards}) == 1
    assert set(np.concatenate(shards).tolist()) == set(full.tolist())


def test_the_epoch_travels_with_the_sampler_index():
    ds = LociDataset(make_loci())
    ds.set_epoch(5)
    a = ds[3]
    ds.set_epoch(0)
    b = ds[(3, 5)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_dataloader_without_workers_gives_batches_with_labels():
    loader = make_dataloader(make_loci(), "train", batch_size=4, negative_ratio=1.0, labels=True)
    batches = list(loader)
    assert len(loader.sampler) == 10  # 5 training peaks + 5 negatives
    X, X_ctl, y, label = batches[0]
    assert X.shape == (4, 4, LIN) and X_ctl.shape == (4, 2, LOUT) and y.shape == (4, 3, LOUT)
    assert sum(b[3].sum().item() for b in batches) == 5


@pytest.mark.parametrize("controls", [True, False])
@pytest.mark.parametrize("train", [True, False])
def test_fast_path_gives_the_same_batches_as_the_dataset(controls, train):
    loci = make_loci(controls=controls)
    loader = make_dataloader(loci, "train", batch_size=6, train=train, negative_ratio=1.0, seed=11)
    fast = make_batches(loci, "train", batch_size=6, train=train, negative_ratio=1.0, seed=11)
    for epoch in (0, 3):
        loader.sampler.set_epoch(epoch)
        fast.set_epoch(epoch)
        slow_batches, fast_batches = list(loader), list(fast)
        assert len(slow_batches) == len(fast_batches) == len(fast)
        for slow, batch in zip(slow_batches, fast_batches):
            X, y = slow[0], slow[-1]
            assert torch.equal(batch.X, X) and torch.equal(batch.y, y)
            if controls:
                assert torch.equal(batch.X_ctl, slow[1])
            else:
                assert batch.X_ctl is None
            assert torch.equal(batch.is_peak, torch.from_numpy(loci.is_peak[batch.index.numpy()]))


def test_a_copied_split_gives_the_same_batches_as_the_shared_arrays():
    loci = make_loci()
    shared = make_batches(loci, "valid", batch_size=5, seed=4)
    copied = make_batches(loci, "valid", batch_size=5, seed=4, copy=True)
    assert copied.codes.shape[0] == len(loci.select("valid")) and shared.codes.shape[0] == len(loci)
    for a, b in zip(shared, copied):
        assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y) and torch.equal(a.X_ctl, b.X_ctl)
        assert torch.equal(a.index, b.index) and torch.equal(a.is_peak, b.is_peak)


def test_evaluation_batches_are_centred_unflipped_and_in_stored_order():
    loci = make_loci()
    batches = list(make_batches(loci, "valid", batch_size=7, train=False, peaks=True))
    index = torch.cat([b.index for b in batches]).numpy()
    assert index.tolist() == loci.select("valid", peaks=True).tolist()
    y = torch.cat([b.y for b in batches]).numpy()
    assert np.array_equal(y, loci.signals[index, :, J : J + LOUT])
    X = torch.cat([b.X for b in batches]).numpy()
    assert np.array_equal(X[0], one_hot(loci.codes[index[0], J : J + LIN]))


def test_drop_last_and_len():
    it = BatchIterator(make_loci(), "train", batch_size=4, negative_ratio=1.0, drop_last=True)
    assert len(it) == 2 and [len(b.index) for b in it] == [4, 4]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_batches_equal_cpu_batches():
    loci = make_loci()
    cpu = make_batches(loci, "train", batch_size=8, seed=2)
    gpu = make_batches(loci, "train", batch_size=8, device="cuda", seed=2)
    for a, b in zip(cpu, gpu):
        assert b.X.is_cuda and torch.equal(a.X, b.X.cpu()) and torch.equal(a.y, b.y.cpu())
        assert torch.equal(a.X_ctl, b.X_ctl.cpu()) and torch.equal(a.index, b.index)


def test_simulated_chip_loci_feed_bpnet_with_strands_kept_under_reverse_complement(tmp_path):
    """Integration: simulate ChIP -> extract_loci -> fast batches -> a BPNet forward pass."""
    from bpnet.core.architectures.bpnet import BPNet
    from bpnet.data.intervals import Intervals
    from bpnet.data.loci import extract_loci
    from bpnet.data.simulate import simulate
    from bpnet.data.sources.bed import read_bed

    sim = simulate(tmp_path / "sim", kind="chip", seed=0, genome_size=200_000, n_chroms=2, n_peaks=40)
    peaks = read_bed(sim.peaks)
    negatives = Intervals(peaks.chrom, peaks.start + 2500, peaks.start + 2600)
    loci = extract_loci(sim.genome, sim.peaks, negatives, [sim.signal], [sim.control_signal])
    assert loci.n_peaks > 20 and loci.signal_pairs == [(0, 1)] and loci.control_pairs == [(0, 1)]
    counts = loci.total_counts()
    assert counts[loci.is_peak].mean() > 3 * counts[~loci.is_peak].mean()

    batches = make_batches(loci, None, batch_size=16, negative_ratio=0.5, seed=0)
    model = BPNet(n_filters=8, n_layers=2, n_outputs=2, n_control_tracks=2).eval()
    _, flips = batches.dataset.augmentation(batches.sampler.positions(), 0)
    flipped_peaks = []
    for k, batch in enumerate(batches):
        assert batch.X.shape[1:] == (4, 2114) and batch.X_ctl.shape[1:] == (2, 1000) and batch.y.shape[1:] == (2, 1000)
        with torch.no_grad():
            profile, log_counts = model(batch.X, batch.X_ctl)
        assert profile.shape == batch.y.shape and log_counts.shape == (len(batch.y), 1)
        flipped_peaks.append(batch.y[batch.is_peak & torch.from_numpy(flips[k * 16 : (k + 1) * 16])])
    # ChIP footprint: + strand 5' ends lie upstream (left) of the site, - strand downstream;
    # reverse-complemented peaks keep that only if the strands swap as the sequence turns
    y = torch.cat(flipped_peaks)
    assert len(y) >= 5
    assert y[:, 0, :500].sum() > 1.5 * y[:, 0, 500:].sum() and y[:, 1, 500:].sum() > 1.5 * y[:, 1, :500].sum()
