"""The seqlets stage: recursive seqlet calls on an attribution file, mapped to the genome as BED.

Attribution files are synthetic but real (written with write_scores): small noise with
strong positive blocks planted at known positions.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from bpnet.core.cli.main import run_cli
from bpnet.core.stages.base import StageContext
from bpnet.data.errors import DataError
from bpnet.interpret.scores import Scores, read_scores, write_scores
from bpnet.interpret.seqlets import BED_COLUMNS
from bpnet.interpret.stages.seqlets import Seqlets

L = 200
#: (window, first position, length) of each planted block
BLOCKS = [(0, 60, 10), (1, 90, 8), (1, 150, 12), (2, 12, 10), (3, 100, 9), (4, 70, 10)]
STARTS = np.array([1_000, 5_000, 9_000, 20_000, 300, 7_700])
CHROMS = np.array(["chr1", "chr1", "chr2", "chr2", "chrX", "chr1"])


def synthetic_scores(n: int = len(STARTS), blocks=BLOCKS, seed: int = 0, scale: float = 1.0) -> Scores:
    """Random one-hot windows, noise attributions, and +1 per base in every planted block."""
    rng = np.random.default_rng(seed)
    one_hot = np.zeros((n, 4, L), np.float32)
    one_hot[np.arange(n)[:, None], rng.integers(0, 4, (n, L)), np.arange(L)[None]] = 1
    hypothetical = (rng.normal(0, 0.02, (n, 4, L)) * scale).astype(np.float32)
    for window, first, length in blocks:
        if window < n:
            hypothetical[window, :, first : first + length] += scale
    return Scores(
        one_hot, hypothetical, CHROMS[:n], STARTS[:n], np.arange(n) % 2 == 0, np.zeros(n, np.float32),
        {"head": "counts", "models": ["model"], "submodel": "model", "n_shuffles": 2, "seed": 0},
    )


def read_bed(path: Path) -> tuple[str, list[list[str]]]:
    header, *lines = path.read_text().splitlines()
    return header, [line.split("\t") for line in lines]


def run_stage(tmp_path: Path, scores: Scores | None = None, **params) -> tuple[str, list[list[str]], Path]:
    """Run the stage on ``scores`` (written to attributions.h5) and return the BED header and rows."""
    attributions = tmp_path / "attributions.h5"
    if scores is not None:
        write_scores(attributions, scores)
    out = tmp_path / "seqlets.bed"
    stage = Seqlets()
    stage.run(
        Seqlets.Params(attributions=attributions, seqlets=out, **params),
        StageContext("seqlets", tmp_path, tmp_path / "resume", logging.getLogger("bpnet.test.seqlets")),
    )
    return (*read_bed(out), attributions)


def test_planted_blocks_become_seqlets_at_their_genome_coordinates(tmp_path, capsys):
    scores = synthetic_scores()
    spec = tmp_path / "spec.yaml"
    write_scores(tmp_path / "counts.h5", scores)
    spec.write_text(json.dumps({"output_dir": "out", "stages": {"seq": {"stage": "seqlets", "params": {"attributions": "counts.h5"}}}}))
    code = run_cli(["run", str(spec)])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    header, rows = read_bed(tmp_path / "out/seq/seqlets.bed")
    assert header == "#" + "\t".join(BED_COLUMNS)
    assert all(len(row) == 8 for row in rows)
    assert [row[3] for row in rows] == [f"seqlet_{i}" for i in range(len(rows))]
    scores_column = np.array([float(row[4]) for row in rows])
    assert (np.diff(scores_column) <= 0).all(), "not sorted by score, largest first"
    assert {row[5] for row in rows} == {"."}

    projected = read_scores(tmp_path / "counts.h5").projected
    found = set()
    for chrom, start, end, _, score, _, p_value, window in rows:
        w, start, end = int(window), int(start), int(end)
        assert chrom == CHROMS[w]
        offset, offset_end = start - STARTS[w], end - STARTS[w]
        assert 0 <= offset < offset_end <= L
        assert float(score) == pytest.approx(projected[w, offset:offset_end].sum(), rel=1e-4, abs=1e-4)
        assert 0 <= float(p_value) < 0.01
        for block in BLOCKS:
            bw, first, length = block
            if bw == w and offset <= first and first + length <= offset_end:
                found.add(block)
                # the call is the block plus additional_flanks (3) bp each side, and maybe a noise base or two
                assert first - 5 <= offset <= first - 3 and first + length + 3 <= offset_end <= first + length + 5
    assert found == set(BLOCKS), f"planted blocks not called: {set(BLOCKS) - found}"
    assert len(rows) == len(BLOCKS), rows
    log = (tmp_path / "out").rglob("*.log")
    assert any("6 seqlet(s) in 5 of 6 window(s)" in f.read_text() for f in log), "the number of seqlets is not logged"


def test_window_keeps_calls_to_the_central_positions(tmp_path):
    _, rows, _ = run_stage(tmp_path, synthetic_scores(), window=100)
    offsets = [(int(r[7]), int(r[1]) - STARTS[int(r[7])], int(r[2]) - STARTS[int(r[7])]) for r in rows]
    assert all(50 <= a and b <= 150 for _, a, b in offsets), offsets
    # the blocks at 60, 90, 100 and 70 lie in the central 100 bp; those at 150 and 12 do not
    inside = {(0, 60, 10), (1, 90, 8), (3, 100, 9), (4, 70, 10)}
    assert len(offsets) == len(inside)
    for w, a, b in offsets:
        assert any(bw == w and a <= first and first + length <= b for bw, first, length in inside), (w, a, b)


def test_flat_attributions_give_a_header_only_file_and_a_warning(tmp_path, caplog):
    scores = synthetic_scores(blocks=[], scale=0.0)
    with caplog.at_level(logging.WARNING, logger="bpnet.test.seqlets"):
        header, rows, _ = run_stage(tmp_path, scores)
    assert header.startswith("#chrom") and rows == []
    assert "no seqlets called in 6 window(s)" in caplog.text and "header-only" in caplog.text


def test_a_file_without_windows_gives_a_header_only_file(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="bpnet.test.seqlets"):
        header, rows, _ = run_stage(tmp_path, synthetic_scores(n=0, blocks=[]))
    assert header.startswith("#chrom") and rows == []
    assert "the file holds no windows" in caplog.text


def test_nan_attributions_are_refused_naming_the_file_and_window(tmp_path, capsys):
    scores = synthetic_scores()
    scores.hypothetical[2, 1, 40] = np.nan
    write_scores(tmp_path / "counts.h5", scores)
    spec = tmp_path / "spec.yaml"
    spec.write_text(json.dumps({"output_dir": "out", "stages": {"seq": {"stage": "seqlets", "params": {"attributions": "counts.h5"}}}}))
    assert run_cli(["run", str(spec)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "counts.h5" in err and "NaN or infinite" in err and "window 2 (chr2:9000)" in err, err
    assert not (tmp_path / "out/seq/seqlets.bed").exists()


def test_inconsistent_or_foreign_files_are_refused(tmp_path):
    scores = synthetic_scores()
    scores.one_hot[0, :, 5] = 1  # four bases at one position
    with pytest.raises(DataError, match="not a one-hot sequence"):
        run_stage(tmp_path, scores)
    with pytest.raises(DataError, match="window is 300 bp but the attribution windows are only 200 bp"):
        run_stage(tmp_path, synthetic_scores(), window=300)
    other = tmp_path / "other.h5"
    import h5py

    with h5py.File(other, "w") as f:
        f["shap/seq"] = np.zeros((1, 4, 10))
    with pytest.raises(DataError, match="not a bpnet attribution file"):
        Seqlets().run(
            Seqlets.Params(attributions=other, seqlets=tmp_path / "x.bed"),
            StageContext("s", tmp_path, tmp_path, logging.getLogger("t")),
        )


def test_lengths_are_checked_when_the_spec_is_read():
    with pytest.raises(ValidationError, match="max_seqlet_len"):
        Seqlets.Params(attributions=Path("a.h5"), min_seqlet_len=10, max_seqlet_len=5)
