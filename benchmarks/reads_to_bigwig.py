"""Benchmark: reads to bigWig, bpnet's engine vs the bam2bw script, side by side.

Builds a coordinate-sorted, indexed BAM of ``--reads`` single-end reads (random
sequences and qualities so that it compresses like real data; reads piled into peaks
over a uniform background; some CIGARs with soft clips, deletions and insertions; a
few reads on chrM, which the genome lacks) and times two modes on it:

* stranded 5' ends (ChIP): ``bam2bw -s genome.sizes -n NAME reads.bam``
* unstranded, both ends, shifts +4/-4 (ATAC-like): ``bam2bw ... -u -f -ps 4 -ns -4``

Each contender runs as its own process (interpreter start, imports, counting and
writing the bigWigs all included): the bam2bw CLI installed next to this Python, and
bpnet's engine (:func:`bpnet.data.readcount.reads_to_track_set`, what the
``reads-to-bigwig`` stage runs, with :class:`~bpnet.data.sources.reads.BamSource`).
The bigWigs of both are compared base by base; a difference fails the run. The table
gives wall seconds, reads per second and CPU seconds (all processes; on a busy machine
the CPU time is the steadier comparison); results go to ``benchmarks/results/reads_to_bigwig.json``.

Run from the repository root::

    .venv/bin/python benchmarks/reads_to_bigwig.py --reads 2000000
    .venv/bin/python benchmarks/reads_to_bigwig.py --reads 200000 --repeat 1      # quick look
    .venv/bin/python benchmarks/reads_to_bigwig.py --processes 1                  # bpnet on one core

The BAM is kept in ``--workdir`` and reused by later runs with the same settings.
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

ROOT = Path(__file__).resolve().parent
GENOME = {"chr1": 24_000_000, "chr2": 18_000_000, "chr3": 12_000_000, "chr4": 8_000_000, "chrX": 6_000_000}
BAM2BW = Path(sys.executable).parent / "bam2bw"
MODES = {
    "stranded 5' ends (ChIP)": {"flags": [], "options": {}},
    "unstranded both ends, +4/-4 (ATAC-like)": {
        "flags": ["-u", "-f", "-ps", "4", "-ns", "-4"],
        "options": {"stranded": False, "ends": "both", "shift_plus": 4, "shift_minus": -4},
    },
}


def make_bam(folder: Path, n_reads: int, length: int, seed: int) -> tuple[Path, Path]:
    """(BAM, chromosome sizes) in ``folder``, reused when already built with these settings."""
    import pysam

    bam, sizes = folder / "reads.bam", folder / "genome.sizes"
    stamp = folder / "inputs.json"
    wanted = {"reads": n_reads, "length": length, "seed": seed, "genome": GENOME}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted and bam.exists() and Path(f"{bam}.bai").exists():
        return bam, sizes
    folder.mkdir(parents=True, exist_ok=True)
    sizes.write_text("".join(f"{c}\t{n}\n" for c, n in GENOME.items()))
    sam = folder / "reads.sam"
    rng = np.random.default_rng(seed)
    chroms = list(GENOME) + ["chrM"]
    lengths = np.array(list(GENOME.values()) + [16_569])
    weights = lengths / lengths.sum()
    weights[-1] = 0.002
    weights /= weights.sum()
    with open(sam, "w") as out:
        out.write("@HD\tVN:1.6\tSO:unsorted\n")
        out.writelines(f"@SQ\tSN:{c}\tLN:{n}\n" for c, n in zip(chroms, lengths))
        for first in range(0, n_reads, 500_000):
            out.writelines(_sam_lines(rng, first, min(500_000, n_reads - first), chroms, lengths, weights, length))
    pysam.sort("-@", str(os.cpu_count() or 1), "-m", "512M", "-o", str(bam), str(sam))
    pysam.index(str(bam))
    sam.unlink()
    stamp.write_text(json.dumps(wanted))
    return bam, sizes


def _sam_lines(rng, first: int, n: int, chroms: list[str], lengths: np.ndarray, weights: np.ndarray, length: int):
    chrom = rng.choice(len(chroms), size=n, p=weights)
    peaks = {c: rng.integers(1000, lengths[c] - 1000, size=max(1, lengths[c] // 20_000)) for c in range(len(chroms))}
    in_peak = rng.random(n) < 0.3
    start = np.empty(n, dtype=np.int64)
    for c in range(len(chroms)):
        rows = np.flatnonzero(chrom == c)
        background = rng.integers(0, lengths[c] - length - 10, size=len(rows))
        centres = peaks[c][rng.integers(0, len(peaks[c]), size=len(rows))]
        near = np.clip(centres + rng.normal(0, 80, size=len(rows)).astype(np.int64), 0, lengths[c] - length - 10)
        start[rows] = np.where(in_peak[rows], near, background)
    reverse = rng.random(n) < 0.5
    duplicate = rng.random(n) < 0.05
    mapq = rng.choice([0, 1, 12, 30, 42, 60], size=n, p=[0.03, 0.02, 0.05, 0.2, 0.3, 0.4])
    shape = rng.choice(4, size=n, p=[0.85, 0.07, 0.05, 0.03])
    cigars = [f"{length}M", f"3S{length - 3}M", f"20M2D{length - 20}M", f"25M1I{length - 26}M"]
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, size=(n, length))]
    quals = (rng.integers(2, 41, size=(n, length)) + 33).astype(np.uint8)
    for i in range(n):
        flag = (16 if reverse[i] else 0) | (1024 if duplicate[i] else 0)
        yield (
            f"r{first + i}\t{flag}\t{chroms[chrom[i]]}\t{start[i] + 1}\t{mapq[i]}\t{cigars[shape[i]]}\t*\t0\t0\t"
            f"{bases[i].tobytes().decode()}\t{quals[i].tobytes().decode()}\n"
        )


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) of running ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_bam2bw(bam: Path, sizes: Path, prefix: Path, flags: list[str]) -> tuple[float, float, list[Path]]:
    wall, cpu = timed([str(BAM2BW), "-s", str(sizes), "-n", str(prefix), *flags, str(bam)])
    return wall, cpu, [Path(f"{prefix}.bw")] if "-u" in flags else [Path(f"{prefix}.+.bw"), Path(f"{prefix}.-.bw")]


def run_bpnet(bam: Path, sizes: Path, folder: Path, options: dict, processes: int) -> tuple[float, float, list[Path]]:
    job = {"bam": str(bam), "sizes": str(sizes), "out": str(folder), "options": options, "processes": processes}
    wall, cpu = timed([sys.executable, __file__, "--engine", json.dumps(job)])
    names = ["unstranded.bw"] if options.get("stranded") is False else ["plus.bw", "minus.bw"]
    return wall, cpu, [folder / n for n in names]


def engine(job: dict) -> None:
    """What the bpnet contender runs in its own process."""
    from bpnet.data.readcount import CountOptions, reads_to_track_set
    from bpnet.data.sources import genome_sizes
    from bpnet.data.sources.reads import BamSource

    sizes = genome_sizes(job["sizes"])
    options = CountOptions(**job["options"])
    reads_to_track_set([BamSource(job["bam"])], sizes, options, Path(job["out"]), processes=job["processes"])


def identical(ours: list[Path], theirs: list[Path]) -> bool:
    import pyBigWig

    for mine, reference in zip(ours, theirs, strict=True):
        a, b = pyBigWig.open(str(mine)), pyBigWig.open(str(reference))
        try:
            if a.chroms() != b.chroms():
                return False
            for chrom, size in a.chroms().items():
                x = np.nan_to_num(a.values(chrom, 0, size, numpy=True))
                y = np.nan_to_num(b.values(chrom, 0, size, numpy=True))
                if not np.array_equal(x, y):
                    return False
        finally:
            a.close()
            b.close()
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=lambda s: int(s.replace("_", "")), default=2_000_000)
    parser.add_argument("--length", type=int, default=50, help="read length (bp)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processes", type=int, default=0, help="bpnet worker processes (0: one per core)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per contender; the fastest counts")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bpnet-bench-reads-to-bigwig"))
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "reads_to_bigwig.json")
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        engine(json.loads(args.engine))
        return
    if not BAM2BW.exists():
        sys.exit(f"bam2bw is not installed next to {sys.executable}")

    started = time.perf_counter()
    bam, sizes = make_bam(args.workdir, args.reads, args.length, args.seed)
    print(f"BAM: {bam} ({bam.stat().st_size / 1e6:.0f} MB, {args.reads} reads; built or reused in {time.perf_counter() - started:.0f} s)")
    rows = []
    for mode, spec in MODES.items():
        timings: dict[str, list[tuple[float, float]]] = {"bam2bw": [], "bpnet": []}
        outputs = {}
        for _ in range(args.repeat):  # alternate the contenders, so that both see the same machine load
            *timing, outputs["bam2bw"] = run_bam2bw(bam, sizes, args.workdir / f"bam2bw-{len(rows)}", spec["flags"])
            timings["bam2bw"].append(tuple(timing))
            *timing, outputs["bpnet"] = run_bpnet(bam, sizes, args.workdir / f"bpnet-{len(rows)}", spec["options"], args.processes)
            timings["bpnet"].append(tuple(timing))
        same = identical(outputs["bpnet"], outputs["bam2bw"])
        for tool, runs in timings.items():
            best = min(wall for wall, _ in runs)
            rows.append({
                "mode": mode, "tool": tool, "seconds": round(best, 2), "reads_per_second": round(args.reads / best),
                "cpu_seconds": round(min(cpu for _, cpu in runs), 2), "runs_wall_cpu": [[round(w, 2), round(c, 2)] for w, c in runs],
                "identical_bigwigs": same,
            })
        if not same:
            print(f"bigWigs differ in mode {mode!r}", file=sys.stderr)
    for mode in MODES:
        pair = {r["tool"]: r for r in rows if r["mode"] == mode}
        pair["bpnet"]["speedup_vs_bam2bw"] = round(pair["bam2bw"]["seconds"] / pair["bpnet"]["seconds"], 2)
        pair["bpnet"]["cpu_ratio_vs_bam2bw"] = round(pair["bam2bw"]["cpu_seconds"] / pair["bpnet"]["cpu_seconds"], 2)
    print_table(rows, args.reads)
    result = {
        "benchmark": "reads to bigWig (count + write), each contender a fresh process; fastest of --repeat runs (wall and CPU seconds)",
        "load_average_at_end": os.getloadavg(),
        "command": ".venv/bin/python benchmarks/reads_to_bigwig.py " + " ".join(sys.argv[1:]),
        "inputs": {"reads": args.reads, "read_length": args.length, "seed": args.seed, "bam_bytes": bam.stat().st_size, "genome": GENOME},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform()},
        "bpnet_processes": args.processes,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    if not all(r["identical_bigwigs"] for r in rows):
        sys.exit(1)


def print_table(rows: list[dict], n_reads: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"reads to bigWig, {n_reads:,} reads")
    numeric = ("wall s", "reads/s", "speed-up", "CPU s")
    for column in ("mode", "tool", *numeric, "same bigWigs"):
        table.add_column(column, justify="right" if column in numeric else "left")
    for r in rows:
        table.add_row(
            r["mode"], r["tool"], f"{r['seconds']:.2f}", f"{r['reads_per_second']:,}", f"{r.get('speedup_vs_bam2bw', 1.0):.2f}x",
            f"{r['cpu_seconds']:.2f}", "yes" if r["identical_bigwigs"] else "NO",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
