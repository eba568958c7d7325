"""summarize-folds: each fold's metrics, their mean and sd; mistakes are one line, exit 2, nothing written."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from bpnet.core.cli.main import run_cli
from bpnet.core.errors import InputError
from bpnet.core.formats.folds import read_fold_summary

PEAKS = {"n": 10, "count_pearson": 0.5, "count_mse": 0.2, "profile_median_jsd": 0.3}


def metrics_file(folder: Path, count_pearson: float) -> Path:
    folder.mkdir(parents=True)
    path = folder / "metrics.json"
    path.write_text(json.dumps({"model": str(folder), "split": "test", "peaks": {**PEAKS, "count_pearson": count_pearson},
                                "negatives": None, "chrombpnet": None}))
    return path


def spec(tmp_path: Path, metrics: list[Path], names: list[str] | None = None) -> str:
    path = tmp_path / "spec.yaml"
    params = {"metrics": [str(m) for m in metrics], **({"names": names} if names is not None else {})}
    path.write_text(json.dumps({"output_dir": "out", "stages": {"summary": {"stage": "summarize-folds", "params": params}}}))
    return str(path)


def test_folds_are_named_by_their_folders_and_summarised_with_mean_and_sample_sd(tmp_path):
    files = [metrics_file(tmp_path / "evaluate" / f"fold_{i}", r) for i, r in enumerate((0.5, 0.7, 0.6))]
    assert run_cli(["run", spec(tmp_path, files)]) == 0
    summary = read_fold_summary(tmp_path / "out/summary/folds.json")
    assert [r["fold"] for r in summary["folds"]] == ["fold_0", "fold_1", "fold_2"]
    stats = summary["summary"]["peaks"]["count_pearson"]
    assert stats["mean"] == pytest.approx(0.6) and stats["sd"] == pytest.approx(statistics.stdev([0.5, 0.7, 0.6]))
    assert (stats["min"], stats["max"], stats["n_folds"]) == (0.5, 0.7, 3)
    assert summary["summary"]["peaks"]["profile_jsd"] is None  # no fold defines it
    rows = (tmp_path / "out/summary/folds.tsv").read_text().splitlines()
    assert [row.split("\t")[0] for row in rows] == ["row", "fold_0", "fold_1", "fold_2", "mean", "sd"]


def test_rc_averaged_metrics_are_summarised_beside_the_plain_ones(tmp_path):
    files = []
    for i, (plain, rc) in enumerate(((0.5, 0.55), (0.7, 0.72))):
        path = metrics_file(tmp_path / f"fold_{i}", plain)
        data = json.loads(path.read_text())
        data["rc_averaged"] = {"peaks": {**PEAKS, "count_pearson": rc}, "negatives": None}
        path.write_text(json.dumps(data))
        files.append(path)
    assert run_cli(["run", spec(tmp_path, files)]) == 0
    summary = read_fold_summary(tmp_path / "out/summary/folds.json")
    assert summary["summary"]["rc_averaged_peaks"]["count_pearson"]["mean"] == pytest.approx(0.635)
    assert summary["summary"]["peaks"]["count_pearson"]["mean"] == pytest.approx(0.6)
    assert summary["folds"][0]["rc_averaged_negatives"] is None and "rc_averaged_negatives" not in summary["summary"]
    blocks = [row.split("\t")[1] for row in (tmp_path / "out/summary/folds.tsv").read_text().splitlines()[1:]]
    assert blocks.count("rc_averaged_peaks") == 4  # two folds, mean, sd


@pytest.mark.parametrize(
    ("names", "same_folder", "message"),
    [
        (["a"], False, "names has 1 entries but metrics has 2: give one name per metrics file"),
        (["a", "a"], False, "fold names must be distinct (names: a repeats)"),
        (None, True, "fold names must be distinct (the metrics files' folder names: fold_0 repeats): set names"),
    ],
)
def test_fold_names_that_do_not_name_each_file_once_are_refused(tmp_path, capsys, names, same_folder, message):
    first = metrics_file(tmp_path / "a" / "fold_0", 0.5)
    second = metrics_file(tmp_path / "b" / ("fold_0" if same_folder else "fold_1"), 0.6)
    assert run_cli(["run", spec(tmp_path, [first, second], names)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out/summary/folds.json").exists() and not (tmp_path / "out/summary/folds.tsv").exists()


def test_a_file_that_is_not_a_fold_summary_is_named(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"peaks": PEAKS}))
    with pytest.raises(InputError, match="metrics.json: not a fold summary .*give the folds.json of a summarize-folds stage"):
        read_fold_summary(path)
