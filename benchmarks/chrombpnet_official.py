"""ChromBPNet side by side with the official implementation (kundajelab/chrombpnet 1.0.1).

Both sides train on the same files with the same reduced settings, and **our** ``evaluate``
stage scores both on the same held-out loci, so no metric definition can differ:

1. One ``bpnet run`` spec prepares a simulated ATAC-seq experiment (``--dataset``):
   ``simulate`` -> ``reads-to-bigwig`` (preset atac, +4/-4) -> ``call-peaks`` (MACS3) ->
   GC-matched ``negatives`` -> ``splits`` -> ``loci``.
2. ``--train``: for each seed, one side or both (``--sides``; at once, one thread each, by
   default):
   * **ours**: ``train-chrombpnet`` on those loci;
   * **official**: ``benchmarks/official_chrombpnet_train.py`` in the official environment
     (``benchmarks/official_chrombpnet_env.sh``) trains on the same bigWig, peaks,
     non-peaks and folds (its find-hyperparameter steps, then ``train`` twice, then its
     own ``predict`` on the test peaks).
   A side already trained is skipped, so the two sides can run as separate chains.
3. Without ``--train`` (collect): ``bpnet-keras convert`` imports the official
   ``chrombpnet.h5``, ``chrombpnet_nobias.h5`` and ``bias_model_scaled.h5``, and this
   checkout's ``evaluate`` scores the combined, bias and accessibility models of both
   sides on the test loci (in ``out-eval``, so evaluating never retrains). Recorded per side
   and seed (``benchmarks/results/chrombpnet-official-<dataset>.json``): every metric of
   ``evaluate`` on test peaks and negatives, count separation (predicted peak-vs-negative
   log-count gap / observed gap), the bias motif's correlation with each model's profiles,
   the official QC verdicts and footprint test, the official ``predict`` metrics of the
   official models (a check of the import), epochs and training seconds.

Datasets:

* ``default``: the simulator's defaults (background depletion on), ``--genome-size`` over
  ``--chroms`` chromosomes with ``--n-peaks`` planted peaks;
* ``gc-clustered``: no background depletion, peaks clustered in GC-rich domains (the
  simulator's ``gc_domains``); ``--sim-options`` adds or overrides simulator options.

Run (the official environment once: ``bash benchmarks/official_chrombpnet_env.sh``)::

    .venv/bin/python benchmarks/chrombpnet_official.py --dataset default --seeds 0 1 2 --train
    .venv/bin/python benchmarks/chrombpnet_official.py --dataset default --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from chrombpnet import bpnet_run, loci_summary, stage_seconds, write_spec  # benchmarks/chrombpnet.py

HERE = Path(__file__).resolve().parent
DEFAULT_OFFICIAL_PYTHON = Path("/work/bench-envs/chrombpnet/bin/python")

#: evaluate's metrics, lower is better?
METRICS = {
    "count_pearson": False, "count_spearman": False, "count_mse": True, "profile_jsd": True,
    "profile_median_jsd": True, "profile_median_norm_jsd": False, "profile_pearson": False,
}
MODELS = ("combined", "bias", "accessibility")

#: simulator options per dataset (the gc-clustered options can be overridden on the command line)
DATASETS: dict[str, dict[str, Any]] = {
    "default": {},
    "gc-clustered": {"deplete_above": None, "gc_domains": {}},
}
#: negatives per dataset: peaks crowd the GC-rich domains, where the default padding and two negatives per
#: peak leave too few GC-rich windows (KS 0.53 at ratio 2; 0.003 at ratio 1 without padding)
NEGATIVES: dict[str, dict[str, Any]] = {"default": {}, "gc-clustered": {"ratio": 1, "padding": 0}}


# ---------------------------------------------------------------------- specs


def prep_stages(args) -> dict[str, Any]:
    """Simulation to loci.h5: the data both sides train on."""
    sim = "@sim.out"
    options = {**DATASETS[args.dataset], **json.loads(args.sim_options or "{}")}
    simulate: dict[str, Any] = {"kind": "atac", "seed": args.sim_seed, "genome_size": args.genome_size,
                                "chroms": args.chroms, "n_peaks": args.n_peaks}
    if options:
        simulate["options"] = options
    return {
        "sim": {"stage": "simulate", "params": simulate},
        "signal": {"stage": "reads-to-bigwig", "params": {"reads": [f"{sim}/reads.bam"], "genome": f"{sim}/genome.fa", "preset": "atac"}},
        "peaks": {"stage": "call-peaks", "params": {"reads": [f"{sim}/fragments.tsv.gz"], "genome": f"{sim}/genome.fa", "preset": "atac"}},
        "negatives": {"stage": "negatives", "params": {"genome": f"{sim}/genome.fa", "peaks": "@peaks.peaks", "seed": 0,
                                                       "width": args.inputlen, **NEGATIVES[args.dataset]}},
        "folds": {"stage": "splits", "params": {"genome": f"{sim}/genome.fa",
                                                "folds": {"fold_0": {"valid": args.valid_chroms, "test": args.test_chroms}}}},
        "loci": {"stage": "loci", "params": {
            "genome": f"{sim}/genome.fa", "peaks": "@peaks.peaks", "negatives": "@negatives.negatives",
            "signals": ["@signal.tracks"], "splits": "@folds.splits", "max_jitter": args.max_jitter,
            "input_length": args.inputlen, "output_length": args.outputlen,
        }},
    }


def evaluate_stages(args, side: str, seed: int, models: dict[str, Path]) -> dict[str, Any]:
    """One evaluate stage per model, the models given by path; the combined one also gets the
    simulation's bias motif (its correlation with each model's profiles, and the footprint test)."""
    data = args.workdir / "out"
    stages = {}
    for name, model in models.items():
        params = {"model": str(model), "loci": str(data / "loci" / "loci.h5"), "device": "cpu"}
        if name == "combined":
            params["bias_motifs"] = str(data / "sim" / "simulation" / "bias.meme")
        stages[f"{side}-s{seed}-evaluate-{name}"] = {"stage": "evaluate", "params": params}
    return stages


def ours_stages(args, seed: int) -> dict[str, Any]:
    train = {
        "loci": "@loci.loci",
        "bias_hyperparameters": {"n_filters": args.bias_filters, "n_layers": args.bias_layers},
        "hyperparameters": {"n_filters": args.filters, "n_layers": args.layers},
        "bias_threshold_factor": args.bias_threshold_factor, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "max_epochs": args.epochs, "bias_max_epochs": args.bias_epochs,
        "patience": args.patience, "negative_ratio": args.negative_ratio, "seed": seed, "device": "cpu",
    }
    return {f"ours-s{seed}-train": {"stage": "train-chrombpnet", "params": train}}


def ours_models(args, seed: int) -> dict[str, Path]:
    folder = args.workdir / "out" / f"ours-s{seed}-train"
    return {"combined": folder / "model", "bias": folder / "bias_model", "accessibility": folder / "accessibility_model"}


# ---------------------------------------------------------------------- the official side


def official_inputs(args) -> dict[str, str]:
    """The official code's inputs, from the prepared outputs: the same bigWig, peaks, non-peaks, folds."""
    out = args.workdir / "out"
    inputs = args.workdir / "official-inputs"
    inputs.mkdir(exist_ok=True)
    splits = json.loads((out / "folds" / "splits.json").read_text())
    fold = splits["folds"]["fold_0"] if "folds" in splits else splits["fold_0"]
    folds = inputs / "folds.json"
    folds.write_text(json.dumps({key: fold[key] for key in ("train", "valid", "test")}))
    return {
        "genome": str(out / "sim" / "simulation" / "genome.fa"),
        "bigwig": str(out / "signal" / "tracks" / "unstranded.bw"),
        "peaks": str(out / "peaks" / "peaks.narrowPeak"),
        "nonpeaks": str(out / "negatives" / "negatives.bed"),
        "folds": str(folds),
    }


def official_command(args, seed: int) -> tuple[list[str], Path]:
    run = args.workdir / f"official-s{seed}"
    config = {
        **official_inputs(args), "out": str(run), "seed": seed, "inputlen": args.inputlen, "outputlen": args.outputlen,
        "bias_threshold_factor": args.bias_threshold_factor, "bias_filters": args.bias_filters, "bias_layers": args.bias_layers,
        "filters": args.filters, "layers": args.layers, "max_jitter": args.max_jitter,
        "negative_sampling_ratio": args.negative_ratio, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
        "epochs": args.epochs, "bias_epochs": args.bias_epochs, "early_stop": args.patience, "threads": args.threads,
    }
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps(config, indent=2))
    return [str(args.official_python), str(HERE / "official_chrombpnet_train.py"), str(run / "config.json")], run


def convert_official(run: Path) -> Path:
    """bpnet-keras imports the three official models into bpnet model folders."""
    converted = run / "converted"
    keras = Path(sys.executable).parent / "bpnet-keras"
    sources = {"combined": run / "models" / "chrombpnet.h5", "accessibility": run / "models" / "chrombpnet_nobias.h5",
               "bias": run / "auxiliary" / "bias_model_scaled.h5"}
    for name, source in sources.items():
        if not (converted / name).exists():
            subprocess.run([str(keras), "convert", str(source), "--out", str(converted / name)], check=True,
                           stdout=subprocess.DEVNULL)
    return converted


# ---------------------------------------------------------------------- running


def environment(threads: int) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads),
            "TF_NUM_INTEROP_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "2", "BPNET_NO_PROGRESS": "1"}


def train_seed(args, seed: int, base: dict[str, Any], order: int) -> dict[str, float]:
    """Train the sides of ``args.sides`` for one seed, at once or one after the other (a side already
    trained is skipped); returns their wall seconds."""
    spec = args.workdir / f"spec-ours-s{seed}.yaml"
    write_spec(spec, {**base, **ours_stages(args, seed)})
    command, run = official_command(args, seed)
    logs = {"official": run / "official.log", "ours": args.workdir / f"ours-s{seed}.log"}
    commands = {"official": command, "ours": [str(Path(sys.executable).parent / "bpnet"), "run", str(spec)]}
    trained = {"official": (run / "timings.json").exists(), "ours": (ours_models(args, seed)["combined"]).exists()}

    def start(side: str) -> tuple[subprocess.Popen | None, float]:
        if trained[side]:
            return None, time.perf_counter()
        env = environment(args.threads)
        if side == "official":  # our source tree must not leak into the official python
            env.pop("PYTHONPATH", None)
        with open(logs[side], "a") as log:
            return subprocess.Popen(commands[side], stdout=log, stderr=subprocess.STDOUT, env=env), time.perf_counter()

    def finish(side: str, process: subprocess.Popen | None, t0: float) -> None:
        if process is not None and process.wait():
            raise SystemExit(f"{side} seed {seed} failed; see {logs[side]}")
        walls[side] = round(time.perf_counter() - t0, 1)

    walls: dict[str, float] = {}
    sides = [side for side in (["ours", "official"] if order % 2 == 0 else ["official", "ours"]) if side in args.sides]
    if args.parallel:
        for side, (process, t0) in {side: start(side) for side in sides}.items():
            finish(side, process, t0)
    else:
        for side in sides:
            finish(side, *start(side))
    return walls


def evaluate_seeds(args) -> list[int]:
    """Evaluate every seed both sides have trained, with this checkout's ``evaluate`` (its own output
    folder ``out-eval``, so evaluating never retrains); returns those seeds."""
    import yaml

    seeds = [seed for seed in args.seeds
             if (args.workdir / f"official-s{seed}" / "timings.json").exists() and ours_models(args, seed)["combined"].exists()]
    stages: dict[str, Any] = {}
    for seed in seeds:
        stages.update(evaluate_stages(args, "ours", seed, ours_models(args, seed)))
        converted = convert_official(args.workdir / f"official-s{seed}")
        stages.update(evaluate_stages(args, "official", seed, {name: converted / name for name in MODELS}))
    if stages:
        spec = args.workdir / "spec-evaluate.yaml"
        spec.write_text(yaml.safe_dump({"output_dir": "out-eval", "stages": stages}, sort_keys=False))
        bpnet_run(args, spec)
    return seeds


# ---------------------------------------------------------------------- collecting


def count_separation(folder: Path) -> float | None:
    """(mean predicted log count of test peaks - of negatives) / the same observed gap."""
    import numpy as np

    with np.load(folder / "predictions.npz") as data:
        peak, observed, predicted = data["is_peak"].astype(bool), data["obs_log_counts"], data["pred_log_counts"]
    if peak.all() or not peak.any():
        return None
    gap = observed[peak].mean() - observed[~peak].mean()
    return float((predicted[peak].mean() - predicted[~peak].mean()) / gap) if gap > 0 else None


def side_results(out: Path, prefix: str) -> dict[str, Any]:
    models = {}
    for name in MODELS:
        folder = out / f"{prefix}-evaluate-{name}"
        metrics = json.loads((folder / "metrics.json").read_text())
        models[name] = {"peaks": metrics["peaks"], "negatives": metrics["negatives"],
                        "count_separation": count_separation(folder)}
    combined = json.loads((out / f"{prefix}-evaluate-combined" / "metrics.json").read_text())
    motif = (combined.get("chrombpnet") or {}).get("bias_motif") or {}
    qc = (combined.get("chrombpnet") or {}).get("qc")
    footprints = (combined.get("chrombpnet") or {}).get("footprints")
    return {"models": models, "bias_motif_profile_corr": {k: v for k, v in motif.items() if k.endswith("_profile_corr")},
            "qc": qc, "footprints": footprints}


def ours_training(out: Path, seed: int) -> dict[str, Any]:
    folder = out / f"ours-s{seed}-train" / "training"
    record = json.loads((folder / "chrombpnet.json").read_text())
    runs = {}
    for name in ("bias", "accessibility"):
        summary = json.loads((folder / name / "summary.json").read_text())
        runs[name] = {key: summary.get(key) for key in ("epochs_run", "best_epoch", "seconds", "count_loss_weight")}
    return {"runs": runs, "count_loss_weight": record.get("count_loss_weight"),
            "bias_count_threshold": record.get("bias_count_threshold"), "n_bias_training_loci": record.get("n_bias_training_loci")}


def official_training(run: Path) -> dict[str, Any]:
    import csv

    runs = {}
    for name in ("bias", "chrombpnet"):
        with open(run / "models" / f"{name}.log") as table:
            rows = list(csv.DictReader(table))
        losses = [float(row["val_loss"]) for row in rows]
        runs[name] = {"epochs_run": len(rows), "best_epoch": losses.index(min(losses)) + 1 if losses else None}
    params = dict(line.split("\t") for line in (run / "auxiliary" / "chrombpnet_model_params.tsv").read_text().splitlines())
    official_metrics = {}
    for name in ("chrombpnet", "bias"):
        metrics = json.loads((run / "evaluation" / f"{name}_metrics.json").read_text())
        official_metrics[name] = {"counts": metrics["counts_metrics"]["peaks"], "profile": metrics["profile_metrics"]["peaks"]}
    return {"runs": runs, "timings": json.loads((run / "timings.json").read_text()),
            "count_loss_weight": float(params["counts_loss_weight"]), "official_predict_on_test_peaks": official_metrics}


def summary_table(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Median (min-max) over seeds of each metric of the combined model (and the bias model for reference)."""
    rows = []
    for model in ("combined", "bias", "accessibility"):
        for group in ("peaks", "negatives"):
            for key, lower in METRICS.items():
                cells = {}
                for side in ("ours", "official"):
                    values = [run[side]["models"][model][group].get(key) for run in results["seeds"]
                              if run[side]["models"][model][group] is not None]
                    values = [v for v in values if v is not None]
                    cells[side] = _spread(values)
                if cells["ours"] or cells["official"]:
                    rows.append({"model": model, "group": group, "metric": key, "lower_is_better": lower, **cells})
        values = {side: [run[side]["models"][model]["count_separation"] for run in results["seeds"]] for side in ("ours", "official")}
        rows.append({"model": model, "group": "test", "metric": "count_separation", "lower_is_better": False,
                     **{side: _spread([v for v in vals if v is not None]) for side, vals in values.items()}})
    for model, metric, lower, value in EXTRA_ROWS:
        cells = {side: _spread([v for run in results["seeds"] if (v := value(run[side])) is not None]) for side in ("ours", "official")}
        rows.append({"model": model, "group": "test", "metric": metric, "lower_is_better": lower, **cells})
    return rows


def _footprint(side: dict[str, Any]) -> float | None:
    motifs = (side.get("footprints") or {}).get("motifs") or []
    return max((m["max_footprint"] for m in motifs), default=None)


def _seconds(side: dict[str, Any], model: str) -> float | None:
    training = side["training"]
    if "timings" in training:  # the official side
        return training["timings"].get({"bias": "bias_train", "accessibility": "chrombpnet_train"}[model])
    return training["runs"][model].get("seconds")


def _epochs(side: dict[str, Any]) -> float | None:
    runs = side["training"]["runs"]
    return (runs.get("accessibility") or runs.get("chrombpnet") or {}).get("best_epoch")


#: rows beyond evaluate's metrics: (model, metric, lower is better, value of one side of one seed)
EXTRA_ROWS = (
    ("accessibility", "r(profile, bias motif)", True, lambda side: side["bias_motif_profile_corr"].get("accessibility_profile_corr")),
    ("bias", "r(profile, bias motif)", False, lambda side: side["bias_motif_profile_corr"].get("bias_profile_corr")),
    ("accessibility", "max footprint of the bias motif", True, _footprint),
    ("accessibility", "best epoch", False, _epochs),
    ("bias", "training seconds", True, lambda side: _seconds(side, "bias")),
    ("accessibility", "training seconds", True, lambda side: _seconds(side, "accessibility")),
)


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def print_table(rows: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("model", "group", "metric", "ours median (min-max)", "official median (min-max)"):
        table.add_column(column)
    for row in rows:
        cells = [
            "-" if row[side] is None else f"{row[side]['median']:.4f} ({row[side]['min']:.4f}-{row[side]['max']:.4f})"
            for side in ("ours", "official")
        ]
        table.add_row(row["model"], row["group"], f"{row['metric']} ({'↓' if row['lower_is_better'] else '↑'})", *cells)
    Console(width=160).print(table)


# ---------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="default")
    parser.add_argument("--sim-options", default=None, help="JSON object of extra simulator options")
    parser.add_argument("--workdir", type=Path, default=None, help="default /tmp/bpnet-bench-official-<dataset>")
    parser.add_argument("--official-python", type=Path, default=Path(os.environ.get("CHROMBPNET_PYTHON", DEFAULT_OFFICIAL_PYTHON)))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1, help="threads per side")
    parser.add_argument("--sides", nargs="+", choices=("ours", "official"), default=["ours", "official"],
                        help="train only these sides (a side already trained is skipped); results need both")
    parser.add_argument("--sequential", dest="parallel", action="store_false", help="one side after the other (default: at once)")
    parser.add_argument("--sim-seed", type=int, default=1)
    parser.add_argument("--genome-size", type=int, default=24_000_000)
    parser.add_argument("--chroms", type=int, default=8)
    parser.add_argument("--n-peaks", type=int, default=4000)
    parser.add_argument("--valid-chroms", nargs="+", default=["chr2"])
    parser.add_argument("--test-chroms", nargs="+", default=["chr1"])
    parser.add_argument("--inputlen", type=int, default=846, help="input bp (6 dilated layers need output + 346)")
    parser.add_argument("--outputlen", type=int, default=500)
    parser.add_argument("--max-jitter", type=int, default=128)
    parser.add_argument("--bias-threshold-factor", type=float, default=0.5)
    parser.add_argument("--bias-filters", type=int, default=32)
    parser.add_argument("--bias-layers", type=int, default=4)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--negative-ratio", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--bias-epochs", type=int, default=3)
    parser.add_argument("--patience", type=int, default=3, help="early stopping, both sides (official default 5)")
    parser.add_argument("--prepare-only", action="store_true", help="stop after the data preparation")
    parser.add_argument("--train", action="store_true", help="train the seeds of --sides and stop (collect later, without --train)")
    args = parser.parse_args()
    args.workdir = args.workdir or Path(f"/tmp/bpnet-bench-official-{args.dataset}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.force = False
    if not args.official_python.exists():
        raise SystemExit(f"{args.official_python}: no official ChromBPNet python; run benchmarks/official_chrombpnet_env.sh "
                         "or give --official-python")

    if not (args.train or args.prepare_only):
        collect(args)  # with this checkout's code: preparing again could redo the data with other code
        return
    base = prep_stages(args)
    prep_spec = args.workdir / "spec-prep.yaml"
    write_spec(prep_spec, base)
    t0 = time.perf_counter()
    bpnet_run(args, prep_spec)
    print(f"prepared the data in {time.perf_counter() - t0:.0f} s ({args.workdir / 'out'})", flush=True)
    if args.prepare_only:
        return
    if args.train:
        for order, seed in enumerate(args.seeds):
            walls = train_seed(args, seed, base, order)
            (args.workdir / f"walls-s{seed}-{'-'.join(args.sides)}.json").write_text(json.dumps(walls))
            print(f"seed {seed}: trained {walls}", flush=True)


def collect(args) -> None:
    """Evaluate and gather every seed both sides have trained; write the results and print the table."""
    seeds = evaluate_seeds(args)
    if not seeds:
        raise SystemExit("no seed has been trained by both sides yet")
    data, evaluated = args.workdir / "out", args.workdir / "out-eval"
    seconds = stage_seconds(data / "run.log")
    results: dict[str, Any] = {"setup": {
        "command": " ".join([".venv/bin/python", "benchmarks/chrombpnet_official.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d"), "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        "threads_per_side": args.threads,
        "settings": {key: getattr(args, key) for key in (
            "dataset", "sim_options", "genome_size", "chroms", "n_peaks", "inputlen", "outputlen", "max_jitter",
            "bias_threshold_factor", "bias_filters", "bias_layers", "filters", "layers", "batch_size", "learning_rate",
            "negative_ratio", "epochs", "bias_epochs", "patience")},
        "simulator_options": {**DATASETS[args.dataset], **json.loads(args.sim_options or "{}")},
        "loci": loci_summary(data / "loci" / "loci.h5"),
    }, "seeds": [{
        "seed": seed,
        "ours": {**side_results(evaluated, f"ours-s{seed}"), "training": ours_training(data, seed),
                 "train_stage_seconds": seconds.get(f"ours-s{seed}-train")},
        "official": {**side_results(evaluated, f"official-s{seed}"), "training": official_training(args.workdir / f"official-s{seed}")},
    } for seed in seeds]}
    results["summary"] = summary_table(results)
    out_path = HERE / "results" / f"chrombpnet-official-{args.dataset}.json"
    out_path.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print_table(results["summary"], f"ChromBPNet, ours vs official 1.0.1, dataset {args.dataset}, seeds {seeds}")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
