"""Convergence: BPNet trained to its best epoch by bpnet and by bpnet-lite 1.1.0, each with its own defaults.

``training.py``'s parity part gives both sides the same settings and a short budget: it
measures the start of training. This script measures the end: each side trains as a
user of it would, until its own early stopping (or its own ``max_epochs``), and the best
checkpoints are compared.

For each dataset (:data:`DATASETS`: a name and simulator options) one ``bpnet run`` spec
preprocesses a simulated ChIP experiment with our pipeline (simulate, reads-to-bigwig for
the stranded signal and the stranded control, call-peaks, negatives at 1:1, splits,
loci; :func:`training.preprocessing_stages`). Then, for every seed, two trainings:

* **bpnet**: the ``train-bpnet`` stage as ``bpnet init`` writes it for a BPNet (init sets
  only ``loci``; every other parameter keeps the stage's default: up to 50 epochs, early
  stopping after 5 epochs without a lower validation loss, no learning-rate scheduler,
  ChromBPNet's count-loss weight rule, profile loss on every example, the count head's
  bias started at the mean log count, validation on the validation peaks and negatives),
  with the model size, the seed and the device set;
* **bpnet-lite**: its own ``bpnet fit`` command (the installed ``bpnet`` script, run as
  it is by ``peer_bpnetlite.py fit-defaults``) with its ``default_fit_parameters`` (up
  to 50 epochs, early stopping after 10, ReduceLROnPlateau, its automatic count-loss
  weight, training peaks centred on the interval midpoint, ``summits: false``,
  validation on the validation peaks), with the same model size, the data files, the
  chromosomes, ``random_state`` (the seed; torch's generator is seeded with it too) and
  the device set.

Both read the same peaks, the same negatives, the same signal and control bigWigs and
the same training and validation chromosomes. The trainings run ``--parallel`` at a
time (default 2, one per core), each with ``--threads`` torch threads (default 1).

Every best checkpoint then predicts the same test windows: the loci stage's
test-chromosome peaks and negatives, summit-centred, unjittered (bpnet-lite's own
extraction of them is checked base for base and count for count against ours),
plain and averaged with the reverse complement (probabilities and log counts averaged;
ours by ``bpnet.core.outputs.average_predictions``, bpnet-lite's by the same rule in
its environment). Both sides' predictions of the test peaks (and, for count Pearson,
of the test peaks and negatives) go through both metric codes: ours
(``bpnet.core.metrics``, :func:`training.score`) and bpnet-lite's
``calculate_performance_measures`` as ``bpnet evaluate`` calls it. The codes differ in
definitions: bpnet-lite averages the per-strand MNLL (ours sums the strands, so twice
as large), and scores an undefined correlation as 0 (ours: NaN, left out of the mean).

Sizes (defaults), chosen so that the whole run fits 60-90 minutes on 2 CPU cores:

* model: a 32-filter x 6-layer BPNet on 1346/1000 bp windows (1346: the shortest input
  our 'valid' convolutions take for a 1000 bp output; bpnet-lite trims the same 173 bp
  a side, so no output sees its zero padding), jitter 128 on both sides;
* data: a 16 Mb genome on 8 chromosomes with 1600 planted peaks; test chr1-chr2,
  validation chr3, training chr4-chr8: about 930 training peaks, so an epoch (the
  peaks and a third as many negatives) is about 20 batches of 64.

On one core each (the other core training too, otherwise quiet), an epoch (about 1250
examples) took 12.5-14 s for ours (about 100 training examples/s) and 16 s for
bpnet-lite (about 80 examples/s). At most 50 epochs a side and 6 trainings a side: at
most about 80 minutes when every run goes to 50 epochs, about 55 when the runs stop
near epoch 30 (ours) and 40 (bpnet-lite); plus a minute of preprocessing.

bpnet-lite's trainings get ``NUMBA_NUM_THREADS`` as well as ``OMP_NUM_THREADS``: after
tangermeme's numba-parallel one-hot encoding (in its data loading) torch otherwise
trains with an OpenMP team of every core, whatever ``OMP_NUM_THREADS`` says.

``--official-size`` trains the 64 x 8 model on 2114/1000 bp windows (for a GPU:
``--device cuda``, with a CUDA build of torch in both environments).

A second run in the same ``--workdir`` reuses our finished stages (``bpnet run`` skips
what is up to date) but retrains bpnet-lite: give a fresh workdir when times matter.

Prints one table per dataset and writes ``benchmarks/results/convergence.json``::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/convergence.py            # 55-80 minutes on 2 cores
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/convergence.py --quick    # smoke test, a few minutes
    .venv/bin/python benchmarks/convergence.py --official-size --device cuda --parallel 1 --threads 8
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from training import (  # benchmarks/training.py
    DEFAULT_PEER,
    HERE,
    _halvings,
    _no_nan,
    _peer_best_epoch,
    _plain,
    bpnet_run,
    peer_job,
    peer_versions,
    preprocessing_stages,
    score,
    shared_files,
    stage_folder,
    test_windows,
    write_spec,
)

#: simulated ChIP datasets: name -> simulator options (fields of bpnet.data.simulate.SimulationConfig)
DATASETS: dict[str, dict[str, Any]] = {
    # the simulator's defaults, the five bundled JASPAR motifs
    "default": {},
    # built unlike it (bpnet.data.simulate.config.PRESETS["independent"]): CTCF and GATA1 only, no background
    # depletion, peaks clustered in GC domains, hotspots in ChIP and control, motif- and orientation-dependent
    # footprints, site strength growing with the motif match, activity sd 0.6
    "independent": {"preset": "independent"},
}
SIDES = ("bpnet", "bpnet-lite")
#: scored from our trained models without training again: each model with its count head calibrated on the
#: validation peaks (bpnet.train.calibration, what train-bpnet's calibrate_counts does)
CALIBRATED = "bpnet, counts calibrated"
SCORED_SIDES = (*SIDES, CALIBRATED)
#: metrics in the table: (key in both codes' results, label)
METRICS = (("profile_pearson", "profile Pearson"), ("profile_jsd", "profile JSD"), ("count_pearson", "count Pearson"),
           ("count_mse", "count MSE"), ("profile_mnll", "profile MNLL"),
           ("all_loci_count_pearson", "count Pearson, peaks + negatives"))
VARIANTS = (("plain", "plain"), ("rc", "RC-averaged"))
CODES = ("bpnet_code", "bpnet_lite_code")
#: codes agreeing within this (relative for values above 1) are reported once
AGREE = 1e-4
#: --quick: one seed, 2 epochs, a small genome
QUICK = {"seeds": [0], "max_epochs": 2, "genome_size": 4_000_000, "chroms": 5, "n_peaks": 200}


# ---------------------------------------------------------------------- data


def dataset_args(args, name: str) -> argparse.Namespace:
    """The settings :mod:`training`'s helpers read, for one dataset (its own workdir)."""
    return argparse.Namespace(**{**vars(args), "workdir": args.workdir / name, "motif": "all", "activity_sd": None})


def spec_stages(args, name: str) -> dict[str, Any]:
    """The dataset's pipeline: training.py's preprocessing with this dataset's simulator
    options and window lengths, and one ``train-bpnet`` stage per seed."""
    ds = dataset_args(args, name)
    ds.workdir.mkdir(parents=True, exist_ok=True)
    stages = preprocessing_stages(ds)
    stages["sim"]["params"]["options"] = dict(DATASETS[name])
    stages["loci"]["params"].update(input_length=args.input_length, output_length=args.output_length)
    for seed in args.seeds:
        params: dict[str, Any] = {"loci": "@loci.loci", "hyperparameters": {"n_filters": args.n_filters, "n_layers": args.n_layers},
                                  "seed": seed, "device": args.device}
        if args.max_epochs:
            params["max_epochs"] = args.max_epochs
        stages[f"train-s{seed}"] = {"stage": "train-bpnet", "params": params}
    return stages


def preprocess(args, name: str) -> dict[str, Any]:
    """Write the dataset's spec and run it up to loci.h5; the files both sides read."""
    ds = dataset_args(args, name)
    spec = ds.workdir / "spec.yaml"
    write_spec(spec, spec_stages(args, name))
    seconds = bpnet_run(ds, spec, "loci", ds.workdir / "bpnet-run-preprocessing.log")
    splits, files = shared_files(ds, ds.workdir / "test_loci.bed")
    return {"name": name, "spec": spec, "files": files, "splits": splits, "preprocessing_seconds": seconds}


def load_test(args, dataset: dict[str, Any]) -> dict[str, Any]:
    """The test windows from loci.h5 (and their BED for bpnet-lite), and what the data hold."""
    from bpnet.data.loci import LociSet

    ds = dataset_args(args, dataset["name"])
    loci = LociSet.load(stage_folder(ds, "loci") / "loci.h5")
    test = test_windows(loci)
    half = loci.output_length // 2
    Path(dataset["files"]["test_bed"]).write_text(
        "".join(f"{c}\t{p - half}\t{p - half + loci.output_length}\n" for c, p in zip(test["chrom"], test["centre"])))
    dataset["data"] = {
        "loci_by_split": {k: {"peaks": v[0], "negatives": v[1]} for k, v in loci.counts_by_split().items()},
        "test_loci": len(test["index"]), "test_peaks": int(test["is_peak"].sum()), "splits": dataset["splits"],
        "input_length": loci.input_length, "output_length": loci.output_length, "max_jitter": loci.max_jitter,
        "preprocessing_seconds": dataset["preprocessing_seconds"],
    }
    return test


# ---------------------------------------------------------------------- training


def train_ours(args, dataset: dict[str, Any], seed: int) -> dict[str, Any]:
    """``bpnet run --until train-s<seed>``: the train-bpnet stage with its defaults."""
    ds = dataset_args(args, dataset["name"])
    stage = f"train-s{seed}"
    wall = bpnet_run(ds, dataset["spec"], stage, ds.workdir / f"bpnet-run-{stage}.log")
    folder = stage_folder(ds, stage)
    summary = json.loads((folder / "training" / "summary.json").read_text())
    with open(folder / "training" / "epochs.csv") as table:
        epochs = list(csv.DictReader(table))
    seconds = [float(row["seconds"]) for row in epochs]
    best = summary["best_epoch"]
    return {
        "side": "bpnet", "seed": seed, "wall_seconds": wall, "training_seconds": sum(seconds),
        "seconds_to_best_epoch": sum(seconds[:best]), "seconds_per_epoch": seconds,
        "train_examples_per_s": summary.get("train_examples_per_s"), "epochs_run": summary["epochs_run"],
        "best_epoch": best, "stopped_early": summary["stopped_early"], "count_loss_weight": summary.get("count_loss_weight"),
        "lr_halvings": _halvings([float(row["lr"]) for row in epochs]), "model": str(folder / "model"),
        "stage_params": _stage_params(folder, stage),
    }


def _stage_params(folder: Path, stage: str) -> dict[str, Any]:
    """The parameters the stage ran with, defaults included (from the params.yaml the runner
    writes), less the paths of its input and outputs."""
    import yaml

    written = yaml.safe_load((folder / "params.yaml").read_text())
    params = written.get("stages", {}).get(stage, {}).get("params", written)
    return {k: v for k, v in params.items() if k not in ("loci", "model", "training")}


def train_peer(args, dataset: dict[str, Any], seed: int) -> dict[str, Any]:
    """bpnet-lite's ``bpnet fit`` with its defaults, then its predictions of the test windows."""
    files = dataset["files"]
    out = args.workdir / dataset["name"] / "peer" / f"s{seed}"
    out.mkdir(parents=True, exist_ok=True)
    parameters = {
        "name": str(out / "bpnet"), "sequences": files["genome"], "loci": files["peaks"], "negatives": files["negatives"],
        "signals": files["signals"], "controls": files["controls"], "training_chroms": files["train_chroms"],
        "validation_chroms": files["valid_chroms"], "n_filters": args.n_filters, "n_layers": args.n_layers,
        "in_window": args.input_length, "out_window": args.output_length, "random_state": seed, "device": args.device,
    }
    if args.max_epochs:
        parameters["max_epochs"] = args.max_epochs
    job = {"parameters": parameters, "seed": seed, "threads": args.threads, "out": str(out), "test_bed": files["test_bed"],
           "predictions": str(out / "test.npz"), "result": str(out / "result.json")}
    # NUMBA_NUM_THREADS too: after tangermeme's numba-parallel one-hot encoding torch trains with an OpenMP team of
    # every core otherwise (seen with gdb: a second OpenMP thread spinning), OMP_NUM_THREADS notwithstanding
    threads = str(args.threads)
    env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "NUMBA_NUM_THREADS": threads}
    result, wall = peer_job(args.peer_python, "fit-defaults", job, out, env)
    epochs = [line.split("\t") for line in result["log"][1:]]
    seconds = [float(e[2]) + float(e[3]) for e in epochs]  # training + validation time
    best = _peer_best_epoch(epochs)
    return {
        "side": "bpnet-lite", "seed": seed, "wall_seconds": wall, "training_seconds": sum(seconds),
        "seconds_to_best_epoch": sum(seconds[:best]), "seconds_per_epoch": seconds,
        "train_examples_per_s": result["training_examples_per_epoch"] * len(epochs) / sum(float(e[2]) for e in epochs)
        if epochs else None,
        "epochs_run": result["epochs_run"], "best_epoch": best, "valid_peaks": result["valid_peaks"],
        "stopped_early": result["epochs_run"] < result["parameters"]["max_epochs"],
        "count_loss_weight": result["parameters"]["count_loss_weight"], "lr_halvings": _halvings(result["lr_by_epoch"]),
        "predictions": job["predictions"], "fit_seconds": result["fit_seconds"], "skipped_commands": result["skipped_commands"],
        "defaults": result["defaults"], "set_by_us": result["set_by_job"],
    }


def train_all(args, datasets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every (dataset, seed, side) training, ``--parallel`` at a time; bpnet-lite first in each pair
    (it usually runs longer)."""
    jobs = [(d, seed, side) for seed in args.seeds for d in datasets for side in reversed(SIDES)]

    def one(job) -> dict[str, Any]:
        dataset, seed, side = job
        run = train_ours(args, dataset, seed) if side == "bpnet" else train_peer(args, dataset, seed)
        run["dataset"] = dataset["name"]
        print(f"  {dataset['name']:12s} seed {seed} {side:10s} best epoch {run['best_epoch']:3d} of {run['epochs_run']:3d}  "
              f"{run['seconds_to_best_epoch'] / 60:5.1f} min to best, {run['training_seconds'] / 60:5.1f} min in all "
              f"({run['train_examples_per_s'] or 0:.0f} training examples/s)", flush=True)
        return run

    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        futures = [pool.submit(one, job) for job in jobs]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:  # a failed training stops the run once the running ones end
                future.cancel()
            raise


# ---------------------------------------------------------------------- predictions and scores


def our_outputs(model_dir: str, test: dict[str, np.ndarray], reverse_complement: bool) -> tuple[np.ndarray, np.ndarray]:
    """Log profile probabilities (one softmax over strands and positions) and log counts
    ``(N, 1)`` of our model on the test windows, plain or averaged with the reverse complement."""
    import torch

    from bpnet.core.modelfile import load_model
    from bpnet.core.outputs import average_predictions, strand_pairs

    model = load_model(Path(model_dir)).eval()
    pairs, control_pairs = strand_pairs(test["y"].shape[1]), strand_pairs(test["X_ctl"].shape[1])
    logps, counts = [], []
    for i in range(0, len(test["X"]), 64):
        probs, total = average_predictions(
            [model], torch.from_numpy(test["X"][i : i + 64]), torch.from_numpy(test["X_ctl"][i : i + 64]),
            reverse_complement=reverse_complement, strand_pairs=pairs, control_pairs=control_pairs,
        )
        logps.append(torch.log(probs.clamp_min(torch.finfo(probs.dtype).tiny)).numpy())
        counts.append(total[:, None].numpy())
    return np.concatenate(logps), np.concatenate(counts)


def predictions(runs: list[dict[str, Any]], test: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Per run key and variant: ``logp`` and ``log_counts`` of the test windows. bpnet-lite's
    windows are checked against ours first."""
    arrays = {}
    for run in runs:
        key = run_key(run)
        if run["side"] != "bpnet-lite":
            for variant in ("plain", "rc"):
                logp, log_counts = our_outputs(run["model"], test, variant == "rc")
                arrays[f"{key}-{variant}"] = {"logp": logp, "log_counts": log_counts}
            continue
        with np.load(run["predictions"]) as data:
            same_x = np.array_equal(data["X"].astype(np.float32), test["X"])
            same_y = np.array_equal(data["y"].astype(np.float32), test["y"])
            if not (same_x and same_y):
                raise SystemExit(f"{key}: bpnet-lite's test windows differ from ours (same sequences {same_x}, same counts {same_y})")
            for variant in ("plain", "rc"):
                arrays[f"{key}-{variant}"] = {"logp": data[f"{variant}_logp"], "log_counts": data[f"{variant}_log_counts"]}
        run["same_test_windows"] = True
    return arrays


def calibrated_runs(args, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each of our runs again with its best model's count head calibrated on the dataset's validation
    peaks (written beside the model as ``model-calibrated``)."""
    import torch

    from bpnet.core.modelfile import load_model, save_model
    from bpnet.data.loci import LociSet
    from bpnet.train.calibration import calibrate_counts

    derived = []
    for run in (r for r in runs if r["side"] == "bpnet"):
        loci = LociSet.load(stage_folder(dataset_args(args, run["dataset"]), "loci") / "loci.h5")
        model = load_model(Path(run["model"]))
        calibration = calibrate_counts(model, loci, "valid", torch.device("cpu"))
        target = Path(run["model"]).with_name("model-calibrated")
        save_model(model.to("cpu"), target)
        derived.append({**run, "side": CALIBRATED, "model": str(target),
                        "calibration": calibration.record() if calibration else None})
    return derived


def run_key(run: dict[str, Any]) -> str:
    return f"{run['dataset']}-{run['side']}-s{run['seed']}"


def score_runs(args, name: str, runs: list[dict[str, Any]], test: dict[str, np.ndarray]) -> None:
    """Both metric codes on every run's plain and RC-averaged test predictions (into ``run["metrics"]``)."""
    arrays = predictions(runs, test)
    npz = args.workdir / name / "predictions.npz"
    flat = {"y": test["y"], "is_peak": test["is_peak"]}
    for key, value in arrays.items():
        flat[f"{key}|logp"], flat[f"{key}|log_counts"] = value["logp"], value["log_counts"]
    np.savez(npz, **flat)
    out = args.workdir / name / "bpnet_lite_measures.json"
    done = subprocess.run([args.peer_python, str(HERE / "peer_bpnetlite.py"), "measures", str(npz), str(out)],
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(args.parallel)})
    if done.returncode:
        raise SystemExit(f"bpnet-lite's calculate_performance_measures failed:\n{done.stderr[-3000:]}")
    theirs = json.loads(out.read_text())
    for run in runs:
        run["metrics"] = {}
        for variant, _ in VARIANTS:
            key = f"{run_key(run)}-{variant}"
            ours = score(arrays[key]["logp"], arrays[key]["log_counts"], test["y"], test["is_peak"])
            run["metrics"][variant] = {"bpnet_code": ours, "bpnet_lite_code": theirs[key]}


# ---------------------------------------------------------------------- summary and report


def mean_sd(values: list[float]) -> dict[str, float]:
    values = [v for v in values if v is not None and v == v]
    if not values:
        return {"mean": float("nan"), "sd": float("nan"), "n": 0}
    return {"mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, "n": len(values)}


def summarize(runs: list[dict[str, Any]], n_tracks: int) -> dict[str, Any]:
    """Per side: mean and sd over seeds of every metric (variant x code) and of the training numbers;
    per metric and variant: the largest difference between the two codes over all runs (the MNLL
    compared per strand: bpnet-lite's is the mean over the ``n_tracks`` strands, ours their sum)."""
    summary: dict[str, Any] = {}
    for side in (side for side in SCORED_SIDES if any(r["side"] == side for r in runs)):
        rs = [r for r in runs if r["side"] == side]
        row: dict[str, Any] = {key: mean_sd([r[key] for r in rs]) for key in
                               ("best_epoch", "epochs_run", "seconds_to_best_epoch", "training_seconds", "wall_seconds")}
        row["stopped_early"] = sum(bool(r["stopped_early"]) for r in rs)
        row["runs"] = len(rs)
        for variant, _ in VARIANTS:
            for code in CODES:
                for key, _ in METRICS:
                    row[f"{variant}.{code}.{key}"] = mean_sd([r["metrics"][variant][code][key] for r in rs])
        summary[side] = row
    summary["max_code_difference"] = {
        f"{variant}.{key}": max(
            _gap(r["metrics"][variant]["bpnet_code"][key] / (n_tracks if key == "profile_mnll" else 1),
                 r["metrics"][variant]["bpnet_lite_code"][key])
            for r in runs
        )
        for variant, _ in VARIANTS for key, _ in METRICS
    }
    return summary


def _gap(a: float | None, b: float | None) -> float:
    """``|a - b|``, relative where the values are above 1 (float32 sums of MNLLs near 1000
    differ in the fifth digit); 0 when both are undefined (None or NaN), infinite when one is."""
    a_missing, b_missing = a is None or a != a, b is None or b != b
    if a_missing or b_missing:
        return 0.0 if a_missing and b_missing else float("inf")
    return abs(a - b) / max(1.0, abs(a), abs(b))


def _cell(stat: dict[str, float], digits: int) -> str:
    if stat["n"] == 0:
        return "n/a"
    return f"{stat['mean']:.{digits}f} ± {stat['sd']:.{digits}f}"


def print_dataset(name: str, result: dict[str, Any]) -> None:
    s, d = result["summary"], result["data"]
    print(f"\n#### {name} ({d['test_peaks']} test peaks; {d['loci_by_split']['train']['peaks']} training peaks; "
          "same peaks, same negatives, same bigWigs, same chromosomes on both sides)\n")
    differences = s["max_code_difference"]
    agree = all(v <= AGREE for v in differences.values())
    sides = [side for side in SCORED_SIDES if side in s]
    columns = sides if agree else [f"{side} ({code})" for code in ("our code", "bpnet-lite code") for side in sides]
    print("| metric | " + " | ".join(columns) + " | largest difference of the codes (relative above 1) |")
    print("|---" * (len(columns) + 2) + "|")
    for key, label in METRICS:
        digits = 1 if key == "profile_mnll" else 4
        for variant, variant_label in VARIANTS:
            codes = CODES[:1] if agree else CODES
            cells = [_cell(s[side][f"{variant}.{code}.{key}"], digits) for code in codes for side in sides]
            print(f"| {label}, {variant_label} | " + " | ".join(cells) + f" | {differences[f'{variant}.{key}']:.2g} |")
    print(("\nBoth metric codes agree to " + f"{AGREE:g} (relative above 1) on every run and metric; the numbers are our "
           "code's. " if agree else "\n")
          + "Profile MNLL: our code sums the strands, bpnet-lite's averages them (half as large); the difference "
          "column compares ours / 2. Test peaks (the last rows: test peaks and negatives); means ± sd over seeds.")
    print("\n| training | bpnet | bpnet-lite |\n|---|---|---|")
    for key, label, scale in (("best_epoch", "best epoch", 1), ("epochs_run", "epochs run", 1),
                              ("seconds_to_best_epoch", "minutes to the best epoch", 60),
                              ("training_seconds", "minutes of training in all", 60), ("wall_seconds", "wall minutes", 60)):
        cells = [_cell({k: v / scale if k != "n" else v for k, v in s[side][key].items()}, 1) for side in SIDES]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("| stopped early | " + " | ".join(f"{s[side]['stopped_early']}/{s[side]['runs']}" for side in SIDES) + " |")


# ---------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", default=DEFAULT_PEER, help="python of the bpnet-lite environment (env BPNET_PEER_PYTHON)")
    parser.add_argument("--workdir", type=Path, default=None, help="default /tmp/bpnet-bench-convergence (-quick)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results JSON; default benchmarks/results/convergence.json (--quick: in the workdir)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--parallel", type=int, default=2, help="trainings at a time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of each training")
    parser.add_argument("--device", default="cpu", help="training device of both sides (cpu, cuda)")
    parser.add_argument("--n-filters", type=int, default=32)
    parser.add_argument("--n-layers", type=int, default=6)
    parser.add_argument("--output-length", type=int, default=1000)
    parser.add_argument("--input-length", type=int, default=None,
                        help="default: the shortest input our BPNet takes for the output length (1346 for 6 layers, 2114 for 8)")
    parser.add_argument("--official-size", action="store_true", help="64 filters x 8 layers on 2114/1000 bp windows")
    parser.add_argument("--max-epochs", type=int, default=None, help="override both sides' max_epochs (default: each side's own, 50)")
    parser.add_argument("--sim-seed", type=int, default=1)
    parser.add_argument("--genome-size", type=int, default=16_000_000)
    parser.add_argument("--chroms", type=int, default=8)
    parser.add_argument("--n-peaks", type=int, default=1600)
    parser.add_argument("--valid-chroms", nargs="+", default=["chr3"])
    parser.add_argument("--test-chroms", nargs="+", default=["chr1", "chr2"])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke test: seeds {QUICK['seeds']}, {QUICK['max_epochs']} epochs, {QUICK['n_peaks']} peaks "
                        f"on {QUICK['genome_size'] // 10**6} Mb")
    args = parser.parse_args()
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if args.official_size:
        args.n_filters, args.n_layers, args.output_length = 64, 8, 1000
    if args.input_length is None:
        from bpnet.core.architectures.bpnet import BPNet

        args.input_length = BPNet(n_filters=args.n_filters, n_layers=args.n_layers,
                                  output_length=args.output_length).minimum_input_length()
    args.workdir = args.workdir or Path("/tmp/bpnet-bench-convergence" + ("-quick" if args.quick else ""))
    args.out = args.out or (args.workdir / "convergence.json" if args.quick else HERE / "results" / "convergence.json")
    return args


def main() -> None:
    args = parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    import torch

    results: dict[str, Any] = {"setup": {
        "command": " ".join([".venv/bin/python", "benchmarks/convergence.py", *sys.argv[1:]]),
        "peer": peer_versions(args.peer_python), "torch": torch.__version__, "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
        "parallel": args.parallel, "threads_per_training": args.threads, "device": args.device, "seeds": args.seeds,
        "model": {"n_filters": args.n_filters, "n_layers": args.n_layers, "input_length": args.input_length,
                  "output_length": args.output_length},
        "max_epochs_override": args.max_epochs,
        "simulation": {"seed": args.sim_seed, "genome_size": args.genome_size, "chroms": args.chroms, "n_peaks": args.n_peaks,
                       "valid_chroms": args.valid_chroms, "test_chroms": args.test_chroms},
        "same_data": "both sides read the same peaks, the same negatives, the same bigWigs and the same training and "
                     "validation chromosomes",
    }, "datasets": {}}
    print(f"convergence: {args.n_filters}x{args.n_layers} BPNet, {args.input_length}/{args.output_length} bp, seeds {args.seeds}, "
          f"{args.parallel} trainings at a time ({args.threads} thread(s) each), datasets {', '.join(args.datasets)}", flush=True)
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        datasets = list(pool.map(lambda name: preprocess(args, name), args.datasets))
    tests = {d["name"]: load_test(args, d) for d in datasets}
    for d in datasets:
        print(f"{d['name']}: preprocessing {d['preprocessing_seconds']:.0f} s; loci {d['data']['loci_by_split']}", flush=True)
    print("training (same peaks, same negatives, same chromosomes on both sides):", flush=True)
    runs = train_all(args, datasets)
    runs += calibrated_runs(args, runs)
    torch.set_num_threads(args.parallel)
    for d in datasets:
        name = d["name"]
        ds_runs = [r for r in runs if r["dataset"] == name]
        score_runs(args, name, ds_runs, tests[name])
        results["datasets"][name] = {"simulator_options": _resolved_options(name), "data": d["data"], "files": d["files"],
                                     "spec": str(d["spec"]), "runs": ds_runs, "summary": summarize(ds_runs, tests[name]["y"].shape[1])}
    _record_side_settings(results, runs)
    results["setup"]["seconds"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(_no_nan(results), indent=2, default=_plain) + "\n")
    for name, result in results["datasets"].items():
        print_dataset(name, result)
    print(f"\n{results['setup']['seconds'] / 60:.1f} min in all; wrote {args.out}")


def _resolved_options(name: str) -> dict[str, Any]:
    """The dataset's simulator options with its preset spelled out."""
    options = dict(DATASETS[name])
    if options.get("preset"):
        from bpnet.data.simulate.config import preset

        options = {**preset(options["preset"]), **options}
    return options


def _record_side_settings(results: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """What each side ran with: our stage's parameters (defaults included) and bpnet-lite's
    ``bpnet fit`` defaults and the parameters we set; the per-run copies are dropped."""
    ours = next((r for r in runs if r["side"] == "bpnet"), None)
    peer = next((r for r in runs if r["side"] == "bpnet-lite"), None)
    settings: dict[str, Any] = {}
    if ours:
        settings["bpnet"] = {"stage": "train-bpnet", "params": {k: v for k, v in ours["stage_params"].items() if k != "seed"},
                             "set_by_us": ["hyperparameters (n_filters, n_layers)", "seed", "device"]
                             + (["max_epochs"] if results["setup"]["max_epochs_override"] else [])}
    if peer:
        settings["bpnet-lite"] = {"command": "bpnet fit", "defaults": peer["defaults"],
                                  "set_by_us": sorted(k for k in peer["set_by_us"]),
                                  "skipped": "the bpnet evaluate run bpnet fit starts at its end (validation metrics)"}
    for run in runs:
        for key in ("stage_params", "defaults", "set_by_us"):
            run.pop(key, None)
    results["setup"]["sides"] = settings


if __name__ == "__main__":
    main()
