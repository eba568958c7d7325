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
  ``target_change_mean_abs``, and the settings (device, precision, batch size, models,
  submodel).

``max_loci`` keeps the loci with the most observed counts (over the output window,
all signal tracks): the strongest peaks are the ones worth explaining; files list
them in loci.h5 order.

Memory: the one-hot windows, the attributions and their running sum over models, all
float32 ``(N, 4, input_length)``: about 100 kB per 2114 bp window (5 GB per 50,000
loci; use ``max_loci`` or ``split`` to explain fewer), plus one batch (about 40 MB per
(sequence, reference) pair for a 64-filter model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext
from bpnet.core.stages.params import DeviceParams, ModelsParams


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
        import numpy as np

        from bpnet.core.device import describe_device
        from bpnet.core.outputs import check_models_fit
        from bpnet.data.bigwig_io import write_window_values
        from bpnet.data.loci import LociSet
        from bpnet.data.onehot import codes_to_one_hot

        from .. import attribution
        from ..scores import Scores, write_scores

        loci = LociSet.load(params.loci)
        index = select_loci(loci, params.split, params.peaks_only, params.max_loci, str(params.loci))
        device = params.setup_device(", ".join(f"{h} {attribution.resolve_precision(params.precision, h)}" for h in params.heads))
        loaded = params.load_models(device)
        models, labels, submodels = loaded.models, loaded.labels, loaded.submodels
        # zero control tracks are fed (the sequence alone is explained), so the loci's controls are not needed
        check_models_fit(models, labels, input_length=loci.input_length, output_length=loci.output_length, windows=str(params.loci))
        sizes = chromosome_sizes(loci, params.genome, context)

        one_hot = codes_to_one_hot(loci.centred_codes(index))
        chrom, start = loci.chrom[index].astype(str), loci.geometry.input_start(loci.centre[index].astype(np.int64))
        with_n = int((one_hot.sum(axis=1) == 0).any(axis=1).sum())
        if with_n:
            context.log.info("%d of %d window(s) contain N bases: their observed contributions there are 0", with_n, len(index))
        context.log.info(
            "explaining %d locus window(s) of %d bp with %d model(s) (%s), %d dinucleotide shuffles each, %s pairs per batch",
            len(index), loci.input_length, len(models), ", ".join(sorted(set(submodels))), params.n_shuffles,
            params.batch_size or ("fitted to the GPU's memory" if device.type == "cuda" else attribution.default_batch_size(device)),
        )

        params.scores.mkdir(parents=True, exist_ok=True)
        summary = {}
        for head in params.heads:
            result = attribution.attribute(
                models, labels, one_hot, head, n_shuffles=params.n_shuffles, seed=params.seed, batch_size=params.batch_size,
                device=device, precision=params.precision, delta_tolerance=params.delta_tolerance,
            )
            meta = {
                "head": head, "models": labels, "submodel": submodels[0] if len(set(submodels)) == 1 else submodels,
                "n_shuffles": params.n_shuffles, "seed": params.seed, "precision": attribution.resolve_precision(params.precision, head),
                "loci": str(params.loci),
            }
            scores = Scores(one_hot, result.hypothetical, chrom, start, loci.is_peak[index], result.delta, meta)
            write_scores(params.scores / f"{head}.h5", scores)
            write_window_values(params.scores / f"{head}.bw", sizes, chrom, start, scores.projected)
            context.log.info(
                "%s head: %d window(s) in %.1f s (%.2f windows/s); convergence deltas: mean |delta| %.2g, max %.2g "
                "(mean |change of the target| %.2g)",
                head, len(index), result.seconds, result.sequences_per_s, result.delta_mean_abs, result.delta_max_abs,
                result.target_change_mean_abs,
            )
            summary[head] = {
                "n": len(index), "seconds": result.seconds, "sequences_per_s": result.sequences_per_s,
                "delta_mean_abs": result.delta_mean_abs, "delta_max_abs": result.delta_max_abs,
                "target_change_mean_abs": result.target_change_mean_abs, "delta_tolerance": params.delta_tolerance,
                "device": describe_device(device, meta["precision"]), "precision": meta["precision"], "batch_size": result.batch_size,
                "n_shuffles": params.n_shuffles, "seed": params.seed, "models": labels, "submodel": meta["submodel"],
            }
        (params.scores / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


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

