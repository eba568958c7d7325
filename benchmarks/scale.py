"""Scale: wall time, peak memory and bytes per locus of the data stages, training and attribution as peaks grow.

For each peak count (default 10k, 30k, 100k) the script simulates a ChIP-seq
experiment (our simulator, seeded; ``--bp-per-peak`` bp of genome per peak, default
5,000: denser than hg38's 10-20 kb per ATAC peak so that 100k peaks fit this machine;
``deplete_above: null`` so the simulator writes large genomes quickly) and runs, each
stage in its own process under ``/usr/bin/time`` (wall seconds, peak resident memory):

* the data stages of one ``bpnet run`` spec: ``reads-to-bigwig`` (signal, control),
  ``negatives`` (2 per peak, GC-matched), ``splits``, ``loci`` (2114/1000 bp, jitter
  128: BPNet's windows);
* a training probe: the 64 x 8 BPNet of ``bpnet init`` on that ``loci.h5`` through
  the train stage's own batch path and memory cap, ``--train-steps`` optimizer steps
  of batch 64 (a full epoch of 100k peaks is hours on 2 CPU cores: the probe gives
  examples/s, from which the epoch time is extrapolated, and the memory, which reaches
  its plateau within the first steps);
* one attribution shard: the ``attribute`` stage on ``--shard-loci`` peaks of an
  untrained 64 x 8 BPNet (time does not depend on the weights), counts head.

Writes ``benchmarks/results/scale.json`` and ``benchmarks/results/scale.png`` (log-log:
seconds and peak memory against loci) and prints the table::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scale.py [--peaks 10000 30000 100000] [--workdir /tmp/bpnet-bench-scale]
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

import yaml

HERE = Path(__file__).resolve().parent
BPNET = str(Path(sys.executable).parent / "bpnet")
DATA_STAGES = ("sim", "signal", "control", "negatives", "folds", "loci")


def spec_for(n_peaks: int, args: argparse.Namespace) -> dict:
    """The pipeline of one size: simulation, data stages, an untrained model and one attribution shard."""
    genome_size = n_peaks * args.bp_per_peak
    n_chroms = max(8, genome_size // 50_000_000)
    sim = "@sim.out"
    genome = {"genome": f"{sim}/genome.fa"}
    return {
        "output_dir": "out",
        "stages": {
            "sim": {"stage": "simulate", "params": {
                "kind": "chip", "seed": 1, "genome_size": genome_size, "chroms": n_chroms, "n_peaks": n_peaks,
                "depth": genome_size // args.bp_per_read, "options": {"deplete_above": None},
            }},
            "signal": {"stage": "reads-to-bigwig", "params": {"reads": [f"{sim}/reads.bam"], **genome, "stranded": True}},
            "control": {"stage": "reads-to-bigwig", "params": {"reads": [f"{sim}/control.bam"], **genome, "stranded": True}},
            "negatives": {"stage": "negatives", "params": {"genome": f"{sim}/genome.fa", "peaks": f"{sim}/peaks.narrowPeak", "ratio": 2.0}},
            "folds": {"stage": "splits", "params": {"genome": f"{sim}/genome.fa", "folds": {"valid": ["chr2"], "test": ["chr1"]}}},
            "loci": {"stage": "loci", "params": {
                "genome": f"{sim}/genome.fa", "peaks": f"{sim}/peaks.narrowPeak", "negatives": "@negatives.negatives",
                "signals": ["@signal.tracks"], "controls": ["@control.tracks"], "splits": "@folds.splits",
            }},
            "model": {"stage": "model-init", "params": {"architecture": "bpnet", "hyperparameters": {"n_filters": 64, "n_layers": 8},
                                                        "device": "cpu"}},
            "attribute": {"stage": "attribute", "params": {
                "models": ["@model.model"], "loci": "@loci.loci", "max_loci": args.shard_loci, "heads": ["counts"],
                "n_shuffles": args.n_shuffles, "device": "cpu",
            }},
        },
    }


def timed(command: list[str], cwd: Path, log: Path) -> dict:
    """Run ``command`` under /usr/bin/time: wall seconds and peak resident memory (MB) of the process tree's largest."""
    stats = cwd / ".time"
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        result = subprocess.run(["/usr/bin/time", "-o", str(stats), "-f", "%e %M", *command], cwd=cwd, stdout=out, stderr=out)
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed (exit {result.returncode}); see {log}")
    seconds, kb = stats.read_text().split()[-2:]
    return {"seconds": float(seconds), "peak_rss_mb": int(kb) / 1024}


def train_probe(loci: Path, steps: int, memory_mb: int | None) -> dict:
    """Worker: ``steps`` training steps of a 64 x 8 BPNet on ``loci`` through the train stage's batch path."""
    import torch

    from bpnet.train.samplers import make_batches
    from bpnet.train.session import DEFAULT_LOCI_MEMORY_MB, build_for_loci, fill_hyperparameters, open_loci

    torch.manual_seed(0)
    started = time.perf_counter()
    memory_mb = memory_mb or DEFAULT_LOCI_MEMORY_MB
    data = open_loci(loci, memory_mb, (64,))
    batches = make_batches(data, "train", 64, "cpu", train=True)
    batches.set_epoch(0)
    hyperparameters = fill_hyperparameters("bpnet", {"n_filters": 64, "n_layers": 8}, data)
    model = build_for_loci("bpnet", hyperparameters, data, loci, "probe")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    opened = time.perf_counter() - started
    n, first = 0, None
    for step, batch in enumerate(batches):
        if step == 1:
            first = time.perf_counter()  # the first step includes start-up work
        profile, counts = model(batch.X, batch.X_ctl)
        loss = counts.square().mean() + profile.logsumexp(-1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n += len(batch.X) if step >= 1 else 0
        if step >= steps:
            break
    seconds = time.perf_counter() - first
    per_epoch = len(batches) * 64
    return {"open_seconds": opened, "examples_per_s": n / seconds, "epoch_examples": per_epoch,
            "epoch_seconds_extrapolated": per_epoch / (n / seconds), "loci_memory_mb": memory_mb,
            "streamed": not isinstance(data.codes, __import__("numpy").ndarray),
            "sampler_peak_mb": getattr(batches, "peak_bytes", 0) / 2**20}


def measure(n_peaks: int, args: argparse.Namespace) -> dict:
    work = args.workdir / f"peaks-{n_peaks}"
    work.mkdir(parents=True, exist_ok=True)
    spec = work / "spec.yaml"
    spec.write_text(yaml.safe_dump(spec_for(n_peaks, args), sort_keys=False))
    log = work / "bench.log"
    row: dict = {"n_peaks": n_peaks, "genome_bp": n_peaks * args.bp_per_peak, "stages": {}}
    for stage in (*DATA_STAGES, "model", "attribute"):
        row["stages"][stage] = timed([BPNET, "run", str(spec), "--until", stage], work, log)
    loci = work / "out" / "loci" / "loci.h5"
    with __import__("h5py").File(loci, "r") as f:
        n_loci = len(f["centre"])
        row["n_loci"] = n_loci
        row["n_negatives"] = int(n_loci - f["is_peak"][()].sum())
    row["loci_h5_bytes"] = loci.stat().st_size
    row["loci_h5_bytes_per_locus"] = loci.stat().st_size / n_loci
    probe = timed([sys.executable, __file__, "--probe-train", str(loci), "--train-steps", str(args.train_steps),
                   *(["--loci-memory-mb", str(args.loci_memory_mb)] if args.loci_memory_mb else [])], work, log)
    row["train_probe"] = {**probe, **json.loads((work / "probe.json").read_text())}
    summary = json.loads((work / "out" / "attribute" / "scores" / "summary.json").read_text())["counts"]
    row["attribute_loci_per_s"] = summary["sequences_per_s"]
    return row


def train_stage_memory(n_peaks: int, args: argparse.Namespace) -> dict:
    """The train-bpnet stage itself (64 x 8, batch 64, its default loci_memory_mb) for ``--train-stage-seconds``,
    then stopped: the peak memory of its start-up (count-loss weight, loci opened or streamed) and training."""
    work = args.workdir / f"peaks-{n_peaks}"
    spec = yaml.safe_load((work / "spec.yaml").read_text())
    spec["stages"]["train"] = {"stage": "train-bpnet", "params": {
        "loci": "@loci.loci", "hyperparameters": {"n_filters": 64, "n_layers": 8}, "max_epochs": 1, "device": "cpu"}}
    path = work / "spec-train.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    stats = work / ".time-train"
    with (work / "bench.log").open("a") as out:
        subprocess.run(["/usr/bin/time", "-o", str(stats), "-f", "%e %M", "timeout", "-s", "INT", str(args.train_stage_seconds),
                        BPNET, "run", str(path), "--until", "train"], cwd=work, stdout=out, stderr=out)
    seconds, kb = stats.read_text().split()[-2:]
    return {"seconds": float(seconds), "peak_rss_mb": int(kb) / 1024, "stopped_after_s": args.train_stage_seconds}


def rerun_stage(n_peaks: int, stage: str, args: argparse.Namespace) -> dict:
    """Run one stage of an earlier size again (``--from STAGE --until STAGE``): its wall time and peak memory,
    and for the loci stage whether ``loci.h5`` holds the same datasets as before."""
    import hashlib

    import h5py

    work = args.workdir / f"peaks-{n_peaks}"
    loci = work / "out" / "loci" / "loci.h5"

    def digest() -> str | None:
        if not loci.exists():
            return None
        sha = hashlib.sha256()
        with h5py.File(loci, "r") as f:
            sha.update(repr(sorted((k, str(v)) for k, v in f.attrs.items())).encode())
            for name in sorted(f):
                sha.update(f"{name}:{f[name].dtype}:{f[name].shape}".encode())
                for k in range(0, len(f[name]), 4096):
                    sha.update(f[name][k : k + 4096].tobytes())
        return sha.hexdigest()

    before = digest() if stage == "loci" else None
    command = [BPNET, "run", str(work / "spec.yaml"), "--from", stage, "--until", stage]
    runs = [timed(command, work, work / "bench.log") for _ in range(args.reps)]
    result = {key: statistics.median(run[key] for run in runs) for key in ("seconds", "peak_rss_mb")}
    result["runs"] = runs
    if stage == "loci":
        result["same_datasets_as_before"] = before is not None and digest() == before
    return result


def table(rows: list[dict]) -> str:
    head = ("| peaks | loci | genome | data stages s (peak MB) | loci.h5 B/locus | train ex/s (peak MB) | epoch (extrapolated) "
            "| attribution shard s (peak MB, loci/s) |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        data_s = sum(r["stages"][s]["seconds"] for s in DATA_STAGES)
        data_mb = max(r["stages"][s]["peak_rss_mb"] for s in DATA_STAGES if s != "sim")
        t, a = r["train_probe"], r["stages"]["attribute"]
        lines.append(
            f"| {r['n_peaks']:,} | {r['n_loci']:,} | {r['genome_bp'] / 1e6:.0f} Mb | {data_s:.0f} ({data_mb:.0f}) "
            f"| {r['loci_h5_bytes_per_locus']:,.0f} | {t['examples_per_s']:.1f} ({t['peak_rss_mb']:.0f}) "
            f"| {t['epoch_seconds_extrapolated'] / 3600:.1f} h "
            f"| {a['seconds']:.0f} ({a['peak_rss_mb']:.0f}, {r['attribute_loci_per_s']:.1f}) |"
        )
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loci = [r["n_loci"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    for stage in ("signal", "negatives", "loci", "attribute"):
        left.plot(loci, [r["stages"][stage]["seconds"] for r in rows], "o-", label=stage)
        right.plot(loci, [r["stages"][stage]["peak_rss_mb"] for r in rows], "o-", label=stage)
    right.plot(loci, [r["train_probe"]["peak_rss_mb"] for r in rows], "s--", label="train (probe)")
    for ax, label in ((left, "wall seconds"), (right, "peak resident MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("loci (peaks + negatives)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peaks", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--bp-per-peak", type=int, default=5_000)
    parser.add_argument("--bp-per-read", type=int, default=20, help="simulated depth: one read (and one control read) per this many bp")
    parser.add_argument("--train-steps", type=int, default=30)
    parser.add_argument("--loci-memory-mb", type=int, default=None, help="the train stages' loci memory cap (default: theirs)")
    parser.add_argument("--shard-loci", type=int, default=500)
    parser.add_argument("--n-shuffles", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bpnet-bench-scale"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scale.json")
    parser.add_argument("--train-stage-seconds", type=int, default=None,
                        help="after a run: the train-bpnet stage's peak memory over this many seconds, for each size in --out")
    parser.add_argument("--rerun-stage", default=None,
                        help="after a run: run this stage again for each size in --out and record it (the earlier figure is kept)")
    parser.add_argument("--reps", type=int, default=3, help="runs of --rerun-stage (medians recorded)")
    parser.add_argument("--probe-train", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe_train:
        result = train_probe(args.probe_train, args.train_steps, args.loci_memory_mb)
        (Path.cwd() / "probe.json").write_text(json.dumps(result))
        return
    if args.train_stage_seconds:
        results = json.loads(args.out.read_text())
        for row in results["rows"]:
            row["train_stage"] = train_stage_memory(row["n_peaks"], args)
            args.out.write_text(json.dumps(results, indent=2) + "\n")
            print(row["n_peaks"], row["train_stage"], flush=True)
        return
    if args.rerun_stage:
        results = json.loads(args.out.read_text())
        for row in results["rows"]:
            if row["n_peaks"] not in args.peaks:
                continue
            stage = args.rerun_stage
            row.setdefault("earlier", {}).setdefault(stage, row["stages"][stage])
            row["stages"][stage] = rerun_stage(row["n_peaks"], stage, args)
            args.out.write_text(json.dumps(results, indent=2) + "\n")
            print(row["n_peaks"], stage, row["stages"][stage], "earlier:", row["earlier"][stage], flush=True)
        plot(results["rows"], args.out.with_suffix(".png"))
        print(table(results["rows"]), flush=True)
        return
    rows = []
    for n in args.peaks:  # results are written after each size, so a long campaign keeps what it measured
        rows.append(measure(n, args))
        results = {
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                        "omp_threads": os.environ.get("OMP_NUM_THREADS")},
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "probe_train"},
            "rows": rows,
        }
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        plot(rows, args.out.with_suffix(".png"))
        print(table(rows), flush=True)


if __name__ == "__main__":
    main()
