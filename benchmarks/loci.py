"""Loci extraction and batch throughput: bpnet vs tangermeme, side by side.

Builds (once, cached in --workdir) a random genome with a stranded signal pair and a
stranded control pair of Poisson read counts around --n-loci summits, then, each in a
fresh subprocess so peak memory is the tool's own:

* ``bpnet``: :func:`bpnet.data.loci.extract_loci` (2114/1000 bp, jitter 128, summits),
  then ``LociSet.save``/``load`` of ``loci.h5``;
* ``tangermeme``: ``tangermeme.io.extract_loci`` on the same narrowPeak with the four
  tracks as signals (same windows and bytes of signal), ``n_jobs`` threads;
* ``batches``: training batches of 64 per second from the fast path
  (:class:`bpnet.train.samplers.BatchIterator`) and from ``LociDataset`` +
  ``PeakNegativeSampler`` in a DataLoader (0 workers);
* ``check``: both extractors on the first 2000 loci give the same arrays.

Both extractors run on all loci (dense: one per 6.7 kb) and on every 10th locus
(``--sparse-every``; ~67 kb apart, like 30-50k peaks on a human genome), since the
cost per locus depends on the spacing: bpnet reads nearby loci with one bigWig call.

Prints a table and writes ``benchmarks/results/loci.json``::

    .venv/bin/python benchmarks/loci.py [--n-loci 30000] [--workdir /tmp/bpnet-bench-loci]

``--epoch`` instead times one training epoch (the Trainer, a 32 x 6 BPNet, batch 16, as
examples/quickstart.yaml) on quickstart-size loci (2,400 loci, 1346/1000 bp, jitter 128,
stranded signal and control; half peaks, half negatives; train on chr3-4), in memory
(``LociSet.load``) and streamed from loci.h5 (``LociSet.open`` with a budget below the
file's size), alternating, each run in a fresh process: examples/s, peak RSS, the
sampler's ``peak_bytes`` and a digest of the trained weights (equal when the batches
are). ``--baseline-src DIR`` adds the in-memory epoch of another checkout's code (e.g.
``git archive HEAD packages | tar -x -C DIR``) on a float32 version-2 copy of the file,
which any earlier bpnet reads. Writes ``benchmarks/results/loci-epoch.json``::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loci.py --epoch [--reps 5] [--epoch-loci 2400] [--budget-mb 8] \
        [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LIN, LOUT, JITTER = 2114, 1000, 128


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------- data


def make_data(work: Path, n_loci: int, n_chroms: int, chrom_size: int, seed: int = 0) -> None:
    """genome.fa, peaks.narrowPeak, signal/ and control/ track sets (stranded)."""
    from bpnet.data.bigwig_io import write_bigwig
    from bpnet.data.tracks import Track, TrackSet

    if (work / "done").exists():
        return
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sizes = {f"chr{i + 1}": chrom_size for i in range(n_chroms)}
    letters = np.frombuffer(b"ACGT", np.uint8)
    with open(work / "genome.fa", "wb") as out:
        for chrom, size in sizes.items():
            seq = letters[rng.integers(0, 4, size)]
            full = seq[: size - size % 60].reshape(-1, 60)
            out.write(f">{chrom}\n".encode())
            out.write(np.hstack([full, np.full((len(full), 1), ord("\n"), np.uint8)]).tobytes())
            if size % 60:
                out.write(seq[len(full) * 60 :].tobytes() + b"\n")
    margin = LIN // 2 + JITTER + 10
    chrom_of = rng.integers(0, n_chroms, n_loci)
    summit = rng.integers(margin, chrom_size - margin, n_loci)
    left, right = rng.integers(50, 300, n_loci), rng.integers(50, 300, n_loci)
    with open(work / "peaks.narrowPeak", "w") as out:
        for i in range(n_loci):
            s = summit[i] - left[i]
            out.write(f"chr{chrom_of[i] + 1}\t{s}\t{summit[i] + right[i]}\tp{i}\t0\t.\t1\t-1\t-1\t{left[i]}\n")
    for folder, rate, per_peak in (("signal", 0.01, 200), ("control", 0.03, 0)):
        (work / folder).mkdir(exist_ok=True)
        for name in ("plus.bw", "minus.bw"):
            tracks = {}
            for k, (chrom, size) in enumerate(sizes.items()):
                dense = rng.poisson(rate, size).astype(np.float32)
                here = summit[chrom_of == k]
                reads = (np.repeat(here, per_peak) + rng.normal(0, 40, len(here) * per_peak)).astype(np.int64)
                np.add.at(dense, np.clip(reads, 0, size - 1), 1.0)
                tracks[chrom] = dense
            write_bigwig(work / folder / name, sizes, tracks)
        TrackSet(tracks=[Track(file="plus.bw", strand="+"), Track(file="minus.bw", strand="-")]).write(work / folder)
    (work / "done").write_text("ok\n")


def track_files(work: Path) -> list[str]:
    return [str(work / f / n) for f in ("signal", "control") for n in ("plus.bw", "minus.bw")]


# ---------------------------------------------------------------------- workers (one per subprocess)


def worker_bpnet(work: Path, args) -> dict:
    import figwig  # noqa: F401  (the bigWig reader, imported by tangermeme.io too)
    import pyBigWig  # noqa: F401  (imports are not timed, as for tangermeme)
    import pyfaidx  # noqa: F401
    import torch  # noqa: F401  (imported by the trainer anyway; keeps baselines comparable)

    import bpnet.core.console  # noqa: F401
    from bpnet.data.loci import LociSet, extract_loci

    # numba starts up (about 0.8 s) on figwig's first read; tangermeme pays this while
    # `import tangermeme.io` runs, which is not timed, so warm it here the same way
    figwig.BigWigReader(str(work / "signal" / "plus.bw")).read("chr1", [0], 1)
    base = rss_mb()
    t0 = time.perf_counter()
    loci = extract_loci(work / "genome.fa", work / args.peaks, None, [work / "signal"], [work / "control"],
                        input_length=LIN, output_length=LOUT, max_jitter=JITTER)
    seconds = time.perf_counter() - t0
    peak = peak_rss_mb()
    t0 = time.perf_counter()
    h5 = work / f"loci-{Path(args.peaks).stem}.h5"
    loci.save(h5)
    save_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    LociSet.load(h5)
    load_s = time.perf_counter() - t0
    return {
        "tool": "bpnet.data.loci.extract_loci",
        "peaks": args.peaks,
        "loci": len(loci),
        "seconds": seconds,
        "loci_per_s": len(loci) / seconds,
        "baseline_rss_mb": base,
        "peak_rss_mb": peak,
        "peak_increase_mb": peak - base,
        "result_mb": loci.nbytes / 2**20,
        "h5_save_s": save_s,
        "h5_load_s": load_s,
        "h5_mb": h5.stat().st_size / 2**20,
    }


def worker_tangermeme(work: Path, args) -> dict:
    import torch  # noqa: F401
    from tangermeme.io import extract_loci

    base = rss_mb()
    t0 = time.perf_counter()
    X, y = extract_loci(str(work / args.peaks), str(work / "genome.fa"), signals=track_files(work),
                        in_window=LIN, out_window=LOUT, max_jitter=JITTER, summits=True, n_jobs=args.n_jobs)
    seconds = time.perf_counter() - t0
    peak = peak_rss_mb()
    return {"tool": f"tangermeme.io.extract_loci (n_jobs={args.n_jobs})", "peaks": args.peaks, "loci": len(X), "seconds": seconds,
            "loci_per_s": len(X) / seconds, "baseline_rss_mb": base, "peak_rss_mb": peak, "peak_increase_mb": peak - base,
            "result_mb": (X.numel() * X.element_size() + y.numel() * y.element_size()) / 2**20}


def worker_check(work: Path, args) -> dict:
    """Both extractors agree on the first 2000 loci (sequence one-hot and all four tracks)."""
    from tangermeme.io import extract_loci as tm_extract

    from bpnet.data.loci import extract_loci
    from bpnet.data.onehot import codes_to_one_hot
    from bpnet.data.sources.bed import read_bed

    peaks = read_bed(work / "peaks.narrowPeak").subset(slice(0, 2000))
    peaks.write_bed(work / "first.narrowPeak", narrowpeak=True)
    ours = extract_loci(work / "genome.fa", work / "first.narrowPeak", None, [work / "signal"], [work / "control"],
                        input_length=LIN, output_length=LOUT, max_jitter=JITTER)
    X, y = tm_extract(str(work / "first.narrowPeak"), str(work / "genome.fa"), signals=track_files(work),
                      in_window=LIN, out_window=LOUT, max_jitter=JITTER, summits=True, n_jobs=1)
    same_x = np.array_equal(codes_to_one_hot(ours.codes, np.int8), X.numpy())
    same_y = np.array_equal(np.concatenate([ours.signals, ours.controls], 1), y.numpy())
    return {"loci": len(ours), "same_sequences": bool(same_x), "same_signals": bool(same_y)}


def worker_batches(work: Path, args) -> dict:
    import torch

    from bpnet.data.loci import LociSet
    from bpnet.train.samplers import make_batches, make_dataloader

    torch.set_num_threads(args.threads)
    loci = LociSet.load(work / "loci-peaks.h5")
    result = {"batch_size": 64, "threads": args.threads}
    fast = make_batches(loci, None, batch_size=64, device=args.device, negative_ratio=0.0, seed=0)
    result["fast_path_device"] = str(fast.device)
    for name, batches in (("fast_path", fast), ("dataset_dataloader", make_dataloader(loci, None, 64, negative_ratio=0.0))):
        n, t0 = 0, time.perf_counter()
        for i, batch in enumerate(batches):
            n += len(batch[0])
            if i + 1 == args.n_batches:
                break
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        result[name] = {"examples": n, "seconds": seconds, "examples_per_s": n / seconds}
    return result


# ---------------------------------------------------------------------- one epoch: in memory vs streamed

EPOCH_LIN = 1346  # the quickstart's ChIP loci (the 32 x 6 model's receptive field)


def make_epoch_loci(work: Path, n_loci: int) -> Path:
    """Quickstart-size loci.h5: 4 chromosomes of 1.5 Mb, the first half of the loci peaks, the rest negatives."""
    import h5py

    from bpnet.data.loci import extract_loci
    from bpnet.data.sources.bed import read_bed
    from bpnet.data.splits import Fold

    path = work / "loci.h5"
    if path.exists():
        return path
    make_data(work, n_loci, 4, 1_500_000, seed=1)
    loci = read_bed(work / "peaks.narrowPeak").sorted()
    loci.subset(slice(0, None, 2)).write_bed(work / "p.narrowPeak", narrowpeak=True)
    loci.subset(slice(1, None, 2)).write_bed(work / "n.bed")
    fold = Fold(train=["chr3", "chr4"], valid=["chr2"], test=["chr1"])
    extract_loci(work / "genome.fa", work / "p.narrowPeak", work / "n.bed", [work / "signal"], [work / "control"],
                 input_length=EPOCH_LIN, output_length=LOUT, max_jitter=JITTER, fold=fold, fold_name="fold_0").save(path)
    with h5py.File(path) as new, h5py.File(work / "loci-v2.h5", "w") as old:  # float32 counts, as version 2 stored them
        old.attrs.update(dict(new.attrs))
        old.attrs["version"] = 2
        for name, dataset in new.items():
            old[name] = dataset[()].astype(np.float32) if name in ("signals", "controls") else dataset[()]
    return path


def worker_epoch(work: Path, args) -> dict:
    import hashlib
    import tempfile

    import torch

    from bpnet.core.architectures.bpnet import BPNet
    from bpnet.core.training import Trainer, TrainerSettings
    from bpnet.data.loci import LociSet
    from bpnet.train.samplers import make_batches

    torch.set_num_threads(args.threads)
    path = work / ("loci-v2.h5" if args.mode == "baseline" else "loci.h5")
    base = rss_mb()
    t0 = time.perf_counter()
    loci = LociSet.open(path, memory_bytes=int(args.budget_mb * 2**20)) if args.mode == "streamed" else LociSet.load(path)
    open_s = time.perf_counter() - t0
    train = make_batches(loci, "train", 16, "cpu", train=True, negative_ratio=0.333, seed=0)
    valid = make_batches(loci, "valid", 16, "cpu", train=False)
    torch.manual_seed(0)
    model = BPNet(n_filters=32, n_layers=6, n_outputs=2, n_control_tracks=2, output_length=LOUT)
    with tempfile.TemporaryDirectory() as folder:
        result = Trainer(model, TrainerSettings(max_epochs=1, count_loss_weight=10.0), device="cpu", workdir=folder).fit(train, valid)
    digest = hashlib.sha256(b"".join(v.numpy().tobytes() for v in model.state_dict().values())).hexdigest()[:16]
    return {"mode": args.mode, "examples_per_s": result.train_examples_per_s, "open_s": open_s,
            "peak_rss_mb": peak_rss_mb(), "baseline_rss_mb": base, "loci_mb": loci.nbytes / 2**20,
            "sampler_peak_mb": getattr(train, "peak_bytes", 0) / 2**20, "examples": len(train.sampler), "weights": digest}


def epoch_main(args) -> None:
    """Alternate in-memory and streamed epochs; medians with min-max."""
    work = args.workdir / f"epoch-{args.epoch_loci}"
    make_epoch_loci(work, args.epoch_loci)
    modes = ["memory", "streamed"] + (["baseline"] if args.baseline_src else [])
    runs = []
    for rep in range(args.reps):
        for mode in modes[rep % len(modes):] + modes[: rep % len(modes)]:  # rotate the order
            args.mode = mode
            runs.append(run_worker("epoch", args, workdir=work))
            print(json.dumps(runs[-1]), flush=True)
    rows = {}
    for mode in modes:
        mine = [r for r in runs if r["mode"] == mode]
        rows[mode] = {key: (float(np.median([r[key] for r in mine])), min(r[key] for r in mine), max(r[key] for r in mine))
                      for key in ("examples_per_s", "peak_rss_mb", "sampler_peak_mb", "open_s")}
        rows[mode]["weights"] = sorted({r["weights"] for r in mine})
    ratio = rows["streamed"]["examples_per_s"][0] / rows["memory"]["examples_per_s"][0]
    if args.baseline_src:
        results_baseline = rows["baseline"]["examples_per_s"][0]
        print(f"in memory / baseline: {rows['memory']['examples_per_s'][0] / results_baseline:.3f}")
    results = {"runs": runs, "summary": rows, "streamed_over_memory": ratio, "setup": {
        "baseline_src": str(args.baseline_src) if args.baseline_src else None,
        "n_loci": args.epoch_loci, "loci_mb": runs[0]["loci_mb"], "budget_mb": args.budget_mb, "reps": args.reps,
        "threads": args.threads, "model": "BPNet 32 x 6, batch 16, negative_ratio 0.333", "python": platform.python_version(),
        "cpus": os.cpu_count(), "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }}
    out = args.out if args.out != HERE / "results" / "loci.json" else HERE / "results" / "loci-epoch.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{runs[0]['loci_mb']:.1f} MB of windows, {runs[0]['examples']} examples per epoch; streamed budget {args.budget_mb} MB; "
          f"{args.reps} runs each, median (min-max)")
    print(f"{'path':10s} {'examples/s':>24s} {'peak RSS MB':>22s} {'sampler peak MB':>16s}  weights")
    fmt = lambda t, f: f"{t[0]:{f}} ({t[1]:{f}}-{t[2]:{f}})"  # noqa: E731
    for mode, r in rows.items():
        print(f"{mode:10s} {fmt(r['examples_per_s'], '.1f'):>24s} {fmt(r['peak_rss_mb'], '.0f'):>22s} "
              f"{r['sampler_peak_mb'][0]:16.2f}  {', '.join(r['weights'])}")
    print(f"streamed / in memory: {ratio:.3f}\nwrote {out}")


WORKERS = {"bpnet": worker_bpnet, "tangermeme": worker_tangermeme, "check": worker_check, "batches": worker_batches,
           "epoch": worker_epoch}


def run_worker(name: str, args, workdir: Path | None = None) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--workdir", str(workdir or args.workdir), "--n-jobs", str(args.n_jobs),
           "--threads", str(args.threads), "--device", args.device, "--n-batches", str(args.n_batches),
           "--peaks", args.peaks, "--mode", args.mode, "--budget-mb", str(args.budget_mb)]
    env = {**os.environ, "BPNET_NO_PROGRESS": "1", "OMP_NUM_THREADS": str(args.threads)}
    if args.mode == "baseline" and name == "epoch":  # the other checkout's bpnet packages first on the path
        sources = sorted(str(p) for p in (args.baseline_src / "packages").glob("*/src"))
        env["PYTHONPATH"] = os.pathsep.join([*sources, env.get("PYTHONPATH", "")])
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"worker {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-loci", type=int, default=30_000)
    parser.add_argument("--n-chroms", type=int, default=5)
    parser.add_argument("--chrom-size", type=int, default=40_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bpnet-bench-loci"))
    parser.add_argument("--n-jobs", type=int, default=1, help="tangermeme threads")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the batch benchmark")
    parser.add_argument("--device", default="cpu", help="device of the fast batch path")
    parser.add_argument("--n-batches", type=int, default=200)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--worker", choices=sorted(WORKERS))
    parser.add_argument("--peaks", default="peaks.narrowPeak", help="(workers) peak file in --workdir")
    parser.add_argument("--sparse-every", type=int, default=10,
                        help="also time every N-th locus (sparse loci, ~N x 6.7 kb apart; 0: skip)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "loci.json")
    parser.add_argument("--epoch", action="store_true", help="time a training epoch in memory vs streamed, nothing else")
    parser.add_argument("--epoch-loci", type=int, default=2400, help="(--epoch) loci, half of them peaks")
    parser.add_argument("--budget-mb", type=float, default=8.0, help="(--epoch) memory budget of the streamed path")
    parser.add_argument("--baseline-src", type=Path, help="(--epoch) another checkout whose in-memory epoch is timed too")
    parser.add_argument("--mode", default="memory", choices=("memory", "streamed", "baseline"), help="(workers) epoch worker's path")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.workdir, args)))
        return
    if args.epoch:
        epoch_main(args)
        return

    t0 = time.perf_counter()
    make_data(args.workdir, args.n_loci, args.n_chroms, args.chrom_size)
    print(f"data ready in {time.perf_counter() - t0:.1f} s ({args.workdir})", flush=True)
    results = {"check": run_worker("check", args), "extract": [], "batches": None}
    peak_files = ["peaks.narrowPeak"]
    if args.sparse_every:
        from bpnet.data.sources.bed import read_bed

        sparse = f"sparse{args.sparse_every}.narrowPeak"
        read_bed(args.workdir / "peaks.narrowPeak").sorted().subset(slice(0, None, args.sparse_every)).write_bed(
            args.workdir / sparse, narrowpeak=True)
        peak_files.append(sparse)
    for _ in range(args.reps):
        for peaks in peak_files:
            for name in ("bpnet", "tangermeme"):
                args.peaks = peaks
                results["extract"].append(run_worker(name, args))
                print(json.dumps(results["extract"][-1]), flush=True)
    args.peaks = "peaks.narrowPeak"
    results["batches"] = run_worker("batches", args)  # (one run: the batch loop itself repeats 200 times)
    results["setup"] = {
        "n_loci": args.n_loci, "genome_bp": args.n_chroms * args.chrom_size, "input_length": LIN, "output_length": LOUT,
        "max_jitter": JITTER, "tracks": "stranded signal pair + stranded control pair (4 bigWigs)",
        "python": platform.python_version(), "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")

    print(f"\ncheck on {results['check']['loci']} loci: same sequences {results['check']['same_sequences']}, "
          f"same signals {results['check']['same_signals']}")
    print(f"\n{'tool':45s} {'peaks':>22s} {'loci':>7s} {'s':>7s} {'loci/s':>9s} {'peak RSS MB':>12s} {'+MB':>8s} {'result MB':>10s}")
    for r in results["extract"]:
        print(f"{r['tool']:45s} {r['peaks']:>22s} {r['loci']:7d} {r['seconds']:7.2f} {r['loci_per_s']:9.0f} {r['peak_rss_mb']:12.0f} "
              f"{r['peak_increase_mb']:8.0f} {r['result_mb']:10.0f}")
    best = {}
    for r in results["extract"]:
        key = f"{r['tool']} on {r['peaks']}"
        if key not in best or r["seconds"] < best[key]["seconds"]:
            best[key] = r
    results["best"] = best
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nbest of {args.reps}:")
    for key, r in best.items():
        print(f"  {key:70s} {r['loci']:6d} loci {r['loci_per_s']:7.0f} loci/s  peak +{r['peak_increase_mb']:.0f} MB")
    ours = results["extract"][0]
    print(f"\nloci.h5: {ours['h5_mb']:.0f} MB, save {ours['h5_save_s']:.2f} s, load {ours['h5_load_s']:.2f} s")
    b = results["batches"]
    for name in ("fast_path", "dataset_dataloader"):
        print(
            f"{name:20s} batch {b['batch_size']}: {b[name]['examples_per_s']:9.0f} examples/s "
            f"({b[name]['examples']} examples, {b['threads']} thread(s), device {b['fast_path_device'] if name == 'fast_path' else 'cpu'})"
        )
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
