"""The ``attribute`` stage: DeepLIFT/SHAP attributions of a model's count and profile heads.

Reads the loci of a ``loci`` stage (``loci.h5``), takes each locus's sequence window
centred on it (no jitter: ``codes[:, max_jitter:max_jitter + input_length]``), and
explains every requested head with :func:`bpnet.interpret.attribution.attribute`,
averaged over the given models (folds). Outputs, in the ``scores`` folder:

* ``counts.h5`` / ``profile.h5``: one per head, in the format of
  :mod:`bpnet.interpret.scores` (modisco-lite reads them with ``-i``);
* ``counts.bw`` / ``profile.bw``: observed contributions per base (the hypothetical
  contribution of the base present, i.e. summed over bases of one-hot x hypothetical).
  Where windows overlap, each base is taken from the window whose centre is nearest
  (:func:`bpnet.data.bigwig_io.write_window_values`), so the files have no overlapping entries;
* ``summary.json``: per head ``n``, ``seconds``, ``sequences_per_s``,
  ``delta_mean_abs``, ``delta_max_abs`` (over every window, reference and model),
  ``target_change_mean_abs``, the settings (device, precision, batch size, models,
  submodel) and ``shards``.

``max_loci`` keeps the loci with the most observed counts (over the output window,
all signal tracks): the strongest peaks are the ones worth explaining; files list
them in loci.h5 order.

Shards: the loci are cut into ``shards`` contiguous parts (:mod:`bpnet.interpret.shards`);
each head's shard is saved in the stage's resume folder when finished, so a run that is
killed (a cluster's wall-time limit) resumes at the shards not finished. The stage is a
:class:`~bpnet.core.stages.sharded.ShardedStage`: ``run`` computes the missing shards,
then merges them into the outputs, the same bytes as an unsharded run.

Memory: while computing, one shard's one-hot windows and attributions, plus one batch
(about 40 MB per (sequence, reference) pair for a 64-filter model); when merging, one
head's attributions and the one-hot windows of all loci, float32 ``(N, 4,
input_length)``: about 100 kB per 2114 bp window at the peak (5 GB per 50,000 loci; use
``max_loci`` or ``split`` to explain fewer).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from bpnet.core.stages.base import SAME_RESULTS, Input, Output, Stage, StageContext
from bpnet.core.stages.params import DeviceParams, ModelsParams

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from bpnet.data.loci import LociSet

    from ..shards import ShardId


class AttributeParams(ModelsParams, DeviceParams):
    loci: Input = Field(
        ...,
        description=(
            "loci.h5 from the loci stage the models were trained on; each locus's sequence window is explained, "
            "centred, without jitter"
        ),
    )
    split: str | list[str] | None = Field(
        None, description="split(s) whose loci are explained, e.g. test or [valid, test]; empty: every split"
    )
    peaks_only: bool = Field(True, description="explain peaks only (false: negatives too)")
    max_loci: int | None = Field(None, ge=1, description="explain at most this many loci: those with the most observed counts; empty: all")
    heads: list[Literal["counts", "profile"]] = Field(
        ["counts", "profile"],
        description="heads to explain: counts (total log count) and/or profile (the official weighted-sum target)",
    )
    shards: int | None = Field(
        None,
        ge=1,
        description=(
            "contiguous parts the loci are cut into; each is saved when finished, so a killed run resumes at the shards "
            "not finished; at most the number of loci explained. Empty: one shard per 2,000 loci (rounded up, at least 1)"
        ),
        json_schema_extra=SAME_RESULTS,  # shards merge to the same bytes as one
    )
    n_shuffles: int = Field(20, ge=1, description="dinucleotide-shuffled references per sequence (attributions are averaged over them)")
    seed: int = Field(0, description="seed of the shuffles: reference k of every sequence uses seed + k, as tangermeme's random_state")
    batch_size: int | None = Field(
        None,
        ge=1,
        description=(
            "(sequence, reference) pairs per forward pass; empty: 64 on a CPU (about 40 MB each for a 64-filter "
            "model), on a GPU fitted to its free memory"
        ),
    )
    precision: Literal["auto", "float32", "float64"] = Field(
        "auto",
        description="auto: profile head in float64, counts in float32, as bpnet-lite; float32 or float64: both heads (TF32 "
        "stays off on GPUs). float32 profile attributions are about 3x faster on a CPU but can differ badly from the float64 "
        "ones (the rescale rule of the profile target divides small differences): not advised for the profile head",
    )
    delta_tolerance: float = Field(
        1e-3,
        gt=0,
        description="warn when a convergence delta (sum of attributions minus the change of the output) exceeds this",
    )
    genome: Input | None = Field(
        None,
        description="FASTA whose chromosome sizes head the bigWigs; empty: the genome loci.h5 was extracted from (if still there)",
    )
    scores: Output = Field(
        Path("scores"),
        description=(
            "folder: counts.h5/profile.h5 (attributions, modisco-lite reads them), counts.bw/profile.bw (observed "
            "contributions per base), summary.json"
        ),
    )

    @field_validator("heads")
    @classmethod
    def _distinct_heads(cls, heads: list[str]) -> list[str]:
        if not heads:
            raise ValueError("give at least one head: counts and/or profile")
        if len(set(heads)) != len(heads):
            raise ValueError(f"heads are listed twice: {heads}")
        return heads


class Attribute(Stage):
    """DeepLIFT/SHAP attributions of a model's count and profile heads (h5 for modisco-lite, bigWig)."""

    name = "attribute"
    Params = AttributeParams

    def run(self, params: AttributeParams, context: StageContext) -> None:
        """Compute the shards not saved in ``context.resume_dir`` (every one when forced), then merge them."""
        from bpnet.core.atomic import remove_path

        from ..shards import FOLDER

        if context.force:
            remove_path(context.resume_dir / FOLDER)
        plan = _Plan.prepare(params, context)
        plan.store.remove_temporaries()
        plan.describe()
        _compute_with_progress(plan, {head: plan.missing(head) for head in params.heads})
        plan.merge()

    def shard_ids(self, params: AttributeParams) -> list[str]:
        """``<head>-<k>-of-<n>`` for every head and shard (:class:`~bpnet.core.stages.sharded.ShardedStage`)."""
        from ..shards import ShardId

        _, _, bounds = _select(params)
        return [str(ShardId(head, k, len(bounds) - 1)) for head in params.heads for k in range(1, len(bounds))]

    def run_shard(self, params: AttributeParams, context: StageContext, shard_id: str) -> None:
        """Compute one shard into ``context.resume_dir``, unless it is saved there already."""
        plan = _Plan.prepare(params, context)
        shard = next((s for head in params.heads for s in plan.shards(head) if str(s) == shard_id), None)
        if shard is None:
            raise ValueError(f"{shard_id!r} is not a shard of this attribute stage (see shard_ids)")
        if plan.load(shard) is None:
            plan.compute(shard)

    def merge(self, params: AttributeParams, context: StageContext) -> None:
        """Write ``scores`` from the shards saved in ``context.resume_dir`` (models are read on the CPU, for their keys)."""
        _Plan.prepare(params, context, device="cpu").merge()


def _select(params: AttributeParams) -> tuple[LociSet, np.ndarray, list[int]]:
    """The loci, the rows to explain and the shard boundaries; bad input (e.g. more shards than loci) is refused."""
    from bpnet.data.errors import DataError
    from bpnet.data.loci import LociSet

    from .. import attribution
    from ..shards import LOCI_PER_SHARD, default_shards, shard_bounds

    loci = LociSet.open(params.loci)  # reads only the rows explained
    index = select_loci(loci, params.split, params.peaks_only, params.max_loci, str(params.loci))
    shards = params.shards or default_shards(len(index))
    if shards > len(index):
        raise DataError(
            f"shards: {shards} shards for {len(index)} selected loci of {params.loci}; set shards to at most {len(index)}, "
            f"or leave it empty (one shard per {LOCI_PER_SHARD:,} loci)"
        )
    # boundaries on the chunk grid of the batch size used on a CPU (a GPU's fitted batch is not known yet)
    per_chunk = attribution.sequences_per_chunk(params.batch_size or attribution.default_batch_size("cpu"), params.n_shuffles)
    return loci, index, shard_bounds(len(index), shards, per_chunk, attribution.first_chunk(per_chunk))


class _Plan:
    """One attribute run, prepared: loci, shards, models, and the shard files (:mod:`bpnet.interpret.shards`)."""

    def __init__(self, params: AttributeParams, context: StageContext, selection: tuple, device, loaded):
        from ..shards import FOLDER, ShardStore, models_digest

        self.params, self.context, self.device, self.loaded = params, context, device, loaded
        self.loci, self.index, self.bounds = selection
        self.store = ShardStore(context.resume_dir / FOLDER, context.log)
        self.models_digest = models_digest(loaded.models)
        self.fitted: dict[str, int] = {}  # head -> batch fitted on a GPU by its first shard, kept by the later ones

    @classmethod
    def prepare(cls, params: AttributeParams, context: StageContext, device: str | None = None) -> _Plan:
        """Select the loci and shards (bad input refused before any model is loaded), then load the models."""
        import torch

        from bpnet.core.outputs import check_models_fit

        from .. import attribution

        selection = _select(params)
        loci = selection[0]
        if device is None:
            device = params.setup_device(", ".join(f"{h} {attribution.resolve_precision(params.precision, h)}" for h in params.heads))
        loaded = params.load_models(device)
        # zero control tracks are fed (the sequence alone is explained), so the loci's controls are not needed
        check_models_fit(
            loaded.models, loaded.labels, input_length=loci.input_length, output_length=loci.output_length, windows=str(params.loci),
        )
        return cls(params, context, selection, torch.device(device), loaded)

    @property
    def count(self) -> int:
        return len(self.bounds) - 1

    def shards(self, head: str) -> list[ShardId]:
        from ..shards import ShardId

        return [ShardId(head, k, self.count) for k in range(1, self.count + 1)]

    def rows(self, shard: ShardId) -> slice:
        """The shard's positions among the loci explained."""
        return slice(self.bounds[shard.index - 1], self.bounds[shard.index])

    def key(self, shard: ShardId) -> str:
        """What decides the shard's values: the settings, the models, its loci and their sequences."""
        from .. import attribution
        from ..shards import FORMAT, digest

        index, p = self.index[self.rows(shard)], self.params
        settings = {
            "format": FORMAT, "head": shard.head, "precision": attribution.resolve_precision(p.precision, shard.head),
            "n_shuffles": p.n_shuffles, "seed": p.seed, "models": self.models_digest, "submodels": self.loaded.submodels,
            "shard": str(shard), "rows": [self.rows(shard).start, self.rows(shard).stop], "input_length": self.loci.input_length,
        }
        return digest(settings, index, self.loci.chrom[index].astype(str), self.loci.centre[index], self.loci.centred_codes(index))

    def load(self, shard: ShardId):
        """The saved shard and its meta, or None (see :meth:`bpnet.interpret.shards.ShardStore.load`)."""
        rows = self.rows(shard)
        return self.store.load(shard, self.key(shard), rows.stop - rows.start)

    def missing(self, head: str) -> list[ShardId]:
        """The shards of ``head`` not saved yet; logs how many are resumed."""
        shards = self.shards(head)
        missing = [s for s in shards if self.load(s) is None]
        if len(missing) < len(shards):
            self.context.log.info(
                "resumed %d of %d shards of the %s head; computing %d", len(shards) - len(missing), len(shards), head, len(missing),
            )
        else:
            self.context.log.info("%s head: %d shard(s) of about %d loci", head, len(shards), round(len(self.index) / len(shards)))
        return missing

    def describe(self) -> None:
        """Log what is explained, and how."""
        from .. import attribution

        p, loci = self.params, self.loci
        with_n = int((loci.centred_codes(self.index) > 3).any(axis=1).sum())  # code 4: not A, C, G or T
        if with_n:
            self.context.log.info("%d of %d window(s) contain N bases: their observed contributions there are 0", with_n, len(self.index))
        self.context.log.info(
            "explaining %d locus window(s) of %d bp with %d model(s) (%s), %d dinucleotide shuffles each, %s pairs per batch",
            len(self.index), loci.input_length, len(self.loaded.models), ", ".join(sorted(set(self.loaded.submodels))), p.n_shuffles,
            p.batch_size or ("fitted to the GPU's memory" if self.device.type == "cuda" else attribution.default_batch_size(self.device)),
        )

    def compute(self, shard: ShardId, on_chunk=None) -> None:
        """Attribute one shard and save it; ``on_chunk`` as in :func:`bpnet.interpret.attribution.attribute`."""
        from bpnet.core.device import describe_device
        from bpnet.data.onehot import codes_to_one_hot

        from .. import attribution

        p, rows = self.params, self.rows(shard)
        one_hot = codes_to_one_hot(self.loci.centred_codes(self.index[rows]))
        result = attribution.attribute(
            self.loaded.models, self.loaded.labels, one_hot, shard.head, n_shuffles=p.n_shuffles, seed=p.seed,
            batch_size=p.batch_size or self.fitted.get(shard.head), device=self.device, precision=p.precision,
            delta_tolerance=float("inf"), progress=False, start=rows.start, on_chunk=on_chunk,  # deltas are judged when merged
        )
        if self.device.type == "cuda":
            self.fitted[shard.head] = result.batch_size
        device = describe_device(self.device, attribution.resolve_precision(p.precision, shard.head))
        self.store.save(shard, self.key(shard), result, {"device": device, "rows": [rows.start, rows.stop]})

    def merge(self) -> None:
        """Join each head's shards into ``scores`` (h5, bigWig, summary.json), as one unsharded run writes them."""
        from bpnet.core.errors import StageError
        from bpnet.data.bigwig_io import write_window_values
        from bpnet.data.onehot import codes_to_one_hot

        from .. import attribution
        from ..scores import Scores, write_scores

        p, loci, index = self.params, self.loci, self.index
        missing = [str(s) for head in p.heads for s in self.shards(head) if not self.store.path(s).is_file()]
        if missing:
            raise StageError(f"cannot merge: shard(s) {', '.join(missing)} are not in {self.store.folder}; run them first")
        sizes = chromosome_sizes(loci, p.genome, self.context)
        one_hot = codes_to_one_hot(loci.centred_codes(index))
        chrom, start = loci.chrom[index].astype(str), loci.geometry.input_start(loci.centre[index].astype("int64"))
        labels, submodels = self.loaded.labels, self.loaded.submodels
        submodel = submodels[0] if len(set(submodels)) == 1 else submodels
        p.scores.mkdir(parents=True, exist_ok=True)
        summary = {}
        for head in p.heads:
            saved = [self.load(s) for s in self.shards(head)]
            if any(found is None for found in saved):
                raise StageError(f"cannot merge the {head} head: shard files in {self.store.folder} are not usable; run the stage again")
            result = attribution.HeadAttributions.concatenate([part for part, _ in saved])
            devices = "; ".join(dict.fromkeys(info["device"] for _, info in saved))
            batches = sorted({info["batch_size"] for _, info in saved})
            del saved  # one head's attributions in memory at a time
            precision = attribution.resolve_precision(p.precision, head)
            attribution.warn_large_deltas(result, head, p.delta_tolerance, p.precision)
            meta = {"head": head, "models": labels, "submodel": submodel, "n_shuffles": p.n_shuffles, "seed": p.seed,
                    "precision": precision, "loci": str(p.loci)}
            scores = Scores(one_hot, result.hypothetical, chrom, start, loci.is_peak[index], result.delta, meta)
            write_scores(p.scores / f"{head}.h5", scores)
            write_window_values(p.scores / f"{head}.bw", sizes, chrom, start, scores.projected)
            self.context.log.info(
                "%s head: %d window(s) in %.1f s (%.2f windows/s), %d shard(s); convergence deltas: mean |delta| %.2g, max %.2g "
                "(mean |change of the target| %.2g)",
                head, len(index), result.seconds, result.sequences_per_s, self.count, result.delta_mean_abs, result.delta_max_abs,
                result.target_change_mean_abs,
            )
            summary[head] = {
                "n": len(index), "seconds": result.seconds, "sequences_per_s": result.sequences_per_s,
                "delta_mean_abs": result.delta_mean_abs, "delta_max_abs": result.delta_max_abs,
                "target_change_mean_abs": result.target_change_mean_abs, "delta_tolerance": p.delta_tolerance,
                "device": devices, "precision": precision, "batch_size": batches[0] if len(batches) == 1 else batches,
                "n_shuffles": p.n_shuffles, "seed": p.seed, "models": labels, "submodel": submodel, "shards": self.count,
            }
        (p.scores / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def _compute_with_progress(plan: _Plan, missing: dict[str, list[ShardId]]) -> None:
    """Compute the ``missing`` shards: a progress bar per head (loci/s, ETA) and a log line per shard (for batch logs)."""
    import time

    from bpnet.core.console import format_duration, progress_bar

    n_models = len(plan.loaded.models)
    with progress_bar() as bar:
        tasks = {head: bar.add_task(f"attributing {head}", total=sum(_size(plan, s) for s in shards)) for head, shards in missing.items()}
        for head, shards in missing.items():
            task, started, done, total = tasks[head], time.perf_counter(), 0, sum(_size(plan, s) for s in shards)

            def advance(sequences: int, task: int = task, head: str = head, started: float = started) -> None:
                completed = bar.tasks[task].completed + sequences / n_models  # each model goes over the sequences once
                rate = completed / max(time.perf_counter() - started, 1e-9)
                bar.update(task, completed=completed, description=f"attributing {head} ({rate:.2f} loci/s)")

            for shard in shards:
                plan.compute(shard, on_chunk=advance)
                done += _size(plan, shard)
                elapsed = time.perf_counter() - started
                plan.context.log.info(
                    "%s head: shard %d of %d done (%d loci); %.2f loci/s, %d of %d loci left to compute, about %s",
                    head, shard.index, shard.count, _size(plan, shard), done / elapsed, total - done, total,
                    format_duration((total - done) * elapsed / done),
                )


def _size(plan: _Plan, shard: ShardId) -> int:
    rows = plan.rows(shard)
    return rows.stop - rows.start


def select_loci(loci, split: str | list[str] | None, peaks_only: bool, max_loci: int | None, label: str):
    """Indices (ascending) of the loci to explain; :class:`DataError` when there are none.

    With ``max_loci``, the ``max_loci`` loci with the most observed counts (ties: the
    earlier locus) are kept.
    """
    import numpy as np

    from bpnet.data.errors import DataError

    index = loci.select(split, True if peaks_only else None)
    if not len(index):
        present = ", ".join(f"{name} ({p} peaks, {n} negatives)" for name, (p, n) in loci.counts_by_split().items()) or "none"
        what = "peaks" if peaks_only else "loci"
        raise DataError(
            f"{label}: no {what} in split {split!r}; the splits in the file are: {present}. "
            "Set split to one of them (empty: every split)" + ("" if not peaks_only else ", or peaks_only: false to include negatives")
        )
    if max_loci is not None and len(index) > max_loci:
        counts = loci.total_counts(index)
        strongest = np.argsort(-counts, kind="stable")[:max_loci]
        index = np.sort(index[strongest])
    return index


def chromosome_sizes(loci, genome: Path | None, context: StageContext) -> dict[str, int]:
    """Chromosome sizes for the bigWig headers: ``genome``, else the FASTA the loci came
    from, else (logged) each chromosome's extent as far as the loci windows reach."""

    from bpnet.data.chroms import check_chromosomes
    from bpnet.data.sources import SizesSource, open_source

    source = genome or (loci.sources or {}).get("genome")
    if source and Path(source).is_file():
        reference = open_source(source, SizesSource)
        check_chromosomes(sorted(set(loci.chrom.tolist())), reference.sizes, file="loci", reference_file=reference.label)
        return dict(reference.sizes)
    context.log.warning(
        "the genome FASTA %s is not available: the bigWig headers give each chromosome's length as far as the loci reach; "
        "set genome to the FASTA for exact chromosome sizes", source or "(unknown)",
    )
    ends = loci.geometry.input_start(loci.centre) + loci.input_length + loci.max_jitter
    return {str(c): int(ends[loci.chrom == c].max()) for c in dict.fromkeys(loci.chrom.tolist())} if len(loci) else {}

