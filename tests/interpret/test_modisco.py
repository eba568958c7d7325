"""The modisco stage (TF-MoDISco through modisco-lite) and its chaining into annotate.

Attribution files are synthetic but shaped like real ones: random sequences with JASPAR
motifs planted near the centre, hypothetical contributions equal to the motif's log-odds
(scaled) at planted sites plus Gaussian noise everywhere. TF-MoDISco must find one
pattern per planted motif and annotate must name each after the simulator's MEME file.
The stages run through ``bpnet run`` in a subprocess, as users run them (modisco-lite
caches its compiled kernels only from a fresh process).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.data.motifs import Motif, read_meme, sample_sites
from bpnet.data.onehot import codes_to_one_hot
from bpnet.interpret.modisco import read_results
from bpnet.interpret.scores import Scores, write_scores

JASPAR = Path(__file__).parents[2] / "packages/bpnet-data/src/bpnet/data/simulate/jaspar.meme"
PLANTED = ("CTCF", "Spi1", "CEBPB")


def jaspar() -> dict[str, Motif]:
    return {m.alt_name: m for m in read_meme(JASPAR)}


def synthetic_scores(n: int, length: int = 500, planted: tuple[str, ...] = PLANTED, noise: float = 0.05, seed: int = 0) -> Scores:
    """``n`` windows; window ``i`` holds one site of ``planted[i % len(planted)]`` (random strand) within 100 bp of the centre."""
    rng = np.random.default_rng(seed)
    motifs = jaspar()
    codes = rng.integers(0, 4, (n, length), dtype=np.uint8)
    hypothetical = rng.normal(0.0, noise, (n, 4, length)).astype(np.float32)
    for i in range(n if planted else 0):
        motif = motifs[planted[i % len(planted)]]
        if rng.random() < 0.5:
            motif = motif.reverse_complement()
        start = int(rng.integers(length // 2 - 100, length // 2 + 100 - motif.width))
        codes[i, start : start + motif.width] = sample_sites(motif, 1, rng)[0]
        hypothetical[i, :, start : start + motif.width] += 0.25 * motif.log_odds()[:, :4].T.astype(np.float32)
    return Scores(
        one_hot=codes_to_one_hot(codes), hypothetical=hypothetical, chrom=np.array(["chr1"] * n),
        start=np.arange(n, dtype=np.int64) * 1000, is_peak=np.ones(n, bool), delta=np.zeros(n, np.float32),
        meta={"head": "counts", "models": ["model"], "n_shuffles": 20, "seed": 0},
    )


def bpnet_run(folder: Path, stages: dict) -> subprocess.CompletedProcess:
    spec = folder / "spec.yaml"
    spec.write_text(json.dumps({"output_dir": "out", "stages": stages}))
    command = [str(Path(sys.executable).parent / "bpnet"), "run", str(spec)]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, "BPNET_NO_PROGRESS": "1"})


def tsv(path: Path) -> list[dict[str, str]]:
    header, *rows = path.read_text().splitlines()
    return [dict(zip(header.split("\t"), row.split("\t"))) for row in rows]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """One ``bpnet run`` (one process, so modisco-lite's imports and kernels are paid once):
    modisco on 240 windows with 3 planted motifs (JASPAR database for the report), modisco on
    60 windows of pure noise, and annotate on each result."""
    folder = tmp_path_factory.mktemp("modisco")
    write_scores(folder / "counts.h5", synthetic_scores(240))
    write_scores(folder / "noise.h5", synthetic_scores(60, planted=()))
    done = bpnet_run(folder, {
        "modisco": {"stage": "modisco", "params": {"attributions": "counts.h5", "motifs": str(JASPAR)}},
        "noise": {"stage": "modisco", "params": {"attributions": "noise.h5"}},
        "annotate": {"stage": "annotate", "params": {"motifs": str(JASPAR), "patterns": "@modisco.results"}},
        "annotate-noise-meme": {"stage": "annotate", "params": {"motifs": str(JASPAR), "patterns": "@noise.patterns"}},
        "annotate-noise-h5": {"stage": "annotate", "params": {"motifs": str(JASPAR), "patterns": "@noise.results"}},
    })
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / "out"


def test_modisco_finds_one_pattern_per_planted_motif_in_modisco_lite_format(runs):
    patterns = read_results(runs / "modisco/modisco_results.h5")
    assert len(patterns) >= len(PLANTED)
    assert all(p.name.startswith("pos_patterns.pattern_") and p.ppm.shape[1] == 4 for p in patterns)
    assert all(p.n_seqlets >= 20 and len(p.seqlets["start"]) == p.n_seqlets for p in patterns)

    from modiscolite.io import write_meme_from_h5
    from modiscolite.util import MemeDataType

    exported = runs / "exported.meme"  # modisco-lite's own reader accepts the file
    write_meme_from_h5(str(runs / "modisco/modisco_results.h5"), MemeDataType.PFM, str(exported), True)
    assert exported.read_text().count("MOTIF") == len(patterns)

    meme = read_meme(runs / "modisco/patterns.meme")
    assert [m.name for m in meme] == [p.name for p in patterns]
    assert [m.nsites for m in meme] == [p.n_seqlets for p in patterns]
    table = tsv(runs / "modisco/patterns.tsv")
    assert [row["pattern"] for row in table] == [p.name for p in patterns]
    assert [row["consensus"] for row in table] == [m.consensus for m in meme]


def test_annotate_names_every_planted_motif_from_the_meme_file_with_small_q(runs):
    rows = tsv(runs / "annotate/patterns.tsv")
    best = {row["pattern"]: row for row in rows if row["rank"] == "1"}
    ids = {m.alt_name: m.name for m in read_meme(JASPAR)}
    for name in PLANTED:
        hits = [row for row in best.values() if row["motif_alt_name"] == name]
        assert hits, f"no pattern named {name}: {rows}"
        assert hits[0]["motif"] == ids[name]
        assert float(hits[0]["q_value"]) < 1e-3
        assert float(hits[0]["p_value"]) <= float(hits[0]["q_value"])
    counts = tsv(runs / "annotate/motif_counts.tsv")
    assert {row["motif_alt_name"] for row in counts} >= set(PLANTED)
    assert tsv(runs / "annotate/seqlets.tsv") == []


def test_report_is_self_contained_with_logos_and_database_matches(runs):
    html = (runs / "modisco/report.html").read_text()
    sources = re.findall(r'\bsrc="([^"]*)"', html)
    assert len(sources) >= 3 * len(PLANTED)  # CWM, PFM and hypothetical CWM logos of each pattern at least
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    assert all(link.startswith("#") for link in re.findall(r'\bhref="([^"]*)"', html))
    assert str(runs.parent) not in html  # no file path of this machine
    assert html.count("<img ") == len(sources)
    for name in PLANTED:
        assert name in html


def test_pure_noise_gives_empty_valid_results_with_a_clear_message(runs):
    log = (runs / "run.log").read_text()
    assert re.search(r"WARNING .*TF-MoDISco found no pattern: only \d+ positive and \d+ negative seqlets in 60 windows, "
                     r"and it clusters a sign's seqlets only when there are more than 100", log)
    assert "Attribute more loci" in log

    out = runs / "noise"
    assert read_results(out / "modisco_results.h5") == []
    from modiscolite.io import write_meme_from_h5
    from modiscolite.util import MemeDataType

    write_meme_from_h5(str(out / "modisco_results.h5"), MemeDataType.CWM, str(runs / "exported-noise.meme"), True)
    assert "MOTIF" not in (out / "patterns.meme").read_text()
    assert (out / "patterns.tsv").read_text() == "pattern\tn_seqlets\tconsensus\twidth\n"
    html = (out / "report.html").read_text()
    assert "No pattern." in html and "<img " not in html


def test_annotate_on_an_empty_modisco_result_writes_empty_tables(runs):
    for stage in ("annotate-noise-meme", "annotate-noise-h5"):
        for name in ("patterns.tsv", "seqlets.tsv", "motif_counts.tsv"):
            text = (runs / stage / name).read_text()
            assert text.count("\n") == 1 and text.startswith(("pattern\t", "seqlet\t", "motif\t"))
    assert "holds no pattern (TF-MoDISco found none)" in (runs / "run.log").read_text()


def test_all_zero_attributions_are_an_empty_result_not_a_crash():
    from bpnet.interpret.modisco import ModiscoSettings, run_modisco

    scores = synthetic_scores(20, planted=())
    scores.hypothetical[:] = 0
    result = run_modisco(scores, ModiscoSettings(), logging.getLogger("test"))
    assert result.empty and "zero" in result.message
    empty = scores.subset(slice(0, 0))
    assert run_modisco(empty, ModiscoSettings(), logging.getLogger("test")).empty


def run_in_process(folder: Path, stages: dict, capsys) -> tuple[int, str]:
    spec = folder / "spec.yaml"
    spec.write_text(json.dumps({"output_dir": "out", "stages": stages}))
    code = run_cli(["run", str(spec)])
    return code, capsys.readouterr().err


def test_window_longer_than_the_attributions_is_exit_2_naming_the_file(tmp_path, capsys):
    write_scores(tmp_path / "short.h5", synthetic_scores(4, length=300, planted=()))
    code, err = run_in_process(tmp_path, {"modisco": {"stage": "modisco", "params": {"attributions": "short.h5", "window": 400}}}, capsys)
    assert code == 2, err
    assert "short.h5" in err and "400 bp" in err and "300 bp" in err
    assert not (tmp_path / "out/modisco/modisco_results.h5").exists() and not (tmp_path / "out/modisco/report.html").exists()


def test_malformed_motif_database_stops_modisco_before_it_runs(tmp_path, capsys):
    write_scores(tmp_path / "counts.h5", synthetic_scores(4, planted=()))
    bad = tmp_path / "bad.meme"
    bad.write_text(
        "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m1 one\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 "
        "0.25\n0.25 0.25 0.25 0.25\n"
    )
    code, err = run_in_process(
        tmp_path,
        {"modisco": {"stage": "modisco", "params": {"attributions": "counts.h5", "motifs": "bad.meme"}}},
        capsys,
    )
    assert code == 2, err
    assert f"{bad}:7" in err and "4 columns" in err
    assert not (tmp_path / "out/modisco/modisco_results.h5").exists() and not (tmp_path / "out/modisco/report.html").exists()


def test_seqlets_longer_than_the_window_are_refused_when_the_spec_is_read():
    from pydantic import ValidationError

    from bpnet.interpret.stages.modisco import Modisco

    with pytest.raises(ValidationError, match="longer than window"):
        Modisco.Params(attributions=Path("x.h5"), window=24, sliding_window=20, flank=5)
