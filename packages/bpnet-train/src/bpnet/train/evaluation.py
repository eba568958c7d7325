"""Evaluating a trained model on the held-out loci of a :class:`~bpnet.data.loci.LociSet`.

The steps (the ``evaluate`` stage strings them together):

1. :func:`check_split`: the split must hold peaks; otherwise a :class:`DataError`
   lists the splits there are.
2. :func:`evaluate`: centred windows of the split's peaks, then its negatives, in
   batches on the device through the model (``model(X, X_ctl)`` for models with control
   tracks). Per batch, the per-locus profile metrics of
   :func:`bpnet.core.metrics.profile_metrics` and
   :func:`bpnet.core.metrics.official_profile_jsd` and the predicted total log counts
   are kept; count metrics and the official medians are taken across loci at the end.
   For a :class:`~bpnet.core.architectures.chrombpnet.ChromBPNet` the bias model alone
   is scored on the peaks and the negatives too, and the official QC rules of
   :mod:`bpnet.train.qc` judge the bias model's count r on both and the combined
   model's on peaks. With bias motifs (e.g. Tn5 or DNase-I), each model's predicted
   profile on peaks is correlated with the first motif's match track (the bias model
   should follow it, the accessibility model alone should not: :func:`motif_match_track`),
   and every motif goes through the official footprint test of bias correction on the
   negatives (:mod:`bpnet.train.footprint`).
3. :func:`metrics_table`: the summary as a rich table.

Total predicted log counts and expected counts (the examples) are those of
:mod:`bpnet.core.outputs`.

Memory: per locus a few numbers (metrics, counts); only the ``n_examples`` example
profiles are kept whole, plus one batch on the device. A lazy LociSet
(:meth:`~bpnet.data.loci.LociSet.open`) is streamed within its budget: batches from
blocks of rows, counts and footprint windows read a chunk or a batch at a time.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bpnet.core.architectures.layers import centre_crop
from bpnet.core.formats.metrics import METRIC_KEYS
from bpnet.core.formats.predictions import Predictions
from bpnet.core.metrics import (
    OFFICIAL_JSD_KEYS,
    PROFILE_KEYS,
    count_metrics,
    official_profile_jsd,
    pearson_along,
    profile_metrics,
    summarize,
)
from bpnet.core.outputs import (
    call_model,
    check_models_fit,
    expected_counts,
    is_chrombpnet,
    profile_probabilities,
    reverse_complement_prediction,
    total_log_counts,
)
from bpnet.data.errors import DataError
from bpnet.data.loci import LociSet
from bpnet.data.motifs import Motif, scan
from bpnet.data.windows import output_offset

from . import qc
from .footprint import background_windows, check_motifs, footprint_test
from .samplers import Batch, make_batches

log = logging.getLogger("bpnet.train.evaluation")


@dataclass
class Evaluation:
    """What :func:`evaluate` found: ``metrics`` (the metrics.json content, NaN as None)
    and ``predictions`` (the predictions.npz content); the layouts are those of
    :mod:`bpnet.core.formats.metrics` and :mod:`bpnet.core.formats.predictions`."""

    metrics: dict[str, Any]
    predictions: Predictions


# ---------------------------------------------------------------------- checks


def check_split(loci: LociSet, split: str, label: str) -> tuple[int, int]:
    """(peaks, negatives) of ``split``; :class:`DataError` listing the splits if it has no peaks."""
    counts = loci.counts_by_split()
    n_peaks, n_negatives = counts.get(split, (0, 0))
    if n_peaks:
        return n_peaks, n_negatives
    present = ", ".join(f"{name} ({p} peaks, {n} negatives)" for name, (p, n) in counts.items()) or "none"
    what = "no loci" if not n_negatives else f"no peaks (only {n_negatives} negatives)"
    raise DataError(
        f"{label}: split {split!r} has {what}; the splits in the file are: {present}. Set split to one of them, "
        "or re-run the loci stage with a splits file that holds chromosomes out for it"
    )


# ---------------------------------------------------------------------- model outputs


def motif_match_track(codes: np.ndarray, motif: Motif, output_length: int) -> np.ndarray:
    """``(N, output_length)`` motif match of sequence windows ``codes`` (uint8 ``(N, input_length)``).

    Position ``i`` holds the best log-odds score (bits, both strands) of the motif
    window centred on ``i``, clipped at 0 (no match), over the output window, which
    starts :func:`bpnet.data.windows.output_offset` bp into the input, as in the loci.
    """
    n, input_length = codes.shape
    width = motif.width
    full = np.zeros((n, input_length))
    if input_length >= width:
        best = scan(codes, motif).max(axis=-2)
        full[:, width // 2 : width // 2 + best.shape[-1]] = np.clip(best, 0, None)
    offset = output_offset(input_length, output_length)
    return full[:, offset : offset + output_length]


# ---------------------------------------------------------------------- evaluation


class _Columns:
    """Per-locus values gathered batch by batch (numpy arrays, concatenated at the end)."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = defaultdict(list)

    def add(self, key: str, values: np.ndarray | torch.Tensor) -> None:
        if isinstance(values, torch.Tensor):
            values = values.detach().cpu().numpy()
        self.parts[key].append(np.asarray(values))

    def add_model(
        self,
        prefix: str,
        logits: torch.Tensor,
        log_counts: torch.Tensor,
        y: torch.Tensor,
        smooth_true: bool,
        profiles: bool = True,
    ) -> None:
        """Total log counts and (with ``profiles``) per-locus profile metrics of one model."""
        self.add(f"{prefix}/log_counts", total_log_counts(log_counts).float())
        if profiles:
            for key, values in profile_metrics(logits, y, smooth_true=smooth_true).items():
                self.add(f"{prefix}/{key}", values)
            for key, values in official_profile_jsd(logits, y).items():  # never smoothed, as the official
                self.add(f"{prefix}/{key}", values)

    def arrays(self) -> dict[str, np.ndarray]:
        return {key: np.concatenate(parts) for key, parts in self.parts.items()}


def _motif_correlations(columns: _Columns, motif: Motif, loci: LociSet, batch: Batch, profiles: dict[str, torch.Tensor]) -> None:
    """Per-locus Pearson correlation of the motif match track with each model's probabilities."""
    match = torch.from_numpy(motif_match_track(loci.centred_codes(batch.index.numpy()), motif, loci.output_length))
    for name, logits in profiles.items():
        probabilities = torch.softmax(logits.detach().to("cpu", torch.float64), dim=-1)
        correlation = pearson_along(probabilities, match[:, None, :].expand_as(probabilities))
        columns.add(f"motif/{name}", torch.nanmean(correlation, dim=-1))


def _add_rc_averaged(columns: _Columns, model: torch.nn.Module, loci: LociSet, batch: Batch, logits: torch.Tensor,
                     log_counts: torch.Tensor, smooth_true: bool) -> None:
    """Metrics of the mean of the forward prediction and the reverse-complement one turned back
    (mean probabilities, mean log counts: as ``predict`` averages), under the prefix ``rc``."""
    probs, total = profile_probabilities(logits, log_counts)
    rc_probs, rc_total = reverse_complement_prediction(model, batch.X, batch.X_ctl, loci.signal_pairs, loci.control_pairs)
    mean = (probs + rc_probs) / 2
    # the log of the mean probabilities is a logit whose softmax gives them back
    columns.add_model("rc", mean.clamp_min(torch.finfo(mean.dtype).tiny).log(), ((total + rc_total) / 2)[:, None], batch.y,
                      smooth_true)


def _evaluate_group(
    model: torch.nn.Module, loci: LociSet, split: str, peaks: bool, *, batch_size: int, device: torch.device,
    smooth_true: bool, motif: Motif | None, example_rows: np.ndarray, examples: dict[int, dict[str, np.ndarray]],
    reverse_complement: bool = False,
) -> dict[str, np.ndarray]:
    """Per-locus columns of the peaks (``peaks=True``) or negatives of ``split``; example
    profiles of loci rows in ``example_rows`` go into ``examples``; with ``reverse_complement``
    also the columns of the reverse-complement-averaged prediction."""
    from bpnet.core.console import track

    columns = _Columns()
    chrombpnet = is_chrombpnet(model)
    batches = make_batches(loci, split, batch_size, device, train=False, peaks=peaks)
    for batch in track(batches, f"evaluating {'peaks' if peaks else 'negatives'}"):
        logits, log_counts = call_model(model, batch.X, batch.X_ctl)
        columns.add("index", batch.index)
        columns.add("obs_counts", loci.total_counts(batch.index.numpy()))
        columns.add_model("model", logits, log_counts, batch.y, smooth_true)
        if reverse_complement:
            _add_rc_averaged(columns, model, loci, batch, logits, log_counts, smooth_true)
        bias_logits = bias_counts = None
        if chrombpnet:
            bias_logits, bias_counts = model.bias(batch.X)
            bias_logits = centre_crop(bias_logits, logits.shape[-1])
            columns.add_model("bias", bias_logits, bias_counts, batch.y, smooth_true)
            if motif is not None and peaks:
                accessibility_logits = model.accessibility(batch.X)[0]
                _motif_correlations(
                    columns, motif, loci, batch,
                    {"bias": bias_logits, "accessibility": accessibility_logits, "combined": logits},
                )
        chosen = np.flatnonzero(np.isin(batch.index.numpy(), example_rows))
        for i in chosen:
            example = {"observed": batch.y[i], "predicted": expected_counts(logits[i : i + 1], log_counts[i : i + 1])[0]}
            if bias_logits is not None:
                example["bias"] = expected_counts(bias_logits[i : i + 1], bias_counts[i : i + 1])[0]
            examples[int(batch.index[i])] = {key: value.float().cpu().numpy() for key, value in example.items()}
    return columns.arrays()


def _summary(columns: dict[str, np.ndarray], prefix: str) -> dict[str, Any]:
    """The metrics.json block of one model on one group: means over loci, NaN as None."""
    profile = summarize({key: columns[f"{prefix}/{key}"] for key in PROFILE_KEYS})
    counts = count_metrics(columns[f"{prefix}/log_counts"].astype(np.float64), columns["obs_counts"])
    summary = {"n": int(profile["n"])}
    summary.update({f"profile_{key}": profile[key] for key in PROFILE_KEYS})
    summary.update({f"count_{key}": value for key, value in counts.items()})
    official = {key: columns[f"{prefix}/{key}"] for key in OFFICIAL_JSD_KEYS}
    summary["profile_median_jsd"] = _nanmedian(official["jsd_distance"])
    summary["profile_median_norm_jsd"] = _nanmedian(official["norm_jsd"])
    return {key: _json_number(value) for key, value in summary.items()}


def _nanmedian(values: np.ndarray) -> float:
    """Median ignoring NaN (NaN if all are), as the official ``np.nanmedian`` without its warning."""
    finite = values[~np.isnan(values)]
    return float(np.median(finite)) if len(finite) else math.nan


def _json_number(value: float | int) -> float | int | None:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def example_rows(loci: LociSet, split: str, n_examples: int) -> np.ndarray:
    """LociSet rows of the ``n_examples`` peaks of ``split`` with the most observed counts (most first)."""
    peaks = loci.select(split, peaks=True)
    order = np.argsort(-loci.total_counts(peaks), kind="stable")
    return peaks[order[:n_examples]]


def evaluate(
    model: torch.nn.Module, loci: LociSet, split: str = "test", *, batch_size: int = 64,
    device: str | torch.device = "cpu", smooth_true: bool = False, motifs: Sequence[Motif] = (),
    motifs_label: str = "the bias motifs", footprint_loci: int | None = None, n_examples: int = 6,
    model_label: str = "the model", loci_label: str = "the loci", reverse_complement: bool = True,
) -> Evaluation:
    """Metrics and predictions of ``model`` on the peaks and negatives of ``split``.

    With ``reverse_complement`` (default) the model also predicts the reverse complement
    of every window (controls and strand tracks swapped), and the mean of both strands'
    predictions is scored too (``metrics["rc_averaged"]``); predictions.npz keeps the
    plain predictions.

    ``motifs`` (the enzyme's bias motifs, read from ``motifs_label``; ChromBPNet models
    only) add the bias-motif correlations (first motif) and the footprint test (every
    motif, on ``footprint_loci`` of the split's negatives, all with None). The model is put
    in eval mode and run without gradients on ``device`` (where it must already be).
    Returns an :class:`Evaluation`; the stage writes it to metrics.json and predictions.npz.
    """
    check_split(loci, split, loci_label)
    check_models_fit(
        [model], [model_label], input_length=loci.input_length, output_length=loci.output_length, windows=loci_label,
        n_tracks=loci.n_signals, n_control_tracks=loci.n_controls,
    )
    device = torch.device(device)
    chrombpnet = is_chrombpnet(model)
    if motifs and not chrombpnet:
        log.warning("bias_motifs is for ChromBPNet models; %s is not one, so the motif checks are skipped", model_label)
        motifs = ()
    if motifs:
        check_motifs(motifs, loci.input_length, motifs_label)  # before the long part, not after it
    rows = example_rows(loci, split, n_examples)
    examples: dict[int, dict[str, np.ndarray]] = {}
    options = dict(batch_size=batch_size, device=device, smooth_true=smooth_true, motif=motifs[0] if motifs else None,
                   example_rows=rows, examples=examples, reverse_complement=reverse_complement)
    model.eval()
    with torch.no_grad():
        groups = {"peaks": _evaluate_group(model, loci, split, True, **options)}
        if len(loci.select(split, peaks=False)):
            groups["negatives"] = _evaluate_group(model, loci, split, False, **options)

    metrics: dict[str, Any] = {
        "model": model_label,
        "architecture": _architecture(model),
        "split": split,
        "peaks": _summary(groups["peaks"], "model"),
        "negatives": _summary(groups["negatives"], "model") if "negatives" in groups else None,
        "rc_averaged": None,
        "chrombpnet": None,
    }
    if reverse_complement:
        metrics["rc_averaged"] = {group: _summary(columns, "rc") for group, columns in groups.items()}
        metrics["rc_averaged"].setdefault("negatives", None)
    if chrombpnet:
        metrics["chrombpnet"] = _chrombpnet_block(metrics["peaks"], groups)
        if motifs:
            metrics["chrombpnet"]["bias_motif"] = {"motif": motifs[0].label} | {
                f"{name}_profile_corr": _json_number(summarize({name: groups["peaks"][f"motif/{name}"]})[name])
                for name in ("bias", "accessibility", "combined")
            }
            metrics["chrombpnet"]["footprints"] = _footprints(
                model, loci, split, motifs, motifs_label, footprint_loci, batch_size=batch_size, device=device,
            )
    return Evaluation(metrics, _predictions(loci, groups, rows, examples, chrombpnet))


def _chrombpnet_block(peaks: dict[str, Any], groups: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """The ``chrombpnet`` block without the motif checks: the bias model alone and the QC verdicts."""
    bias_on_peaks = _summary(groups["peaks"], "bias")
    bias_on_negatives = _summary(groups["negatives"], "bias") if "negatives" in groups else None
    verdicts = qc_verdicts(peaks, bias_on_peaks, bias_on_negatives)
    return {
        "bias_on_peaks": bias_on_peaks, "bias_on_negatives": bias_on_negatives, "bias_motif": None,
        "qc": [verdict.record() for verdict in verdicts], "footprints": None,
    }


def qc_verdicts(
    peaks: dict[str, Any], bias_on_peaks: dict[str, Any], bias_on_negatives: dict[str, Any] | None,
) -> list[qc.Verdict]:
    """The official QC rules on count Pearson r: the bias model's on peaks and on negatives
    (:func:`~bpnet.train.qc.bias_verdicts`), the combined model's on peaks
    (:func:`~bpnet.train.qc.chrombpnet_verdict`). A missing value is NaN."""
    def pearson(block: dict[str, Any] | None) -> float:
        value = (block or {}).get("count_pearson")
        return math.nan if value is None else float(value)

    return [*qc.bias_verdicts(pearson(bias_on_peaks), pearson(bias_on_negatives)), qc.chrombpnet_verdict(pearson(peaks))]


def _footprints(
    model: torch.nn.Module, loci: LociSet, split: str, motifs: Sequence[Motif], label: str, n_loci: int | None, *,
    batch_size: int, device: torch.device,
) -> dict[str, Any] | None:
    """The footprint test of the accessibility model on the split's negatives (None without negatives),
    their windows read a batch at a time."""
    codes = background_windows(loci, split, n_loci)
    if not len(codes):
        log.warning("split %s has no negatives, so the footprint test of bias correction is skipped", split)
        return None
    return footprint_test(model.accessibility, codes, motifs, batch_size=batch_size, device=device, label=label)


def _architecture(model: torch.nn.Module) -> str:
    config = getattr(model, "bpnet_metadata", None) or {}
    return str(config.get("architecture") or getattr(model, "name", "") or type(model).__name__)


def _predictions(
    loci: LociSet, groups: dict[str, dict[str, np.ndarray]], rows: np.ndarray,
    examples: dict[int, dict[str, np.ndarray]], chrombpnet: bool,
) -> Predictions:
    """The predictions.npz content: peaks first, then negatives, each in stored order."""
    joined = {key: np.concatenate([group[key] for group in groups.values()]) for key in ("index", "obs_counts", "model/log_counts")}
    index = joined["index"].astype(np.int64)
    position = {int(row): i for i, row in enumerate(index)}
    shape = (0, loci.n_signals, loci.output_length)
    stack = lambda key: np.stack([examples[int(r)][key] for r in rows]) if len(rows) else np.zeros(shape, np.float32)  # noqa: E731
    predictions = Predictions(
        chrom=np.asarray(loci.chrom[index], dtype=str),
        centre=loci.centre[index].astype(np.int64),
        is_peak=loci.is_peak[index].astype(bool),
        loci_index=index,
        obs_log_counts=np.log1p(joined["obs_counts"]).astype(np.float32),
        pred_log_counts=joined["model/log_counts"].astype(np.float32),
        signal_names=list(loci.signal_names),
        example_index=np.array([position[int(r)] for r in rows], dtype=np.int64),
        example_observed=stack("observed").astype(np.float32),
        example_predicted=stack("predicted").astype(np.float32),
    )
    if chrombpnet:
        predictions.bias_pred_log_counts = np.concatenate([g["bias/log_counts"] for g in groups.values()]).astype(np.float32)
        predictions.example_bias = stack("bias").astype(np.float32)
    return predictions


# ---------------------------------------------------------------------- display


def metrics_table(metrics: dict[str, Any]):
    """The metrics as rich tables: one row per metric, one column per group of loci; then the
    reverse-complement-averaged metrics and, for a ChromBPNet, the official QC verdicts and the footprint test."""
    from rich.console import Group

    chrombpnet = metrics.get("chrombpnet") or {}
    columns = {"peaks": metrics["peaks"], "negatives": metrics["negatives"]}
    if chrombpnet:
        columns["bias model on peaks"] = chrombpnet.get("bias_on_peaks")
        columns["bias model on negatives"] = chrombpnet.get("bias_on_negatives")
    table = _blocks_table(f"{metrics['architecture']} on split {metrics['split']}", columns)
    motif = chrombpnet.get("bias_motif")
    if motif:
        for name in ("bias", "accessibility", "combined"):
            cells = [_format(motif[f"{name}_profile_corr"])] + [""] * (len(columns) - 1)
            table.add_row(f"r({motif['motif']} match, {name})", *cells)
    tables = [table]
    if metrics.get("rc_averaged"):
        rc = metrics["rc_averaged"]
        tables.append(_blocks_table("reverse-complement averaged", {"peaks": rc.get("peaks"), "negatives": rc.get("negatives")}))
    if chrombpnet:
        tables.append(qc_table(chrombpnet))
    return tables[0] if len(tables) == 1 else Group(*tables)


def _blocks_table(title: str, columns: dict[str, dict[str, Any] | None]):
    """One row per metric key, one column per metrics block."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric", no_wrap=True)
    for name in columns:
        table.add_column(name, justify="right")
    for key in METRIC_KEYS:
        table.add_row(key, *(_format(block.get(key)) if block else "-" for block in columns.values()))
    return table


def qc_table(chrombpnet: dict[str, Any]):
    """The official QC verdicts and the footprint test of a metrics.json ``chrombpnet`` block."""
    from rich.table import Table

    table = Table(title="official ChromBPNet QC")
    for name, justify in (("check", "left"), ("value", "right"), ("threshold", "right"), ("verdict", "left"), ("meaning", "left")):
        table.add_column(name, justify=justify)
    for record in chrombpnet.get("qc") or []:
        table.add_row(record["rule"], _format(record["value"]), _format(record["threshold"]), _level(record["level"]), record["meaning"])
    footprints = chrombpnet.get("footprints")
    if footprints:
        for motif in footprints["motifs"]:
            verdict = motif["verdict"]
            table.add_row(
                f"footprint of {motif['motif']} ({motif['consensus']})", _format(verdict["value"]), _format(verdict["threshold"]),
                "corrected" if verdict["level"] == "pass" else "[red]uncorrected[/red]", "",
            )
        verdict = footprints["verdict"]
        word = "corrected" if verdict["level"] == "pass" else "[red]uncorrected[/red]"
        table.add_row("bias correction (max footprint)", _format(verdict["value"]), _format(verdict["threshold"]), word, verdict["meaning"])
    return table


def _level(level: str) -> str:
    return {"pass": "pass", "advice": "[yellow]advice[/yellow]", "fail": "[red]FAIL[/red]"}.get(level, level)


def _format(value: float | int | None) -> str:
    if value is None:
        return "nan"
    return str(value) if isinstance(value, int) else f"{value:.4f}"


__all__ = [
    "Evaluation", "METRIC_KEYS", "check_split", "evaluate", "example_rows", "metrics_table", "motif_match_track", "qc_table",
    "qc_verdicts",
]
