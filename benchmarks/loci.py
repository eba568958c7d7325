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


WORKERS = {"bpnet": worker_bpnet, "tangermeme": worker_tangermeme, "check": worker_check, "batches": worker_batches}


def run_worker(name: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--workdir", str(args.workdir), "--n-jobs", str(args.n_jobs),
           "--threads", str(args.threads), "--device", args.device, "--n-batches", str(args.n_batches),
           "--peaks", args.peaks]
    env = {**os.environ, "BPNET_NO_PROGRESS": "1", "OMP_NUM_THREADS": str(args.threads)}
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
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.workdir, args)))
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
