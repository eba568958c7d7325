"""ChromBPNet on simulated ATAC-seq with a known Tn5-like bias: held-out metrics of the
bias model, the accessibility model and the combined model, and whether the bias motif
is absent from the accessibility model's profiles.

One ``bpnet run`` spec (written to ``--workdir``) runs the ATAC branch of the pipeline,
as a user would:

1. ``simulate`` (kind atac): a random genome, planted JASPAR motifs, Tn5 cuts drawn from
   accessibility x the designed Tn5-like bias motif (``bias.meme`` of the simulation);
2. ``reads-to-bigwig`` (preset atac: unstranded cuts, +4/-4), ``call-peaks`` (preset atac,
   MACS3 on the fragments), GC-matched ``negatives``, ``splits`` (test chr1, valid chr2,
   train the rest) and ``loci`` (2114/1000 bp, max_jitter 500 as the official ChromBPNet);
3. ``train-chrombpnet``: the bias model on low-count background loci, frozen and its count
   head scaled, then the accessibility model through the combined model (Adam 1e-3, batch
   64, 0.1 negatives per peak drawn afresh each epoch, early stopping on the validation
   loss with a patience long enough not to stop on noise);
4. ``evaluate`` three times on the test chromosome (peaks and negatives): the combined
   model (with ``bias_motifs`` = the simulation's ``bias.meme``: the mean per-peak Pearson
   correlation of each model's predicted profile with the bias motif's match track), the
   scaled bias model alone and the accessibility model alone.

Recorded in ``benchmarks/results/chrombpnet.json`` (small: no predictions): the
configuration (simulation, loci per split, hyperparameters, the count weights, bias
threshold and shift of the stage), per model and per group of test loci every metric of
the evaluate stage (profile MNLL, JSD, Pearson, Spearman; count Pearson, Spearman, MSE),
the bias-motif correlation per model, the training history of both models (epochs run,
best epoch, per-epoch losses), the wall time of every stage (from the run log), and for
each metric on the test peaks a verdict: is the combined model better than the bias model
alone (lower MNLL, JSD and MSE; higher Pearson and Spearman)? The verdicts are recorded,
not asserted: the script exits non-zero only on errors.

Run (about 12 minutes on an idle 2-core CPU, 15-40 minutes when other jobs share it,
nearly all of it training; ``--quick``: a tiny smoke configuration, about a minute)::

    .venv/bin/python benchmarks/chrombpnet.py [--quick] [--workdir /tmp/bpnet-bench-chrombpnet]

Variants for investigating the count head (each in its own ``--workdir``):
``--count-bias-init on`` (the count heads start at the mean training log count instead of
PyTorch's initialisation, the stage's default) and ``--patience 0`` (no early stopping:
``--max-epochs`` epochs).

Prints a table and writes ``benchmarks/results/chrombpnet.json``. The spec, the stage
outputs and the run log stay in ``--workdir`` (a second run with the same settings skips
every stage that is up to date; ``--force`` reruns them).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: metrics of the evaluate stage, and whether a lower value is better
METRICS = {
    "profile_mnll": True, "profile_jsd": True, "profile_pearson": False, "profile_spearman": False,
    "count_pearson": False, "count_spearman": False, "count_mse": True,
}
#: the three models; the name of the evaluate stage that scores each one
MODELS = {"bias": "evaluate-bias", "accessibility": "evaluate-accessibility", "combined": "evaluate"}
#: per-epoch columns of epochs.csv kept in the results
HISTORY = ("epoch", "lr", "train_loss", "valid_loss", "valid_profile_loss", "valid_count_loss",
           "valid_count_pearson", "valid_profile_jsd", "seconds", "improved")

FULL = {
    "genome_size": 8_000_000, "chroms": 8, "n_peaks": 800, "bias_filters": 32, "bias_layers": 4,
    "filters": 64, "layers": 8, "max_epochs": 40, "bias_max_epochs": 30, "patience": 8,
}
QUICK = {
    "genome_size": 2_000_000, "chroms": 4, "n_peaks": 150, "bias_filters": 8, "bias_layers": 2,
    "filters": 16, "layers": 4, "max_epochs": 2, "bias_max_epochs": 2, "patience": 2,
}


# ---------------------------------------------------------------------- the spec


def pipeline(args) -> dict[str, Any]:
    """The spec's stages, from the simulation to the three evaluations."""
    sim = "@sim.out"
    simulate: dict[str, Any] = {"kind": "atac", "seed": args.sim_seed, "genome_size": args.genome_size, "chroms": args.chroms,
                                "n_peaks": args.n_peaks}
    if args.tn5_strength is not None:
        simulate["options"] = {"tn5_strength": args.tn5_strength}
    train = {
        "loci": "@loci.loci",
        "bias_hyperparameters": {"n_filters": args.bias_filters, "n_layers": args.bias_layers},
        "hyperparameters": {"n_filters": args.filters, "n_layers": args.layers},
        "batch_size": args.batch_size, "learning_rate": args.learning_rate, "max_epochs": args.max_epochs,
        "bias_max_epochs": args.bias_max_epochs, "patience": args.patience or None, "negative_ratio": args.negative_ratio,
        "seed": args.train_seed, "device": "cpu",
    }
    if args.count_bias_init is not None:
        train["count_bias_init"] = args.count_bias_init == "on"
    evaluate = {"loci": "@loci.loci", "device": "cpu"}
    return {
        "sim": {"stage": "simulate", "params": simulate},
        "signal": {"stage": "reads-to-bigwig", "params": {"reads": [f"{sim}/reads.bam"], "genome": f"{sim}/genome.fa", "preset": "atac"}},
        "peaks": {"stage": "call-peaks", "params": {"reads": [f"{sim}/fragments.tsv.gz"], "genome": f"{sim}/genome.fa", "preset": "atac"}},
        "negatives": {"stage": "negatives", "params": {"genome": f"{sim}/genome.fa", "peaks": "@peaks.peaks", "seed": 0}},
        "folds": {"stage": "splits", "params": {"genome": f"{sim}/genome.fa",
                                                "folds": {"fold_0": {"valid": args.valid_chroms, "test": args.test_chroms}}}},
        "loci": {"stage": "loci", "params": {"genome": f"{sim}/genome.fa", "peaks": "@peaks.peaks", "negatives": "@negatives.negatives",
                                             "signals": ["@signal.tracks"], "splits": "@folds.splits", "max_jitter": args.max_jitter}},
        "chrombpnet": {"stage": "train-chrombpnet", "params": train},
        "evaluate": {"stage": "evaluate", "params": {"model": "@chrombpnet.model", "bias_motifs": f"{sim}/bias.meme", **evaluate}},
        "evaluate-bias": {"stage": "evaluate", "params": {"model": "@chrombpnet.bias_model_out", **evaluate}},
        "evaluate-accessibility": {"stage": "evaluate", "params": {"model": "@chrombpnet.accessibility_model", **evaluate}},
    }


def write_spec(path: Path, stages: dict[str, Any]) -> None:
    import yaml

    path.write_text(yaml.safe_dump({"output_dir": "out", "stages": stages}, sort_keys=False))


def bpnet_run(args, spec: Path) -> float:
    """``bpnet run SPEC`` as a user would (output into ``workdir/bpnet-run.log``); returns the wall seconds."""
    bpnet = Path(sys.executable).parent / "bpnet"
    env = {**os.environ, "BPNET_NO_PROGRESS": "1", "OMP_NUM_THREADS": str(args.threads)}
    command = [str(bpnet), "run", str(spec), *(["--force"] if args.force else [])]
    t0 = time.perf_counter()
    with open(args.workdir / "bpnet-run.log", "a") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    if done.returncode:
        raise SystemExit(f"bpnet run failed (exit {done.returncode}); see {args.workdir / 'bpnet-run.log'} "
                         f"and {args.workdir / 'out' / 'run.log'}")
    return time.perf_counter() - t0


# ---------------------------------------------------------------------- reading the outputs


def stage_seconds(run_log: Path) -> dict[str, float]:
    """Wall seconds of each stage, from its last 'stage X finished in N s' line in the run log
    (a stage that was up to date keeps the time of the run that made its outputs)."""
    seconds: dict[str, float] = {}
    pattern = re.compile(r"stage (\S+) finished in ([0-9.]+) s")
    if run_log.exists():
        for line in run_log.read_text().splitlines():
            found = pattern.search(line)
            if found:
                seconds[found.group(1)] = float(found.group(2))
    return seconds


def skipped_stages(run_log: Path, offset: int) -> list[str]:
    """Stages this invocation found up to date (the run log's lines after byte ``offset``)."""
    if not run_log.exists():
        return []
    with open(run_log, "rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    return re.findall(r"stage (\S+) \([^)]*\) is up to date; skipped", text)


def history(folder: Path) -> dict[str, Any]:
    """One model's training: summary.json's key numbers and the per-epoch rows of epochs.csv."""
    summary = json.loads((folder / "summary.json").read_text())
    with open(folder / "epochs.csv") as table:
        rows = [{key: _number(row[key]) for key in HISTORY if key in row} for row in csv.DictReader(table)]
    keep = ("epochs_run", "best_epoch", "best_valid_loss", "stopped_early", "seconds", "train_examples_per_s",
            "count_loss_weight", "n_parameters")
    return {**{key: summary.get(key) for key in keep}, "epochs": rows}


def _number(text: str) -> float | int | None:
    if text in ("", "nan", "None"):
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else round(value, 6)


def loci_summary(path: Path) -> dict[str, Any]:
    from bpnet.data.loci import LociSet

    loci = LociSet.load(path)
    return {"input_length": loci.input_length, "output_length": loci.output_length, "max_jitter": loci.max_jitter,
            "by_split": {k: {"peaks": int(p), "negatives": int(n)} for k, (p, n) in loci.counts_by_split().items()}}


def resolved_params(folder: Path) -> dict[str, Any]:
    """The parameters a stage ran with, defaults filled in (its params.yaml), without the paths."""
    import yaml

    spec = yaml.safe_load((folder / "params.yaml").read_text())
    params = next(iter(spec["stages"].values()))["params"]
    return {key: value for key, value in params.items() if not (isinstance(value, str) and value.startswith("/"))}


def count_calibration(folder: Path) -> dict[str, Any]:
    """Mean and sd of one model's predicted and the observed log(1 + count) over the test
    peaks and negatives (from predictions.npz): shows a count head stuck at one level."""
    import numpy as np

    with np.load(folder / "predictions.npz") as data:
        is_peak, observed, predicted = data["is_peak"], data["obs_log_counts"], data["pred_log_counts"]
    out = {}
    for group, rows in (("peaks", is_peak), ("negatives", ~is_peak)):
        if rows.any():
            p, o = predicted[rows].astype(float), observed[rows].astype(float)
            out[group] = {"mean_predicted": round(p.mean(), 4), "mean_observed": round(o.mean(), 4),
                          "sd_predicted": round(p.std(), 4), "sd_observed": round(o.std(), 4)}
    return out


def verdicts(combined: dict[str, Any], bias: dict[str, Any]) -> dict[str, Any]:
    """Per metric on the test peaks: is the combined model better than the bias model alone?"""
    out = {}
    for key, lower in METRICS.items():
        c, b = combined.get(key), bias.get(key)
        better = None if c is None or b is None else (c < b if lower else c > b)
        out[key] = {"combined": c, "bias": b, "better_is": "lower" if lower else "higher", "combined_better": better}
    return out


def collect(args, stages: dict[str, Any], wall: float, log_offset: int) -> dict[str, Any]:
    out = args.workdir / "out"
    metrics = {name: json.loads((out / stage / "metrics.json").read_text()) for name, stage in MODELS.items()}
    combined = metrics["combined"]
    extra = combined.get("chrombpnet") or {}
    report = json.loads((out / "chrombpnet" / "training" / "chrombpnet.json").read_text())
    training = {name: history(out / "chrombpnet" / "training" / name) for name in ("bias", "accessibility")}
    models = {name: {"peaks": m["peaks"], "negatives": m["negatives"]} for name, m in metrics.items()}
    # the combined evaluation scores the bias model on the peaks too: the two must agree
    same = {key: abs((extra["bias_on_peaks"].get(key) or 0) - (models["bias"]["peaks"].get(key) or 0)) for key in METRICS}
    motif = extra.get("bias_motif") or {}
    simulated = json.loads((out / "sim" / "simulation" / "simulation.json").read_text())
    return {
        "configuration": {
            "simulation": {**simulated["parameters"], "counts": simulated.get("counts"),
                           "motifs": {m["alt_name"]: m["sites"] for m in simulated.get("motifs", [])}},
            "splits": {"valid": args.valid_chroms, "test": args.test_chroms},
            "loci": loci_summary(out / "loci" / "loci.h5"), "train_chrombpnet": resolved_params(out / "chrombpnet"),
            "stage_report": {key: report.get(key) for key in (
                "bias_count_threshold", "bias_count_bounds", "bias_count_loss_weight", "n_bias_training_loci", "bias_check",
                "bias_count_shift", "count_loss_weight", "count_bounds", "bias_hyperparameters", "hyperparameters")},
        },
        "training": training,
        "models": models,
        "count_calibration": {name: count_calibration(out / stage) for name, stage in MODELS.items()},
        "bias_motif": {"motif": motif.get("motif"), **{name: motif.get(f"{name}_profile_corr") for name in MODELS}},
        "combined_better_than_bias_on_peaks": verdicts(models["combined"]["peaks"], models["bias"]["peaks"]),
        "bias_on_peaks_consistency_max_abs_difference": max(same.values()),
        "stage_seconds": (seconds := stage_seconds(out / "run.log")),
        "stage_seconds_total": round(sum(seconds.values()), 1),
        "run_seconds": wall,
        "stages_up_to_date": skipped_stages(out / "run.log", log_offset),
        "spec": str(args.workdir / "spec.yaml"),
    }


# ---------------------------------------------------------------------- report


def print_tables(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    models, verdict = results["models"], results["combined_better_than_bias_on_peaks"]
    n = {group: models["combined"][group]["n"] if models["combined"][group] else 0 for group in ("peaks", "negatives")}
    table = Table(title=f"ChromBPNet on held-out {', '.join(results['configuration']['splits']['test'])}: "
                        f"{n['peaks']} peaks, {n['negatives']} negatives")
    table.add_column("metric", no_wrap=True)
    for group in ("peaks", "negatives"):
        for name in MODELS:
            table.add_column(f"{name[:3] if name == 'accessibility' else name}\n{group}", justify="right", no_wrap=True)
    table.add_column("combined >\nbias (peaks)", justify="center", no_wrap=True)
    for key, lower in METRICS.items():
        cells = []
        for group in ("peaks", "negatives"):
            for name in MODELS:
                block = models[name][group]
                cells.append(_cell(None if block is None else block.get(key)))
        better = verdict[key]["combined_better"]
        mark = "-" if better is None else "[green]yes[/]" if better else "[red]no[/]"
        table.add_row(f"{key} ({'↓' if lower else '↑'})", *cells, mark)
    motif = results["bias_motif"]
    if motif.get("motif"):
        table.add_row(f"r(profile, {motif['motif']})", *[_cell(motif[name]) for name in MODELS], "", "", "", "")
    console.print(table)
    calibration = results["count_calibration"]
    for group in ("peaks", "negatives"):
        if group in calibration["combined"]:
            parts = [f"{name} {c[group]['mean_predicted']:.2f}±{c[group]['sd_predicted']:.3f}" for name, c in calibration.items()]
            observed = calibration["combined"][group]
            console.print(f"test {group}, log(1 + count) mean±sd: predicted {', '.join(parts)}; observed "
                          f"{observed['mean_observed']:.2f}±{observed['sd_observed']:.3f}")
    report = results["configuration"]["stage_report"]
    for name in ("bias", "accessibility"):
        h = results["training"][name]
        console.print(f"{name} model: {h['n_parameters']} parameters, {h['epochs_run']} epochs (best {h['best_epoch']}, "
                      f"stopped early {h['stopped_early']}), {h['seconds']:.0f} s, {h['train_examples_per_s']:.1f} examples/s, "
                      f"count-loss weight {h['count_loss_weight']:.4g}")
    check = report.get("bias_check") or {}
    console.print(f"bias model: {report['n_bias_training_loci']} background loci below {report['bias_count_threshold']:.4g} counts; "
                  f"count r on validation peaks {check.get('peaks_count_pearson', float('nan')):.3f}; count head shifted by "
                  f"{report['bias_count_shift']:.3f}")
    console.print("stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in results["stage_seconds"].items()))


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


# ---------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny smoke configuration (2 Mb, 8x2 / 16x4 models, 2 epochs)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bpnet-bench-chrombpnet"))
    parser.add_argument("--out", type=Path, default=None, help="results JSON (default benchmarks/results/chrombpnet.json; "
                        "with --quick: WORKDIR/chrombpnet-quick.json)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (OMP_NUM_THREADS of bpnet run)")
    parser.add_argument("--force", action="store_true", help="rerun every stage even if it is up to date")
    parser.add_argument("--sim-seed", type=int, default=1)
    parser.add_argument("--genome-size", type=int, help=f"simulated genome (bp; default {FULL['genome_size']})")
    parser.add_argument("--chroms", type=int, help=f"chromosomes (default {FULL['chroms']})")
    parser.add_argument("--n-peaks", type=int, help=f"planted peaks (default {FULL['n_peaks']})")
    parser.add_argument("--tn5-strength", type=float, default=None, help="simulator's tn5_strength (default: the simulator's, 1)")
    parser.add_argument("--valid-chroms", nargs="+", default=["chr2"])
    parser.add_argument("--test-chroms", nargs="+", default=["chr1"])
    parser.add_argument("--max-jitter", type=int, default=500, help="loci jitter (official ChromBPNet: 500)")
    parser.add_argument("--bias-filters", type=int, help=f"bias model filters (default {FULL['bias_filters']}; official 128)")
    parser.add_argument("--bias-layers", type=int, help=f"bias model layers (default {FULL['bias_layers']}; official 4)")
    parser.add_argument("--filters", type=int, help=f"accessibility model filters (default {FULL['filters']}; official 512)")
    parser.add_argument("--layers", type=int, help=f"accessibility model layers (default {FULL['layers']}; official 8)")
    parser.add_argument("--max-epochs", type=int, help=f"accessibility model's most epochs (default {FULL['max_epochs']})")
    parser.add_argument("--bias-max-epochs", type=int, help=f"bias model's most epochs (default {FULL['bias_max_epochs']})")
    parser.add_argument("--patience", type=int, help=f"early-stopping patience, both models (default {FULL['patience']}; "
                        "official 5; 0 never stops early)")
    parser.add_argument("--count-bias-init", choices=("on", "off"), default=None,
                        help="start the count heads' bias at the mean training log count (on) or as PyTorch initialises "
                        "it (off, the official start); default: the stage's default (off for train-chrombpnet)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--negative-ratio", type=float, default=0.1, help="negatives per peak per epoch (official 0.1)")
    parser.add_argument("--train-seed", type=int, default=0)
    args = parser.parse_args()
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        args.out = args.workdir / "chrombpnet-quick.json" if args.quick else HERE / "results" / "chrombpnet.json"

    args.workdir.mkdir(parents=True, exist_ok=True)
    spec = args.workdir / "spec.yaml"
    stages = pipeline(args)
    write_spec(spec, stages)
    print(f"running {spec} (log: {args.workdir / 'out' / 'run.log'})", flush=True)
    run_log = args.workdir / "out" / "run.log"
    log_offset = run_log.stat().st_size if run_log.exists() else 0
    wall = bpnet_run(args, spec)
    import torch

    results = {"setup": {
        "command": " ".join([".venv/bin/python", "benchmarks/chrombpnet.py", *sys.argv[1:]]), "quick": args.quick,
        "python": platform.python_version(), "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "threads": args.threads, "date": time.strftime("%Y-%m-%d"),
    }, **collect(args, stages, wall, log_offset)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_tables(results)
    skipped = results["stages_up_to_date"]
    print(f"\n{wall:.0f} s in all{f' ({len(skipped)} stages up to date, skipped)' if skipped else ''}; wrote {args.out}")


if __name__ == "__main__":
    main()
