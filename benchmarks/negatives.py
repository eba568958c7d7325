"""Benchmark: GC-matched negatives for 50k peaks on a 100 Mb genome, bpnet vs tangermeme.

Times :func:`bpnet.data.negatives.gc_matched_negatives` end to end (reading and
indexing the FASTA included: the ``.fai`` is deleted before each run) and, side by
side, tangermeme's ``extract_matching_loci`` (what bpnet-lite's ``bpnet negatives``
calls, §6.3 of the bpnet-lite research notes) on the same files, in a subprocess
stopped after ``--tangermeme-timeout`` seconds. Both are asked for one negative per
peak with a 2114 bp window. Three scenarios: the issue's (50k peaks on 100 Mb: one peak
per 2 kb, so dense that no tool finds a full set of peak-free windows); one with a
tenth of the peaks, nearer real genomes, where matching quality shows; and
GC-structured genomes (``--domain-peaks``, 7k and 10k peaks by default: the
simulator's ``gc_domains`` mode, 90% of the peaks in GC-rich domains covering 30% of
the genome, one peak per 4.8 and 3.3 kb there), as real genomes are, where GC-rich
peak-free windows are scarce and mostly overlap each other. bpnet runs with its
defaults (``allow_overlap="auto"``), with ``allow_overlap=False`` (negatives never
overlap: the rule before ``auto``), with ``padding=0`` and with bpnet-lite's tiling. The KS statistic of every row
compares the GC content of the negatives' windows with that of the peaks'
summit-centred windows (the peaks have their summit at their midpoint, so tangermeme's
midpoint windows are the same).

The genome comes from ``bpnet.data.simulate.simulate(..., reads=False,
deplete_above=None)`` (GC isochores, peaks drawn preferentially in GC-rich isochores;
no motif depletion, which only swaps bases 30-200 bp apart, leaves GC as it is and
takes most of the simulation's time). Results go to
``benchmarks/results/negatives.json`` and a table is printed.

Run from the repository root::

    .venv/bin/python benchmarks/negatives.py                 # full run
    .venv/bin/python benchmarks/negatives.py --skip-tangermeme
    .venv/bin/python benchmarks/negatives.py --genome-size 10_000_000 --peaks 5000 --domain-peaks 700   # quick look
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

import numpy as np

ROOT = Path(__file__).resolve().parent
WIDTH = 2114
#: the simulator's GC-structured mode (its defaults, written out)
GC_DOMAINS = {"size": 300_000, "rich_fraction": 0.3, "peak_share": 0.9}


def make_inputs(folder: Path, genome_size: int, n_peaks: int, seed: int, gc_domains: dict | None) -> tuple[Path, Path, str]:
    """(FASTA, peaks, which generator) in ``folder``, reused if already there."""
    fasta, peaks = folder / "genome.fa", folder / "peaks.narrowPeak"
    stamp = folder / "inputs.json"
    wanted = {"genome_size": genome_size, "n_peaks": n_peaks, "seed": seed, "deplete_above": None, "gc_domains": gc_domains}
    if stamp.exists() and json.loads(stamp.read_text()).get("wanted") == wanted and fasta.exists() and peaks.exists():
        return fasta, peaks, json.loads(stamp.read_text())["generator"]
    folder.mkdir(parents=True, exist_ok=True)
    from bpnet.data.simulate import simulate

    simulate(folder, kind="chip", seed=seed, genome_size=genome_size, n_peaks=n_peaks, reads=False, overwrite=True,
             deplete_above=None, gc_domains=gc_domains)
    generator = "bpnet.data.simulate"
    stamp.write_text(json.dumps({"wanted": wanted, "generator": generator}))
    return fasta, peaks, generator


def run_bpnet(fasta: Path, peaks: Path, **kwargs) -> dict:
    from bpnet.data.negatives import gc_matched_negatives

    Path(str(fasta) + ".fai").unlink(missing_ok=True)
    started = time.perf_counter()
    negatives, report = gc_matched_negatives(fasta, peaks, width=WIDTH, ratio=1.0, seed=0, **kwargs)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "negatives": negatives, "report": report}


def run_tangermeme(fasta: Path, peaks: Path, out: Path, timeout: float) -> dict:
    """extract_matching_loci in a subprocess (1 job), stopped after ``timeout`` s."""
    Path(str(fasta) + ".fai").unlink(missing_ok=True)
    code = (
        "import sys, time\n"
        "from tangermeme.match import extract_matching_loci\n"
        "t = time.perf_counter()\n"
        f"df = extract_matching_loci({str(peaks)!r}, {str(fasta)!r}, in_window={WIDTH}, random_state=0)\n"
        "print(time.perf_counter() - t)\n"
        f"df.to_csv({str(out)!r}, sep='\\t', header=False, index=False)\n"
    )
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "stopped_after": timeout}
    if done.returncode != 0:
        return {"seconds": None, "error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return {"seconds": float(done.stdout.strip().splitlines()[-1]), "wall_seconds": time.perf_counter() - started, "bed": out}


def evaluate(fasta: Path, peaks: Path, negatives) -> dict:
    """KS statistic and overlap counts of a negative set against the peaks' summit windows."""
    from scipy.stats import ks_2samp

    from bpnet.data.gc import window_fractions
    from bpnet.data.sources.bed import read_bed
    from bpnet.data.sources.fasta import FastaSource

    source = FastaSource(fasta)
    peak_iv = read_bed(peaks)
    windows = peak_iv.windows(WIDTH)
    peak_gc, neg_gc = [], []
    for chrom in source.sizes:
        codes = source.codes(chrom)
        for iv, out in ((windows, peak_gc), (negatives, neg_gc)):
            mine = iv.chrom == chrom
            starts = iv.start[mine]
            starts = starts[(starts >= 0) & (starts + WIDTH <= len(codes))]
            gc, n = window_fractions(codes, starts, WIDTH)
            out.append(gc[n <= 0.1] if iv is windows else gc)
    peak_gc, neg_gc = np.concatenate(peak_gc), np.concatenate(neg_gc)
    s = negatives.sorted()
    return {
        "n_negatives": len(negatives),
        "ks_statistic": float(ks_2samp(peak_gc, neg_gc, method="asymp").statistic) if len(neg_gc) else None,
        "peak_gc_mean": float(peak_gc.mean()),
        "negative_gc_mean": float(neg_gc.mean()) if len(neg_gc) else None,
        "overlapping_a_peak": int(negatives.overlaps(peak_iv).sum()),
        "overlapping_each_other": int(((s.chrom[1:] == s.chrom[:-1]) & (s.start[1:] < s.end[:-1])).sum()),
    }


def run_scenario(
    folder: Path, genome_size: int, n_peaks: int, seed: int, tangermeme_timeout: float | None, gc_domains: dict | None = None
) -> dict:
    from bpnet.data.intervals import Intervals

    t = time.perf_counter()
    fasta, peaks, generator = make_inputs(folder, genome_size, n_peaks, seed, gc_domains)
    n_lines = sum(1 for _ in open(peaks))
    domains = f", GC domains {gc_domains}" if gc_domains is not None else ""
    print(f"\ninputs: {generator}, {genome_size / 1e6:.0f} Mb, {n_lines} peaks{domains} ({time.perf_counter() - t:.1f} s)")
    rows = []
    configs = {
        "bpnet (stride 500, padding 1057, overlap auto: defaults)": {},
        "bpnet (defaults, allow_overlap false)": {"allow_overlap": False},
        "bpnet (defaults, padding 0)": {"padding": 0},
        "bpnet (stride 2114, padding 0)": {"stride": WIDTH, "padding": 0},
    }
    for label, kwargs in configs.items():
        result = run_bpnet(fasta, peaks, **kwargs)
        report = result["report"]
        rows.append({"tool": label, "seconds": round(result["seconds"], 2), **kwargs, **evaluate(fasta, peaks, result["negatives"]),
                     "n_candidates": report.n_candidates, "n_requested": report.n_requested, "n_borrowed": report.n_borrowed,
                     "n_overlapping": report.n_overlapping, "shortfall_reason": report.shortfall_reason})
    if tangermeme_timeout is not None:
        import tangermeme

        result = run_tangermeme(fasta, peaks, folder / "tangermeme_negatives.bed", tangermeme_timeout)
        row = {"tool": f"tangermeme {tangermeme.__version__} extract_matching_loci", **{k: v for k, v in result.items() if k != "bed"}}
        if result.get("bed"):
            cols = np.loadtxt(result["bed"], dtype=object, ndmin=2)
            negs = Intervals(cols[:, 0], cols[:, 1].astype(np.int64), cols[:, 2].astype(np.int64)) if len(cols) else Intervals.empty()
            row.update(evaluate(fasta, peaks, negs))
            row["seconds"] = round(row["seconds"], 2)
        rows.append(row)

    print(f"{'tool':56} {'seconds':>8} {'KS':>7} {'asked':>7} {'negatives':>10} {'on a peak':>10} {'overlapping':>12}")
    for r in rows:
        secs = (
            f"{r['seconds']:.1f}"
            if r.get("seconds") is not None
            else (f"stopped {r['stopped_after']:.0f}" if "stopped_after" in r else "error")
        )
        ks = f"{r['ks_statistic']:.4f}" if r.get("ks_statistic") is not None else "-"
        print(f"{r['tool']:56} {secs:>8} {ks:>7} {r.get('n_requested', '-'):>7} {r.get('n_negatives', '-'):>10} "
              f"{r.get('overlapping_a_peak', '-'):>10} {r.get('overlapping_each_other', '-'):>12}")
    inputs = {"generator": generator, "genome_size": genome_size, "n_peaks": n_lines, "seed": seed, "deplete_above": None}
    if gc_domains is not None:
        inputs["gc_domains"] = gc_domains
    return {"inputs": inputs, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bpnet-bench-negatives"))
    parser.add_argument("--genome-size", type=lambda s: int(s.replace("_", "")), default=100_000_000)
    parser.add_argument("--peaks", type=int, default=50_000, help="peaks of the main scenario; a second one has a tenth of them")
    parser.add_argument(
        "--domain-peaks", type=lambda s: [int(n) for n in s.split(",") if n], default=[7000, 10_000],
        help="peaks of the GC-structured scenarios, comma-separated ('' skips them)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-tangermeme", action="store_true")
    parser.add_argument("--tangermeme-timeout", type=float, default=600)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "negatives.json")
    args = parser.parse_args()
    os.environ.setdefault("BPNET_NO_PROGRESS", "1")
    import scipy.stats  # noqa: F401  (imported before timing, as tangermeme's subprocess does)

    timeout = None if args.skip_tangermeme else args.tangermeme_timeout
    scenarios = [
        run_scenario(args.workdir / f"peaks{n}", args.genome_size, n, args.seed, timeout)
        for n in (args.peaks, args.peaks // 10)
    ]
    scenarios += [
        run_scenario(args.workdir / f"domains{n}", args.genome_size, n, args.seed, timeout, GC_DOMAINS) for n in args.domain_peaks
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": "GC-matched negatives, one per peak, 2114 bp windows; FASTA indexing and reading included",
        "command": ".venv/bin/python benchmarks/negatives.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform()},
        "scenarios": scenarios,
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nwritten {args.out}")


if __name__ == "__main__":
    main()
