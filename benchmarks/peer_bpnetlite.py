"""bpnet-lite side of ``benchmarks/training.py``: run with the PEER's python, not ours.

This file imports nothing from bpnet, so it runs in a separate environment holding
bpnet-lite 1.1.0 (create it outside the repository)::

    python3 -m venv /work/bench-envs/bpnet-lite
    /work/bench-envs/bpnet-lite/bin/pip install torch==2.13.0 bpnet-lite==1.1.0

``training.py`` starts it in two ways:

* ``serve``: a worker that reads one JSON command per line on stdin and answers one JSON
  line on stdout (``time``: warm-up, matmul calibration, timed train steps of a config;
  ``quit``). Everything libraries print goes to stderr.
* ``gradients BATCH.npz OUT.json``: one batch through bpnet-lite's model (holding our
  model's weights) and loss; how far its outputs, losses and gradients are from ours.
* ``fit JOB.json``: trains ``bpnetlite.BPNet`` with ``BPNet.fit`` on the files named in
  the job (PeakGenerator via tangermeme, Adam, ReduceLROnPlateau, early stopping), then
  predicts the test windows with the best checkpoint and writes them to an ``.npz``.

``convergence.py`` starts it in two more ways:

* ``fit-defaults JOB.json``: bpnet-lite's own ``bpnet fit`` command (the installed
  ``bpnet`` script, run as it is), with its ``default_fit_parameters`` for everything the
  job does not set (the job sets the data files, chromosomes, model size, seed and
  device); then the best checkpoint predicts the test windows, plain and
  reverse-complement averaged (:func:`predict_both`), into an ``.npz``.
* ``measures ARRAYS.npz OUT.json``: bpnet-lite's ``calculate_performance_measures``
  (``bpnetlite.performance``) on the predictions of every run in the file.

The timing helpers (:func:`matmul_gflops`, :func:`serve`) are also imported by
``training.py`` for our side, so both sides are timed by the same code. They import
only numpy and torch.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

#: The two throughput configurations (both sides build the same shapes).
CONFIGS = {
    "bpnet_64x8": {"n_filters": 64, "n_layers": 8, "n_outputs": 2, "n_control_tracks": 2, "batch_size": 64},
    "accessibility_512x8": {"n_filters": 512, "n_layers": 8, "n_outputs": 1, "n_control_tracks": 0, "batch_size": 16},
}
INPUT_LENGTH, OUTPUT_LENGTH = 2114, 1000


def matmul_gflops(n: int = 1024, seconds: float = 0.5) -> float:
    """Float32 matmul speed now (GFLOPS): the CPU-state calibration taken before each timed rep."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    reps, t0 = 0, time.perf_counter()
    while True:
        torch.mm(a, b)
        reps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return 2 * n**3 * reps / elapsed / 1e9


def random_batch(config: dict, control_length: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """One-hot sequences, Poisson counts and controls, 3/4 peaks: the inputs of one train step."""
    g = torch.Generator().manual_seed(seed)
    n = config["batch_size"]
    bases = torch.randint(0, 4, (n, INPUT_LENGTH), generator=g)
    batch = {
        "X": torch.nn.functional.one_hot(bases, 4).permute(0, 2, 1).float().contiguous(),
        "y": torch.poisson(torch.full((n, config["n_outputs"], OUTPUT_LENGTH), 0.5), generator=g),
        "labels": (torch.arange(n) < max(1, 3 * n // 4)).long(),
        "X_ctl": None,
    }
    if config["n_control_tracks"]:
        batch["X_ctl"] = torch.poisson(torch.full((n, config["n_control_tracks"], control_length), 0.2), generator=g)
    return batch


def serve(make_step: Callable[[dict], Callable[[], float]], side: str) -> None:
    """Answer ``time`` / ``quit`` commands, one JSON line each, until stdin closes.

    ``make_step(config)`` returns a function running one train step (and returning its
    loss); it is built once per config and reused, so later reps find a warm process.
    A ``time`` command runs ``warmup`` untimed steps (first use of a config only), then a
    matmul calibration, ``steps`` timed steps, and a second calibration.
    """
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # library prints go to stderr, the protocol stays clean
    sys.stdout = sys.stderr
    steps_of: dict[str, Callable[[], float]] = {}
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "quit":
            break
        torch.set_num_threads(command["threads"])
        name = command["config"]
        first = name not in steps_of
        if first:
            steps_of[name] = make_step(CONFIGS[name])
            for _ in range(command["warmup"]):
                steps_of[name]()
        step = steps_of[name]
        gflops_before = matmul_gflops()
        seconds, losses = [], []
        for _ in range(command["steps"]):
            t0 = time.perf_counter()
            losses.append(float(step()))
            seconds.append(time.perf_counter() - t0)
        batch = CONFIGS[name]["batch_size"]
        result = {
            "side": side, "config": name, "threads": torch.get_num_threads(), "warm_up_steps": command["warmup"] if first else 0,
            "gflops_before": gflops_before, "gflops_after": matmul_gflops(), "step_seconds": seconds,
            "examples_per_s": batch * len(seconds) / sum(seconds), "losses": losses,
        }
        protocol.write(json.dumps(result) + "\n")
        protocol.flush()


# ---------------------------------------------------------------------- bpnet-lite side


def peer_step(config: dict) -> Callable[[], float]:
    """One step of ``BPNet.fit``'s inner loop with bpnet-lite's model and ``_mixture_loss``."""
    from bpnetlite import BPNet
    from bpnetlite.losses import _mixture_loss

    torch.manual_seed(0)
    weight = 1.0
    model = BPNet(n_filters=config["n_filters"], n_layers=config["n_layers"], n_outputs=config["n_outputs"],
                  n_control_tracks=config["n_control_tracks"], count_loss_weight=weight, verbose=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = random_batch(config, control_length=INPUT_LENGTH)

    def step() -> float:
        optimizer.zero_grad()
        model.train()
        if batch["X_ctl"] is None:
            logits, log_counts = model(batch["X"])
        else:
            logits, log_counts = model(batch["X"], batch["X_ctl"])
        _, _, loss = _mixture_loss(batch["y"], logits, log_counts, weight, labels=batch["labels"])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1)
        optimizer.step()
        return loss.item()

    return step


def fit(job_path: str) -> None:
    """Train bpnet-lite on the job's files, then predict its test windows (see the module docstring)."""
    job = json.loads(open(job_path).read())
    torch.set_num_threads(job["threads"])
    torch.manual_seed(job["seed"])
    np.random.seed(job["seed"])
    from bpnetlite import BPNet
    from bpnetlite.io import PeakGenerator
    from tangermeme.io import extract_loci

    t0 = time.perf_counter()
    training_data = PeakGenerator(
        peaks=job["peaks"], negatives=job["negatives"], sequences=job["genome"], signals=job["signals"],
        controls=job["controls"], chroms=job["train_chroms"], in_window=INPUT_LENGTH, out_window=OUTPUT_LENGTH,
        max_jitter=job["max_jitter"], negative_ratio=job["negative_ratio"], reverse_complement=job["reverse_complement"],
        summits=True, random_state=job["seed"], batch_size=job["batch_size"], verbose=False,
    )
    # validation as in `bpnet fit`: the validation-chromosome peaks, no jitter
    X_valid, y_valid, X_ctl_valid = extract_loci(
        loci=job["peaks"], sequences=job["genome"], signals=job["signals"], in_signals=job["controls"],
        chroms=job["valid_chroms"], in_window=INPUT_LENGTH, out_window=OUTPUT_LENGTH, max_jitter=0,
        summits=True, ignore=list("QWERYUIOPSDFHJKLZXVBNM"), n_jobs=1, verbose=False,
    )
    data_seconds = time.perf_counter() - t0
    os.makedirs(job["out"], exist_ok=True)
    name = os.path.join(job["out"], "bpnet")
    model = BPNet(n_filters=job["n_filters"], n_layers=job["n_layers"], n_outputs=len(job["signals"]),
                  n_control_tracks=len(job["controls"]), count_loss_weight=job["count_loss_weight"], name=name,
                  trimming=(INPUT_LENGTH - OUTPUT_LENGTH) // 2, verbose=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=job["learning_rate"])
    scheduler, lr_by_epoch = None, []
    if job["scheduler"]:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=5, threshold=1e-4, min_lr=1e-4)
        step = scheduler.step

        def step_and_record(metric):  # bpnet-lite's log has no learning rate: record it (after the step, as our epochs.csv)
            step(metric)
            lr_by_epoch.append(optimizer.param_groups[0]["lr"])

        scheduler.step = step_and_record
    t0 = time.perf_counter()
    model.fit(training_data, optimizer, scheduler, X_valid=X_valid, X_ctl_valid=X_ctl_valid, y_valid=y_valid,
              max_epochs=job["max_epochs"], batch_size=job["batch_size"], device="cpu", early_stopping=job["patience"])
    fit_seconds = time.perf_counter() - t0

    best = torch.load(name + ".torch", weights_only=False, map_location="cpu")
    best.eval()
    X, y, X_ctl = extract_loci(
        loci=job["test_bed"], sequences=job["genome"], signals=job["signals"], in_signals=job["controls"],
        in_window=INPUT_LENGTH, out_window=OUTPUT_LENGTH, max_jitter=0, summits=False,
        ignore=list("QWERYUIOPSDFHJKLZXVBNM"), n_jobs=1, verbose=False,
    )
    logits, log_counts = [], []
    with torch.no_grad():
        for i in range(0, len(X), job["batch_size"]):
            p, c = best(X[i : i + job["batch_size"]].float(), X_ctl[i : i + job["batch_size"]].float())
            logits.append(p)
            log_counts.append(c)
    np.savez(job["predictions"], X=X.numpy(), y=y.numpy(), logits=torch.cat(logits).numpy(),
             log_counts=torch.cat(log_counts).numpy())
    log = open(name + ".log").read().splitlines()
    result = {"data_seconds": data_seconds, "fit_seconds": fit_seconds, "epochs_run": len(log) - 1,
              "training_examples_per_epoch": len(training_data.dataset), "valid_peaks": len(X_valid),
              "lr_by_epoch": lr_by_epoch, "log": log, "torch": torch.__version__, "bpnetlite": __import__("bpnetlite").__version__}
    with open(job["result"], "w") as out:
        json.dump(result, out, indent=2)


def bpnetlite_with_our_weights(d) -> torch.nn.Module:
    """bpnet-lite's ``BPNet`` holding our model's weights (``d["w:<name>"]``, plus
    ``n_layers``): our 1x1 control convolution becomes the centre tap of the control
    channels of its 75-wide ``fconv``."""
    from bpnetlite import BPNet

    n_filters = d["w:iconv.weight"].shape[0]
    n_outputs, n_controls = d["w:ctl_profile.weight"].shape[:2]
    model = BPNet(n_filters=n_filters, n_layers=int(d["n_layers"]), n_outputs=n_outputs, n_control_tracks=n_controls,
                  trimming=(INPUT_LENGTH - OUTPUT_LENGTH) // 2, verbose=False)
    state = model.state_dict()
    for key in state:
        if key == "fconv.weight":
            weight = np.zeros(tuple(state[key].shape), np.float32)
            weight[:, :n_filters] = d["w:fconv.weight"]
            weight[:, n_filters:, weight.shape[-1] // 2] = d["w:ctl_profile.weight"][:, :, 0]
            state[key] = torch.from_numpy(weight)
        else:
            state[key] = torch.from_numpy(d["w:" + key])
    model.load_state_dict(state)
    return model


def gradients(npz_path: str, out_path: str) -> None:
    """Load our model's weights into bpnet-lite's BPNet, run one batch through it and
    ``_mixture_loss``, and write how far the outputs, losses and gradients are from ours.

    Our 1x1 control convolution becomes the centre tap (37) of the control channels of
    bpnet-lite's 75-wide ``fconv``; our controls cover the 1000 bp output window, so
    bpnet-lite gets them zero-padded to 2114 bp (its count head then sums the same reads).
    """
    from bpnetlite.losses import _mixture_loss

    d = np.load(npz_path)
    model = bpnetlite_with_our_weights(d).train()
    n_filters, n_controls = d["w:iconv.weight"].shape[0], d["w:ctl_profile.weight"].shape[1]
    pad = (INPUT_LENGTH - OUTPUT_LENGTH) // 2
    controls = torch.zeros((len(d["X"]), n_controls, INPUT_LENGTH))
    controls[:, :, pad : pad + OUTPUT_LENGTH] = torch.from_numpy(d["X_ctl"])
    logits, log_counts = model(torch.from_numpy(d["X"]), controls)
    losses = _mixture_loss(torch.from_numpy(d["y"]), logits, log_counts, float(d["count_loss_weight"]),
                           labels=torch.from_numpy(d["labels"]).long())
    losses[2].backward()
    worst = 0.0
    for key, parameter in model.named_parameters():
        grad = parameter.grad.numpy()
        if key == "fconv.weight":
            grad = grad[:, :n_filters]  # (the control taps have no counterpart but the centre one)
        ours = d["g:" + key]
        worst = max(worst, float(np.abs(grad - ours).max() / max(float(np.abs(ours).max()), 1e-30)))
    result = {
        "max_abs_logit_difference": float((logits.detach() - torch.from_numpy(d["logits"])).abs().max()),
        "max_abs_log_count_difference": float((log_counts.detach() - torch.from_numpy(d["log_counts"])).abs().max()),
        "losses": {"profile": losses[0].item(), "count": losses[1].item(), "total": losses[2].item()},
        "max_relative_gradient_difference": worst,
    }
    with open(out_path, "w") as out:
        json.dump(result, out, indent=2)


# ---------------------------------------------------------------------- convergence.py: `bpnet fit` with its defaults


def bpnet_script() -> str:
    """The installed ``bpnet`` command of bpnet-lite (a script next to this python)."""
    script = os.path.join(os.path.dirname(sys.executable), "bpnet")
    if not os.path.exists(script):
        raise SystemExit(f"bpnet-lite's bpnet command is not at {script}")
    return script


def bpnet_fit_defaults(script: str) -> dict:
    """``default_fit_parameters`` of bpnet-lite's ``bpnet`` script, read from its source: only
    the module-level assignments of it and of the chromosome lists it names are run."""
    import ast

    names = {"training_chroms", "validation_chroms", "default_fit_parameters"}
    tree = ast.parse(open(script).read())
    chosen = [node for node in tree.body if isinstance(node, ast.Assign)
              and any(isinstance(target, ast.Name) and target.id in names for target in node.targets)]
    namespace: dict = {}
    exec(compile(ast.Module(body=chosen, type_ignores=[]), script, "exec"), namespace)
    return namespace["default_fit_parameters"]


def fit_with_defaults(job_path: str) -> None:
    """``bpnet fit -p PARAMS.json`` in this process, PARAMS holding only what the job sets;
    then the best checkpoint predicts the test windows (see the module docstring).

    Seeds torch and numpy with the job's seed first (``random_state`` seeds only the data
    sampling; the weights come from torch's generator). The ``bpnet evaluate`` run the
    command starts at its end (``os.system``; validation-chromosome metrics) is skipped:
    the caller scores the test windows itself. The learning rate is recorded after each
    ``ReduceLROnPlateau`` step (bpnet-lite's log has no column for it).
    """
    import runpy

    job = json.loads(open(job_path).read())
    torch.set_num_threads(job["threads"])
    torch.manual_seed(job["seed"])
    np.random.seed(job["seed"])
    script = bpnet_script()
    defaults = bpnet_fit_defaults(script)
    os.makedirs(job["out"], exist_ok=True)
    params_path = os.path.join(job["out"], "fit.json")
    with open(params_path, "w") as out:
        json.dump(job["parameters"], out, indent=2)

    lr_by_epoch: list[float] = []
    skipped: list[str] = []
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau
    plateau_step, system, argv = plateau.step, os.system, sys.argv

    def recording_step(self, *args, **kwargs):
        plateau_step(self, *args, **kwargs)
        lr_by_epoch.append(self.optimizer.param_groups[0]["lr"])

    plateau.step = recording_step
    os.system = lambda command: skipped.append(command) or 0
    sys.argv = [script, "fit", "-p", params_path]
    t0 = time.perf_counter()
    try:
        command = runpy.run_path(script, run_name="__main__")
    finally:
        plateau.step, os.system, sys.argv = plateau_step, system, argv
    fit_seconds = time.perf_counter() - t0

    parameters = command["parameters"]  # as the command merged them, with the count-loss weight it computed
    name = parameters["name"]
    best = torch.load(name + ".torch", weights_only=False, map_location=parameters["device"])
    best.eval()
    t0 = time.perf_counter()
    arrays = predict_both(best, job, parameters)
    predict_seconds = time.perf_counter() - t0
    np.savez(job["predictions"], **arrays)
    log = open(name + ".log").read().splitlines()
    result = {
        "fit_seconds": fit_seconds, "predict_seconds": predict_seconds, "epochs_run": len(log) - 1, "log": log,
        "training_examples_per_epoch": len(command["training_data"].dataset), "valid_peaks": len(command["valid_data"][0]),
        "lr_by_epoch": lr_by_epoch, "skipped_commands": skipped, "script": script, "defaults": defaults,
        "set_by_job": job["parameters"], "parameters": parameters, "torch": torch.__version__,
        "bpnetlite": __import__("bpnetlite").__version__,
    }
    with open(job["result"], "w") as out:
        json.dump(result, out, indent=2)


def predict_both(model: torch.nn.Module, job: dict, parameters: dict) -> dict[str, np.ndarray]:
    """The test windows (``job["test_bed"]``, as ``bpnet evaluate`` extracts loci) and the
    model's predictions of them: plain, and averaged with the reverse complement.

    Reverse complement: the one-hot sequence reversed and complemented, the controls
    reversed with their strands swapped (``flip(-1, -2)``, as ``bpnet evaluate``); the
    prediction's profile flipped back with its strands swapped. The average is taken over
    probabilities (one softmax over strands and positions, as bpnet-lite's loss) and over
    log counts, as bpnet's ``average_predictions``; ``bpnet evaluate`` averages logits.
    Log probabilities are written (as ``logp``): any metric's softmax recovers them.
    """
    from tangermeme.io import extract_loci

    X, y, X_ctl = extract_loci(
        loci=job["test_bed"], sequences=parameters["sequences"], signals=parameters["signals"],
        in_signals=parameters["controls"], in_window=parameters["in_window"], out_window=parameters["out_window"],
        max_jitter=0, summits=False, ignore=list("QWERYUIOPSDFHJKLZXVBNM"), n_jobs=1, verbose=False,
    )
    X, X_ctl = X.float(), X_ctl.float()
    logp, log_counts = _log_probabilities(model, X, X_ctl, parameters)
    logp_rc, log_counts_rc = _log_probabilities(model, X.flip(-1, -2), X_ctl.flip(-1, -2), parameters)
    logp_rc = logp_rc.flip(-1, -2)
    return {
        "X": X.numpy(), "y": y.numpy(), "plain_logp": logp.numpy(), "plain_log_counts": log_counts.numpy(),
        "rc_logp": (torch.logaddexp(logp, logp_rc) - np.log(2.0)).numpy(),
        "rc_log_counts": ((log_counts + log_counts_rc) / 2).numpy(),
    }


def _log_probabilities(model: torch.nn.Module, X: torch.Tensor, X_ctl: torch.Tensor, parameters: dict):
    """Profile log probabilities (one softmax over strands and positions) and log counts, in batches."""
    device, batch = parameters["device"], parameters["batch_size"]
    logps, counts = [], []
    with torch.no_grad():
        for i in range(0, len(X), batch):
            logits, log_counts = model(X[i : i + batch].to(device), X_ctl[i : i + batch].to(device))
            n = logits.shape[0]
            logps.append(torch.log_softmax(logits.reshape(n, -1).float(), dim=-1).reshape(logits.shape).cpu())
            counts.append(log_counts.float().cpu())
    return torch.cat(logps), torch.cat(counts)


def measures(npz_path: str, out_path: str) -> None:
    """bpnet-lite's ``calculate_performance_measures`` (as ``bpnet evaluate`` calls it) on
    each run's predictions of the peaks (``is_peak``); plus its count measures over every
    window (peaks and negatives).

    The file holds ``y`` (observed counts), ``is_peak`` and, per run ``KEY``,
    ``KEY|logp`` and ``KEY|log_counts``. Each measure is reduced by a mean ignoring NaN
    (``bpnet evaluate``'s plain ``mean`` is NaN when one strand of one window has no
    reads); the NaN count is reported.
    """
    from bpnetlite.performance import calculate_performance_measures

    names = ["profile_mnll", "profile_jsd", "profile_pearson", "profile_spearman", "count_pearson", "count_spearman", "count_mse"]
    data = np.load(npz_path)
    y = torch.from_numpy(data["y"]).float()
    peaks = torch.from_numpy(data["is_peak"]).bool()
    result = {}
    for key in sorted({name.split("|")[0] for name in data.files if "|" in name}):
        logp = torch.from_numpy(data[key + "|logp"]).float()
        log_counts = torch.from_numpy(data[key + "|log_counts"]).float()
        on_peaks = calculate_performance_measures(logp[peaks], y[peaks], log_counts[peaks], kernel_sigma=7, kernel_width=81)
        everywhere = calculate_performance_measures(logp, y, log_counts, measures=["count_pearson", "count_mse"])
        row = {name: float(torch.nanmean(on_peaks[name].float())) for name in names}
        row["nan"] = {name: int(torch.isnan(on_peaks[name]).sum()) for name in names}
        row["all_loci_count_pearson"] = float(everywhere["count_pearson"].mean())
        row["all_loci_count_mse"] = float(everywhere["count_mse"].mean())
        result[key] = row
    with open(out_path, "w") as out:
        json.dump(result, out, indent=2)


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        serve(peer_step, "bpnet-lite")
    elif len(sys.argv) == 3 and sys.argv[1] == "fit":
        fit(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "fit-defaults":
        fit_with_defaults(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "gradients":
        gradients(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "measures":
        measures(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("usage: peer_bpnetlite.py serve | fit JOB.json | fit-defaults JOB.json | gradients BATCH.npz OUT.json | "
                         "measures ARRAYS.npz OUT.json")


if __name__ == "__main__":
    main()
