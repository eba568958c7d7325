"""Attribution: our ``attribute`` path vs tangermeme's ``deep_lift_shap`` called the way
bpnet-lite 1.1.0 calls it, side by side in one run.

Same weights, same sequences, ``n_shuffles=20``, seed 0 on every side (tangermeme's
seeded references: shuffle ``k`` of every sequence uses seed ``k``, so all sides explain
against the very same references). The model is a 64x8 BPNet (2 profile tracks, 2
control tracks, 2114 bp in, 1000 bp out) with random weights (seed 0); controls are zero
on every side (``ControlWrapper``, as bpnet-lite's ``bpnet attribute`` does).

Sides (``sequences/s`` = windows explained per second, 20 references each; each side
is timed ``--reps`` times per head in ABBA order after an untimed warm-up, and the
median is reported, both per wall second and per CPU second of the side's process,
because the machine is shared and burstable; every timed run records a matmul
calibration and the CPU other processes used):

* **bpnet**: :func:`bpnet.interpret.attribution.attribute` on our ``BPNet`` ('valid'
  convolutions), float32, its default batch (64 pairs on a CPU), probe included;
* **bpnet-lite**: in bpnet-lite's own environment (``--peer-python``): its ``BPNet``
  holding the same weights, its ``CountWrapper``/``ProfileWrapper`` over ``ControlWrapper``,
  ``bpnetlite.attribute.deep_lift_shap(..., hypothetical=True, n_shuffles=20,
  batch_size=64, random_state=0)`` in float64 for the profile head and float32 for
  counts, exactly as its ``bpnet attribute`` command;
* **tangermeme on our model** (``--engine-check`` sequences, 2 by default): the same
  bpnet-lite call (batch 64, float64 for profile) on our model and our wrappers, in our
  environment: separates the engine from the architecture and checks our profile
  attributions against tangermeme's with the official profile target.

Agreement: per-sequence Pearson correlation of the hypothetical attributions (4 x 2114
values) between bpnet and each other side. Sum-to-delta: for every side, the sum of
observed attributions minus ``f(X) - mean_k f(ref_k)`` (``f`` = our target, float64),
as an absolute value and relative to the mean ``|f(X) - f(ref)|``.

Both sides explain the profile head the same way: the centred logits' ``z * softmax(z)``
is one module given tangermeme's rescale rule (bpnet-lite's ``_ProfileLogitScaling``,
our ``SoftmaxWeightedLogits``), so the profile attributions agree up to float32 against
float64 precision.

bpnet-lite runs in its own environment (``--peer-python``, or ``BPNET_PEER_PYTHON``;
default ``/work/bench-envs/bpnet-lite/bin/python``, see ``training.py``) as one
long-lived worker process. Run (about 5 minutes on a 2-core machine)::

    .venv/bin/python benchmarks/attribution.py [--n-sequences 2] [--reps 2] [--threads 2]

On a GPU, ``--device cuda`` runs every side there (our side with its automatic batch,
fitted to the free memory; the others with bpnet-lite's 64). Where bpnet-lite's
environment is missing (a bare GPU machine), ``--no-peer`` drops that side and
measures against tangermeme called as bpnet-lite calls it on our model instead, timed
in ABBA order with ours on every sequence::

    .venv/bin/python benchmarks/attribution.py --device cuda --no-peer --n-sequences 64

Writes ``benchmarks/results/attribution.json`` and prints the table.

``--shards N`` measures instead what the ``attribute`` stage's shards cost: our side in
one call against the same sequences cut into ``N`` shards the stage's way (boundaries on
the chunk grid, each shard attributed with its ``start``, saved to an ``.npz`` shard file
and read back, then joined), timed in ABBA order, medians reported with the overhead
and whether both give the same bits. No peer is needed; a small run on one thread::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/attribution.py --shards 6 --n-sequences 36 --n-filters 16 --reps 3 --threads 1

writes ``benchmarks/results/attribution_shards.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import peer_bpnetlite as shared  # noqa: E402  (matmul calibration; imports only numpy and torch)

DEFAULT_PEER = os.environ.get("BPNET_PEER_PYTHON", "/work/bench-envs/bpnet-lite/bin/python")
LIN, LOUT = shared.INPUT_LENGTH, shared.OUTPUT_LENGTH
MODEL = {"n_filters": 64, "n_layers": 8, "n_outputs": 2, "n_control_tracks": 2}
N_SHUFFLES, SEED, PEER_BATCH = 20, 0, 64


def machine_busy() -> float:
    """CPU seconds all processes of the machine have used (non-idle time of /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------- bpnet-lite side


def peer_serve(job_path: str) -> None:
    """Run in bpnet-lite's environment: load the job's weights into bpnet-lite's BPNet once,
    then answer one JSON line per head named on stdin (``quit`` ends), attributing as
    ``bpnet attribute`` does and saving the attributions to ``<job>-<head>-<n>.npz``."""
    import torch
    from bpnetlite.attribute import deep_lift_shap
    from bpnetlite.bpnet import ControlWrapper, CountWrapper, ProfileWrapper

    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # library prints go to stderr, the protocol stays clean
    sys.stdout = sys.stderr
    d = np.load(job_path)
    torch.set_num_threads(int(d["threads"]))
    device = str(d["device"])
    model = shared.bpnetlite_with_our_weights(d).eval()
    X = torch.from_numpy(d["X"])
    versions = {"torch": torch.__version__, "bpnet-lite": __import__("bpnetlite").__version__,
                "tangermeme": __import__("tangermeme").__version__}
    for calls, line in enumerate(sys.stdin):
        head = line.strip()
        if head == "quit":
            break
        warm_up = head.startswith("warm-up ")
        head = head.removeprefix("warm-up ")
        # as bpnet-lite's `bpnet attribute`: float64 for the profile head, ControlWrapper for controls
        dtype = torch.float64 if head == "profile" else torch.float32
        wrapper = (ProfileWrapper if head == "profile" else CountWrapper)(ControlWrapper(model)).type(dtype)
        if warm_up:  # one sequence, two references, untimed
            deep_lift_shap(
                wrapper,
                X[:1].type(dtype),
                hypothetical=True,
                n_shuffles=2,
                batch_size=PEER_BATCH,
                device=device,
                random_state=SEED,
            )
            model.float()
            protocol.write("{}\n")
            protocol.flush()
            continue
        run = timed(lambda: deep_lift_shap(wrapper, X.type(dtype), hypothetical=True, n_shuffles=N_SHUFFLES,  # noqa: B023  (timed calls it at once)
                                           batch_size=PEER_BATCH, device=device, random_state=SEED, warning_threshold=1e-3))
        path = f"{job_path}-{head}-{calls}.npy"
        np.save(path, run.pop("result").float().numpy())
        model.float()
        protocol.write(json.dumps({**run, "attributions": path, "versions": versions}) + "\n")
        protocol.flush()


class Peer:
    """bpnet-lite's side as a long-lived worker process (imports and weights loaded once)."""

    def __init__(self, args, model, X: np.ndarray):
        job = args.workdir / "peer-job.npz"
        weights = {f"w:{k}": v.detach().numpy() for k, v in model.state_dict().items()}
        np.savez(job, X=X, threads=args.threads, device=args.device, n_layers=MODEL["n_layers"], **weights)
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
        self.log_path = args.workdir / "peer.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([args.peer_python, str(Path(__file__).resolve()), "--peer", str(job)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env, cwd=HERE)

    def run(self, head: str) -> dict:
        self.process.stdin.write(head + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            self.log.flush()
            raise SystemExit(f"the bpnet-lite side failed:\n{self.log_path.read_text()[-3000:]}")
        result = json.loads(line)
        result["attributions"] = np.load(result["attributions"])
        return {**result, "batch_size": PEER_BATCH, "precision": "float64" if head == "profile" else "float32"}

    def warm_up(self, head: str) -> None:
        self.process.stdin.write(f"warm-up {head}\n")
        self.process.stdin.flush()
        if not self.process.stdout.readline():
            raise SystemExit(f"the bpnet-lite side failed:\n{self.log_path.read_text()[-3000:]}")

    def close(self) -> None:
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        self.process.wait()
        self.log.close()


# ---------------------------------------------------------------------- our side


def make_inputs(n: int) -> tuple[Any, np.ndarray]:
    """Our 8-layer BPNet (random weights, seed 0) and ``n`` random one-hot 2114 bp sequences."""
    import torch

    from bpnet.core.architectures.bpnet import BPNet

    torch.manual_seed(SEED)
    model = BPNet(**MODEL).eval()
    bases = np.random.default_rng(SEED).integers(0, 4, (n, LIN))
    X = np.eye(4, dtype=np.float32)[bases].transpose(0, 2, 1).copy()
    return model, X


def timed(fn) -> dict:
    """Run ``fn``: its result, wall and CPU seconds (this process, all threads), the matmul
    calibration before and after, and the CPU other processes of the machine used meanwhile."""
    gflops_before, busy, own0, t0 = shared.matmul_gflops(), machine_busy(), time.process_time(), time.perf_counter()
    result = fn()
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - own0
    other = ((machine_busy() - busy) - cpu_seconds) / seconds
    return {"result": result, "seconds": seconds, "cpu_seconds": cpu_seconds, "gflops_before": gflops_before,
            "gflops_after": shared.matmul_gflops(), "other_cpu_cores": other}


def run_ours(model, X: np.ndarray, head: str, device: str, precision: str = "auto") -> dict:
    from bpnet.interpret.attribution import attribute, default_batch_size, resolve_precision

    run = timed(lambda: attribute([model], ["bpnet"], X, head, n_shuffles=N_SHUFFLES, seed=SEED, device=device, progress=False,
                                  precision=precision))
    result = run.pop("result")
    batch = default_batch_size(__import__("torch").device(device)) if device == "cpu" else "fitted to free GPU memory"
    return {**run, "attributions": result.hypothetical, "delta_max_abs_pairs": result.delta_max_abs,
            "delta_mean_abs_pairs": result.delta_mean_abs, "batch_size": batch, "precision": resolve_precision(precision, head)}


def run_tangermeme_on_ours(model, X: np.ndarray, head: str, device: str) -> dict:
    """tangermeme's deep_lift_shap called as bpnet-lite calls it (with the wrappers' extra rule), on our model and wrappers."""
    import copy
    import warnings

    import torch
    from tangermeme.deep_lift_shap import deep_lift_shap

    from bpnet.core import deeplift_rules
    from bpnet.interpret.attribution import explanation_target

    dtype = torch.float64 if head == "profile" else torch.float32
    target = explanation_target(copy.deepcopy(model), head).to(dtype)

    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return deep_lift_shap(target, torch.from_numpy(X).to(dtype), hypothetical=True, n_shuffles=N_SHUFFLES,
                                  batch_size=PEER_BATCH, device=device, random_state=SEED,
                                  additional_nonlinear_ops=deeplift_rules()).float().cpu().numpy()

    run = timed(call)
    return {**run, "attributions": run.pop("result"), "batch_size": PEER_BATCH, "precision": str(dtype).removeprefix("torch.")}


def run_sharded(model, X: np.ndarray, head: str, device: str, shards: int, folder: Path) -> dict:
    """Our side the way the attribute stage runs it in ``shards`` shards (see ``bpnet.interpret.shards``)."""
    import logging
    import shutil

    import torch

    from bpnet.interpret.attribution import (
        HeadAttributions,
        attribute,
        default_batch_size,
        first_chunk,
        sequences_per_chunk,
    )
    from bpnet.interpret.shards import ShardId, ShardStore, shard_bounds

    per_chunk = sequences_per_chunk(default_batch_size(torch.device(device)), N_SHUFFLES)
    bounds = shard_bounds(len(X), shards, per_chunk, first_chunk(per_chunk))
    ids = [ShardId(head, k, shards) for k in range(1, shards + 1)]
    shutil.rmtree(folder, ignore_errors=True)
    store = ShardStore(folder, logging.getLogger("benchmark"))

    def call() -> HeadAttributions:
        for shard, a, b in zip(ids, bounds, bounds[1:]):
            part = attribute([model], ["bpnet"], X[a:b], head, n_shuffles=N_SHUFFLES, seed=SEED, device=device, progress=False,
                             delta_tolerance=float("inf"), start=a)
            store.save(shard, "benchmark", part, {})
        return HeadAttributions.concatenate([store.load(s, "benchmark", b - a)[0] for s, a, b in zip(ids, bounds, bounds[1:])])

    run = timed(call)
    return {**run, "result": run.pop("result")}


def shards_comparison(args, model, X: np.ndarray) -> None:
    """``--shards``: one call against the stage's shards, interleaved (ABBA), medians and overhead."""
    import torch

    from bpnet.interpret.attribution import attribute

    if not 1 <= args.shards <= len(X):
        raise SystemExit(f"--shards must be between 1 and --n-sequences ({len(X)})")
    for head in ("counts", "profile"):  # warm-up (untimed)
        attribute([model], ["warm-up"], X[:1], head, n_shuffles=2, device=args.device, progress=False)
    table = {}
    for head in ("counts", "profile"):
        runs: dict[str, list[dict]] = {"unsharded": [], "sharded": []}
        for rep in range(args.reps):
            for side in ("unsharded", "sharded") if rep % 2 == 0 else ("sharded", "unsharded"):
                if side == "unsharded":
                    r = timed(lambda h=head: attribute([model], ["bpnet"], X, h, n_shuffles=N_SHUFFLES, seed=SEED, device=args.device,
                                                       progress=False))
                else:
                    r = run_sharded(model, X, head, args.device, args.shards, args.workdir / "shards")
                runs[side].append(r)
                print(f"{head:8s} {side:10s} rep {rep}: {len(X) / r['seconds']:.3f} sequences/s, {len(X) / r['cpu_seconds']:.3f} "
                      f"per CPU-s ({r['seconds']:.1f} s; other processes {r['other_cpu_cores']:.2f} cores)", flush=True)
        one, cut = runs["unsharded"][0]["result"], runs["sharded"][0]["result"]
        same = all(np.array_equal(getattr(one, k), getattr(cut, k)) for k in ("hypothetical", "delta", "delta_abs_sum", "delta_abs_max"))
        rates = {side: float(np.median([len(X) / r["seconds"] for r in rs])) for side, rs in runs.items()}
        cpu_rates = {side: float(np.median([len(X) / r["cpu_seconds"] for r in rs])) for side, rs in runs.items()}
        table[head] = {
            "sequences_per_s": rates, "sequences_per_cpu_s": cpu_rates, "same_bits": same,
            "overhead": 1 - rates["sharded"] / rates["unsharded"], "overhead_cpu": 1 - cpu_rates["sharded"] / cpu_rates["unsharded"],
            "runs": {side: [{k: r[k] for k in ("seconds", "cpu_seconds", "other_cpu_cores")} for r in rs] for side, rs in runs.items()},
        }
        print(f"{head:8s} median: unsharded {rates['unsharded']:.3f}, sharded {rates['sharded']:.3f} sequences/s "
              f"(overhead {table[head]['overhead']:+.1%}); per CPU-s {cpu_rates['unsharded']:.3f} vs {cpu_rates['sharded']:.3f} "
              f"({table[head]['overhead_cpu']:+.1%}); same bits: {same}", flush=True)
    result = {
        "setup": {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "threads": args.threads, "torch": torch.__version__,
                  "device": args.device, "model": {**MODEL, "input_length": LIN, "output_length": LOUT}, "n_sequences": len(X),
                  "shards": args.shards, "reps": args.reps, "n_shuffles": N_SHUFFLES, "command": " ".join(sys.argv)},
        "heads": table,
    }
    out = args.out.with_name("attribution_shards.json") if args.out == HERE / "results" / "attribution.json" else args.out
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}")


def sum_to_delta(model, X: np.ndarray, attributions: np.ndarray, head: str) -> dict:
    """Sum of observed attributions minus f(X) - mean_k f(ref_k), with our target in float64."""
    import copy

    import torch

    from bpnet.interpret.attribution import dinucleotide_references, explanation_target

    target = explanation_target(copy.deepcopy(model).double(), head).eval()
    Xt = torch.from_numpy(X)
    refs = dinucleotide_references(Xt, N_SHUFFLES, SEED).double()
    with torch.no_grad():
        fx = target(Xt.double())[:, 0]
        fr = torch.cat([target(r)[:, 0] for r in refs.reshape(-1, 4, LIN).split(64)]).reshape(len(X), N_SHUFFLES)
    change = (fx - fr.mean(dim=1)).numpy()
    delta = (X * attributions).sum(axis=(1, 2), dtype=np.float64) - change
    scale = float((fx[:, None] - fr).abs().mean())
    return {"max_abs": float(np.abs(delta).max()), "mean_abs": float(np.abs(delta).mean()), "target_change_mean_abs": scale,
            "max_relative": float(np.abs(delta).max() / scale)}


def pearson_per_sequence(a: np.ndarray, b: np.ndarray) -> dict:
    a, b = a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)
    a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    r = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return {"min": float(r.min()), "median": float(np.median(r)), "per_sequence": r.tolist()}


def summarise(runs: list[dict], n: int) -> dict:
    """Median rates of a side's timed runs, with every run's timing kept."""
    rates = [n / r["seconds"] for r in runs]
    cpu_rates = [n / r["cpu_seconds"] for r in runs]
    keys = ("seconds", "cpu_seconds", "gflops_before", "gflops_after", "other_cpu_cores")
    return {"n_sequences": n, "sequences_per_s": float(np.median(rates)), "sequences_per_cpu_s": float(np.median(cpu_rates)),
            "batch_size": runs[0]["batch_size"], "precision": runs[0]["precision"], "runs": [{k: r[k] for k in keys} for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-sequences", type=int, default=2, help="sequences explained per timed run by bpnet and bpnet-lite")
    parser.add_argument("--reps", type=int, default=2, help="timed runs per side and head, in ABBA order")
    parser.add_argument("--engine-check", type=int, default=2, help="sequences explained by tangermeme on our model (0: skip)")
    parser.add_argument("--n-filters", type=int, default=64, help="filters of the 8-layer BPNet (fewer for a quick smoke run)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--peer-python", default=DEFAULT_PEER)
    parser.add_argument("--no-peer", action="store_true",
                        help="no bpnet-lite side: measure against tangermeme called as bpnet-lite calls it, on our model")
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where every side runs")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bpnet-bench-attribution"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "attribution.json")
    parser.add_argument("--shards", type=int, default=0,
                        help="instead of the sides: our side in one call against the same sequences in this many shards")
    parser.add_argument("--peer", metavar="JOB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        return peer_serve(args.peer)

    import torch

    from bpnet.interpret.attribution import attribute

    torch.set_num_threads(args.threads)
    MODEL["n_filters"] = args.n_filters
    os.environ.setdefault("BPNET_NO_PROGRESS", "1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    model, X = make_inputs(args.n_sequences)
    if args.shards:
        return shards_comparison(args, model, X)
    peer = None if args.no_peer else Peer(args, model, X)
    reference = "tangermeme-on-bpnet" if peer is None else "bpnet-lite"
    # warm-up (untimed): imports, numba's compilation of the shuffle, the allocator, both heads on every side
    for head in ("counts", "profile"):
        attribute([model], ["warm-up"], X[:1], head, n_shuffles=2, device=args.device, progress=False)
        if peer is None:
            run_tangermeme_on_ours(model, X[:1], head, args.device)
        else:
            peer.warm_up(head)

    def run_side(side: str, head: str, n: int, precision: str = "auto") -> dict:
        if side == "bpnet":
            return run_ours(model, X[:n], head, args.device, precision)
        if side == "tangermeme-on-bpnet":
            return run_tangermeme_on_ours(model, X[:n], head, args.device)
        return peer.run(head)

    # without a peer the reference is tangermeme-on-bpnet itself: one side, not two
    runs: dict[str, dict[str, list[dict]]] = {side: {} for side in ("bpnet", reference, "tangermeme-on-bpnet", "bpnet-float32")}
    try:
        for head in ("counts", "profile"):
            for rep in range(args.reps):  # ABBA order against drifts of the (burstable, shared) CPU
                for side in ("bpnet", reference) if (rep + (head == "profile")) % 2 == 0 else (reference, "bpnet"):
                    r = run_side(side, head, args.n_sequences)
                    runs[side].setdefault(head, []).append(r)
                    print(f"{head:8s} {side:20s} rep {rep}: {args.n_sequences / r['seconds']:.3f} sequences/s, "
                          f"{args.n_sequences / r['cpu_seconds']:.3f} per CPU-s ({r['seconds']:.1f} s; matmul {r['gflops_before']:.0f} "
                          f"-> {r['gflops_after']:.0f} GFLOPS; other processes {r['other_cpu_cores']:.2f} cores)", flush=True)
            if args.engine_check and peer is not None:
                r = run_side("tangermeme-on-bpnet", head, args.engine_check)
                runs["tangermeme-on-bpnet"][head] = [r]
                print(
                    f"{head:8s} {'tangermeme-on-bpnet':20s}: {args.engine_check / r['seconds']:.3f} sequences/s ({r['seconds']:.1f} s)",
                    flush=True,
                )
            if head == "profile":  # our profile head in float32 throughout (precision: float32), one timed run
                r = run_side("bpnet", head, args.n_sequences, "float32")
                runs["bpnet-float32"][head] = [r]
                print(
                    f"{head:8s} {'bpnet-float32':20s}: {args.n_sequences / r['seconds']:.3f} sequences/s ({r['seconds']:.1f} s)",
                    flush=True,
                )
    finally:
        if peer is not None:
            peer.close()

    table = {}
    for head in ("counts", "profile"):
        ours = runs["bpnet"][head][0]["attributions"]
        row = {}
        for side, by_head in runs.items():
            if head not in by_head:
                continue
            attributions = by_head[head][0]["attributions"]
            n = len(attributions)
            entry = {**summarise(by_head[head], n), "sum_to_delta": sum_to_delta(model, X[:n], attributions, head)}
            if side != "bpnet":
                entry["pearson_vs_bpnet"] = pearson_per_sequence(ours[:n], attributions)
                entry["max_abs_difference_vs_bpnet"] = float(np.abs(ours[:n] - attributions).max())
            else:
                entry["delta_max_abs_pairs"] = by_head[head][0]["delta_max_abs_pairs"]
                entry["same_attributions_every_rep"] = all(np.array_equal(ours, r["attributions"]) for r in by_head[head])
            row[side] = entry
        for key in ("sequences_per_s", "sequences_per_cpu_s"):
            row[f"speedup_{key}"] = row["bpnet"][key] / row[reference][key]
        table[head] = row

    print(
        f"\n{'head':8s} {'side':20s} {'seq/s':>7s} {'speed-up':>8s} {'seq/CPU-s':>9s} {'speed-up':>8s} "
        f"{'Pearson min':>11s} {'max |delta|/scale':>17s}"
    )
    for head, row in table.items():
        for side in runs:
            if side not in row:
                continue
            e, ref = row[side], row[reference]
            pearson = f"{e['pearson_vs_bpnet']['min']:.6f}" if "pearson_vs_bpnet" in e else "-"
            print(f"{head:8s} {side:20s} {e['sequences_per_s']:7.3f} {e['sequences_per_s'] / ref['sequences_per_s']:7.2f}x "
                  f"{e['sequences_per_cpu_s']:9.3f} {e['sequences_per_cpu_s'] / ref['sequences_per_cpu_s']:7.2f}x {pearson:>11s} "
                  f"{e['sum_to_delta']['max_relative']:17.2e}")
    result = {
        "setup": {
            "date": time.strftime("%Y-%m-%d"), "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "threads": args.threads, "torch": torch.__version__, "tangermeme": __import__("tangermeme").__version__,
            "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(args.device),
            "speed_up_against": reference,
            "peer": runs["bpnet-lite"]["counts"][0]["versions"] if peer is not None else None,
            "model": {**MODEL, "input_length": LIN, "output_length": LOUT, "weights": "random, seed 0"},
            "n_sequences": args.n_sequences, "reps": args.reps, "engine_check_sequences": args.engine_check,
            "n_shuffles": N_SHUFFLES, "seed": SEED, "command": " ".join(sys.argv),
        },
        "heads": table,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
