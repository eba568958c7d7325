"""The predict stage: bigWigs equal the model's own predictions, no overlapping entries,
fold averaging, reverse-complement averaging, and clear errors for models that disagree."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pyBigWig
import pytest
import torch

from bpnet.core.architectures.bpnet import BPNet
from bpnet.core.architectures.chrombpnet import ChromBPNet
from bpnet.core.errors import InputError
from bpnet.core.modelfile import save_model
from bpnet.core.stages.base import StageContext
from bpnet.data.bigwig_io import owned_spans, write_bigwig
from bpnet.data.errors import DataError
from bpnet.data.onehot import one_hot_encode
from bpnet.train.stages.predict import Predict

from ..conftest import random_sequence, write_fasta

OUT = 100
IN = 206  # minimum input of a 2-layer BPNet with the default kernels for 100 bp out
N_CHR = 3000


def complement(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGT", "TGCA"))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """A genome (chrA, chrB = reverse complement of chrA, chrC), regions and tiny models."""
    folder = tmp_path_factory.mktemp("predict")
    seq = random_sequence(N_CHR, seed=5)
    chroms = {"chrA": seq, "chrB": complement(seq), "chrC": random_sequence(1500, seed=6)}
    genome = write_fasta(folder / "genome.fa", chroms)
    regions = folder / "regions.bed"
    # rows: two overlapping windows (centres 550 and 585), a narrowPeak summit at 1210,
    # one off the end of chrA (centre 2970), one on chrC
    regions.write_text(
        "chrA\t500\t600\n"
        "chrA\t530\t640\n"
        "chrA\t1100\t1300\tpeak\t0\t.\t5\t-1\t-1\t110\n"
        "chrA\t2950\t2990\n"
        "chrC\t700\t800\n"
    )
    models = {}
    for name, seed, kwargs in (("m1", 1, {}), ("m2", 2, {}), ("short", 3, {"output_length": 80}), ("one", 4, {"n_outputs": 1})):
        torch.manual_seed(seed)
        config = {"n_filters": 8, "n_layers": 2, "n_outputs": 2, "output_length": OUT, **kwargs}
        models[name] = save_model(BPNet(**config), folder / name)
    return {"folder": folder, "genome": genome, "regions": regions, "chroms": chroms, **models}


def run_predict(out: Path, **params) -> tuple[dict, Path]:
    params = {"bigwigs": out / "bigwigs", "arrays": out / "predictions.npz", "device": "cpu", **params}
    Predict().run(Predict.Params(**params), StageContext("predict", out, out / "resume", logging.getLogger("test")))
    with np.load(params["arrays"]) as arrays:
        return dict(arrays), params["bigwigs"]


def expected_counts(model: torch.nn.Module, seq: str, ctl: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(expected counts (T, L), probabilities (T, L), log count) of one window, straight from the model."""
    X = torch.from_numpy(one_hot_encode(seq))[None]
    with torch.no_grad():
        logits, counts = model(X, torch.from_numpy(ctl)[None]) if ctl is not None else model(X)
    probs = torch.softmax(logits.reshape(1, -1), -1).reshape(logits.shape)[0].numpy()
    return probs * np.exp(counts[0, 0].item()), probs, counts[0, 0].item()


def window(chroms: dict, chrom: str, centre: int) -> str:
    start = centre - IN // 2
    return chroms[chrom][start : start + IN]


def test_bigwigs_hold_the_models_own_expected_counts(files, tmp_path):
    from bpnet.core.modelfile import load_model

    arrays, bigwigs = run_predict(tmp_path, models=[files["m1"]], genome=files["genome"], regions=files["regions"])
    model = load_model(files["m1"])
    # the off-chromosome region (row 3) is dropped; the summit of row 2 is used
    assert arrays["source_row"].tolist() == [0, 1, 2, 4]
    assert arrays["centre"].tolist() == [550, 585, 1210, 750]
    assert arrays["chrom"].tolist() == ["chrA", "chrA", "chrA", "chrC"]
    assert (arrays["end"] - arrays["start"]).tolist() == [OUT] * 4
    assert arrays["start"][2] == 1210 - OUT // 2
    assert arrays["track_names"].tolist() == ["plus", "minus"] and arrays["models"].tolist() == [str(files["m1"])]
    assert arrays["profiles"].shape == (4, 2, OUT) and arrays["profiles"].dtype == np.float32
    np.testing.assert_allclose(arrays["profiles"].sum(axis=(1, 2)), 1, rtol=1e-5)

    manifest = json.loads((bigwigs / "tracks.json").read_text())
    assert [(t["file"], t["strand"]) for t in manifest["tracks"]] == [("plus.bw", "+"), ("minus.bw", "-")]
    for row, (chrom, centre) in enumerate([("chrA", 1210), ("chrC", 750)], start=2):
        expected, probs, log_count = expected_counts(model, window(files["chroms"], chrom, centre))
        np.testing.assert_allclose(arrays["profiles"][row], probs, rtol=1e-5, atol=1e-8)
        assert arrays["log_counts"][row] == pytest.approx(log_count, rel=1e-5)
        start = centre - OUT // 2
        for t, name in enumerate(["plus", "minus"]):
            with pyBigWig.open(str(bigwigs / f"{name}.bw")) as bw:
                got = np.array(bw.values(chrom, start, start + OUT))
            np.testing.assert_allclose(got, expected[t], rtol=1e-5)


def test_overlapping_windows_share_bases_by_nearest_centre(files, tmp_path):
    from bpnet.core.modelfile import load_model

    arrays, bigwigs = run_predict(tmp_path, models=[files["m1"]], genome=files["genome"], regions=files["regions"])
    model = load_model(files["m1"])
    first, _, _ = expected_counts(model, window(files["chroms"], "chrA", 550))
    second, _, _ = expected_counts(model, window(files["chroms"], "chrA", 585))
    with pyBigWig.open(str(bigwigs / "plus.bw")) as bw:
        entries = bw.intervals("chrA")
        values = np.array(bw.values("chrA", 500, 635))
    starts = np.array([e[0] for e in entries])
    ends = np.array([e[1] for e in entries])
    assert (starts[1:] >= ends[:-1]).all(), "bigWig entries overlap"
    # windows [500, 600) and [535, 635): centres 549.5 and 584.5, border after base 567
    np.testing.assert_allclose(values[:68], first[0, :68], rtol=1e-5)
    np.testing.assert_allclose(values[68:], second[0, 68 - 35 :], rtol=1e-5)
    # the npz keeps both windows whole
    np.testing.assert_allclose(arrays["profiles"][1] * np.exp(arrays["log_counts"][1]), second, rtol=1e-4)


def test_owned_spans_give_each_base_to_the_nearest_centre():
    # centres 49.5, 59.5, 60.5, 249.5: base 60 is a tie between the 2nd and 3rd (left wins)
    lo, hi = owned_spans(np.array([0, 10, 11, 200]), 100)
    assert lo.tolist() == [0, 55, 61, 200] and hi.tolist() == [55, 61, 111, 300]
    lo, hi = owned_spans(np.array([0, 100]), 100)  # touching windows keep everything
    assert lo.tolist() == [0, 100] and hi.tolist() == [100, 200]


def test_off_chromosome_regions_can_be_refused(files, tmp_path):
    with pytest.raises(DataError, match=r"regions.bed: 1 region\(s\) have windows off a chromosome end.*chrA:2950-2990"):
        run_predict(tmp_path, models=[files["m1"]], genome=files["genome"], regions=files["regions"], off_chrom="error")
    assert not (tmp_path / "predictions.npz").exists()


def test_two_models_average_probabilities_and_log_counts(files, tmp_path):
    common = {"genome": files["genome"], "regions": files["regions"]}
    one, _ = run_predict(tmp_path / "1", models=[files["m1"]], **common)
    two, _ = run_predict(tmp_path / "2", models=[files["m2"]], **common)
    both, bigwigs = run_predict(tmp_path / "both", models=[files["m1"], files["m2"]], **common)
    np.testing.assert_allclose(both["profiles"], (one["profiles"] + two["profiles"]) / 2, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(both["log_counts"], (one["log_counts"] + two["log_counts"]) / 2, rtol=1e-5)
    assert not np.allclose(one["log_counts"], two["log_counts"])
    with pyBigWig.open(str(bigwigs / "minus.bw")) as bw:
        got = np.array(bw.values("chrC", 700, 800))
    np.testing.assert_allclose(got, both["profiles"][3, 1] * np.exp(both["log_counts"][3]), rtol=1e-5)


def test_reverse_complement_average_is_strand_symmetric(files, tmp_path):
    # chrB is chrA reverse-complemented: the window centred on c of chrA is the reverse
    # complement of the window centred on N - c of chrB
    regions = tmp_path / "pair.bed"
    regions.write_text(f"chrA\t1000\t1001\nchrB\t{N_CHR - 1000}\t{N_CHR - 999}\n")
    common = {"models": [files["m1"]], "genome": files["genome"], "regions": regions}
    plain, _ = run_predict(tmp_path / "plain", **common)
    rc, _ = run_predict(tmp_path / "rc", reverse_complement_average=True, **common)
    assert rc["end"][0] == N_CHR - rc["start"][1]
    flipped = rc["profiles"][1][::-1, ::-1]  # reverse positions, swap plus and minus
    np.testing.assert_allclose(rc["profiles"][0], flipped, rtol=1e-4, atol=1e-8)
    assert rc["log_counts"][0] == pytest.approx(rc["log_counts"][1], rel=1e-5)
    assert not np.allclose(plain["profiles"][0], plain["profiles"][1][::-1, ::-1], rtol=1e-3)
    # and the average is the mean of the forward prediction and the flipped reverse one
    np.testing.assert_allclose(rc["profiles"][0], (plain["profiles"][0] + plain["profiles"][1][::-1, ::-1]) / 2, rtol=1e-4, atol=1e-8)


def test_models_that_disagree_are_refused(files, tmp_path):
    common = {"genome": files["genome"], "regions": files["regions"]}
    with pytest.raises(InputError, match=r"cannot be averaged: .*m1 predicts 2 track\(s\) of 100 bp.*short predicts 2 track\(s\) of 80 bp"):
        run_predict(tmp_path, models=[files["m1"], files["short"]], **common)
    with pytest.raises(InputError, match=r"cannot be averaged: .*one predicts 1 track\(s\)"):
        run_predict(tmp_path, models=[files["m1"], files["one"]], **common)
    with pytest.raises(InputError, match="track_names has 1 name"):
        run_predict(tmp_path, models=[files["m1"]], track_names=["x"], **common)
    with pytest.raises(InputError, match="submodel 'bias' needs a ChromBPNet"):
        run_predict(tmp_path, models=[files["m1"]], submodel="bias", **common)
    with pytest.raises(InputError, match="shorter than the model's minimum input"):
        run_predict(tmp_path, models=[files["m1"]], input_length=150, **common)


def test_single_track_model_writes_one_signal_bigwig(files, tmp_path):
    arrays, bigwigs = run_predict(tmp_path, models=[files["one"]], genome=files["genome"], regions=files["regions"], track_names=["atac"])
    assert arrays["profiles"].shape == (4, 1, OUT) and arrays["track_names"].tolist() == ["atac"]
    assert sorted(p.name for p in bigwigs.iterdir()) == ["atac.bw", "tracks.json"]


def test_models_with_controls_need_them_and_use_them(files, tmp_path):
    torch.manual_seed(7)
    model = BPNet(n_filters=8, n_layers=2, n_outputs=2, output_length=OUT, n_control_tracks=1)
    with torch.no_grad():
        model.ctl_profile.weight.fill_(0.5)
    path = save_model(model, tmp_path / "ctl_model")
    common = {"models": [path], "genome": files["genome"], "regions": files["regions"]}
    with pytest.raises(InputError, match=r"takes 1 control track\(s\) .* control_tracks is empty"):
        run_predict(tmp_path / "none", **common)
    rng = np.random.default_rng(0)
    tracks = {c: rng.poisson(0.5, len(s)).astype(np.float32) for c, s in files["chroms"].items()}
    control = tmp_path / "control.bw"
    write_bigwig(control, {c: len(s) for c, s in files["chroms"].items()}, tracks)
    arrays, _ = run_predict(tmp_path / "ctl", control_tracks=[control], **common)
    ctl = tracks["chrC"][750 - OUT // 2 : 750 + OUT // 2][None]
    _, probs, log_count = expected_counts(model, window(files["chroms"], "chrC", 750), ctl)
    np.testing.assert_allclose(arrays["profiles"][3], probs, rtol=1e-5, atol=1e-8)
    assert arrays["log_counts"][3] == pytest.approx(log_count, rel=1e-5)
    with pytest.raises(InputError, match=r"control_tracks hold 1 track\(s\) but .* takes 0"):
        run_predict(tmp_path / "extra", models=[files["m1"]], genome=files["genome"], regions=files["regions"], control_tracks=[control])


def test_chrombpnet_submodels(files, tmp_path):
    from bpnet.core.modelfile import load_model

    torch.manual_seed(8)
    bias = BPNet(n_filters=4, n_layers=1, n_outputs=1, output_length=OUT)
    accessibility = BPNet(n_filters=8, n_layers=2, n_outputs=1, output_length=OUT)
    path = save_model(ChromBPNet(bias, accessibility), tmp_path / "chrombpnet")
    common = {"models": [path], "genome": files["genome"], "regions": files["regions"]}
    whole, _ = run_predict(tmp_path / "whole", **common)
    acc, _ = run_predict(tmp_path / "acc", submodel="accessibility", **common)
    loaded = load_model(path)
    _, probs, log_count = expected_counts(loaded.accessibility, window(files["chroms"], "chrC", 750))
    np.testing.assert_allclose(acc["profiles"][3], probs, rtol=1e-5, atol=1e-8)
    assert acc["log_counts"][3] == pytest.approx(log_count, rel=1e-5)
    assert whole["log_counts"][3] > acc["log_counts"][3]  # logsumexp with the bias counts
