"""Choosing ChromBPNet's bias model: several bias_threshold_factor candidates, their official
checks, the documented choice, a forced choice, and re-runs that train no bias model again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from bpnet.core.cli.main import run_cli
from bpnet.core.modelfile import load_model

TINY = {"n_filters": 8, "n_layers": 2}
TINY_BIAS = {"n_filters": 4, "n_layers": 2}
#: two different backgrounds on the small simulation (about 60 and 170 negatives)
FACTORS = [0.1, 0.5]


def bias_params(loci: Path, **params) -> dict:
    return {"loci": str(loci), "bias_hyperparameters": TINY_BIAS, "max_epochs": 1, "batch_size": 32, "device": "cpu", **params}


def chrombpnet_stage(loci: Path | str, **params) -> dict:
    return {"stage": "train-chrombpnet", "params": {**bias_params(loci), "hyperparameters": TINY, **params}}


def run_spec(folder: Path, stages: dict) -> int:
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", "stages": stages}))
    return run_cli(["run", str(spec)])


def error_lines(capsys) -> tuple[list[str], str]:
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    return [line for line in output.splitlines() if line.startswith("error:")], " ".join(output.split())


def auto_choice(candidates: list[dict]) -> float:
    """The documented rule, on the recorded numbers: no fail, then no advice, then specificity, then the smallest factor."""
    order = ("pass", "advice", "fail")
    return min(candidates, key=lambda c: (order.index(c["level"]), -c["specificity"], c["factor"]))["factor"]


# ----------------------------------------------------------------------------- the rule itself


def candidate(factor: float, peaks_r: float, background_r: float, shared_r: float | None = None):
    from bpnet.train.chrombpnet import BiasCandidate, BiasCheck, BiasModel, Selection

    selection = Selection(np.arange(10), 0.0, 5.0, 1.0, threshold=10 * factor)
    check = BiasCheck(peaks_r, background_r, 0.5, background_r if shared_r is None else shared_r)
    return BiasCandidate(BiasModel(torch.nn.Identity(), selection, factor), check)


def test_auto_drops_failures_prefers_no_advice_then_the_most_specific_not_the_largest_factor():
    from bpnet.train.chrombpnet import choose_bias

    candidates = [
        candidate(0.3, peaks_r=-0.4, background_r=0.5),   # advice: peaks r below -0.3
        candidate(0.5, peaks_r=0.05, background_r=0.30),  # specificity 0.25
        candidate(0.7, peaks_r=0.30, background_r=0.45),  # own background r highest, specificity 0.15
        candidate(0.9, peaks_r=0.60, background_r=0.60),  # fails: explains peak counts
    ]
    choice = choose_bias(candidates)
    assert choice.chosen.factor == 0.5 and not choice.forced
    assert [c["chosen"] for c in choice.records()] == [False, True, False, False]
    why = dict(zip([c.factor for c in candidates], choice.why))
    assert why[0.3].startswith("not chosen: advice") and "specificity 0.150 < 0.250" in why[0.7]
    assert "fail: bias count r on peaks (accessibility)" in why[0.9]
    # specificity is measured on the shared background: a larger background's own r does not win
    shared = [candidate(0.5, 0.0, 0.2, shared_r=0.2), candidate(0.8, 0.0, 0.4, shared_r=0.1)]
    assert choose_bias(shared).chosen.factor == 0.5
    tie = [candidate(0.8, 0.0, 0.3), candidate(0.4, 0.0, 0.3)]
    assert choose_bias(tie).chosen.factor == 0.4


def test_a_forced_choice_is_used_even_when_it_fails_and_an_unknown_factor_is_one_clear_error():
    from bpnet.core.errors import InputError
    from bpnet.train.chrombpnet import choose_bias

    candidates = [candidate(0.5, 0.1, 0.3), candidate(0.7, 0.9, 0.3)]
    choice = choose_bias(candidates, 0.7)
    assert choice.forced and choice.chosen.factor == 0.7 and choice.why[1].startswith("chosen by bias_choice despite fail")
    with pytest.raises(InputError, match=r"bias_choice 0.6: .*candidates: 0.5, 0.7"):
        choose_bias(candidates, 0.6)


def test_a_bias_candidates_folder_missing_a_model_is_one_clear_error(tmp_path):
    from bpnet.core.errors import InputError
    from bpnet.core.formats.training import is_bias_candidates_folder, read_bias_candidates, write_bias_candidates

    write_bias_candidates(tmp_path, {"loci": "loci.h5", "chosen": 0.5, "candidates": [{"factor": 0.5, "folder": "factor-0.5"}]})
    assert is_bias_candidates_folder(tmp_path)
    with pytest.raises(InputError, match=r"candidates\[0\] \(factor 0.5\): model folder .*factor-0.5/model not found; re-run"):
        read_bias_candidates(tmp_path)
    write_bias_candidates(tmp_path, {"candidates": [{"factor": -1, "folder": "x"}]})
    with pytest.raises(InputError, match=r"candidates\[0\] needs a positive 'factor'"):
        read_bias_candidates(tmp_path)


# ----------------------------------------------------------------------------- one stage


def test_a_list_of_factors_trains_one_bias_model_each_and_records_every_check_and_the_choice(preprocessed, tmp_path):
    stage = chrombpnet_stage(preprocessed["atac_loci"], bias_threshold_factor=FACTORS, bias_check="off")
    assert run_spec(tmp_path, {"atac": stage}) == 0
    training = tmp_path / "out" / "atac" / "training"
    record = json.loads((training / "chrombpnet.json").read_text())
    candidates = record["bias_candidates"]
    assert [c["factor"] for c in candidates] == FACTORS
    assert candidates[1]["threshold"] == pytest.approx(5 * candidates[0]["threshold"])
    assert candidates[1]["n_loci"] > candidates[0]["n_loci"] > 0
    for c in candidates:
        assert {"peaks_count_pearson", "background_count_pearson", "shared_background_count_pearson", "specificity"} <= set(c)
        assert c["level"] in ("pass", "advice", "fail") and len(c["verdicts"]) == 4 and c["why"]
    chosen = [c for c in candidates if c["chosen"]]
    assert len(chosen) == 1 and chosen[0]["factor"] == auto_choice(candidates)
    assert record["bias_choice"]["rule"] == "auto" and record["bias_choice"]["factor"] == chosen[0]["factor"]
    assert record["bias_threshold_factor"] == chosen[0]["factor"]
    assert record["bias_count_threshold"] == pytest.approx(chosen[0]["threshold"])  # the old keys follow the choice
    assert record["n_bias_training_loci"] == chosen[0]["n_loci"]
    assert record["bias_check"]["level"] == chosen[0]["level"]
    # every candidate is kept: a bias candidates folder train-chrombpnet can read back
    folder = json.loads((training / "bias_candidates" / "candidates.json").read_text())
    assert folder["chosen"] == chosen[0]["factor"] and [c["folder"] for c in folder["candidates"]] == ["factor-0.1", "factor-0.5"]
    for name in ("factor-0.1", "factor-0.5"):
        assert load_model(training / "bias_candidates" / name / "model").n_outputs == 1
        assert (training / "bias_candidates" / name / "training" / "epochs.csv").is_file()
    assert (training / "bias" / "epochs.csv").is_file() and (training / "accessibility" / "epochs.csv").is_file()


@pytest.mark.parametrize("factor", [0, -0.5, [0.5, 0.0], [], [0.5, 0.5]])
def test_a_non_positive_repeated_or_missing_factor_is_one_clear_line(preprocessed, tmp_path, capsys, factor):
    stage = chrombpnet_stage(preprocessed["atac_loci"], bias_threshold_factor=factor)
    assert run_spec(tmp_path, {"atac": stage}) == 2
    errors, text = error_lines(capsys)
    assert len(errors) == 1 and "bias_threshold_factor" in errors[0], text
    assert any(word in text for word in ("must be > 0", "at least one factor", "listed twice")), text
    assert not (tmp_path / "out" / "atac").exists()


def test_when_every_candidate_fails_error_lists_them_and_a_forced_rerun_trains_no_bias_model_again(
    preprocessed, tmp_path, capsys,
):
    # a peak-r limit of -1 fails every bias model ("it explains peak counts")
    stage = chrombpnet_stage(preprocessed["atac_loci"], bias_threshold_factor=FACTORS, bias_check="error", bias_max_peak_pearson=-1.0)
    assert run_spec(tmp_path, {"atac": stage}) == 1
    errors, text = error_lines(capsys)
    assert len(errors) == 1, text
    for fragment in ("every bias candidate fails", "factor 0.1 (threshold", "factor 0.5 (threshold", "count r on peaks",
                     "bias_choice: <factor>", "bias_check: warn"):
        assert fragment in text, (fragment, text)
    out = tmp_path / "out" / "atac"
    assert not (out / "model").exists() and (out / ".resume" / "bias-0.1" / "last.pt").is_file()
    stage["params"]["bias_choice"] = 0.5
    assert run_spec(tmp_path, {"atac": stage}) == 0
    log = (tmp_path / "out" / "run.log").read_text()
    assert "bias-0.1: resuming after epoch 1" in log and "bias-0.5: resuming after epoch 1" in log
    record = json.loads((out / "training" / "chrombpnet.json").read_text())
    assert record["bias_choice"]["rule"] == "forced" and record["bias_threshold_factor"] == 0.5
    assert all(c["level"] == "fail" for c in record["bias_candidates"])
    assert "bias_choice 0.5: used because you chose it, despite fail: bias count r on peaks" in log


# ----------------------------------------------------------------------------- two stages


def test_changing_bias_choice_reruns_only_the_accessibility_stage(preprocessed, tmp_path, capsys):
    bias = {"stage": "train-chrombpnet-bias", "params": bias_params(preprocessed["atac_loci"], bias_threshold_factor=FACTORS)}
    atac = chrombpnet_stage(preprocessed["atac_loci"], bias_model="@bias.bias_models")
    assert run_spec(tmp_path, {"bias": bias, "atac": atac}) == 0
    out = tmp_path / "out"
    folder = json.loads((out / "bias" / "bias_models" / "candidates.json").read_text())
    assert [c["factor"] for c in folder["candidates"]] == FACTORS and folder["chosen"] == auto_choice(folder["candidates"])
    first = json.loads((out / "atac" / "training" / "chrombpnet.json").read_text())
    assert first["bias_choice"]["rule"] == "auto" and len(first["bias_candidates"]) == 2
    assert first["bias_model_source"].endswith(f"factor-{first['bias_threshold_factor']:g}/model")
    assert (out / "atac" / "training" / "bias" / "epochs.csv").is_file()  # the chosen candidate's logs
    other = next(f for f in FACTORS if f != first["bias_threshold_factor"])
    bias_record = (out / "bias" / ".bpnet-stage.json").read_text()
    stamp = (out / "bias" / "bias_models" / "candidates.json").stat().st_mtime_ns

    atac["params"]["bias_choice"] = other
    assert run_spec(tmp_path, {"bias": bias, "atac": atac}) == 0
    assert (out / "bias" / ".bpnet-stage.json").read_text() == bias_record
    assert (out / "bias" / "bias_models" / "candidates.json").stat().st_mtime_ns == stamp
    second = json.loads((out / "atac" / "training" / "chrombpnet.json").read_text())
    assert second["bias_choice"] == {"rule": "forced", "factor": other, "why": second["bias_choice"]["why"]}
    assert second["bias_threshold_factor"] == other and second["bias_model_source"].endswith(f"factor-{other:g}/model")

    atac["params"]["bias_choice"] = 0.7
    capsys.readouterr()
    assert run_spec(tmp_path, {"bias": bias, "atac": atac}) == 2
    errors, text = error_lines(capsys)
    assert len(errors) == 1 and "bias_choice 0.7" in text and "candidates: 0.1, 0.5" in text, text
