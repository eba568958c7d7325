"""Train ChromBPNet with the official code (kundajelab/chrombpnet 1.0.1), step by step.

Runs in the official environment (``benchmarks/official_chrombpnet_env.sh``), not in
bpnet's: ``ENV/bin/python benchmarks/official_chrombpnet_train.py CONFIG.json``. It calls
the official modules in the order of the official pipelines (``chrombpnet bias train``
then ``chrombpnet train``) but skips their preprocessing: the bigWig, peaks, non-peaks and
folds are given (the same files bpnet trains on), so the official reads-to-bigWig step
and its external binaries are not needed.

1. ``find_bias_hyperparams``: the bias model's background below the count threshold;
2. ``train`` with ``bpnet_model.py``: the bias model;
3. ``find_chrombpnet_hyperparams``: outlier bounds, count-loss weight, the scaled bias
   model (it draws negatives with the unseeded global numpy generator: seeded here first);
4. ``train`` with ``chrombpnet_with_bias_model.py``: the combined and no-bias models;
5. ``predict`` on the test peaks: the official metrics of the combined and bias models.

CONFIG keys: ``genome``, ``bigwig``, ``peaks``, ``nonpeaks``, ``folds``, ``out``, ``seed``,
``inputlen``, ``outputlen``, ``bias_threshold_factor``, ``bias_filters``, ``bias_layers``,
``filters``, ``layers``, ``max_jitter``, ``negative_sampling_ratio``, ``batch_size``,
``learning_rate``, ``epochs``, ``bias_epochs``, ``early_stop``, ``threads``. Writes
``timings.json`` (seconds per step) beside the official outputs in ``out``.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from argparse import Namespace
from pathlib import Path

# this script sits beside benchmarks/chrombpnet.py, which would shadow the official package
sys.path = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

TRACKABLES = [
    "logcount_predictions_loss", "loss", "logits_profile_predictions_loss",
    "val_logcount_predictions_loss", "val_loss", "val_logits_profile_predictions_loss",
]


def seed_everything(seed: int) -> None:
    import numpy as np
    import tensorflow as tf

    os.environ["PYTHONHASHSEED"] = "0"
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)


def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text())
    threads = int(config.get("threads", 1))
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import chrombpnet.helpers.hyperparameters.find_bias_hyperparams as find_bias_hyperparams
    import chrombpnet.helpers.hyperparameters.find_chrombpnet_hyperparams as find_chrombpnet_hyperparams
    import chrombpnet.training.models.bpnet_model as bpnet_model
    import chrombpnet.training.models.chrombpnet_with_bias_model as chrombpnet_with_bias_model
    import chrombpnet.training.predict as predict
    import chrombpnet.training.train as train

    out = Path(config["out"])
    for folder in ("auxiliary", "models", "evaluation"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    seed = int(config["seed"])
    common = {
        "genome": config["genome"], "bigwig": config["bigwig"], "chr_fold_path": config["folds"],
        "inputlen": int(config["inputlen"]), "outputlen": int(config["outputlen"]), "outlier_threshold": 0.9999,
        "seed": seed, "batch_size": int(config["batch_size"]), "learning_rate": float(config["learning_rate"]),
        "early_stop": int(config["early_stop"]), "trackables": TRACKABLES,
    }
    timings: dict[str, float] = {}

    def step(name, function, **args):
        seed_everything(seed)
        started = time.perf_counter()
        function(Namespace(**{**common, **args}))
        timings[name] = round(time.perf_counter() - started, 2)
        print(f"official step {name}: {timings[name]} s", flush=True)

    aux = f"{out}/auxiliary/"
    step("bias_hyperparameters", find_bias_hyperparams.main, peaks=config["peaks"], nonpeaks=config["nonpeaks"],
         bias_threshold_factor=float(config["bias_threshold_factor"]), filters=int(config["bias_filters"]),
         n_dilation_layers=int(config["bias_layers"]), max_jitter=0, output_prefix=aux)
    step("bias_train", train.main, architecture_from_file=bpnet_model.__file__, peaks="None",
         nonpeaks=f"{aux}filtered.bias_nonpeaks.bed", output_prefix=f"{out}/models/bias",
         params=f"{aux}bias_model_params.tsv", epochs=int(config["bias_epochs"]))
    step("chrombpnet_hyperparameters", find_chrombpnet_hyperparams.main, peaks=config["peaks"], nonpeaks=config["nonpeaks"],
         bias_model_path=f"{out}/models/bias.h5", filters=int(config["filters"]), n_dilation_layers=int(config["layers"]),
         max_jitter=int(config["max_jitter"]), negative_sampling_ratio=float(config["negative_sampling_ratio"]),
         output_prefix=aux)
    step("chrombpnet_train", train.main, architecture_from_file=chrombpnet_with_bias_model.__file__,
         peaks=f"{aux}filtered.peaks.bed", nonpeaks=f"{aux}filtered.nonpeaks.bed", output_prefix=f"{out}/models/chrombpnet",
         params=f"{aux}chrombpnet_model_params.tsv", epochs=int(config["epochs"]))
    for name, model in (("chrombpnet", "models/chrombpnet.h5"), ("bias", "auxiliary/bias_model_scaled.h5")):
        step(f"predict_{name}", predict.main, model_h5=f"{out}/{model}", peaks=f"{aux}filtered.peaks.bed", nonpeaks="None",
             output_prefix=f"{out}/evaluation/{name}")
    (out / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
