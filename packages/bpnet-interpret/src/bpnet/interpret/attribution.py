"""DeepLIFT/SHAP attributions of bpnet models, run through tangermeme.

What is explained (the *target*), per head, with the wrappers of
:mod:`bpnet.core.architectures.wrappers`:

* ``counts``: ``CountWrapper(ControlWrapper(model))``, the predicted total log count;
* ``profile``: ``ProfileWrapper(ControlWrapper(model))``, the official profile target
  ``sum(softmax(logits) * (logits - mean(logits)))`` over all tracks and positions; its
  ``z * softmax(z)`` step gets one rescale rule, as in bpnet-lite
  (:func:`bpnet.core.deeplift_rules`).

``ControlWrapper`` feeds **all-zero control tracks** to models that take them, as the
official BPNet/ChromBPNet code and bpnet-lite do: the attributions explain the sequence
alone, not the experiment's input track. For a ChromBPNet the de-biased
``accessibility`` model is explained by default (``submodel="auto"``, :func:`bpnet.core.outputs.select_submodel`).

How it runs. For each sequence, ``n_shuffles`` dinucleotide-shuffled references are
drawn with tangermeme's ``dinucleotide_shuffle``; reference ``k`` of *every* sequence is
drawn with seed ``seed + k``, exactly as ``tangermeme.deep_lift_shap(...,
random_state=seed)`` draws them, so the references do not depend on the batch size or
on which other sequences are attributed. The references of a chunk of sequences are
drawn in one vectorised call, then ``tangermeme.deep_lift_shap`` runs the
(sequence, reference) pairs ``batch_size`` at a time and returns the multipliers
(``raw_outputs=True``). Chunks follow one grid over the whole set of sequences
(:func:`chunk_end`): a call that attributes a later part of the set (a shard; its
``start``) cuts the same chunks, so every sequence is computed with the same batch-mates
and gets the same bits whichever part it is attributed in. From the multipliers, here:

* hypothetical contributions of base ``b`` at position ``l``:
  ``mean_k [m_k[b, l] - sum_c ref_k[c, l] * m_k[c, l]]`` (what tangermeme's
  ``hypothetical=True`` computes), averaged over the models (folds) too;
* the **convergence delta** of each pair, ``sum((X - ref_k) * m_k) - (f(X) - f(ref_k))``:
  zero when the attributions add up to the change of the target. ``f`` is read from
  the forward pass DeepLIFT already makes (a small recording module around the target),
  so no extra pass is needed. Per window the signed mean over references and models is
  kept; it is also exactly ``sum(observed attributions) - (f(X) - mean_k f(ref_k))`` for
  windows without N. The mean and largest absolute pair deltas are reported, and a
  warning is logged when the largest exceeds the tolerance.

Checks before a model is run (each a :class:`~bpnet.data.errors.DataError` naming the
model folder and what to do):

* a module whose type is a known non-linearity (``torch.nn`` activations, max pooling,
  recurrent layers, attention, per-sample normalisation) with no rule in tangermeme's
  table (``_build_nonlinear_ops``; rules match exact types, so a subclass of ``ReLU``
  has none) would be treated as linear: refused up front;
* non-linearities DeepLIFT cannot see at all (``torch.relu`` or ``F.softplus`` called
  in ``forward``) are caught by a probe: the first :data:`PROBE_SEQUENCES` sequences
  are attributed first, and when their mean absolute delta exceeds
  :data:`PROBE_RELATIVE_LIMIT` of the mean absolute change of the target the model is
  refused. The probe's results are kept, so it costs nothing extra.

Precision: ``auto`` (the default) runs the profile head in float64 and the count head in
float32, as bpnet-lite does. The rescale rule of the profile target's ``z * softmax(z)``
divides each term's change by its own logit's change; a term also changes when only
other logits move (through the softmax), so positions whose logit barely moves get
large multipliers that float32 rounds badly (float32 against float64 profile
attributions of a trained quickstart BPNet: per-peak Pearson 0.68 to 0.99997, both
adding up to the change of the target). ``float32`` runs both heads in float32 (about 3
times as fast for the profile head on a CPU; on CUDA TF32 is switched off for the run),
``float64`` both in float64. The profile target's last step always runs in float64
(:class:`~bpnet.core.architectures.wrappers.ProfileWrapper`).

Speed, compared with calling ``tangermeme.deep_lift_shap`` as bpnet-lite does (64 pairs
per batch, float64 for the profile head, 'same'-padded convolutions): bpnet models use
'valid' convolutions (about half the arithmetic), the profile head stays float32, the
references of a chunk are drawn at once, and on a GPU batches are fitted to the free
memory after the first chunk (:func:`default_batch_size`). See
``benchmarks/attribution.py``.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from bpnet.data.errors import DataError

log = logging.getLogger("bpnet.interpret.attribution")

HEADS = ("counts", "profile")
Head = Literal["counts", "profile"]
Precision = Literal["auto", "float32", "float64"]

#: sequences attributed first, on their own, to check that DeepLIFT sees every non-linearity
PROBE_SEQUENCES = 2
#: a probe whose mean |delta| exceeds this share of the mean |change of the target| is refused
PROBE_RELATIVE_LIMIT = 0.01
#: default tolerance on the largest absolute convergence delta before a warning is logged
DELTA_TOLERANCE = 1e-3


@dataclass
class HeadAttributions:
    """Attributions of one head over ``N`` windows of ``L`` bp, averaged over models.

    ``hypothetical``: float32 ``(N, 4, L)``; ``delta``: float32 ``(N,)`` signed mean
    convergence delta per window (over references and models). Per window, over its
    ``pairs_per_window`` (reference, model) pairs, float64 ``(N,)``: ``delta_abs_sum``
    (sum of ``|delta|``), ``change_abs_sum`` (sum of ``|f(X) - f(reference)|``) and
    ``delta_abs_max``; the statistics over all pairs are computed from them, so parts
    joined with :meth:`concatenate` give the very numbers of one run over all windows.
    ``seconds``: wall time of the attribution; ``batch_size``: the (sequence,
    reference) pairs per forward pass used (after fitting, on a GPU).
    """

    hypothetical: np.ndarray
    delta: np.ndarray
    delta_abs_sum: np.ndarray
    change_abs_sum: np.ndarray
    delta_abs_max: np.ndarray
    pairs_per_window: int
    seconds: float
    batch_size: int = 0

    @property
    def sequences_per_s(self) -> float:
        return len(self.hypothetical) / self.seconds if self.seconds > 0 else float("inf")

    @property
    def delta_mean_abs(self) -> float:
        """Mean ``|delta|`` over every (window, reference, model) pair."""
        pairs = len(self.delta_abs_sum) * self.pairs_per_window
        return float(self.delta_abs_sum.sum() / pairs) if pairs else 0.0

    @property
    def delta_max_abs(self) -> float:
        """Largest ``|delta|`` of any pair."""
        return float(self.delta_abs_max.max()) if len(self.delta_abs_max) else 0.0

    @property
    def target_change_mean_abs(self) -> float:
        """Mean ``|f(X) - f(reference)|`` over the pairs: the scale the deltas compare with."""
        pairs = len(self.change_abs_sum) * self.pairs_per_window
        return float(self.change_abs_sum.sum() / pairs) if pairs else 0.0

    @classmethod
    def concatenate(cls, parts: Sequence[HeadAttributions]) -> HeadAttributions:
        """The attributions of consecutive parts (shards) as one; ``seconds`` is their sum,
        ``batch_size`` that of the last part."""
        if not parts:
            raise ValueError("nothing to concatenate")
        if len({p.pairs_per_window for p in parts}) != 1:
            raise ValueError("the parts were attributed with different numbers of references or models")

        def joined(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts])

        return cls(
            joined("hypothetical"), joined("delta"), joined("delta_abs_sum"), joined("change_abs_sum"), joined("delta_abs_max"),
            parts[0].pairs_per_window, float(sum(p.seconds for p in parts)), parts[-1].batch_size,
        )


# ---------------------------------------------------------------------- models


def explanation_target(model: torch.nn.Module, head: Head) -> torch.nn.Module:
    """The single-output module DeepLIFT explains for ``head`` (see the module docstring)."""
    from bpnet.core.architectures.wrappers import ControlWrapper, CountWrapper, ProfileWrapper

    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, not {head!r}")
    inner = ControlWrapper(model)
    return CountWrapper(inner) if head == "counts" else ProfileWrapper(inner)


def attribution_rules() -> dict[type, object]:
    """The DeepLIFT rules attribution runs with: module type -> rule (exact types).

    tangermeme's table (a private function, ``_build_nonlinear_ops``; should a later
    tangermeme move it, the module types tangermeme 1.6 has rules for are used) plus
    the rules of the core wrappers (:func:`bpnet.core.deeplift_rules`).
    """
    from bpnet.core.architectures.wrappers import deeplift_rules as wrapper_rules

    try:
        from tangermeme._deep_lift_utils import _build_nonlinear_ops
    except ImportError:
        nn = torch.nn
        known = (nn.ReLU, nn.ReLU6, nn.RReLU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.GLU, nn.ELU, nn.LeakyReLU,
                 nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Softshrink, nn.LogSigmoid, nn.PReLU, nn.MaxPool1d, nn.MaxPool2d,
                 nn.Softmax, nn.LayerNorm, nn.RMSNorm)
        return dict.fromkeys(known, None) | wrapper_rules()
    return _build_nonlinear_ops(wrapper_rules())


def _known_nonlinear_types() -> tuple[type, ...]:
    """``torch.nn`` module types that are not linear in their input."""
    import inspect

    from torch.nn.modules import activation

    found = [
        cls for _, cls in inspect.getmembers(activation, inspect.isclass)
        if issubclass(cls, torch.nn.Module) and cls.__module__ == activation.__name__
    ]
    nn = torch.nn
    found += [
        nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
        nn.LPPool1d, nn.LPPool2d, nn.FractionalMaxPool2d, nn.FractionalMaxPool3d, nn.RNNBase, nn.RNNCellBase,
        nn.Transformer, nn.TransformerEncoderLayer, nn.TransformerDecoderLayer, nn.GroupNorm, nn.LocalResponseNorm,
        nn.LayerNorm, nn.RMSNorm, nn.CosineSimilarity, nn.PairwiseDistance, nn.Bilinear,
    ]
    found += [cls for cls in (getattr(nn, name, None) for name in ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d")) if cls]
    return tuple(found)


def missing_rules(model: torch.nn.Module) -> list[tuple[str, str]]:
    """``(module path, type name)`` of every non-linear module tangermeme has no rule for."""
    rules = attribution_rules()
    nonlinear = _known_nonlinear_types()
    missing = []
    for name, module in model.named_modules():
        if type(module) in rules or not isinstance(module, nonlinear):
            continue
        missing.append((name or "(the model)", type(module).__name__))
    return missing


def check_rules(model: torch.nn.Module, label: str) -> None:
    """:class:`DataError` naming ``label`` when ``model`` has non-linear modules without a DeepLIFT rule."""
    missing = missing_rules(model)
    if not missing:
        return
    listed = ", ".join(f"{name} ({kind})" for name, kind in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    supported = ", ".join(sorted({cls.__name__ for cls in attribution_rules()}))
    raise DataError(
        f"{label}: the model has non-linear module(s) that DeepLIFT (tangermeme) has no rule for: {listed}; "
        f"they would be treated as linear and the attributions would be wrong. Use module types with a rule "
        f"({supported}; exact types, not subclasses), or pass a rule to tangermeme yourself"
    )


# ---------------------------------------------------------------------- references


def dinucleotide_references(X: torch.Tensor, n_shuffles: int, seed: int) -> torch.Tensor:
    """``(N, n_shuffles, 4, L)`` dinucleotide shuffles of one-hot ``X`` ``(N, 4, L)``.

    Shuffle ``k`` of every sequence uses seed ``seed + k`` (tangermeme's seeded
    convention), drawn in one call for the whole chunk. N bases (all-zero columns) are
    shuffled as a fifth character.
    """
    from tangermeme.ersatz import dinucleotide_shuffle

    n = len(X)
    repeated = X.repeat_interleave(n_shuffles, dim=0)
    seeds = [seed + k for _ in range(n) for k in range(n_shuffles)]
    shuffled = dinucleotide_shuffle(repeated, n=1, random_state=seeds, allow_N=True)[:, 0]
    return shuffled.reshape(n, n_shuffles, *X.shape[1:])


# ---------------------------------------------------------------------- DeepLIFT


class _RecordTarget(torch.nn.Module):
    """Passes ``X`` to ``target`` and keeps every output (detached), in call order."""

    def __init__(self, target: torch.nn.Module):
        super().__init__()
        self.target = target
        self.outputs: list[torch.Tensor] = []

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        y = self.target(X)
        self.outputs.append(y.detach().reshape(len(y), -1)[:, 0])
        return y


@contextlib.contextmanager
def full_float32(device: torch.device) -> Iterator[None]:
    """On CUDA, switch TF32 off for convolutions and matmuls (restored on exit)."""
    if device.type != "cuda":
        yield
        return
    matmul = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul


@dataclass
class _Chunk:
    """Per-pair results of one chunk of sequences: ``(n, S, ...)``."""

    hypothetical: torch.Tensor  # (n, 4, L): mean over the references
    deltas: torch.Tensor  # (n, S)
    changes: torch.Tensor  # (n, S): f(X) - f(ref)


def _attribute_chunk(
    recorder: _RecordTarget, X: torch.Tensor, references: torch.Tensor, *, batch_size: int, device: torch.device, dtype: torch.dtype,
) -> _Chunk:
    """DeepLIFT/SHAP of ``X`` ``(n, 4, L)`` against ``references`` ``(n, S, 4, L)``."""
    from tangermeme.deep_lift_shap import deep_lift_shap

    from bpnet.core.architectures.wrappers import deeplift_rules as wrapper_rules

    n, S = references.shape[:2]
    recorder.outputs.clear()
    with warnings.catch_warnings():
        # tangermeme warns per batch about deltas and about N columns; deltas are
        # computed and reported here, and N columns are legitimate input
        warnings.simplefilter("ignore")
        multipliers = deep_lift_shap(
            recorder, X, references=references, batch_size=batch_size, raw_outputs=True, warning_threshold=float("inf"),
            only_warn=True, dtype=dtype, device=device, verbose=False, additional_nonlinear_ops=wrapper_rules(),
        )
    m = multipliers.to(torch.float64 if dtype == torch.float64 else torch.float32)  # (n, S, 4, L), on the CPU
    refs = references.to(m.dtype)
    x = X.to(m.dtype)[:, None]
    # hypothetical: m[b] - sum_c ref[c] m[c], averaged over references
    hypothetical = (m - (refs * m).sum(dim=2, keepdim=True)).mean(dim=1)
    outputs = torch.cat([
        torch.stack(batch.chunk(2)) for batch in recorder.outputs
    ], dim=1).to("cpu", m.dtype)  # (2, n*S): f(X), f(ref) per pair in pair order
    changes = (outputs[0] - outputs[1]).reshape(n, S)
    deltas = ((x - refs) * m).sum(dim=(2, 3)) - changes
    recorder.outputs.clear()
    return _Chunk(hypothetical, deltas, changes)


def resolve_precision(precision: Precision, head: Head) -> Literal["float32", "float64"]:
    """The precision a head runs in: ``auto`` is float64 for the profile head, float32 for counts."""
    if precision == "auto":
        return "float64" if head == "profile" else "float32"
    return precision


def default_batch_size(device: torch.device) -> int:
    """(sequence, reference) pairs per forward pass when none is given: 64, as bpnet-lite.

    A pair takes about 40 MB during the pass for a 64-filter model on 2114 bp (8 times
    that with 512 filters), so 64 pairs fit a laptop. On a GPU this is only the first
    chunk's batch: :func:`attribute` then measures the memory that chunk took and fills
    about half of the free GPU memory (up to :data:`MAX_GPU_BATCH` pairs).
    """
    return 64


#: the largest automatic batch on a GPU, in (sequence, reference) pairs
MAX_GPU_BATCH = 4096


def sequences_per_chunk(batch_size: int, n_shuffles: int) -> int:
    """Sequences attributed together: as many whole sequences as ``batch_size`` pairs hold, at least 1."""
    return max(1, batch_size // n_shuffles)


def first_chunk(per_chunk: int, probe: bool = True) -> int:
    """Sequences of the first chunk of a set: the probe (:data:`PROBE_SEQUENCES`, at most a chunk); 0 without one."""
    return min(PROBE_SEQUENCES, per_chunk) if probe else 0


def chunk_end(position: int, per_chunk: int, first: int) -> int:
    """End of the chunk holding sequence ``position`` of a set on the grid ``0, first,
    first + per_chunk, first + 2 * per_chunk, ...`` (the caller caps it at the set's end)."""
    if position < first:
        return first
    return first + ((position - first) // per_chunk + 1) * per_chunk


def _fitted_gpu_batch(device: torch.device, baseline: int, pairs: int, n_shuffles: int) -> int:
    """Pairs per batch that use about half the free GPU memory, from the peak of a batch of ``pairs``."""
    per_pair = max(torch.cuda.max_memory_allocated(device) - baseline, 1) / max(pairs, 1)
    free, _ = torch.cuda.mem_get_info(device)
    free += torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)  # torch's cache is free for torch
    batch = int(min(max(0.5 * free / per_pair, 16), MAX_GPU_BATCH))
    if batch >= n_shuffles:
        batch -= batch % n_shuffles  # whole sequences per batch
    log.info("batch_size: %d (sequence, reference) pairs per pass on %s (%.1f MB per pair measured)", batch, device, per_pair / 2**20)
    return batch


def attribute(
    models: Sequence[torch.nn.Module],
    labels: Sequence[str],
    X: np.ndarray | torch.Tensor,
    head: Head,
    *,
    n_shuffles: int = 20,
    seed: int = 0,
    batch_size: int | None = None,
    device: torch.device | str = "cpu",
    precision: Precision = "auto",
    delta_tolerance: float = DELTA_TOLERANCE,
    probe: bool = True,
    progress: bool = True,
    start: int = 0,
    on_chunk: Callable[[int], None] | None = None,
) -> HeadAttributions:
    """Hypothetical DeepLIFT/SHAP attributions of ``head`` for one-hot ``X`` ``(N, 4, L)``,
    averaged over ``models`` (already the submodel to explain; ``labels`` name them in errors).

    Each model is checked (:func:`check_rules`) and, with ``probe``, refused when the
    first chunk of the call (the first :data:`PROBE_SEQUENCES` sequences of the set)
    shows that DeepLIFT misses a non-linearity. ``batch_size`` counts (sequence,
    reference) pairs per forward pass; None: 64 on a CPU, fitted to the free memory on a
    GPU (:func:`default_batch_size`). ``start``: where ``X[0]`` sits in the whole set of
    sequences when ``X`` is a part of it (a shard): chunks follow the set's grid
    (:func:`chunk_end`), so with the same batch size a sequence gets the same bits as in
    one call over the whole set (when the part starts on the grid). ``on_chunk`` is
    called with the number of sequences of every chunk done (once per model).
    A warning is logged when the largest delta exceeds ``delta_tolerance``
    (:func:`warn_large_deltas`). See the module docstring for what is computed.
    """
    from bpnet.core.console import progress_bar

    if n_shuffles < 1:
        raise ValueError("n_shuffles must be at least 1")
    device = torch.device(device)
    precision = resolve_precision(precision, head)
    dtype = torch.float64 if precision == "float64" else torch.float32
    fit_gpu_batch = batch_size is None and device.type == "cuda"
    batch_size = batch_size or default_batch_size(device)
    X = torch.as_tensor(np.asarray(X, dtype=np.float32) if isinstance(X, np.ndarray) else X).to("cpu", dtype)
    n = len(X)
    hyp_sum = torch.zeros(X.shape, dtype=dtype)  # float32 unless asked: the largest array held
    delta_sum = torch.zeros(n, dtype=torch.float64)
    # per window, over its (reference, model) pairs: the statistics are summed from these in a fixed order
    abs_sum, change_sum, abs_max = (torch.zeros(n, dtype=torch.float64) for _ in range(3))
    started = time.perf_counter()
    with progress_bar() if progress else contextlib.nullcontext() as bar, full_float32(device):
        task = bar.add_task(f"attributing {head}", total=n * len(models)) if progress else None
        for model, label in zip(models, labels):
            check_rules(model, label)
            if dtype != next(model.parameters(), torch.empty(0)).dtype:
                model = copy.deepcopy(model).to(dtype)  # the caller's model stays as it is
            recorder = _RecordTarget(explanation_target(model, head).to(device)).eval()
            position = 0
            while position < n:
                per_chunk = sequences_per_chunk(batch_size, n_shuffles)
                end = chunk_end(start + position, per_chunk, first_chunk(per_chunk, probe)) - start
                rows = slice(position, min(end, n))
                position = rows.stop
                if fit_gpu_batch:
                    torch.cuda.reset_peak_memory_stats(device)
                    baseline = torch.cuda.memory_allocated(device)
                refs = dinucleotide_references(X[rows], n_shuffles, seed)
                chunk = _attribute_chunk(recorder, X[rows], refs, batch_size=batch_size, device=device, dtype=dtype)
                if fit_gpu_batch:
                    batch_size = _fitted_gpu_batch(device, baseline, min(batch_size, (rows.stop - rows.start) * n_shuffles), n_shuffles)
                    fit_gpu_batch = False
                if probe and rows.start == 0:
                    _check_probe(chunk, label, head)
                hyp_sum[rows] += chunk.hypothetical.to(dtype)
                deltas = chunk.deltas.double().abs()
                delta_sum[rows] += chunk.deltas.double().mean(dim=1)
                abs_sum[rows] += deltas.sum(dim=1)
                change_sum[rows] += chunk.changes.double().abs().sum(dim=1)
                abs_max[rows] = torch.maximum(abs_max[rows], deltas.max(dim=1).values)
                if task is not None:
                    bar.advance(task, rows.stop - rows.start)
                if on_chunk is not None:
                    on_chunk(rows.stop - rows.start)
    result = HeadAttributions(
        hypothetical=(hyp_sum / len(models)).float().numpy(),
        delta=(delta_sum / len(models)).float().numpy(),
        delta_abs_sum=abs_sum.numpy(), change_abs_sum=change_sum.numpy(), delta_abs_max=abs_max.numpy(),
        pairs_per_window=n_shuffles * len(models), seconds=time.perf_counter() - started, batch_size=batch_size,
    )
    warn_large_deltas(result, head, delta_tolerance, precision)
    return result


def warn_large_deltas(result: HeadAttributions, head: Head, delta_tolerance: float, precision: Precision) -> None:
    """Log a warning when the largest convergence delta of ``result`` exceeds ``delta_tolerance``."""
    if result.delta_max_abs <= delta_tolerance:
        return
    log.warning(
        "%s head: the largest convergence delta is %.3g (mean %.3g, target changes %.3g on average), above the tolerance "
        "%.3g: the attributions add up to the change of the target only approximately%s",
        head, result.delta_max_abs, result.delta_mean_abs, result.target_change_mean_abs, delta_tolerance,
        "; precision: float64 makes them tighter" if resolve_precision(precision, head) == "float32" else "",
    )


def _check_probe(chunk: _Chunk, label: str, head: str) -> None:
    """:class:`DataError` when the probe's deltas show a non-linearity DeepLIFT cannot see."""
    mean_delta = float(chunk.deltas.abs().mean())
    mean_change = float(chunk.changes.abs().mean())
    if not np.isfinite(mean_delta):
        raise DataError(f"{label}: the {head} attributions are not finite (NaN or inf): check the model's weights")
    if mean_delta <= PROBE_RELATIVE_LIMIT * max(mean_change, 1e-6):
        return
    share = mean_delta / max(mean_change, 1e-12)
    raise DataError(
        f"{label}: DeepLIFT's {head} attributions do not add up to the change of the output (convergence deltas are "
        f"{share:.0%} of it on a probe of {int(chunk.deltas.shape[0])} sequence(s)): the model applies a non-linearity DeepLIFT "
        "cannot see, e.g. torch.relu or F.softplus called in forward(). Make every non-linearity its own torch.nn module "
        "instance (self.relu = torch.nn.ReLU(), one per use) so tangermeme can apply its rule"
    )


__all__ = [
    "DELTA_TOLERANCE", "HEADS", "HeadAttributions", "MAX_GPU_BATCH", "PROBE_RELATIVE_LIMIT", "PROBE_SEQUENCES", "attribute", "check_rules",
    "attribution_rules", "chunk_end", "default_batch_size", "dinucleotide_references", "explanation_target", "first_chunk",
    "missing_rules", "resolve_precision", "sequences_per_chunk", "warn_large_deltas",
]
