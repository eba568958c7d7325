"""Training and evaluation batches from a :class:`~bpnet.data.loci.LociSet`.

Two paths give the same batches:

* :class:`LociDataset` + :class:`PeakNegativeSampler` in a ``torch.utils.data.DataLoader``
  (one locus per ``__getitem__``; workers allowed);
* :class:`BatchIterator` (:func:`make_batches`): the loci of a split are moved to the
  device once, and each batch is gathered, jittered, reverse-complemented and one-hot
  encoded there with a few vectorised tensor operations (no per-locus Python). On a
  lazy set (:meth:`LociSet.open <bpnet.data.loci.LociSet.open>`) it streams instead:
  the rows of a block of consecutive batches are read from ``loci.h5`` while the
  previous block is used, within a memory budget, and the batches are the same.

Augmentation per locus (training):

* **jitter**: the windows shift together by ``s`` bp, ``s`` uniform in
  ``[-max_jitter, +max_jitter]`` (both ends included; ``max_jitter=0`` means none).
  Peaks only by default (``jitter_negatives=False``), as the official ChromBPNet and
  bpnet-lite do.
* **reverse complement** with probability 1/2: the sequence is reversed and
  complemented, signals and controls are reversed along the length and the (+, -)
  tracks of each strand pair swap; unstranded tracks keep their place.

Every random choice is a pure function of ``(seed, epoch, locus)``: resuming at an
epoch reproduces it exactly, DataLoader workers never repeat each other's streams, and
the two paths agree batch for batch.

Each epoch (:func:`epoch_positions`) uses every peak of the split and
``round(negative_ratio * n_peaks)`` negatives drawn afresh without replacement (with
replacement only if there are too few), shuffled.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from bpnet.core.errors import InputError
from bpnet.data.loci import LociSet
from bpnet.data.loci_store import DEFAULT_MEMORY_MB
from bpnet.data.onehot import codes_to_one_hot

log = logging.getLogger("bpnet.train.samplers")

_COMPLEMENT = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
#: a streamed block holds at most this many bytes of rows (smaller blocks start an epoch sooner)
BLOCK_BYTES = 64 * 2**20


class Batch(NamedTuple):
    """One batch. ``X`` float32 one-hot ``(B, 4, input_length)``; ``X_ctl`` float32
    ``(B, C, control_length)`` or None; ``y`` float32 counts ``(B, T, output_length)``;
    ``is_peak`` bool ``(B,)`` on the device; ``index`` int64 ``(B,)`` on the CPU: rows of the
    :class:`LociSet`."""

    X: torch.Tensor
    X_ctl: torch.Tensor | None
    y: torch.Tensor
    is_peak: torch.Tensor
    index: torch.Tensor


# ---------------------------------------------------------------------- randomness


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def item_random(seed: int, epoch: int, index: np.ndarray) -> np.ndarray:
    """64 random bits per locus, a pure function of ``(seed, epoch, index)``."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    key = _mix(np.asarray([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64) + golden)
    key = _mix((key ^ np.uint64(epoch & 0xFFFFFFFFFFFFFFFF)) + golden)
    return _mix((np.asarray(index, dtype=np.int64).astype(np.uint64) ^ key) + golden)


def augmentation(
    seed: int, epoch: int, index: np.ndarray, is_peak: np.ndarray, *,
    max_jitter: int, reverse_complement: bool, jitter_negatives: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(shift int64 in ``[-max_jitter, max_jitter]``, flip bool) for loci ``index`` at ``epoch``."""
    bits = item_random(seed, epoch, index)
    shift = (bits % np.uint64(2 * max_jitter + 1)).astype(np.int64) - max_jitter
    if not jitter_negatives:
        shift = np.where(is_peak, shift, 0)
    flip = ((bits >> np.uint64(32)) & np.uint64(1)).astype(bool) if reverse_complement else np.zeros(len(bits), bool)
    return shift, flip


def strand_permutation(n_tracks: int, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Track order after reverse complement: each (plus, minus) pair swaps, others stay."""
    perm = np.arange(n_tracks)
    for plus, minus in pairs:
        perm[plus], perm[minus] = minus, plus
    return perm


def epoch_positions(
    is_peak: np.ndarray, negative_ratio: float | None, *, seed: int = 0, epoch: int = 0, shuffle: bool = True,
    num_replicas: int = 1, rank: int = 0,
) -> np.ndarray:
    """Positions (into ``is_peak``) of one epoch: all peaks plus fresh negatives.

    ``negative_ratio=None`` takes every negative once. Otherwise
    ``round(negative_ratio * n_peaks)`` negatives are drawn without replacement (with
    replacement if fewer exist). The order is shuffled with ``shuffle``, else sorted.
    With ``num_replicas > 1`` (DistributedDataParallel) the epoch is padded by wrapping
    around to a multiple of ``num_replicas`` and ``rank`` takes every ``num_replicas``-th.
    """
    peaks, negatives = np.flatnonzero(is_peak), np.flatnonzero(~np.asarray(is_peak, dtype=bool))
    rng = np.random.default_rng([seed & 0xFFFFFFFF, epoch, 0x10C1])
    if negative_ratio is None:
        chosen = negatives
    else:
        k = int(round(negative_ratio * len(peaks)))
        if k > len(negatives) and len(negatives):
            log.warning("only %d negatives for %d per epoch: drawing with replacement", len(negatives), k)
        chosen = rng.choice(negatives, size=k, replace=k > len(negatives)) if len(negatives) and k else negatives[:0]
    positions = np.concatenate([peaks, chosen])
    positions = rng.permutation(positions) if shuffle else np.sort(positions, kind="stable")
    if num_replicas > 1:
        total = math.ceil(len(positions) / num_replicas) * num_replicas
        positions = np.resize(positions, total)[rank::num_replicas]
    return positions


# ---------------------------------------------------------------------- map-style dataset


class LociDataset(Dataset):
    """Loci of a split as a map-style dataset (one locus per item).

    ``dataset[i]`` returns ``(X, X_ctl, y)`` with controls or ``(X, y)`` without
    (``labels=True`` appends ``is_peak`` as a float32 scalar): ``X`` float32 one-hot
    ``(4, input_length)``, ``X_ctl`` float32 ``(C, control_length)``, ``y`` float32
    ``(T, output_length)``. ``i`` is a position in ``0..len-1`` or a ``(position, epoch)``
    pair (what :class:`PeakNegativeSampler` yields, so persistent workers see the epoch).

    ``augment=False`` gives centred windows without reverse complement (evaluation).
    ``max_jitter`` defaults to the LociSet's and may be smaller. ``peaks`` keeps only
    peaks (True) or negatives (False). Memory: a view on the LociSet, no copy.
    """

    def __init__(
        self, loci: LociSet, split: str | Sequence[str] | None = None, *, peaks: bool | None = None,
        augment: bool = True, max_jitter: int | None = None, reverse_complement: bool = True,
        jitter_negatives: bool = False, seed: int = 0, labels: bool = False,
    ):
        self.loci = loci
        self.index = loci.select(split, peaks)
        self.is_peak = loci.is_peak[self.index]
        self.max_jitter = loci.max_jitter if max_jitter is None else int(max_jitter)
        if not 0 <= self.max_jitter <= loci.max_jitter:
            raise ValueError(f"max_jitter must be in 0..{loci.max_jitter} (the loci were extracted with that padding), not {max_jitter}")
        self.augment, self.reverse_complement, self.jitter_negatives = augment, reverse_complement, jitter_negatives
        self.seed, self.labels, self.epoch = seed, labels, 0
        self.signal_perm = strand_permutation(loci.n_signals, loci.signal_pairs)
        self.control_perm = strand_permutation(loci.n_controls, loci.control_pairs)

    def __len__(self) -> int:
        return len(self.index)

    def set_epoch(self, epoch: int) -> None:
        """The epoch used for plain integer positions."""
        self.epoch = int(epoch)

    def augmentation(self, positions: np.ndarray, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """(shift, flip) of the loci at ``positions`` in ``epoch`` (zeros without augmentation)."""
        positions = np.asarray(positions, dtype=np.int64)
        if not self.augment:
            return np.zeros(len(positions), np.int64), np.zeros(len(positions), bool)
        return augmentation(
            self.seed, epoch, self.index[positions], self.is_peak[positions], max_jitter=self.max_jitter,
            reverse_complement=self.reverse_complement, jitter_negatives=self.jitter_negatives,
        )

    def __getitem__(self, key: int | tuple[int, int]):
        position, epoch = key if isinstance(key, tuple) else (key, self.epoch)
        shift, flip = self.augmentation(np.array([position]), epoch)
        row, start, flip = self.index[position], self.loci.max_jitter + int(shift[0]), bool(flip[0])
        loci = self.loci
        codes = loci.codes[row, start : start + loci.input_length]
        y = loci.signals[row, :, start : start + loci.output_length]
        ctl = loci.controls[row, :, start : start + loci.control_length] if loci.n_controls else None
        if flip:
            codes = _COMPLEMENT[codes[::-1]]
            y = y[self.signal_perm, ::-1]
            ctl = ctl[self.control_perm, ::-1] if ctl is not None else None
        X = torch.from_numpy(codes_to_one_hot(codes))
        item = (
            [X]
            + ([torch.from_numpy(np.ascontiguousarray(ctl))] if ctl is not None else [])
            + [torch.from_numpy(np.ascontiguousarray(y))]
        )
        if self.labels:
            item.append(torch.tensor(float(self.is_peak[position])))
        return tuple(item)


class PeakNegativeSampler(Sampler):
    """Epoch sampler: every peak plus ``round(negative_ratio * n_peaks)`` fresh negatives.

    Yields ``(position, epoch)`` pairs for :class:`LociDataset`. Negatives are drawn
    without replacement each epoch (with replacement only if too few), shuffled, seeded
    by ``(seed, epoch)``; call :meth:`set_epoch` before each epoch.
    ``negative_ratio=None`` uses every negative every epoch. ``num_replicas``/``rank``
    shard the epoch for DistributedDataParallel.
    """

    def __init__(
        self, dataset: LociDataset | np.ndarray, negative_ratio: float | None = 0.333, *, seed: int = 0,
        shuffle: bool = True, num_replicas: int = 1, rank: int = 0,
    ):
        self.is_peak = dataset.is_peak if isinstance(dataset, LociDataset) else np.asarray(dataset, dtype=bool)
        self.negative_ratio, self.seed, self.shuffle = negative_ratio, seed, shuffle
        self.num_replicas, self.rank, self.epoch = num_replicas, rank, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def positions(self) -> np.ndarray:
        return epoch_positions(
            self.is_peak, self.negative_ratio, seed=self.seed, epoch=self.epoch, shuffle=self.shuffle,
            num_replicas=self.num_replicas, rank=self.rank,
        )

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch
        return iter([(int(p), epoch) for p in self.positions()])

    def __len__(self) -> int:
        n_peaks = int(self.is_peak.sum())
        n_negatives = len(self.is_peak) - n_peaks
        if self.negative_ratio is not None and n_negatives:
            n_negatives = int(round(self.negative_ratio * n_peaks))
        return math.ceil((n_peaks + n_negatives) / self.num_replicas)


def make_dataloader(
    loci: LociSet, split: str | Sequence[str] | None, batch_size: int = 64, *, train: bool = True,
    negative_ratio: float | None = 0.333, seed: int = 0, num_workers: int = 0, **dataset_options,
) -> DataLoader:
    """A DataLoader over :class:`LociDataset` with :class:`PeakNegativeSampler`.

    ``train=False``: centred windows, no reverse complement, every locus of the split
    in stored order. Call ``loader.sampler.set_epoch(epoch)`` before each epoch.
    """
    dataset = LociDataset(loci, split, augment=train, seed=seed, **dataset_options)
    sampler = PeakNegativeSampler(dataset, negative_ratio if train else None, seed=seed, shuffle=train)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers)


# ---------------------------------------------------------------------- device-resident batches


class BatchIterator:
    """Batches of one split gathered on ``device`` (GPU or CPU) without per-locus Python.

    On a GPU, the split's codes (uint8), signals and controls (float32) are copied to
    ``device`` once (:func:`~bpnet.data.loci.memory_per_locus` bytes per locus); on the CPU
    the LociSet's arrays are used in place (``copy=True`` copies the split there too).
    Each batch then costs
    three gathers, a reverse complement of the flipped rows and a one-hot comparison on
    the device. Batches equal :class:`LociDataset` + :class:`PeakNegativeSampler` with the
    same settings, seed and epoch.

    On a lazy LociSet (:meth:`~bpnet.data.loci.LociSet.open`) nothing is held between
    epochs: the epoch's batches are taken in blocks of consecutive batches; a block's rows
    are read from ``loci.h5`` (sorted, each once) while a background thread reads the
    next block, and each batch is gathered from its block exactly as above, so the
    batches are identical. The two blocks and the read's conversion buffer stay within
    ``memory_bytes`` (default: the set's, else :data:`DEFAULT_MEMORY_MB`);
    :attr:`peak_bytes` is the most they held. A budget too small for two blocks of one
    batch is an :class:`~bpnet.core.errors.InputError` (:func:`minimum_memory_bytes`).

    ``train=True``: jitter, reverse complement, all peaks + ``negative_ratio`` negatives
    per epoch, shuffled. ``train=False``: centred windows, no reverse complement, every
    locus of the split (``peaks`` narrows it) in stored order. Call :meth:`set_epoch`
    before iterating each epoch. Iterating yields :class:`Batch`.
    """

    def __init__(
        self, loci: LociSet, split: str | Sequence[str] | None = None, *, batch_size: int = 64,
        device: str | torch.device = "cpu", train: bool = True, negative_ratio: float | None = 0.333,
        peaks: bool | None = None, max_jitter: int | None = None, reverse_complement: bool = True,
        jitter_negatives: bool = False, seed: int = 0, shuffle: bool | None = None, drop_last: bool = False,
        num_replicas: int = 1, rank: int = 0, copy: bool | None = None, memory_bytes: int | None = None,
    ):
        self.dataset = LociDataset(
            loci, split, peaks=peaks, augment=train, max_jitter=max_jitter, reverse_complement=reverse_complement,
            jitter_negatives=jitter_negatives, seed=seed,
        )
        self.sampler = PeakNegativeSampler(
            self.dataset, negative_ratio if train else None, seed=seed, shuffle=train if shuffle is None else shuffle,
            num_replicas=num_replicas, rank=rank,
        )
        self.loci, self.batch_size, self.drop_last = loci, int(batch_size), drop_last
        self.device = torch.device(device)
        self.streamed, self.peak_bytes = loci.is_lazy, 0
        rows = self.dataset.index
        to = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(self.device)  # noqa: E731
        if self.streamed:
            budget = memory_bytes if memory_bytes is not None else getattr(loci.store, "memory_bytes", None)
            self.memory_bytes = int(budget if budget is not None else DEFAULT_MEMORY_MB * 2**20)
            self._batches_per_block = self._plan_blocks()
            self._file_row = loci.codes.file_rows(rows)  # the three arrays of a (view of a) lazy set share rows
            self.codes = self.signals = self.controls = None
        else:
            if not (self.device.type != "cpu" if copy is None else copy):  # share the LociSet's arrays
                stored, self._stored_row = (lambda a: torch.from_numpy(a)), rows
            else:  # copy only the split's loci to the device, once
                stored, self._stored_row = (lambda a: to(a[rows])), np.arange(len(rows))
            self.codes = stored(loci.codes)
            self.signals = stored(loci.signals)
            self.controls = stored(loci.controls) if loci.n_controls else None
        self.is_peak = to(self.dataset.is_peak)
        self.index = torch.from_numpy(rows.astype(np.int64))
        self._bases = torch.arange(4, device=self.device, dtype=torch.uint8).view(1, 4, 1)
        self._signal_perm = to(self.dataset.signal_perm)
        self._control_perm = to(self.dataset.control_perm)

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)
        self.sampler.set_epoch(epoch)

    @property
    def epoch(self) -> int:
        return self.sampler.epoch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        positions = self.sampler.positions()
        shifts, flips = self.dataset.augmentation(positions, self.epoch)
        if self.drop_last:
            positions = positions[: len(positions) // self.batch_size * self.batch_size]
        if self.streamed:
            yield from self._stream(positions, shifts, flips)
            return
        for first in range(0, len(positions), self.batch_size):
            last = first + self.batch_size
            yield self.batch(positions[first:last], shifts[first:last], flips[first:last])

    def batch(self, positions: np.ndarray, shifts: np.ndarray, flips: np.ndarray) -> Batch:
        """The batch of loci at ``positions`` (into the split) with the given shifts and flips."""
        positions = np.asarray(positions, np.int64)
        if self.streamed:  # one block of just these loci
            rows = self._file_row[positions]
            self._note_held(0, np.unique(rows))
            block = _Block(self.loci, np.unique(rows), self.device)
            return self._gather(block.codes, block.signals, block.controls, block.local(rows), positions, shifts, flips)
        local = self._stored_row[positions]
        return self._gather(self.codes, self.signals, self.controls, local, positions, shifts, flips)

    def _gather(
        self, codes: torch.Tensor, signals: torch.Tensor, controls: torch.Tensor | None, local: np.ndarray,
        positions: np.ndarray, shifts: np.ndarray, flips: np.ndarray,
    ) -> Batch:
        """The batch of rows ``local`` of the stored tensors (split ``positions``): windows, flips, one-hot."""
        loci, dev = self.loci, self.device
        row = torch.from_numpy(np.asarray(local, np.int64)).to(dev)
        start = torch.from_numpy(np.asarray(shifts, np.int64) + loci.max_jitter).to(dev)
        # unfold: a view of every window start; indexing it copies only the B chosen windows
        X = (codes.unfold(-1, loci.input_length, 1)[row, start][:, None, :] == self._bases).to(torch.float32)
        y = _windows(signals, row, start, loci.output_length)
        ctl = _windows(controls, row, start, loci.control_length) if controls is not None else None
        flipped = np.flatnonzero(flips)
        if len(flipped):
            f = torch.from_numpy(flipped).to(dev)
            X[f] = X[f].flip((1, 2))  # A C G T order: reversing the channels complements
            y[f] = y[f][:, self._signal_perm].flip(-1)
            if ctl is not None:
                ctl[f] = ctl[f][:, self._control_perm].flip(-1)
        at = torch.from_numpy(positions)
        return Batch(X, ctl, y, self.is_peak[at.to(dev)], self.index[at])

    # ------------------------------------------------------------------ streaming a lazy set

    def _plan_blocks(self) -> int:
        """Batches per block: as many as fit :data:`BLOCK_BYTES` and the budget (two blocks and a buffer)."""
        per_batch = check_memory_bytes(self.loci, self.batch_size, self.memory_bytes)
        target = max(1, BLOCK_BYTES // (self.batch_size * _row_bytes(self.loci)[0]))
        return int(max(1, min(self.memory_bytes // per_batch, target)))

    def _stream(self, positions: np.ndarray, shifts: np.ndarray, flips: np.ndarray) -> Iterator[Batch]:
        """The epoch's batches, block by block, the next block read in the background."""
        size = self._batches_per_block * self.batch_size
        bounds = [(first, min(first + size, len(positions))) for first in range(0, len(positions), size)]
        if not bounds:
            return
        rows_of = lambda k: np.unique(self._file_row[positions[bounds[k][0] : bounds[k][1]]])  # noqa: E731
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bpnet-loci-prefetch")
        try:
            block_rows = rows_of(0)
            self._note_held(0, block_rows)
            pending = pool.submit(_Block, self.loci, block_rows, self.device)
            for k, (first, last) in enumerate(bounds):
                block = pending.result()
                if k + 1 < len(bounds):
                    block_rows = rows_of(k + 1)
                    self._note_held(block.nbytes, block_rows)
                    pending = pool.submit(_Block, self.loci, block_rows, self.device)
                for a in range(first, last, self.batch_size):
                    b = min(a + self.batch_size, last)
                    local = block.local(self._file_row[positions[a:b]])
                    yield self._gather(block.codes, block.signals, block.controls, local, positions[a:b], shifts[a:b], flips[a:b])
                del block
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _note_held(self, held: int, next_rows: np.ndarray) -> None:
        """Record the bytes held while the block of ``next_rows`` is read next to ``held`` bytes."""
        block, staging = _row_bytes(self.loci)
        self.peak_bytes = max(self.peak_bytes, held + len(next_rows) * (block + staging))


def _row_bytes(loci: LociSet) -> tuple[int, int]:
    """(bytes of one locus of a lazy set in a block, bytes per locus of the largest conversion buffer of a read)."""
    arrays = [loci.codes, loci.signals] + ([loci.controls] if loci.n_controls else [])
    return sum(a.row_bytes for a in arrays), max(a.staging_bytes(1) for a in arrays)


def minimum_memory_bytes(loci: LociSet, batch_size: int) -> int:
    """The smallest ``memory_bytes`` that streams a lazy set in batches of ``batch_size``:
    two blocks of one batch and the conversion buffer of a read."""
    block, staging = _row_bytes(loci)
    return batch_size * (2 * block + staging)


def check_memory_bytes(loci: LociSet, batch_size: int, memory_bytes: int) -> int:
    """:func:`minimum_memory_bytes`; an :class:`~bpnet.core.errors.InputError` (one line, naming
    ``loci_memory_mb``) when ``memory_bytes`` is below it."""
    needed = minimum_memory_bytes(loci, batch_size)
    if needed > memory_bytes:
        where = loci.store.path if loci.store is not None else "the loci"
        raise InputError(
            f"loci_memory_mb {memory_bytes / 2**20:.4g} is too small to stream {where} in batches of {batch_size}: two "
            f"blocks of one batch take {needed / 2**20:.3g} MB; raise loci_memory_mb to at least "
            f"{math.ceil(needed / 2**20)} or lower batch_size"
        )
    return needed


class _Block:
    """The codes, signals and controls of file rows ``rows`` (sorted, unique) of a lazy set, as tensors on ``device``."""

    def __init__(self, loci: LociSet, rows: np.ndarray, device: torch.device):
        self.rows = rows
        arrays = [loci.codes.read_file_rows(rows, len(rows)), loci.signals.read_file_rows(rows, len(rows))]
        if loci.n_controls:
            arrays.append(loci.controls.read_file_rows(rows, len(rows)))
        self.nbytes = sum(a.nbytes for a in arrays)
        tensors = [torch.from_numpy(a).to(device) for a in arrays]
        self.codes, self.signals = tensors[0], tensors[1]
        self.controls = tensors[2] if loci.n_controls else None

    def local(self, rows: np.ndarray) -> np.ndarray:
        """Positions of file ``rows`` in this block."""
        return np.searchsorted(self.rows, rows)


def _windows(data: torch.Tensor, pos: torch.Tensor, start: torch.Tensor, length: int) -> torch.Tensor:
    """``data[pos[b], :, start[b]:start[b] + length]`` for every b, as one ``(B, tracks, length)`` tensor."""
    tracks = torch.arange(data.shape[1], device=data.device)
    return data.unfold(-1, length, 1)[pos[:, None], tracks[None, :], start[:, None]]


def make_batches(
    loci: LociSet, split: str | Sequence[str] | None, batch_size: int = 64, device: str | torch.device = "cpu",
    *, train: bool = True, **options,
) -> BatchIterator:
    """:class:`BatchIterator` for ``split``: training batches (``train=True``: jitter, RC,
    negatives re-drawn each epoch) or evaluation batches (centred, every locus, in order)."""
    return BatchIterator(loci, split, batch_size=batch_size, device=device, train=train, **options)


__all__ = [
    "DEFAULT_MEMORY_MB", "Batch", "BatchIterator", "LociDataset", "PeakNegativeSampler", "augmentation", "check_memory_bytes",
    "epoch_positions", "item_random", "make_batches", "make_dataloader", "minimum_memory_bytes", "strand_permutation",
]
