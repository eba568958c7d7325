"""The report with reverse-complement-averaged metrics and several models: both numbers and the spread over models."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

from .test_report import metric_block, run_report, write_metrics, write_predictions, write_run


def seed_model(folder: Path, seed: int, count_r: float, rc_count_r: float | None) -> dict:
    metrics = write_metrics(folder / "eval/metrics.json")
    if rc_count_r is not None:
        data = json.loads(metrics.read_text())
        data["rc_averaged"] = {"peaks": metric_block(100, rc_count_r), "negatives": metric_block(200, 0.2)}
        data["peaks"]["count_pearson"] = count_r
        metrics.write_text(json.dumps(data))
    return {"name": f"seed {seed}", "training": write_run(folder / "training", seed=seed), "metrics": metrics,
            "predictions": write_predictions(folder / "eval/predictions.npz", seed=seed)}


def test_rc_averaged_metrics_show_beside_the_plain_ones_and_several_models_get_their_spread(tmp_path):
    plain, rc = (0.61, 0.69), (0.66, 0.73)
    models = [seed_model(tmp_path / f"s{i}", i, plain[i], rc[i]) for i in range(2)]
    html = run_report(tmp_path, title="seeds", models=models)
    assert "peaks count r (plain / rc-averaged)" in html
    assert "Peaks, reverse-complement averaged" in html
    assert re.search(r"0\.610 <span[^>]*>pass</span> / 0\.660", html)  # seed 0's cell: plain (marked) / rc-averaged
    spread = f"{statistics.fmean(plain):.3f} ± {statistics.stdev(plain):.3f} / {statistics.fmean(rc):.3f} ± {statistics.stdev(rc):.3f}"
    assert "mean ± sd over 2 models" in html and spread in html


def test_a_single_model_without_rc_metrics_has_neither_the_rc_numbers_nor_a_spread_row(tmp_path):
    html = run_report(tmp_path, title="one", models=[seed_model(tmp_path / "s0", 0, 0.7, None)])
    assert "rc-averaged" not in html and "reverse-complement averaged" not in html
    assert "mean ± sd over" not in html
