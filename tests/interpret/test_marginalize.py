"""The marginalize stage: motifs inserted into background loci, ranked by their effect on counts.

The model is a small hand-made torch.nn.Module (used through a model folder by its
'module:Class' path, as users pass plain modules): its log count rises by exactly
GAIN when the sequence holds its motif, and its profile peaks there, so the effect of
every motif of the database is known.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from bpnet.core.architectures.bpnet import BPNet
from bpnet.core.architectures.chrombpnet import ChromBPNet
from bpnet.core.cli.main import run_cli
from bpnet.core.modelfile import build_model, save_model
from bpnet.core.outputs import resolve_submodel, select_submodel
from bpnet.core.stages.base import StageContext
from bpnet.data.loci import LociSet
from bpnet.data.motifs import Motif, write_meme
from bpnet.data.onehot import codes_to_one_hot, encode_codes
from bpnet.interpret.marginalize import (
    TABLE_COLUMNS,
    insert_at_centre,
    insertion_sites,
    safe_file_name,
    select_background,
)
from bpnet.interpret.stages.marginalize import Marginalize

LIN, LOUT, J = 120, 40, 8
TARGET = "GATTACAGG"
GAIN = 1.5
MODULE_NAME = "bpnet_test_marginalize_models"
MODULE = '''
import torch


class MotifCounter(torch.nn.Module):
    """log count = 1 + gain * (an exact match of `motif` anywhere) [+ log1p(total control)];
    profile logits peak where the motif starts."""

    def __init__(self, motif="GATTACAGG", input_length=120, output_length=40, n_control_tracks=0, gain=1.5):
        super().__init__()
        self.width, self.input_length, self.output_length = len(motif), input_length, output_length
        self.n_control_tracks, self.gain = n_control_tracks, gain
        self.match = torch.nn.Conv1d(4, 1, len(motif), bias=False)
        with torch.no_grad():
            self.match.weight.zero_()
            for i, base in enumerate(motif):
                self.match.weight[0, "ACGT".index(base), i] = 1.0

    def minimum_input_length(self):
        return self.input_length

    def forward(self, X, X_ctl=None):
        hits = torch.relu(self.match(X) - (self.width - 1))
        start = (hits.shape[-1] - self.output_length) // 2
        local = hits[..., start:start + self.output_length]
        logits = torch.cat([5 * local, 5 * local], dim=1)
        log_counts = 1 + self.gain * hits.amax(-1)
        if self.n_control_tracks:
            log_counts = log_counts + torch.log1p(X_ctl.sum(dim=(1, 2)))[:, None]
        return logits, log_counts
'''


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """loci.h5 (16 peaks, 16 negatives, 2 control tracks), a MEME database, hand-made models."""
    folder = tmp_path_factory.mktemp("marginalize")
    (folder / f"{MODULE_NAME}.py").write_text(textwrap.dedent(MODULE))
    sys.path.insert(0, str(folder))
    try:
        torch.set_num_threads(1)
        target = f"{MODULE_NAME}:MotifCounter"
        paths = {
            "folder": folder,
            "model": save_model(build_model(target), folder / "model"),
            "with_controls": save_model(build_model(target, n_control_tracks=2), folder / "with_controls"),
            "short_output": save_model(build_model(target, output_length=30), folder / "short_output"),
            "long_input": save_model(build_model(target, input_length=200), folder / "long_input"),
            "trained_elsewhere": save_model(
                build_model(target), folder / "trained_elsewhere", provenance={"loci": str(folder / "loci_150.h5")}
            ),
            "loci": folder / "loci.h5",
            "motifs": folder / "motifs.meme",
        }
        make_loci().save(paths["loci"])
        make_loci(lin=150).save(folder / "loci_150.h5")
        write_meme(paths["motifs"], [
            one_hot_motif("decoy::A/1", "CCGTACGTT", "Decoy"),
            one_hot_motif("MA0001.1", TARGET, "TARGET"),
            one_hot_motif("other", "TTTTGGGG"),
        ])
        yield paths
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(MODULE_NAME, None)


def one_hot_motif(name: str, consensus: str, alt_name: str | None = None) -> Motif:
    pwm = np.full((len(consensus), 4), 0.02)
    pwm[np.arange(len(consensus)), encode_codes(consensus)] = 0.94
    return Motif(name, pwm, alt_name)


def make_loci(n: int = 32, seed: int = 0, lin: int = LIN) -> LociSet:
    """Random sequence (no TARGET site), peaks on even rows, splits alternating train/test."""
    rng = np.random.default_rng(seed)
    is_peak = np.arange(n) % 2 == 0
    codes = rng.integers(0, 4, (n, lin + 2 * J), dtype=np.uint8)
    for row in codes:  # random sequence may hold the model's motif: break every such site
        while (i := "".join("ACGT"[c] for c in row).find(TARGET)) >= 0:
            row[i] = (row[i] + 1) % 4
    return LociSet(
        chrom=np.array(["chr1"] * n), centre=np.arange(n) * 1000 + 500, is_peak=is_peak,
        split=np.array(["train", "train", "test", "test"] * (n // 4)), source_row=np.arange(n),
        codes=codes,
        signals=rng.poisson(1.0, (n, 2, LOUT + 2 * J)).astype(np.float32),
        controls=rng.poisson(2.0, (n, 2, LOUT + 2 * J)).astype(np.float32),
        input_length=lin, output_length=LOUT, control_length=LOUT, max_jitter=J,
        signal_names=["plus.bw", "minus.bw"], signal_strands=["+", "-"], signal_pairs=[(0, 1)],
        control_names=["c+.bw", "c-.bw"], control_strands=["+", "-"], control_pairs=[(0, 1)],
    )


def run_stage(tmp_path: Path, files: dict, model: str = "model", **params) -> tuple[list[dict], dict]:
    params = {
        "models": [files[model]], "loci": files["loci"], "motifs": files["motifs"], "device": "cpu", "n_loci": 10,
        "table": tmp_path / "marginalization.tsv", "effects": tmp_path / "effects.npz", "plots": tmp_path / "plots", **params,
    }
    Marginalize().run(
        Marginalize.Params(**params),
        StageContext("marginalize", tmp_path, tmp_path / "resume", logging.getLogger("bpnet.test.marginalize")),
    )
    with open(params["table"]) as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    with np.load(params["effects"]) as arrays:
        return rows, dict(arrays)


def spec_run(tmp_path: Path, params: dict, capsys) -> tuple[int, str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(json.dumps({"output_dir": "out", "stages": {"marg": {"stage": "marginalize", "params": {"device": "cpu", **params}}}}))
    code = run_cli(["run", str(spec)])
    captured = capsys.readouterr()
    return code, " ".join((captured.out + captured.err).split())


def test_the_motif_the_model_counts_ranks_first_with_its_known_effect(files, tmp_path, capsys):
    code, output = spec_run(
        tmp_path,
        {"models": [str(files["model"])], "loci": str(files["loci"]), "motifs": str(files["motifs"]), "n_loci": 10},
        capsys,
    )
    assert code == 0, output
    out = tmp_path / "out/marg"
    with open(out / "marginalization.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert list(rows[0]) == list(TABLE_COLUMNS)
    assert [r["motif"] for r in rows] == ["MA0001.1", "decoy::A/1", "other"]
    first = rows[0]
    assert (first["rank"], first["alt_name"], first["consensus"], first["width"], first["n_loci"]) == ("1", "TARGET", TARGET, "9", "10")
    assert float(first["mean_delta_log_counts"]) == pytest.approx(GAIN, abs=1e-5)
    assert float(first["sd_delta_log_counts"]) == pytest.approx(0, abs=1e-5)
    assert float(first["fold_change"]) == pytest.approx(np.exp(GAIN), rel=1e-5)
    assert float(first["mean_log_counts_before"]) == pytest.approx(1.0) and float(first["mean_log_counts_after"]) == pytest.approx(1 + GAIN)
    assert float(first["profile_jsd"]) > 0.3 and float(first["max_abs_profile_change"]) > 1
    for row in rows[1:]:
        assert float(row["mean_delta_log_counts"]) == pytest.approx(0, abs=1e-6)
        assert float(row["profile_jsd"]) == pytest.approx(0, abs=1e-6)

    # one PNG per motif, with a safe file name the table points at
    pngs = sorted(p.name for p in (out / "plots").iterdir())
    assert pngs == ["001_MA0001.1_TARGET.png", "002_decoy_A_1_Decoy.png", "003_other.png"]
    assert [r["plot"] for r in rows] == pngs
    assert all((out / "plots" / r["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for r in rows)

    with np.load(out / "effects.npz") as arrays:
        assert arrays["motif"].tolist() == [r["motif"] for r in rows]
        assert arrays["delta_log_counts"].shape == (3, 10) and arrays["mean_profile_after"].shape == (3, 2, LOUT)
        np.testing.assert_allclose(arrays["delta_log_counts"][0], GAIN, atol=1e-5)
        loci = LociSet.load(files["loci"])
        assert not loci.is_peak[arrays["loci_index"]].any(), "the background must be negatives by default"
        # the model's profile marks where the motif starts: input position 60 - 9 // 2 = 56, which is
        # position 56 - 36 = 20 of its 40 bp crop of the 112 match positions
        assert arrays["mean_profile_after"][0].sum(axis=0).argmax() == 20
    assert "MA0001.1" in output and "+1.500" in output, "no summary table printed"


def test_models_with_controls_use_the_loci_control_tracks(files, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="bpnet.test.marginalize"):
        rows, arrays = run_stage(tmp_path, files, "with_controls", split="test", peaks=True, n_loci=None)
    loci = LociSet.load(files["loci"])
    index = arrays["loci_index"]
    assert index.tolist() == loci.select("test", peaks=True).tolist()
    controls = loci.controls[index, :, J : J + LOUT].sum(axis=(1, 2))
    np.testing.assert_allclose(arrays["log_counts_before"], 1 + np.log1p(controls), rtol=1e-5)
    assert rows[0]["motif"] == "MA0001.1" and float(rows[0]["mean_delta_log_counts"]) == pytest.approx(GAIN, abs=1e-4)
    assert "control tracks: the loci's own 2" in caplog.text


def test_the_background_draw_is_seeded(files):
    loci = LociSet.load(files["loci"])
    first = select_background(loci, n_loci=5, seed=3).loci_index
    assert first.tolist() == select_background(loci, n_loci=5, seed=3).loci_index.tolist()
    assert first.tolist() != select_background(loci, n_loci=5, seed=4).loci_index.tolist()
    assert (np.diff(first) > 0).all() and not loci.is_peak[first].any()


def test_insertion_matches_tangermeme_substitute_and_samples_are_seeded():
    from tangermeme.ersatz import substitute

    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, (3, 51), dtype=np.uint8)
    for motif in ("ACGTACG", "ACGTACGT"):  # odd and even widths
        ours = codes_to_one_hot(insert_at_centre(codes, np.tile(encode_codes(motif), (3, 1))))
        theirs = substitute(torch.from_numpy(codes_to_one_hot(codes)), motif).numpy()
        np.testing.assert_array_equal(ours, theirs)
    motif = one_hot_motif("m", "ACGTTGCA")
    assert insertion_sites(motif, 2).tolist() == [encode_codes("ACGTTGCA").tolist()] * 2
    a = insertion_sites(motif, 50, "sample", np.random.default_rng([0, 1]))
    assert a.tolist() == insertion_sites(motif, 50, "sample", np.random.default_rng([0, 1])).tolist()
    assert 0.8 < (a == encode_codes("ACGTTGCA")).mean() < 1.0


def test_motif_names_become_safe_file_names():
    assert safe_file_name("MA0139.2::CTCF/1 x") == "MA0139.2_CTCF_1_x"
    assert safe_file_name("../..") == "motif"


def test_chrombpnet_models_are_marginalized_through_their_accessibility_model(files, tmp_path):
    torch.manual_seed(0)
    tiny = lambda: BPNet(n_filters=4, n_layers=1, n_outputs=1, output_length=LOUT, conv1_kernel_size=7, profile_kernel_size=9)  # noqa: E731
    model = ChromBPNet(tiny(), tiny())
    assert select_submodel(model, "auto", "m") is model.accessibility
    plain = tiny()
    assert select_submodel(plain, "auto", "m") is plain and resolve_submodel(plain, "auto") == "model"
    folder = save_model(model, tmp_path / "chrombpnet")
    rows, arrays = run_stage(tmp_path, {**files, "chrombpnet": folder}, "chrombpnet", n_loci=4, insertion="sample")
    assert len(rows) == 3 and arrays["submodels"].tolist() == ["accessibility"]
    assert arrays["mean_profile_after"].shape == (3, 1, LOUT)


def test_a_malformed_meme_file_is_exit_2_naming_file_and_line(files, tmp_path, capsys):
    bad = tmp_path / "bad.meme"
    bad.write_text(
        "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m1\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25\n0.1 0.2 0.3 0.4\n"
    )
    code, output = spec_run(tmp_path, {"models": [str(files["model"])], "loci": str(files["loci"]), "motifs": str(bad)}, capsys)
    assert code == 2 and "bad.meme:7" in output and "Traceback" not in output, output
    assert not (tmp_path / "out/marg/marginalization.tsv").exists()


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("long_input", "needs input windows of at least 200 bp but {loci} holds 120 bp windows"),
        ("short_output", "predicts 30 bp from 120 bp inputs but {loci} holds 40 bp output windows"),
        ("trained_elsewhere", "was trained on 150 bp input windows but {loci} holds 120 bp windows"),
    ],
)
def test_loci_made_for_another_model_window_are_refused(files, tmp_path, capsys, model, message):
    code, output = spec_run(tmp_path, {"models": [str(files[model])], "loci": str(files["loci"]), "motifs": str(files["motifs"])}, capsys)
    assert code == 2, output
    assert message.format(loci=files["loci"]) in output and "Traceback" not in output, output
    assert not any((tmp_path / "out/marg" / name).exists() for name in ("marginalization.tsv", "effects.npz", "plots"))


def test_a_split_without_background_loci_is_a_clear_error(files, tmp_path):
    from bpnet.data.errors import DataError

    with pytest.raises(DataError, match=r"no negatives in split 'valid'; the file holds: train \(8 peaks, 8 negatives\)"):
        run_stage(tmp_path, files, split="valid")
