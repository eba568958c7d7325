"""GPU throughput: training examples/s (bf16), the share of time the GPU waits for data, attribution loci/s.

For the 64 x 8 BPNet (stranded ChIP with a control) and the 512 x 8 accessibility
model of ChromBPNet (unstranded ATAC, no control), on simulated data prepared by one
``bpnet run`` spec (simulation, bigWigs, negatives, splits, loci at 2114/1000 bp):

* training: :class:`bpnet.core.training.trainer.Trainer` with ``precision`` bf16 (the
  train stages' switch) over the training split, ``--epochs`` epochs; the last epoch's
  examples/s and ``data_wait_share`` (seconds spent getting batches over the epoch's
  training seconds; each step ends with ``.item()``, so that is time the GPU idled);
* attribution: :func:`bpnet.interpret.attribution.attribute` of both heads on
  ``--attribution-loci`` peaks, 20 shuffles, default precision (profile float64,
  counts float32) and all-float32, loci/s.

One script, a few minutes on one H100 (``--device cpu --small`` checks it on a CPU)::

    .venv/bin/python benchmarks/gpu.py [--device cuda] [--workdir /tmp/bpnet-bench-gpu]

Writes ``$OUT/gpu.json`` when ``$OUT`` is set (the device machine), else
``benchmarks/results/gpu.json``, and prints a table.
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

import yaml

HERE = Path(__file__).resolve().parent
BPNET = str(Path(sys.executable).parent / "bpnet")


def prepare(workdir: Path, small: bool) -> dict[str, Path]:
    """Simulated ChIP and ATAC experiments -> loci.h5 each (skipped when up to date)."""
    size, peaks = (1_200_000, 150) if small else (24_000_000, 6000)
    lengths = {"input_length": 400, "output_length": 200} if small else {}
    stages: dict = {}
    for kind in ("chip", "atac"):
        sim = f"@{kind}-sim.out"
        stages[f"{kind}-sim"] = {"stage": "simulate", "params": {"kind": kind, "seed": 1, "genome_size": size, "n_peaks": peaks,
                                                                  "options": {"deplete_above": None}}}
        reads = {"reads": [f"{sim}/reads.bam"], "genome": f"{sim}/genome.fa"}
        stages[f"{kind}-signal"] = {"stage": "reads-to-bigwig",
                                    "params": {**reads, **({"stranded": True} if kind == "chip" else {"preset": "atac"})}}
        stages[f"{kind}-negatives"] = {"stage": "negatives", "params": {"genome": f"{sim}/genome.fa", "peaks": f"{sim}/peaks.narrowPeak",
                                                                         "ratio": 1.0}}
        folds = {"valid": ["chr2"], "test": ["chr1"]}
        stages[f"{kind}-folds"] = {"stage": "splits", "params": {"genome": f"{sim}/genome.fa", "folds": folds}}
        loci = {"genome": f"{sim}/genome.fa", "peaks": f"{sim}/peaks.narrowPeak", "negatives": f"@{kind}-negatives.negatives",
                "signals": [f"@{kind}-signal.tracks"], "splits": f"@{kind}-folds.splits", **lengths,
                "max_jitter": 128 if kind == "chip" else 500}
        if kind == "chip":
            stages["chip-control"] = {"stage": "reads-to-bigwig", "params": {"reads": [f"{sim}/control.bam"], "genome": f"{sim}/genome.fa",
                                                                             "stranded": True}}
            loci["controls"] = ["@chip-control.tracks"]
        stages[f"{kind}-loci"] = {"stage": "loci", "params": loci}
    workdir.mkdir(parents=True, exist_ok=True)
    spec = workdir / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", "stages": stages}, sort_keys=False))
    subprocess.run([BPNET, "run", str(spec)], check=True, env={**os.environ, "BPNET_NO_PROGRESS": "1"})
    return {kind: workdir / "out" / f"{kind}-loci" / "loci.h5" for kind in ("chip", "atac")}


def train_throughput(loci_path: Path, filters: int, layers: int, device: str, epochs: int, workdir: Path) -> dict:
    import torch

    from bpnet.core.training.trainer import Trainer, TrainerSettings
    from bpnet.data.loci import LociSet
    from bpnet.train.samplers import make_batches
    from bpnet.train.session import build_for_loci, fill_hyperparameters

    loci = LociSet.load(loci_path)
    hyper = fill_hyperparameters("bpnet", {"n_filters": filters, "n_layers": layers}, loci)
    torch.manual_seed(0)
    model = build_for_loci("bpnet", hyper, loci, loci_path, f"{filters}x{layers}")
    train = make_batches(loci, "train", 64, device, train=True, negative_ratio=0.1)
    valid = make_batches(loci, "valid", 64, device, train=False)
    precision = "bf16" if device.startswith("cuda") else "float32"
    settings = TrainerSettings(max_epochs=epochs, patience=None, precision=precision)
    trainer = Trainer(model, settings, device=device, workdir=workdir / f"train-{filters}x{layers}-{time.time_ns()}")
    last = trainer.fit(train, valid).history[-1]
    return {"precision": precision, "examples_per_s": last["train_examples_per_s"], "data_wait_share": last["data_wait_share"],
            "epoch_examples": last["train_examples"], "epoch_seconds": last["train_seconds"]}


def attribution_throughput(loci_path: Path, filters: int, layers: int, device: str, n_loci: int) -> dict:
    import torch

    from bpnet.core.outputs import select_submodel
    from bpnet.data.loci import LociSet
    from bpnet.data.onehot import codes_to_one_hot
    from bpnet.interpret.attribution import attribute
    from bpnet.train.session import build_for_loci, fill_hyperparameters

    loci = LociSet.load(loci_path)
    hyper = fill_hyperparameters("bpnet", {"n_filters": filters, "n_layers": layers}, loci)
    torch.manual_seed(0)
    model = select_submodel(build_for_loci("bpnet", hyper, loci, loci_path, "attr"), "model", "attr").to(device).eval()
    index = loci.select(None, True)[:n_loci]
    X = codes_to_one_hot(loci.centred_codes(index))
    rows = {}
    for precision in ("auto", "float32"):
        for head in ("counts", "profile"):
            result = attribute([model], ["model"], X, head, n_shuffles=20, device=device, precision=precision, progress=False)
            rows[f"{head} ({precision})"] = {"loci_per_s": result.sequences_per_s, "seconds": result.seconds, "n": len(X)}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--small", action="store_true", help="tiny data and models: check the script on a CPU")
    parser.add_argument("--epochs", type=int, default=2, help="training epochs; the last one is reported")
    parser.add_argument("--attribution-loci", type=int, default=512)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bpnet-bench-gpu"))
    args = parser.parse_args()
    import torch

    loci = prepare(args.workdir, args.small)
    configs = [("BPNet 64x8 (ChIP, control)", "chip", 64, 8), ("accessibility 512x8 (ATAC)", "atac", 512, 8)]
    if args.small:
        configs = [("BPNet 8x2 (small)", "chip", 8, 2), ("accessibility 16x2 (small)", "atac", 16, 2)]
    rows = []
    for name, kind, filters, layers in configs:
        row = {"model": name, "train": train_throughput(loci[kind], filters, layers, args.device, args.epochs, args.workdir),
               "attribution": attribution_throughput(loci[kind], filters, layers, args.device, args.attribution_loci)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    device_name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor() or "cpu"
    results = {"device": device_name, "torch": torch.__version__, "settings": {k: str(v) for k, v in vars(args).items()}, "rows": rows}
    out = Path(os.environ["OUT"]) / "gpu.json" if os.environ.get("OUT") else HERE / "results" / "gpu.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"| model ({device_name}) | train ex/s (bf16) | GPU waits for data | attribution loci/s |")
    print("|---|---|---|---|")
    for r in rows:
        attribution = ", ".join(f"{k} {v['loci_per_s']:.1f}" for k, v in r["attribution"].items())
        print(f"| {r['model']} | {r['train']['examples_per_s']:.0f} | {100 * r['train']['data_wait_share']:.1f}% | {attribution} |")


if __name__ == "__main__":
    main()
