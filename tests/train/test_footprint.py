"""The official footprint test of bias correction, in ``evaluate``.

Two ChromBPNets on the small simulated ATAC data of ``tests/conftest.py``: one trained by
train-chrombpnet (its de-biased model must be "corrected" at the simulator's Tn5 motif),
and the same model with a de-biased part that has the Tn5 motif planted in its first
convolution, which therefore predicts a cut peak wherever the motif is ("uncorrected").
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from bpnet.core.architectures.bpnet import BPNet
from bpnet.core.architectures.chrombpnet import ChromBPNet
from bpnet.core.cli.main import run_cli
from bpnet.core.modelfile import load_model, save_model
from bpnet.core.stages.base import StageContext
from bpnet.data.errors import DataError
from bpnet.data.loci import LociSet
from bpnet.data.motifs import Motif, insertion_start, read_meme, write_meme
from bpnet.data.onehot import codes_to_one_hot, encode_codes
from bpnet.train import qc
from bpnet.train.footprint import background_codes, footprint_test, marginal_footprint, scaled_footprint
from bpnet.train.stages.evaluate import Evaluate

torch.set_num_threads(1)

TINY = {"n_filters": 8, "n_layers": 2}


def planted(motif: Motif, output_length: int, gain: float = 2.0) -> BPNet:
    """A BPNet whose only active filter is ``motif``'s log-odds, firing near its consensus and
    raising the profile logit at the motif's centre: a de-biased model that kept the bias."""
    model = BPNet(n_filters=4, n_layers=2, n_outputs=1, output_length=output_length)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()  # the dilated layers add nothing: the trunk is the first convolution
        start = model.iconv.kernel_size[0] // 2 - motif.width // 2
        model.iconv.weight[0, :, start : start + motif.width] = torch.tensor(motif.log_odds()[:, :4].T.copy())
        model.iconv.bias[0] = 1.0 - motif.score_range()[1]  # fires within 1 bit of the consensus
        model.fconv.weight[0, 0, model.fconv.kernel_size[0] // 2] = 4 * gain
        model.linear.bias.fill_(3.0)
    return model


@pytest.fixture(scope="module")
def trained(preprocessed, tmp_path_factory) -> Path:
    """The output folder of a tiny train-chrombpnet run on the simulated ATAC loci."""
    folder = tmp_path_factory.mktemp("footprint")
    stage = {"stage": "train-chrombpnet", "params": {
        "loci": str(preprocessed["atac_loci"]), "hyperparameters": TINY, "bias_hyperparameters": {"n_filters": 4, "n_layers": 2},
        "max_epochs": 2, "batch_size": 32, "device": "cpu", "bias_check": "off"}}
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", "stages": {"atac": stage}}))
    assert run_cli(["run", str(spec)]) == 0
    return folder / "out" / "atac"


def run_evaluate(tmp_path: Path, model: Path, loci: Path, motifs: Path) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    params = Evaluate.Params(
        model=model, loci=loci, bias_motifs=motifs, device="cpu", batch_size=32, n_examples=0,
        metrics=tmp_path / "metrics.json", predictions=tmp_path / "predictions.npz",
    )
    Evaluate().run(params, StageContext("evaluate", tmp_path, tmp_path / "resume", logging.getLogger("test")))
    return json.loads((tmp_path / "metrics.json").read_text())


def test_a_trained_chrombpnet_is_corrected_and_one_with_the_motif_planted_is_not(preprocessed, trained, tmp_path):
    loci = LociSet.load(preprocessed["atac_loci"])
    motifs = preprocessed["atac_bias_meme"]
    good = run_evaluate(tmp_path / "good", trained / "model", preprocessed["atac_loci"], motifs)["chrombpnet"]["footprints"]
    assert good["verdict"]["level"] == "pass" and good["verdict"]["value"] < qc.FOOTPRINT_CORRECTED_MAX
    assert good["n_loci"] == len(loci.select("test", peaks=False)) and good["output_length"] == loci.output_length

    combined = load_model(trained / "model")
    motif = read_meme(motifs)[0]
    save_model(ChromBPNet(combined.bias, planted(motif, loci.output_length)), tmp_path / "planted")
    bad = run_evaluate(tmp_path / "bad", tmp_path / "planted", preprocessed["atac_loci"], motifs)["chrombpnet"]["footprints"]
    assert bad["verdict"]["level"] == "fail" and bad["verdict"]["value"] > 10 * qc.FOOTPRINT_CORRECTED_MAX
    [record] = bad["motifs"]
    assert record["motif"] == motif.label and record["consensus"] == motif.consensus
    assert record["verdict"] == bad["verdict"]
    # the footprint peaks at the insertion: the centre of the saved window, far above the profile without the motif
    with_motif, without = np.array(record["with_motif"]), np.array(bad["without_motif"])
    centre = loci.output_length // 2 - bad["window_start"]
    assert abs(int(with_motif.argmax()) - centre) <= motif.width // 2 + 1
    assert with_motif.max() > 5 * without.max()
    assert record["max_footprint"] == pytest.approx(with_motif.max(), rel=1e-5)


def test_the_footprint_is_the_official_one_forward_plus_reverse_normalised_and_averaged():
    torch.manual_seed(3)
    model = BPNet(n_filters=4, n_layers=1, n_outputs=1, output_length=30).eval()
    with torch.no_grad():
        model.linear.bias.fill_(2.0)  # predicted counts above 1, so that exp(log count) - 1 > 0 as in a trained model
    codes = np.random.default_rng(0).integers(0, 4, (5, 140), dtype=np.uint8)
    site = "GCACAGTACAG"
    ours = marginal_footprint(model, codes, site, batch_size=2)

    # the official formula, written out in numpy on the same windows
    codes = codes.copy()
    start = insertion_start(140, len(site))
    codes[:, start : start + len(site)] = encode_codes(site)
    X = torch.from_numpy(codes_to_one_hot(codes))
    with torch.no_grad():
        forward = [t.numpy().astype(np.float64) for t in model(X)]
        reverse = [t.numpy().astype(np.float64) for t in model(X.flip(-2, -1))]

    def softmax(logits):
        e = np.exp(logits - logits.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    fwd = softmax(forward[0][:, 0]) * np.expm1(forward[1])
    rev = softmax(reverse[0][:, 0]) * np.expm1(reverse[1])
    both = fwd + rev[:, ::-1]
    official = (both / both.sum(1, keepdims=True)).mean(0)
    np.testing.assert_allclose(ours, official, rtol=1e-5)
    assert ours.sum() == pytest.approx(1.0)
    assert scaled_footprint(0.0026, 1000) == 0.003 and scaled_footprint(0.0124, 200) == 0.002  # rounded as the official


def test_every_motif_of_the_file_is_tested_and_the_worst_decides(preprocessed):
    loci = LociSet.load(preprocessed["atac_loci"])
    codes, rows = background_codes(loci, "test", n_loci=12, seed=1)
    assert len(codes) == 12 and set(rows) <= set(loci.select("test", peaks=False)) and np.all(np.diff(rows) > 0)
    tn5 = read_meme(preprocessed["atac_bias_meme"])[0]
    other = Motif("tn5_1", np.eye(4)[encode_codes("GCACAGTACAGAGCTG")])  # an official Tn5 sequence, as a one-hot matrix
    result = footprint_test(planted(tn5, loci.output_length), codes, [other, tn5], label="bias.meme")
    assert [m["motif"] for m in result["motifs"]] == ["tn5_1", tn5.label]
    assert result["motifs"][0]["consensus"] == "GCACAGTACAGAGCTG"
    assert [m["verdict"]["level"] for m in result["motifs"]] == ["pass", "fail"]
    assert result["verdict"]["level"] == "fail" and result["motifs_file"] == "bias.meme"
    assert result["verdict"]["value"] == max(m["scaled_max_footprint"] for m in result["motifs"])
    assert len(result["without_motif"]) == len(result["motifs"][0]["with_motif"]) == min(200, loci.output_length)


@pytest.mark.parametrize("text", ["", "MEME version 4\n\nALPHABET= ACGT\n"])
def test_a_meme_file_without_motifs_is_one_clear_error_naming_it(tmp_path, text):
    meme = tmp_path / "bias.meme"
    meme.write_text(text)
    params = Evaluate.Params(model=tmp_path, loci=tmp_path, bias_motifs=meme, metrics=tmp_path / "m.json", predictions=tmp_path / "p.npz")
    with pytest.raises(DataError, match=r"bias\.meme: no motifs found") as info:
        Evaluate().run(params, StageContext("evaluate", tmp_path, tmp_path / "resume", logging.getLogger("test")))
    assert "\n" not in str(info.value) and str(meme) in str(info.value)


def test_a_motif_wider_than_the_windows_is_refused_before_evaluating(preprocessed, tmp_path):
    loci = LociSet.load(preprocessed["atac_loci"])
    wide = tmp_path / "wide.meme"
    write_meme(wide, [Motif("huge", np.full((loci.input_length + 1, 4), 0.25))])
    save_model(ChromBPNet(planted(read_meme(preprocessed["atac_bias_meme"])[0], loci.output_length),
                          BPNet(n_outputs=1, output_length=loci.output_length, **TINY)), tmp_path / "model")
    with pytest.raises(DataError, match=r"wide\.meme: motif huge is \d+ bp, longer than the 400 bp input windows"):
        run_evaluate(tmp_path, tmp_path / "model", preprocessed["atac_loci"], wide)
    assert not (tmp_path / "metrics.json").exists()
