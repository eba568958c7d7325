"""Training: bpnet vs bpnet-lite 1.1.0, side by side in one run.

Two parts (``--part parity|throughput|all``):

* **parity**: one simulated ChIP experiment (one planted motif, CTCF by default),
  preprocessed by our pipeline (``bpnet run`` on a spec: simulate, reads-to-bigwig for
  the stranded signal and the stranded control, call-peaks, negatives, splits, loci),
  then, for each seed, our ``train-bpnet`` stage (``bpnet run --until train-s<seed>``)
  and bpnet-lite's ``BPNet.fit`` (its ``PeakGenerator`` reading the same bigWigs, peaks
  and negatives through tangermeme, on the same training chromosomes) with the same
  settings: 64 filters x 8 layers, 2114/1000 bp, batch 64, Adam lr 1e-3, max_jitter
  128, negative_ratio 0.333, reverse-complement augmentation, gradient clipping 1,
  ReduceLROnPlateau, the same count-loss weight (one number computed from the training
  loci, ``--count-loss-weight``), the same max_epochs and early-stopping patience. The
  sides alternate (ours, peer, peer, ours, ...). Both best checkpoints then predict the
  same test-chromosome windows (peaks and negatives, checked base for base and count for
  count against bpnet-lite's own extraction), scored by our metric code
  (``bpnet.core.metrics``): count Pearson, profile JSD, MNLL and count MSE on the test
  peaks, per seed and their mean, next to an untrained baseline (flat profiles, mean
  count), after checking that the two implementations give the same loss and gradients
  on one batch from the same weights. The default budget (about 240 training peaks, 6
  epochs = 30 steps) fits the time box on 2 CPU cores but is far too short for either
  model to learn the motif: it checks that both recipes run on the same data and land
  in the same place, not converged quality; raise ``--max-epochs``/``--patience`` for that (about 20 s per
  epoch for the two sides together on a quiet 2-core machine; the models learn the
  motif abruptly somewhere between epochs 15 and 40+, depending on the seed).
* **throughput**: training examples/s of one train step (forward, loss, backward,
  gradient clipping, Adam) of the 64x8 BPNet (batch 64, 2 outputs, 2 control tracks) and
  the 512x8 accessibility model (batch 16, 1 output, no controls): our ``BPNet`` ('valid'
  convolutions) with ``bpnet.core.training.losses.profile_count_loss`` vs bpnet-lite's
  ``BPNet`` with its ``_mixture_loss``, on random inputs. Each side is one long-lived
  worker process; the reps alternate between them; each timed rep records a matmul
  calibration (GFLOPS) before and after, and the CPU other processes used meanwhile,
  because this machine's CPU is shared (and may be burstable).

The bpnet-lite side runs in its own environment, outside the repository (``--peer-python``,
or the ``BPNET_PEER_PYTHON`` environment variable)::

    python3 -m venv /work/bench-envs/bpnet-lite
    /work/bench-envs/bpnet-lite/bin/pip install torch==2.13.0 bpnet-lite==1.1.0

Prints tables and writes ``benchmarks/results/training.json`` (about 10-16 minutes on 2 cores)::

    .venv/bin/python benchmarks/training.py [--part all] [--seeds 0 1 2] [--workdir /tmp/bpnet-bench-training]
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import peer_bpnetlite as shared  # noqa: E402  (timing helpers; imports only numpy and torch)

DEFAULT_PEER = os.environ.get("BPNET_PEER_PYTHON", "/work/bench-envs/bpnet-lite/bin/python")
LIN, LOUT = shared.INPUT_LENGTH, shared.OUTPUT_LENGTH


# ---------------------------------------------------------------------- throughput


def our_step(config: dict) -> Callable[[], float]:
    """One step of our trainer's inner loop (:class:`bpnet.core.training.trainer.Trainer`)."""
    import torch

    from bpnet.core.architectures.bpnet import BPNet
    from bpnet.core.training.losses import profile_count_loss

    torch.manual_seed(0)
    weight = 1.0
    model = BPNet(n_filters=config["n_filters"], n_layers=config["n_layers"], n_outputs=config["n_outputs"],
                  n_control_tracks=config["n_control_tracks"])
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    batch = shared.random_batch(config, control_length=LOUT)  # our loci store controls on the output window
    model.train()

    def step() -> float:
        if batch["X_ctl"] is None:
            logits, log_counts = model(batch["X"])
        else:
            logits, log_counts = model(batch["X"], batch["X_ctl"])
        terms = profile_count_loss(logits, log_counts, batch["y"], weight, batch["labels"], "peaks")
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        return terms.total.item()

    return step


def _machine_busy() -> float:
    """CPU seconds all processes of the machine have used (the non-idle time of /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Worker:
    """A long-lived worker process answering one JSON line per JSON command (see ``shared.serve``)."""

    def __init__(self, name: str, command: list[str], log_path: Path, threads: int):
        self.name = name
        self.log_path = log_path
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "BPNET_NO_PROGRESS": "1"}
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                        text=True, env=env, cwd=HERE)

    def call(self, command: dict) -> dict:
        """Send one command, wait for its answer; adds ``other_cpu_cores``: the CPU that
        other processes of the machine used meanwhile (cores, from /proc), a contention check."""
        busy0, own0, t0 = _machine_busy(), self._own_cpu(), time.perf_counter()
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            self.log.flush()
            raise SystemExit(f"the {self.name} worker died:\n{self.log_path.read_text()[-3000:]}")
        result = json.loads(line)
        elapsed = time.perf_counter() - t0
        result["other_cpu_cores"] = ((_machine_busy() - busy0) - (self._own_cpu() - own0)) / elapsed
        return result

    def _own_cpu(self) -> float:
        """CPU seconds the worker has used (user + system, all threads)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        try:
            self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        self.process.wait()
        self.log.close()


def throughput(args) -> dict[str, Any]:
    """Interleaved timed reps of both sides' train steps for every config."""
    ours = Worker("bpnet", [sys.executable, str(Path(__file__).resolve()), "--serve"], args.workdir / "worker-bpnet.log", args.threads)
    peer = Worker("bpnet-lite", [args.peer_python, str(HERE / "peer_bpnetlite.py"), "serve"],
                  args.workdir / "worker-bpnet-lite.log", args.threads)
    steps = {"bpnet_64x8": args.steps_64, "accessibility_512x8": args.steps_512}
    runs = []
    try:
        for rep in range(args.reps):
            for config in args.configs:
                order = (ours, peer) if rep % 2 == 0 else (peer, ours)
                for worker in order:
                    result = worker.call({"cmd": "time", "config": config, "steps": steps[config], "warmup": 1,
                                          "threads": args.threads})
                    result["rep"] = rep
                    runs.append(result)
                    print(f"  rep {rep} {config:20s} {worker.name:10s} {result['examples_per_s']:7.2f} ex/s "
                          f"(matmul {result['gflops_before']:.0f} -> {result['gflops_after']:.0f} GFLOPS; "
                          f"other processes {result['other_cpu_cores']:.2f} cores)", flush=True)
    finally:
        ours.close()
        peer.close()
    summary = {}
    for config in args.configs:
        row = {}
        for side in ("bpnet", "bpnet-lite"):
            rs = [r for r in runs if r["config"] == config and r["side"] == side]
            rates = [r["examples_per_s"] for r in rs]
            row[side] = {"median_examples_per_s": float(np.median(rates)), "best_examples_per_s": max(rates),
                         "median_gflops_before": float(np.median([r["gflops_before"] for r in rs])), "reps": len(rs)}
        row["speedup_median"] = row["bpnet"]["median_examples_per_s"] / row["bpnet-lite"]["median_examples_per_s"]
        row["speedup_best"] = row["bpnet"]["best_examples_per_s"] / row["bpnet-lite"]["best_examples_per_s"]
        summary[config] = row
    return {"configs": {k: shared.CONFIGS[k] for k in args.configs}, "runs": runs, "summary": summary,
            "threads": args.threads, "steps_per_rep": steps}


# ---------------------------------------------------------------------- parity: data and our side


def write_motif(path: Path, name: str) -> None:
    """A MEME file holding one of the simulator's bundled motifs (``name``: e.g. CTCF)."""
    from importlib.resources import files

    text = files("bpnet.data.simulate").joinpath("jaspar.meme").read_text()
    blocks = text.split("\nMOTIF ")
    chosen = [b for b in blocks[1:] if b.split("\n")[0].split()[-1] == name]
    if not chosen:
        raise SystemExit(f"no motif {name} in the simulator's jaspar.meme")
    path.write_text(blocks[0] + "\nMOTIF " + chosen[0].rstrip("\n") + "\n")


def preprocessing_stages(args) -> dict[str, Any]:
    """The spec's stages from the simulation to loci.h5 (see examples/preprocess.yaml)."""
    sim = "@sim.out"
    simulate = {"kind": "chip", "seed": args.sim_seed, "genome_size": args.genome_size, "chroms": args.chroms,
                "n_peaks": args.n_peaks, "options": {"activity_sd": args.activity_sd}}
    if args.motif != "all":
        write_motif(args.workdir / "motif.meme", args.motif)
        simulate["motifs"] = "motif.meme"
    return {
        "sim": {"stage": "simulate", "params": simulate},
        "signal": {
            "stage": "reads-to-bigwig",
            "params": {"reads": [f"{sim}/reads.bam"], "genome": f"{sim}/genome.fa", "stranded": True},
        },
        "control": {
            "stage": "reads-to-bigwig",
            "params": {"reads": [f"{sim}/control.bam"], "genome": f"{sim}/genome.fa", "stranded": True},
        },
        "peaks": {
            "stage": "call-peaks",
            "params": {
                "reads": [f"{sim}/reads.bam"],
                "controls": [f"{sim}/control.bam"],
                "genome": f"{sim}/genome.fa",
                "preset": "chip",
            },
        },
        "negatives": {
            "stage": "negatives",
            "params": {"genome": f"{sim}/genome.fa", "peaks": "@peaks.peaks", "ratio": 1.0, "seed": 0},
        },
        "folds": {
            "stage": "splits",
            "params": {
                "genome": f"{sim}/genome.fa",
                "folds": {"fold_0": {"valid": args.valid_chroms, "test": args.test_chroms}},
            },
        },
        "loci": {
            "stage": "loci",
            "params": {
                "genome": f"{sim}/genome.fa",
                "peaks": "@peaks.peaks",
                "negatives": "@negatives.negatives",
                "signals": ["@signal.tracks"],
                "controls": ["@control.tracks"],
                "splits": "@folds.splits",
                "fold": "fold_0",
                "max_jitter": 128,
            },
        },
    }


def hyperparameters(args, count_loss_weight: float) -> dict[str, Any]:
    """Training settings shared by both sides."""
    return {"n_filters": 64, "n_layers": 8, "batch_size": 64, "learning_rate": 1e-3, "max_jitter": 128,
            "negative_ratio": 0.333, "reverse_complement": True, "count_loss_weight": count_loss_weight,
            "scheduler": True, "clip_grad_norm": 1.0, "max_epochs": args.max_epochs, "patience": args.patience}


def train_stage(hp: dict[str, Any], seed: int) -> dict[str, Any]:
    return {"stage": "train-bpnet", "params": {
        "loci": "@loci.loci", "architecture": "bpnet",
        "hyperparameters": {"n_filters": hp["n_filters"], "n_layers": hp["n_layers"]},
        "max_epochs": hp["max_epochs"], "patience": hp["patience"], "batch_size": hp["batch_size"],
        "learning_rate": hp["learning_rate"], "negative_ratio": hp["negative_ratio"], "max_jitter": hp["max_jitter"],
        "reverse_complement": hp["reverse_complement"], "count_loss_weight": hp["count_loss_weight"],
        "profile_loss_on": "peaks", "scheduler": hp["scheduler"], "clip_grad_norm": hp["clip_grad_norm"],
        "seed": seed, "device": "cpu"}}


def write_spec(path: Path, stages: dict[str, Any]) -> None:
    import yaml

    path.write_text(yaml.safe_dump({"output_dir": "out", "stages": stages}, sort_keys=False))


def bpnet_run(args, spec: Path, until: str, log_path: Path | None = None) -> float:
    """``bpnet run SPEC --until STAGE`` as a user would (its output appended to ``log_path``,
    default ``bpnet-run.log`` in the workdir); returns the wall seconds."""
    bpnet = Path(sys.executable).parent / "bpnet"
    env = {**os.environ, "BPNET_NO_PROGRESS": "1", "OMP_NUM_THREADS": str(args.threads)}
    log_path = log_path or args.workdir / "bpnet-run.log"
    t0 = time.perf_counter()
    with open(log_path, "a") as log:
        done = subprocess.run([str(bpnet), "run", str(spec), "--until", until], stdout=log, stderr=subprocess.STDOUT, env=env)
    if done.returncode:
        raise SystemExit(f"bpnet run --until {until} failed (exit {done.returncode}); see {log_path}")
    return time.perf_counter() - t0


def count_loss_weight(loci, rule: str, negative_ratio: float) -> float:
    """The count-loss weight both sides get: a number, or computed once from the training loci.

    ``official``: ChromBPNet's rule (median total count of the training peaks and
    ``negative_ratio x n_peaks`` drawn negatives, / 10; our train stage's ``auto``);
    ``bpnet-lite``: bpnet-lite's automatic weight (mean per-track count of the training
    peaks' jitter-padded windows).
    """
    if rule == "bpnet-lite":
        index = loci.select("train", peaks=True)
        return float(loci.signals[index].sum(axis=-1, dtype=np.float64).mean())
    if rule == "official":
        from bpnet.train.session import official_count_loss_weight

        peaks, negatives = loci.total_counts(loci.select("train", peaks=True)), loci.total_counts(loci.select("train", peaks=False))
        return official_count_loss_weight(peaks, negatives, negative_ratio, seed=0)
    return float(rule)


def test_windows(loci) -> dict[str, np.ndarray]:
    """The test-chromosome loci (peaks and negatives), unjittered: one-hot, controls, counts."""
    from bpnet.data.onehot import codes_to_one_hot

    index = loci.select("test")
    j = loci.max_jitter
    cj = (loci.controls.shape[-1] - loci.control_length) // 2
    return {
        "index": index, "chrom": loci.chrom[index], "centre": loci.centre[index], "is_peak": loci.is_peak[index],
        "X": codes_to_one_hot(loci.codes[index, j : j + loci.input_length]),
        "X_ctl": np.ascontiguousarray(loci.controls[index, :, cj : cj + loci.control_length]),
        "y": np.ascontiguousarray(loci.signals[index, :, j : j + loci.output_length]),
    }


def our_predictions(model_dir: Path, test: dict[str, np.ndarray], threads: int) -> tuple[np.ndarray, np.ndarray]:
    import torch

    from bpnet.core.modelfile import load_model

    torch.set_num_threads(threads)
    model = load_model(model_dir)
    logits, log_counts = [], []
    with torch.no_grad():
        for i in range(0, len(test["X"]), 64):
            p, c = model(torch.from_numpy(test["X"][i : i + 64]), torch.from_numpy(test["X_ctl"][i : i + 64]))
            logits.append(p.numpy())
            log_counts.append(c.numpy())
    return np.concatenate(logits), np.concatenate(log_counts)


def score(logits: np.ndarray, log_counts: np.ndarray, y: np.ndarray, is_peak: np.ndarray) -> dict[str, float]:
    """Our metric code on one model's test predictions: the peaks' profile and count
    metrics (means over loci, NaN ignored), and count metrics over peaks + negatives."""
    from bpnet.core.metrics import count_metrics, profile_metrics, summarize

    totals = y.sum(axis=(1, 2), dtype=np.float64)
    profile = summarize(profile_metrics(logits[is_peak], y[is_peak]))
    counts = count_metrics(log_counts[is_peak], totals[is_peak])
    everything = count_metrics(log_counts, totals)
    return {"n_peaks": profile["n"], "count_pearson": counts["pearson"], "count_spearman": counts["spearman"], "count_mse": counts["mse"],
            "profile_jsd": profile["jsd"], "profile_mnll": profile["mnll"], "profile_pearson": profile["pearson"],
            "profile_spearman": profile["spearman"], "n_loci": len(y), "all_loci_count_pearson": everything["pearson"],
            "all_loci_count_mse": everything["mse"]}


def baseline(loci, test: dict[str, np.ndarray]) -> dict[str, float]:
    """Metrics of a model that learned nothing: flat profiles and, for every locus, the
    mean log count of the training peaks (count correlations are then undefined: NaN)."""
    train = loci.select("train", peaks=True)
    mean = np.log1p(loci.total_counts(train)).mean()
    n = len(test["y"])
    return score(np.zeros(test["y"].shape, np.float32), np.full((n, 1), mean, np.float32), test["y"], test["is_peak"])


def same_gradients(args, loci, weight: float) -> dict[str, Any]:
    """One training batch through our BPNet and loss and, with the same weights, through
    bpnet-lite's (in its worker): their outputs, losses and gradients should agree."""
    import torch

    from bpnet.core.architectures.bpnet import BPNet
    from bpnet.core.training.losses import profile_count_loss
    from bpnet.train.samplers import make_batches

    torch.manual_seed(0)
    model = BPNet(n_filters=64, n_layers=8, n_outputs=loci.n_signals, n_control_tracks=loci.n_controls).train()
    batches = make_batches(loci, "train", 64, negative_ratio=0.333, seed=0)
    batches.set_epoch(1)
    batch = next(iter(batches))
    logits, log_counts = model(batch.X, batch.X_ctl)
    terms = profile_count_loss(logits, log_counts, batch.y, weight, batch.is_peak, "peaks")
    terms.total.backward()
    arrays = {"X": batch.X.numpy(), "X_ctl": batch.X_ctl.numpy(), "y": batch.y.numpy(), "labels": batch.is_peak.numpy(),
              "logits": logits.detach().numpy(), "log_counts": log_counts.detach().numpy(),
              "count_loss_weight": np.array(weight), "n_layers": np.array(8)}
    for key, parameter in model.named_parameters():
        arrays["w:" + key], arrays["g:" + key] = parameter.detach().numpy(), parameter.grad.numpy()
    np.savez(args.workdir / "gradients.npz", **arrays)
    out = args.workdir / "gradients.json"
    done = subprocess.run([args.peer_python, str(HERE / "peer_bpnetlite.py"), "gradients", str(args.workdir / "gradients.npz"), str(out)],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"bpnet-lite gradient check failed:\n{done.stderr[-3000:]}")
    result = json.loads(out.read_text())
    result["ours"] = {"profile": terms.profile.item(), "count": terms.count.item(), "total": terms.total.item()}
    return result


def stage_folder(args, name: str) -> Path:
    return args.workdir / "out" / name


def track_files(folder: Path) -> list[str]:
    tracks = json.loads((folder / "tracks.json").read_text())["tracks"]
    return [str(folder / t["file"]) for t in tracks]


def run_ours(args, spec: Path, seed: int, test: dict[str, np.ndarray]) -> dict[str, Any]:
    wall = bpnet_run(args, spec, f"train-s{seed}")
    folder = stage_folder(args, f"train-s{seed}")
    summary = json.loads((folder / "training" / "summary.json").read_text())
    with open(folder / "training" / "epochs.csv") as table:
        lr_by_epoch = [float(row["lr"]) for row in csv.DictReader(table)]
    logits, log_counts = our_predictions(folder / "model", test, args.threads)
    return {"side": "bpnet", "seed": seed, "wall_seconds": wall, "training_seconds": summary.get("seconds"),
            "train_examples_per_s": summary.get("train_examples_per_s"), "epochs_run": summary.get("epochs_run"),
            "best_epoch": summary.get("best_epoch"), "stopped_early": summary.get("stopped_early"),
            "lr_halvings": _halvings(lr_by_epoch), "lr_by_epoch": lr_by_epoch,
            "metrics": score(logits, log_counts, test["y"], test["is_peak"])}


def run_peer(args, seed: int, files: dict[str, Any], hp: dict[str, Any], test: dict[str, np.ndarray]) -> dict[str, Any]:
    out = args.workdir / "peer" / f"s{seed}"
    out.mkdir(parents=True, exist_ok=True)
    job = {**files, **hp, "seed": seed, "threads": args.threads, "out": str(out), "predictions": str(out / "test.npz"),
           "result": str(out / "result.json")}
    result, wall = peer_job(args.peer_python, "fit", job, out, {"OMP_NUM_THREADS": str(args.threads)})
    with np.load(out / "test.npz") as data:
        predicted = {k: data[k] for k in data.files}
    same_x = np.array_equal(predicted["X"].astype(np.float32), test["X"])
    same_y = np.array_equal(predicted["y"].astype(np.float32), test["y"])
    if not (same_x and same_y):
        raise SystemExit(f"bpnet-lite's test windows differ from ours (same sequences {same_x}, same counts {same_y})")
    epochs = [line.split("\t") for line in result["log"][1:]]
    train_seconds = sum(float(e[2]) for e in epochs)
    return {"side": "bpnet-lite", "seed": seed, "wall_seconds": wall, "training_seconds": result["fit_seconds"],
            "train_examples_per_s": result["training_examples_per_epoch"] * len(epochs) / train_seconds if train_seconds else None,
            "epochs_run": result["epochs_run"], "best_epoch": _peer_best_epoch(epochs),
            "stopped_early": result["epochs_run"] < hp["max_epochs"], "valid_peaks": result["valid_peaks"],
            "lr_halvings": _halvings(result["lr_by_epoch"]), "lr_by_epoch": result["lr_by_epoch"],
            "same_test_windows": True, "metrics": score(predicted["logits"], predicted["log_counts"], test["y"], test["is_peak"])}


def shared_files(args, test_bed: Path) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """fold_0 of the preprocessed splits, and the files both sides read (genome, peaks, negatives, bigWigs,
    chromosomes, the test windows' BED)."""
    splits = json.loads((stage_folder(args, "folds") / "splits.json").read_text())["folds"]["fold_0"]
    sim = stage_folder(args, "sim") / "simulation"
    files = {"genome": str(sim / "genome.fa"), "peaks": str(stage_folder(args, "peaks") / "peaks.narrowPeak"),
             "negatives": str(stage_folder(args, "negatives") / "negatives.bed"),
             "signals": track_files(stage_folder(args, "signal") / "tracks"),
             "controls": track_files(stage_folder(args, "control") / "tracks"),
             "train_chroms": splits["train"], "valid_chroms": splits["valid"], "test_bed": str(test_bed)}
    return splits, files


def peer_job(peer_python: str, command: str, job: dict[str, Any], out: Path, env: dict[str, str]) -> tuple[dict[str, Any], float]:
    """``peer_bpnetlite.py COMMAND out/job.json`` in bpnet-lite's environment (``env`` added to ours), its
    output in ``out/worker.log``: (its ``out/result.json``, wall seconds)."""
    (out / "job.json").write_text(json.dumps(job, indent=2))
    t0 = time.perf_counter()
    with open(out / "worker.log", "w") as log:
        done = subprocess.run([peer_python, str(HERE / "peer_bpnetlite.py"), command, str(out / "job.json")],
                              stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}, cwd=out)
    wall = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"bpnet-lite {command} failed (exit {done.returncode}):\n{(out / 'worker.log').read_text()[-3000:]}")
    return json.loads((out / "result.json").read_text()), wall


def _halvings(lr_by_epoch: list[float]) -> int:
    """How many times the learning rate was lowered (ReduceLROnPlateau) during training."""
    return sum(1 for a, b in zip(lr_by_epoch, lr_by_epoch[1:]) if b < a)


def _peer_best_epoch(epochs: list[list[str]]) -> int:
    """1-based epoch of the last 'Saved? True' row of bpnet-lite's log."""
    best = 0
    for number, row in enumerate(epochs, start=1):
        if row[-1].strip() == "True":
            best = number
    return best


def parity(args) -> dict[str, Any]:
    from bpnet.data.loci import LociSet

    args.workdir.mkdir(parents=True, exist_ok=True)
    spec = args.workdir / "spec.yaml"
    stages = preprocessing_stages(args)
    write_spec(spec, stages)
    prep_seconds = bpnet_run(args, spec, "loci")
    loci = LociSet.load(stage_folder(args, "loci") / "loci.h5")
    weight = count_loss_weight(loci, args.count_loss_weight, negative_ratio=0.333)
    hp = hyperparameters(args, weight)
    for seed in args.seeds:
        stages[f"train-s{seed}"] = train_stage(hp, seed)
    write_spec(spec, stages)
    test = test_windows(loci)
    test_bed = args.workdir / "test_loci.bed"
    test_bed.write_text("".join(f"{c}\t{p - LOUT // 2}\t{p + LOUT // 2}\n" for c, p in zip(test["chrom"], test["centre"])))
    splits, files = shared_files(args, test_bed)
    data = {
        "loci_by_split": {k: {"peaks": v[0], "negatives": v[1]} for k, v in loci.counts_by_split().items()},
        "test_loci": len(test["index"]),
        "test_peaks": int(test["is_peak"].sum()),
        "count_loss_weight_rule": args.count_loss_weight,
        "splits": splits,
        "preprocessing_seconds": prep_seconds,
        "count_loss_weight": weight,
    }
    print(f"preprocessing: {prep_seconds:.1f} s; loci {data['loci_by_split']}; count-loss weight {weight:.2f}", flush=True)
    data["baseline"] = baseline(loci, test)
    data["same_gradients"] = same_gradients(args, loci, weight)
    g = data["same_gradients"]
    print(f"same weights, one batch: loss {g['ours']['total']:.6g} (ours) vs {g['losses']['total']:.6g} (bpnet-lite); "
          f"max |logit difference| {g['max_abs_logit_difference']:.2g}; largest relative gradient difference "
          f"{g['max_relative_gradient_difference']:.2g}", flush=True)
    runs = []
    for k, seed in enumerate(args.seeds):
        sides = ("bpnet", "bpnet-lite") if k % 2 == 0 else ("bpnet-lite", "bpnet")
        for side in sides:
            run = run_ours(args, spec, seed, test) if side == "bpnet" else run_peer(args, seed, files, hp, test)
            runs.append(run)
            m = run["metrics"]
            print(f"  seed {seed} {side:10s} count r {m['count_pearson']:.3f}  profile JSD {m['profile_jsd']:.4f}  "
                  f"epochs {run['epochs_run']} (best {run['best_epoch']})  {run['training_seconds']:.0f} s", flush=True)
    summary = {}
    for side in ("bpnet", "bpnet-lite"):
        rs = [r for r in runs if r["side"] == side]
        summary[side] = {key: float(np.mean([r["metrics"][key] for r in rs]))
                         for key in ("count_pearson", "count_spearman", "count_mse", "profile_jsd", "profile_pearson",
                                     "profile_mnll", "all_loci_count_pearson")}
        summary[side]["count_pearson_sd"] = float(np.std([r["metrics"]["count_pearson"] for r in rs], ddof=1)) if len(rs) > 1 else 0.0
        summary[side]["profile_jsd_sd"] = float(np.std([r["metrics"]["profile_jsd"] for r in rs], ddof=1)) if len(rs) > 1 else 0.0
        summary[side]["training_seconds"] = float(np.mean([r["training_seconds"] for r in rs]))
    return {
        "hyperparameters": hp,
        "data": data,
        "simulation": {
            k: getattr(args, k) for k in ("sim_seed", "genome_size", "chroms", "n_peaks", "motif", "activity_sd")
        },
        "runs": runs,
        "summary": summary,
        "spec": str(spec),
    }


# ---------------------------------------------------------------------- report


def print_tables(results: dict[str, Any]) -> None:
    if "parity" in results:
        p = results["parity"]
        print(f"\nparity ({p['data']['test_peaks']} test peaks; count-loss weight {p['hyperparameters']['count_loss_weight']:.2f}):")
        print(f"{'side':12s} {'seed':>4s} {'count r':>8s} {'JSD':>7s} {'MNLL':>8s} {'count MSE':>9s} {'all r':>7s} {'epochs':>7s} "
              f"{'best':>5s} {'train s':>8s}")
        for r in p["runs"]:
            m = r["metrics"]
            print(f"{r['side']:12s} {r['seed']:4d} {m['count_pearson']:8.3f} {m['profile_jsd']:7.4f} {m['profile_mnll']:8.1f} "
                  f"{m['count_mse']:9.3f} {m['all_loci_count_pearson']:7.3f} {r['epochs_run']:7d} {r['best_epoch']:5d} "
                  f"{r['training_seconds']:8.1f}")
        for side, s in p["summary"].items():
            print(f"{side:12s} mean {s['count_pearson']:8.3f} {s['profile_jsd']:7.4f} {s['profile_mnll']:8.1f} {s['count_mse']:9.3f} "
                  f"{s['all_loci_count_pearson']:7.3f} {'':13s} {s['training_seconds']:8.1f}")
        b = p["data"]["baseline"]
        print(f"{'untrained':12s} {'':4s} {'':>8s} {b['profile_jsd']:7.4f} {b['profile_mnll']:8.1f} {b['count_mse']:9.3f}"
              "   (flat profiles, mean training-peak log count)")
        print("(count r, JSD, MNLL, count MSE: test peaks; all r: count Pearson over test peaks + negatives)")
    if "throughput" in results:
        t = results["throughput"]
        print(f"\nthroughput (train step, {t['threads']} threads, examples/s; median and best of the reps):")
        for config, row in t["summary"].items():
            ours, peer = row["bpnet"], row["bpnet-lite"]
            print(
                f"{config:22s} bpnet {ours['median_examples_per_s']:7.2f} (best {ours['best_examples_per_s']:.2f})  "
                f"bpnet-lite {peer['median_examples_per_s']:7.2f} (best {peer['best_examples_per_s']:.2f})  "
                f"speed-up {row['speedup_median']:.2f}x; matmul {ours['median_gflops_before']:.0f} / "
                f"{peer['median_gflops_before']:.0f} GFLOPS"
            )


def peer_versions(python: str) -> dict[str, str]:
    code = "import torch, bpnetlite, tangermeme; print(torch.__version__, bpnetlite.__version__, tangermeme.__version__)"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"cannot run the bpnet-lite environment {python}:\n{out.stderr[-2000:]}\n"
                         "create it with: python3 -m venv /work/bench-envs/bpnet-lite && "
                         "/work/bench-envs/bpnet-lite/bin/pip install torch==2.13.0 bpnet-lite==1.1.0")
    torch_v, lite_v, tm_v = out.stdout.split()
    return {"torch": torch_v, "bpnet-lite": lite_v, "tangermeme": tm_v}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("parity", "throughput", "all"), default="all")
    parser.add_argument("--peer-python", default=DEFAULT_PEER, help="python of the bpnet-lite environment (env BPNET_PEER_PYTHON)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bpnet-bench-training"))
    parser.add_argument("--threads", type=int, default=2, help="torch threads of every worker")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=6)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument(
        "--count-loss-weight",
        default="official",
        help="official (ChromBPNet's median/10 rule), bpnet-lite (its automatic mean) or a number; computed once, given to both",
    )
    parser.add_argument("--sim-seed", type=int, default=1)
    parser.add_argument("--genome-size", type=int, default=7_000_000)
    parser.add_argument("--chroms", type=int, default=7)
    parser.add_argument("--n-peaks", type=int, default=420)
    parser.add_argument("--motif", default="CTCF", help="plant only this bundled JASPAR motif ('all': the five)")
    parser.add_argument("--activity-sd", type=float, default=0.25,
                        help="sd of the simulated per-peak log activity (count variation the sequence does not explain)")
    parser.add_argument("--valid-chroms", nargs="+", default=["chr3"])
    parser.add_argument("--test-chroms", nargs="+", default=["chr1", "chr2"])
    parser.add_argument("--reps", type=int, default=3, help="throughput reps per side and config")
    parser.add_argument("--configs", nargs="+", default=list(shared.CONFIGS), choices=list(shared.CONFIGS))
    parser.add_argument("--steps-64", type=int, default=3, help="timed steps per rep, 64x8")
    parser.add_argument("--steps-512", type=int, default=1, help="timed steps per rep, 512x8")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "training.json")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        shared.serve(our_step, "bpnet")
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results: dict[str, Any] = {"setup": {
        "command": " ".join([".venv/bin/python", "benchmarks/training.py", *sys.argv[1:]]),
        "peer": peer_versions(args.peer_python), "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "threads": args.threads,
        "date": time.strftime("%Y-%m-%d"),
    }}
    import torch

    results["setup"]["torch"] = torch.__version__
    if args.part in ("parity", "all"):
        print("parity:", flush=True)
        results["parity"] = parity(args)
    if args.part in ("throughput", "all"):
        print("throughput:", flush=True)
        results["throughput"] = throughput(args)
    results["setup"]["seconds"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(_no_nan(results), indent=2, default=_plain) + "\n")
    print_tables(results)
    print(f"\n{results['setup']['seconds']:.0f} s in all; wrote {args.out}")


def _no_nan(value):
    """NaN (an undefined correlation) as null, so the file is strict JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    main()
