"""The ``evaluate`` stage: profile and count metrics of a model on held-out loci.

Outputs (see :mod:`bpnet.train.evaluation` for the definitions; the file layouts are
declared once, for the writer here and the report that reads them, in
:mod:`bpnet.core.formats.metrics` and :mod:`bpnet.core.formats.predictions`):

* ``metrics.json``: ``model``, ``architecture``, ``split``; ``peaks`` and ``negatives``
  (null without negatives), each ``n`` and the means over loci of ``profile_mnll``,
  ``profile_jsd``, ``profile_pearson``, ``profile_spearman``, the across-loci
  ``count_pearson``, ``count_spearman``, ``count_mse`` and the official ChromBPNet
  ``profile_median_jsd`` and ``profile_median_norm_jsd`` (undefined values are null);
  ``rc_averaged``: null, or ``peaks`` and ``negatives`` blocks of the same keys for the
  mean of the forward and reverse-complement predictions;
  ``chrombpnet``: null, or ``bias_on_peaks`` and ``bias_on_negatives`` (the same keys
  for the bias model alone), ``qc`` (the official QC verdicts of :mod:`bpnet.train.qc`),
  ``bias_motif`` (null without ``bias_motifs``, else the first motif and the mean
  Pearson correlations of its match track with the bias, accessibility and combined
  profiles) and ``footprints`` (null without ``bias_motifs``, else the official
  footprint test of bias correction of every motif: :mod:`bpnet.train.footprint`).
* ``predictions.npz``: one row per locus, the split's peaks then its negatives, each in
  the order of loci.h5: ``chrom``, ``centre``, ``is_peak``, ``loci_index`` (row in
  loci.h5), ``obs_log_counts`` (log(1 + total counts)), ``pred_log_counts``;
  ``signal_names``; ``example_index`` (k rows of those arrays: the peaks with the most
  counts, most first), ``example_observed`` and ``example_predicted`` (k, tracks, length:
  counts and expected counts). A ChromBPNet adds ``bias_pred_log_counts`` and
  ``example_bias``.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field, field_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext
from bpnet.core.stages.params import DeviceParams

from ..session import LociMemoryParams


class EvaluateParams(LociMemoryParams, DeviceParams):
    model: Input = Field(..., description="bpnet model folder, e.g. the model output of train-bpnet or train-chrombpnet")
    loci: Input = Field(..., description="loci.h5 from the loci stage (the one the model was trained on)")
    split: str = Field("test", description="split whose loci are scored: the held-out chromosomes (test) by default")
    batch_size: int = Field(64, ge=1, description="windows per forward pass")
    smooth_true: bool = Field(
        False,
        description="smooth the observed profiles (Gaussian, sigma 7, width 81) before the JSD and correlations, as bpnet-lite's option",
    )
    bias_motifs: Input | None = Field(
        None,
        description=(
            "the enzyme's bias motifs: tn5 (ATAC-seq) or dnase (DNase-seq), the official ChromBPNet sequences built into "
            "bpnet, or a MEME file; ChromBPNet only: the footprint test of bias correction inserts each motif's consensus "
            "into the split's negatives (the de-biased model must not respond), and the first motif's match track is "
            "correlated with each model's profile"
        ),
    )
    footprint_loci: int | None = Field(
        None, ge=1,
        description=(
            "how many of the split's negatives the footprint test inserts the motifs into (a seeded draw); empty: all, "
            "as the official"
        ),
    )
    reverse_complement_average: bool = Field(
        True,
        description=(
            "also score the mean of each window's prediction and its reverse complement's (turned back, strand tracks "
            "swapped), as predict's reverse_complement_average: metrics.json rc_averaged; costs a second forward pass"
        ),
    )
    n_examples: int = Field(6, ge=0, description="held-out peaks with the most counts whose observed and predicted profiles are saved")
    metrics: Output = Field(
        Path("metrics.json"), description="summary metrics of peaks, negatives and (ChromBPNet) the bias model, QC verdicts and footprints",
    )
    predictions: Output = Field(Path("predictions.npz"), description="per-locus observed and predicted log counts, and example profiles")

    @field_validator("bias_motifs", mode="before")
    @classmethod
    def _builtin_motifs(cls, value: object) -> object:
        from bpnet.data.motifs import motifs_location

        return motifs_location(value) if isinstance(value, str) else value  # a built-in set's name becomes its MEME file


class Evaluate(Stage):
    """Profile and count metrics of a model on held-out loci (metrics.json, predictions.npz)."""

    name = "evaluate"
    #: 0.2.0: the official ChromBPNet QC, median (normalised) JSD and the footprint test joined metrics.json;
    #: 0.3.0: reverse-complement-averaged metrics (rc_averaged)
    version = "bpnet-train==0.3.0"
    Params = EvaluateParams

    def run(self, params: EvaluateParams, context: StageContext) -> None:
        from bpnet.core.console import LOG_FILE_ONLY, console
        from bpnet.core.formats.metrics import write_metrics
        from bpnet.core.formats.predictions import write_predictions
        from bpnet.core.modelfile import load_model
        from bpnet.data.motifs import read_meme

        from ..evaluation import check_split, evaluate, metrics_table
        from ..session import open_loci

        motifs = read_meme(params.bias_motifs) if params.bias_motifs else []  # a bad file fails before the long part
        with open_loci(params.loci, params.loci_memory_mb, (params.batch_size,), context.log) as loci:
            n_peaks, n_negatives = check_split(loci, params.split, str(params.loci))
            device = params.setup_device()
            model = load_model(params.model, device=device)
            context.log.info("evaluating %s on split %s: %d peaks, %d negatives", params.model, params.split, n_peaks, n_negatives)
            result = evaluate(
                model, loci, params.split, batch_size=params.batch_size, device=device, smooth_true=params.smooth_true,
                motifs=motifs, motifs_label=str(params.bias_motifs), footprint_loci=params.footprint_loci,
                n_examples=params.n_examples, model_label=str(params.model), loci_label=str(params.loci),
                reverse_complement=params.reverse_complement_average,
            )
        write_metrics(params.metrics, result.metrics)
        write_predictions(params.predictions, result.predictions)
        table = metrics_table(result.metrics)
        console.print(table)
        context.log.info("metrics: %s", json.dumps(result.metrics), extra=LOG_FILE_ONLY)
