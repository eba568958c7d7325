"""Bad inputs to training, through ``bpnet run``: one clear error (exit 2) before any
training starts, and no checkpoint or output left behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from bpnet.core.cli.main import run_cli
from bpnet.data.loci import LociSet


def run_and_check(tmp_path: Path, capsys, stages: dict, failing: str, fragments: list[str]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", "stages": stages}))
    assert run_cli(["run", str(spec)]) == 2
    captured = capsys.readouterr()
    output = captured.out + captured.err
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert "Traceback" not in output and len(errors) == 1, output
    text = " ".join(output.split()[output.split().index("error:"):])
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    folder = tmp_path / "out" / failing
    left = {p.name for p in folder.iterdir()} if folder.exists() else set()
    assert left <= {".resume"} and not any(folder.glob(".resume/*/*")), left


def train(loci: str | Path, **params) -> dict:
    return {"stage": "train-bpnet", "params": {"loci": str(loci), "hyperparameters": {"n_filters": 8, "n_layers": 2},
                                               "max_epochs": 1, "device": "cpu", **params}}


def edited_loci(source: Path, target: Path, edit) -> Path:
    loci = LociSet.load(source)
    edit(loci)
    loci.save(target)
    return target


def test_a_spec_pointing_at_a_missing_bigwig_stops_before_training(preprocessed, tmp_path, capsys):
    loci_stage = {"stage": "loci", "params": {
        "genome": str(preprocessed["chip_genome"]), "peaks": str(preprocessed["folder"] / "out/chip-sim/simulation/peaks.narrowPeak"),
        "signals": ["missing/plus.bw"], "input_length": 400, "output_length": 200}}
    stages = {"loci": loci_stage, "train": train("@loci.loci")}
    run_and_check(tmp_path, capsys, stages, "train", ["missing/plus.bw"])
    assert not (tmp_path / "out" / "loci").exists() or not (tmp_path / "out/loci/loci.h5").exists()


def test_peaks_with_zero_counts_only_are_refused(preprocessed, tmp_path, capsys):
    def silence(loci):
        loci.signals[:] = 0

    path = edited_loci(preprocessed["chip_loci"], tmp_path / "silent.h5", silence)
    run_and_check(tmp_path, capsys, {"train": train(path)}, "train", ["silent.h5", "zero counts", "chromosome names"])


def test_a_validation_split_without_loci_is_refused(preprocessed, tmp_path, capsys):
    def no_valid(loci):
        loci.split[loci.split == "valid"] = "test"

    path = edited_loci(preprocessed["chip_loci"], tmp_path / "novalid.h5", no_valid)
    run_and_check(tmp_path, capsys, {"train": train(path)}, "train", ["novalid.h5", "'valid' split has no loci", "train:"])


def test_too_many_layers_for_the_input_window_is_refused(preprocessed, tmp_path, capsys):
    stage = train(preprocessed["chip_loci"], hyperparameters={"n_filters": 8, "n_layers": 9})
    run_and_check(tmp_path, capsys, {"train": stage}, "train", ["n_layers=9", "400 bp", "lower n_layers"])


def test_chrombpnet_with_no_background_below_the_bias_threshold_is_refused(preprocessed, tmp_path, capsys):
    def loud_background(loci):
        negatives = ~loci.is_peak
        loci.signals[negatives] = loci.signals[negatives] + 50

    path = edited_loci(preprocessed["atac_loci"], tmp_path / "loud.h5", loud_background)
    stage = {"stage": "train-chrombpnet", "params": {"loci": str(path), "max_epochs": 1, "device": "cpu"}}
    run_and_check(tmp_path, capsys, {"atac": stage}, "atac", ["loud.h5", "bias_threshold_factor"])


def test_edited_loci_still_load(preprocessed, tmp_path):
    path = edited_loci(preprocessed["chip_loci"], tmp_path / "same.h5", lambda loci: None)
    assert np.array_equal(LociSet.load(path).signals, LociSet.load(preprocessed["chip_loci"]).signals)


def test_an_evaluate_bias_motif_file_without_motifs_is_one_clear_error_and_leaves_no_metrics(preprocessed, tmp_path, capsys):
    from bpnet.core.architectures.bpnet import BPNet
    from bpnet.core.architectures.chrombpnet import ChromBPNet
    from bpnet.core.modelfile import save_model

    loci = LociSet.load(preprocessed["atac_loci"])
    tiny = {"n_outputs": 1, "output_length": loci.output_length, "n_filters": 4, "n_layers": 1}
    save_model(ChromBPNet(BPNet(**tiny), BPNet(**tiny)), tmp_path / "model")
    (tmp_path / "empty.meme").write_text("MEME version 4\n\nALPHABET= ACGT\n")
    stage = {"stage": "evaluate", "params": {"model": str(tmp_path / "model"), "loci": str(preprocessed["atac_loci"]),
                                             "bias_motifs": str(tmp_path / "empty.meme"), "device": "cpu"}}
    run_and_check(tmp_path, capsys, {"evaluate": stage}, "evaluate", ["empty.meme", "no motifs found"])
