"""The evaluate stage: metrics.json and predictions.npz of BPNet and ChromBPNet models on held-out loci."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest
import torch

from bpnet.core.architectures.bpnet import BPNet
from bpnet.core.architectures.chrombpnet import ChromBPNet
from bpnet.core.errors import InputError
from bpnet.core.formats.metrics import read_metrics
from bpnet.core.metrics import count_metrics, profile_metrics, summarize
from bpnet.core.modelfile import save_model
from bpnet.core.stages.base import StageContext
from bpnet.data.errors import DataError
from bpnet.data.loci import LociSet
from bpnet.data.motifs import Motif, write_meme
from bpnet.train import qc
from bpnet.train.evaluation import METRIC_KEYS, evaluate, motif_match_track
from bpnet.train.stages.evaluate import Evaluate

torch.set_num_threads(1)

LIN, LOUT, J = 160, 40, 4
MOTIF = Motif("tn5", np.eye(4)[[0, 2, 3, 3, 1, 0]] * 0.97 + 0.0075, alt_name="Tn5-like")  # AGTTCA


def make_loci(n_signals: int = 2, n_controls: int = 0, splits=("train", "test", "test", "valid"), seed: int = 0) -> LociSet:
    """Peaks (even rows) and negatives (odd rows) cycling through ``splits``; one test negative has no counts."""
    rng = np.random.default_rng(seed)
    n = 4 * len(splits)
    is_peak = np.arange(n) % 2 == 0
    signals = rng.poisson(np.where(is_peak, 3.0, 0.3)[:, None, None], (n, n_signals, LOUT + 2 * J)).astype(np.float32)
    split = np.array([splits[(i // 2) % len(splits)] for i in range(n)])
    empty = np.flatnonzero((split == "test") & ~is_peak)
    if len(empty):
        signals[empty[0]] = 0
    codes = rng.integers(0, 4, (n, LIN + 2 * J), dtype=np.uint8)
    for i in range(n):  # a bias-motif site (AGTTCA) in every output window
        start = J + LIN // 2 - LOUT // 2 + rng.integers(0, LOUT - 6)
        codes[i, start : start + 6] = [0, 2, 3, 3, 1, 0]
    return LociSet(
        chrom=np.array(["chr1", "chr2"] * (n // 2)), centre=np.arange(n) * 1000 + 500, is_peak=is_peak, split=split,
        source_row=np.arange(n), codes=codes, signals=signals,
        controls=rng.poisson(1.0, (n, n_controls, LOUT + 2 * J)).astype(np.float32),
        input_length=LIN, output_length=LOUT, control_length=LOUT, max_jitter=J,
        signal_names=[f"s{i}.bw" for i in range(n_signals)], signal_strands=["+", "-"][:n_signals] if n_signals == 2 else ["."],
        signal_pairs=[(0, 1)] if n_signals == 2 else [], control_names=[f"c{i}.bw" for i in range(n_controls)],
        control_strands=["."] * n_controls,
    )


def tiny_bpnet(n_outputs: int = 2, n_control_tracks: int = 0, seed: int = 0) -> BPNet:
    torch.manual_seed(seed)
    return BPNet(n_filters=8, n_layers=2, n_outputs=n_outputs, n_control_tracks=n_control_tracks, output_length=LOUT)


def run_stage(tmp_path, model: torch.nn.Module, loci: LociSet, **options) -> tuple[dict, dict]:
    save_model(model, tmp_path / "model")
    loci.save(tmp_path / "loci.h5")
    params = Evaluate.Params(
        model=tmp_path / "model", loci=tmp_path / "loci.h5", device="cpu", batch_size=3,
        metrics=tmp_path / "metrics.json", predictions=tmp_path / "predictions.npz", **options,
    )
    Evaluate().run(params, StageContext("evaluate", tmp_path, tmp_path / "resume", logging.getLogger("test")))
    with np.load(tmp_path / "predictions.npz") as arrays:
        return json.loads((tmp_path / "metrics.json").read_text()), dict(arrays)


def test_bpnet_metrics_and_predictions_follow_the_shared_format(tmp_path):
    loci = make_loci(n_controls=2)
    metrics, arrays = run_stage(tmp_path, tiny_bpnet(n_control_tracks=2), loci, n_examples=3)

    assert metrics["architecture"] == "bpnet" and metrics["split"] == "test" and metrics["chrombpnet"] is None
    peaks, negatives = loci.select("test", True), loci.select("test", False)
    for block, n in ((metrics["peaks"], len(peaks)), (metrics["negatives"], len(negatives))):
        assert list(block) == list(METRIC_KEYS) and block["n"] == n
        assert all(isinstance(block[key], float) and math.isfinite(block[key]) for key in METRIC_KEYS[1:])

    rows = np.concatenate([peaks, negatives])
    assert np.array_equal(arrays["loci_index"], rows)
    assert np.array_equal(arrays["chrom"], loci.chrom[rows]) and arrays["chrom"].dtype.kind == "U"
    assert np.array_equal(arrays["centre"], loci.centre[rows]) and np.array_equal(arrays["is_peak"], loci.is_peak[rows])
    np.testing.assert_allclose(arrays["obs_log_counts"], np.log1p(loci.total_counts(rows)), rtol=1e-6)
    assert arrays["pred_log_counts"].shape == (len(rows),) and arrays["pred_log_counts"].dtype == np.float32
    assert list(arrays["signal_names"]) == ["s0.bw", "s1.bw"]

    best = np.argsort(-loci.total_counts(peaks), kind="stable")[:3]
    assert np.array_equal(arrays["example_index"], best)
    window = slice(J, J + LOUT)
    np.testing.assert_array_equal(arrays["example_observed"], loci.signals[peaks[best]][:, :, window])
    assert arrays["example_predicted"].shape == (3, 2, LOUT)
    np.testing.assert_allclose(arrays["example_predicted"].sum(axis=(1, 2)), np.exp(arrays["pred_log_counts"][best]), rtol=1e-4)


def test_peak_metrics_equal_the_metrics_of_the_models_own_predictions(tmp_path):
    loci, model = make_loci(), tiny_bpnet()
    metrics, arrays = run_stage(tmp_path, model, loci, smooth_true=True)
    peaks = loci.select("test", True)
    X = torch.from_numpy(np.eye(4, dtype=np.float32)[loci.codes[peaks, J : J + LIN]].transpose(0, 2, 1).copy())
    y = loci.signals[peaks][:, :, J : J + LOUT]
    with torch.no_grad():
        logits, log_counts = model.eval()(X)
    expected = summarize(profile_metrics(logits, y, smooth_true=True))
    for key in ("mnll", "jsd", "pearson", "spearman"):
        assert metrics["peaks"][f"profile_{key}"] == pytest.approx(expected[key], rel=1e-5)
    assert metrics["peaks"]["count_mse"] == pytest.approx(count_metrics(log_counts[:, 0], y.sum(axis=(1, 2)))["mse"], rel=1e-5)
    np.testing.assert_allclose(arrays["pred_log_counts"][: len(peaks)], log_counts[:, 0].numpy(), rtol=1e-5)


def test_rc_averaged_metrics_score_the_mean_of_both_strands_predictions_turned_back(tmp_path):
    loci, model = make_loci(n_controls=2), tiny_bpnet(n_control_tracks=2)
    control_pairs = [(0, 1)]
    loci.control_pairs = control_pairs
    metrics, _ = run_stage(tmp_path, model, loci)
    peaks = loci.select("test", True)
    one_hot = np.eye(4, dtype=np.float32)[loci.codes[peaks, J : J + LIN]].transpose(0, 2, 1)
    X = torch.from_numpy(one_hot.copy())
    ctl = torch.from_numpy(np.ascontiguousarray(loci.controls[peaks][:, :, J : J + LOUT]))
    y = loci.signals[peaks][:, :, J : J + LOUT]
    with torch.no_grad():  # written out here: reverse complement = reversed bases and channels, strands swapped
        logits, log_counts = model.eval()(X, ctl)
        rc_logits, rc_counts = model(X.flip(1, 2), ctl.flip(2)[:, [1, 0]])
    forward = torch.softmax(logits.reshape(len(peaks), -1), -1).reshape(logits.shape)
    backward = torch.softmax(rc_logits.reshape(len(peaks), -1), -1).reshape(logits.shape).flip(2)[:, [1, 0]]
    mean = (forward + backward) / 2
    expected = summarize(profile_metrics(mean.log(), y))
    rc = metrics["rc_averaged"]["peaks"]
    for key in ("mnll", "jsd", "pearson", "spearman"):
        assert rc[f"profile_{key}"] == pytest.approx(expected[key], rel=1e-5), key
    counts = count_metrics((log_counts[:, 0] + rc_counts[:, 0]) / 2, y.sum(axis=(1, 2)))
    assert rc["count_mse"] == pytest.approx(counts["mse"], rel=1e-5)
    assert rc["count_pearson"] == pytest.approx(counts["pearson"], rel=1e-5)
    assert rc["profile_jsd"] != pytest.approx(metrics["peaks"]["profile_jsd"], rel=1e-6)  # an untrained model is not symmetric
    assert metrics["rc_averaged"]["negatives"]["n"] == metrics["negatives"]["n"]


def test_rc_averaging_off_leaves_every_other_metric_and_prediction_as_it_was(tmp_path):
    loci, model = make_loci(), tiny_bpnet()
    with_rc, arrays = run_stage(tmp_path / "a", model, loci)
    without, plain_arrays = run_stage(tmp_path / "b", model, loci, reverse_complement_average=False)
    assert without["rc_averaged"] is None and with_rc["rc_averaged"]["peaks"]["n"] == with_rc["peaks"]["n"]
    assert {k: v for k, v in with_rc.items() if k not in ("rc_averaged", "model")} == {
        k: v for k, v in without.items() if k not in ("rc_averaged", "model")
    }
    for key, values in arrays.items():
        np.testing.assert_array_equal(values, plain_arrays[key], err_msg=key)


def test_a_split_without_negatives_gives_null_negatives(tmp_path):
    loci = make_loci()
    loci = loci.subset(loci.is_peak | (loci.split != "test"))
    metrics, arrays = run_stage(tmp_path, tiny_bpnet(), loci)
    assert metrics["negatives"] is None and metrics["peaks"]["n"] == len(loci.select("test"))
    assert arrays["is_peak"].all()


def test_a_split_without_loci_is_an_error_listing_the_splits(tmp_path):
    with pytest.raises(DataError, match=r"split 'fold9' has no loci.*train \(2 peaks, 2 negatives\).*test \(4 peaks, 4 negatives\)"):
        run_stage(tmp_path, tiny_bpnet(), make_loci(), split="fold9")


def test_a_model_for_other_tracks_is_refused_with_a_clear_error(tmp_path):
    with pytest.raises(InputError, match=r"predicts 1 track\(s\) but .* holds 2 signal track\(s\)"):
        run_stage(tmp_path, tiny_bpnet(n_outputs=1), make_loci())


def test_chrombpnet_adds_the_bias_model_the_official_qc_and_the_bias_motif_checks(tmp_path, capsys):
    write_meme(tmp_path / "bias.meme", [MOTIF, Motif("other", np.full((3, 4), 0.25))])
    model = ChromBPNet(tiny_bpnet(n_outputs=1, seed=1), tiny_bpnet(n_outputs=1, seed=2))
    loci = make_loci(n_signals=1)
    metrics, arrays = run_stage(tmp_path, model, loci, bias_motifs=tmp_path / "bias.meme", n_examples=2)

    assert metrics["architecture"] == "chrombpnet"
    block = metrics["chrombpnet"]
    bias, bias_negatives = block["bias_on_peaks"], block["bias_on_negatives"]
    assert list(bias) == list(bias_negatives) == list(METRIC_KEYS) and bias["n"] == metrics["peaks"]["n"]
    assert bias_negatives["n"] == metrics["negatives"]["n"]
    assert bias["profile_jsd"] != metrics["peaks"]["profile_jsd"]
    motif = block["bias_motif"]
    assert motif["motif"] == "Tn5-like"
    for name in ("bias", "accessibility", "combined"):
        assert -1 <= motif[f"{name}_profile_corr"] <= 1
    n = len(arrays["chrom"])
    assert arrays["bias_pred_log_counts"].shape == (n,) and not np.array_equal(arrays["bias_pred_log_counts"], arrays["pred_log_counts"])
    assert arrays["example_bias"].shape == arrays["example_predicted"].shape == (2, 1, LOUT)

    # the official QC rules, judged on the numbers written next to them
    expected = qc.bias_verdicts(bias["count_pearson"], bias_negatives["count_pearson"])
    expected.append(qc.chrombpnet_verdict(metrics["peaks"]["count_pearson"]))
    assert block["qc"] == [verdict.record() for verdict in expected]
    assert {r["rule"] for r in block["qc"]} >= {"bias count r on non-peaks", "ChromBPNet count r on peaks"}
    # every motif of the file goes through the footprint test, on every test negative
    footprints = block["footprints"]
    assert [m["motif"] for m in footprints["motifs"]] == ["Tn5-like", "other"]
    assert [m["consensus"] for m in footprints["motifs"]] == ["AGTTCA", "AAA"]
    assert footprints["n_loci"] == len(loci.select("test", peaks=False)) and footprints["motifs_file"] == str(tmp_path / "bias.meme")
    assert footprints["verdict"]["level"] in ("pass", "fail") and len(footprints["without_motif"]) == LOUT
    assert all(len(m["with_motif"]) == LOUT and m["verdict"]["rule"] == "bias motif footprint (max)" for m in footprints["motifs"])
    printed = " ".join(capsys.readouterr().err.split())  # the terminal table wraps long cells
    assert "official ChromBPNet QC" in printed and "correct" in printed and "threshold" in printed
    assert "profile_median" in printed and "negatives" in printed


def test_chrombpnet_without_motifs_has_null_motif_checks_but_the_qc_verdicts(tmp_path):
    model = ChromBPNet(tiny_bpnet(n_outputs=1, seed=1), tiny_bpnet(n_outputs=1, seed=2))
    metrics, _ = run_stage(tmp_path, model, make_loci(n_signals=1), n_examples=0)
    block = metrics["chrombpnet"]
    assert block["bias_motif"] is None and block["footprints"] is None and block["bias_on_peaks"]["n"] == 4
    assert len(block["qc"]) == 5 and all(r["level"] in ("pass", "advice", "fail") for r in block["qc"])


def test_bias_motifs_tn5_runs_the_footprint_test_with_the_built_in_official_motifs(tmp_path):
    from bpnet.data.motifs import builtin_motifs_file

    model = ChromBPNet(tiny_bpnet(n_outputs=1, seed=1), tiny_bpnet(n_outputs=1, seed=2))
    metrics, _ = run_stage(tmp_path, model, make_loci(n_signals=1), bias_motifs="tn5", footprint_loci=2, n_examples=0)
    footprints = metrics["chrombpnet"]["footprints"]
    assert footprints["motifs_file"] == str(builtin_motifs_file("tn5")) and footprints["n_loci"] == 2
    assert [(m["motif"], m["consensus"]) for m in footprints["motifs"]] == [
        ("tn5_1", "GCACAGTACAGAGCTG"), ("tn5_2", "GTGCACAGTTCTAGAGTGTGCAG"), ("tn5_3", "CCTCTACACTGTGCAGAA"),
        ("tn5_4", "GCACAGTTCTAGACTGTGCAG"), ("tn5_5", "CTGCACAGTGTAGAGTTGTGC"),
    ]
    assert metrics["chrombpnet"]["bias_motif"]["motif"] == "tn5_1"


def test_bias_motifs_names_a_built_in_set_in_a_spec_and_an_unknown_name_is_one_line(tmp_path):
    import yaml

    from bpnet.core.errors import SpecError
    from bpnet.core.plugin.registry import registry
    from bpnet.core.spec import load_pipeline
    from bpnet.data.motifs import builtin_motifs_file

    (tmp_path / "model").mkdir()
    (tmp_path / "loci.h5").write_bytes(b"")
    spec = tmp_path / "spec.yaml"
    for name in ("tn5", "dnase"):
        stage = {"stage": "evaluate", "params": {"model": "model", "loci": "loci.h5", "bias_motifs": name}}
        spec.write_text(yaml.safe_dump({"stages": {"evaluate": stage}}))
        params = load_pipeline(spec, registry()).stages["evaluate"].params
        assert params.bias_motifs == builtin_motifs_file(name)  # no file of that name is needed beside the spec
    spec.write_text(yaml.safe_dump({"stages": {"evaluate": {"stage": "evaluate", "params": {
        "model": "model", "loci": "loci.h5", "bias_motifs": "tn6"}}}}))
    with pytest.raises(SpecError) as caught:
        load_pipeline(spec, registry())
    message = str(caught.value)
    assert "bias_motifs" in message and "'tn6' is neither a built-in motif set (tn5, dnase) nor a MEME file path" in message
    assert "\n" not in message
    assert Evaluate.Params(model="m", loci="l", bias_motifs="my.meme").bias_motifs.name == "my.meme"  # a path stays a path


def test_the_official_median_jsd_and_normalised_jsd_are_scipys(tmp_path):
    from scipy.spatial.distance import jensenshannon
    from scipy.special import softmax

    loci, model = make_loci(n_signals=1), tiny_bpnet(n_outputs=1)
    metrics, _ = run_stage(tmp_path, model, loci)
    peaks = loci.select("test", True)
    X = torch.from_numpy(np.eye(4, dtype=np.float32)[loci.codes[peaks, J : J + LIN]].transpose(0, 2, 1).copy())
    with torch.no_grad():
        logits = model.eval()(X)[0][:, 0].double().numpy()
    distance, normalised = [], []
    for counts, row in zip(loci.signals[peaks][:, 0, J : J + LOUT].astype(np.float64), logits):
        d = jensenshannon(counts / (0.001 + counts.sum()), softmax(row))  # the official per-region numbers
        flat = jensenshannon(counts / counts.sum(), np.full(LOUT, 1 / LOUT))
        distance.append(d)
        normalised.append(min(max((d - flat) / (0 - flat), 0), 1))
    assert metrics["peaks"]["profile_median_jsd"] == pytest.approx(np.nanmedian(distance), rel=1e-6)
    assert metrics["peaks"]["profile_median_norm_jsd"] == pytest.approx(np.nanmedian(normalised), rel=1e-6)
    # the official reports the distance: the square root of the divergence that profile_jsd averages
    assert metrics["peaks"]["profile_jsd"] == pytest.approx(np.mean(np.array(distance) ** 2), rel=1e-5)
    # a negative without reads has no JSD: left out of the median, not counted as 0
    negatives = metrics["negatives"]
    assert negatives["profile_median_jsd"] is not None and 0 <= negatives["profile_median_norm_jsd"] <= 1


def test_an_old_metrics_json_without_the_new_keys_is_still_read(tmp_path):
    old = {"model": "m", "architecture": "chrombpnet", "split": "test", "peaks": {"n": 3, "count_pearson": 0.6},
           "negatives": None, "chrombpnet": {"bias_on_peaks": {"n": 3}, "bias_motif": None}}
    (tmp_path / "metrics.json").write_text(json.dumps(old))
    assert read_metrics(tmp_path / "metrics.json") == old
    (tmp_path / "bad.json").write_text(json.dumps({**old, "chrombpnet": {"qc": {"rule": "x"}}}))
    with pytest.raises(InputError, match=r"bad.json: metrics.json 'chrombpnet.qc' should be a list or null, not dict"):
        read_metrics(tmp_path / "bad.json")


def test_the_motif_match_track_peaks_at_the_centre_of_a_site_on_either_strand():
    codes = np.full((2, LIN), 4, dtype=np.uint8)  # N everywhere: no match
    site = np.array([0, 2, 3, 3, 1, 0], dtype=np.uint8)  # AGTTCA
    offset = LIN // 2 - LOUT // 2
    codes[0, offset + 10 : offset + 16] = site
    codes[1, offset + 20 : offset + 26] = 3 - site[::-1]  # reverse complement
    track = motif_match_track(codes, MOTIF, LOUT)
    assert track.shape == (2, LOUT) and track.min() == 0
    assert track[0].argmax() == 10 + 3 and track[1].argmax() == 20 + 3
    assert track[0].max() == pytest.approx(track[1].max())


class MotifBias(torch.nn.Module):
    """A bias model whose profile logits are the motif's forward-strand log-odds at each output position."""

    def __init__(self):
        super().__init__()
        weight = torch.tensor(MOTIF.log_odds()[:, :4].T.copy(), dtype=torch.float32)[None]
        self.register_buffer("weight", weight)

    def forward(self, X):
        scores = torch.nn.functional.conv1d(X, self.weight)  # index i: the window starting at i
        start = LIN // 2 - LOUT // 2 - MOTIF.width // 2
        return 0.5 * scores[:, :, start : start + LOUT], torch.zeros(len(X), 1)


def test_a_bias_model_that_follows_the_motif_correlates_with_its_match_track():
    model = ChromBPNet(MotifBias(), tiny_bpnet(n_outputs=1, seed=2))
    result = evaluate(model, make_loci(n_signals=1), "test", motifs=[MOTIF], n_examples=0)
    check = result.metrics["chrombpnet"]["bias_motif"]
    assert check["bias_profile_corr"] > 0.8
    assert check["bias_profile_corr"] > check["accessibility_profile_corr"] + 0.5


def test_a_model_needing_longer_windows_is_refused_with_a_clear_error(tmp_path):
    model = BPNet(n_filters=8, n_layers=4, n_outputs=2, output_length=LOUT)  # needs more than LIN bp
    with pytest.raises(InputError, match=r"needs input windows of at least \d+ bp but .*loci.h5 holds 160 bp windows"):
        run_stage(tmp_path, model, make_loci())


def test_a_model_with_control_tracks_needs_loci_with_them(tmp_path):
    with pytest.raises(InputError, match=r"takes 2 control track\(s\) but .* holds 0"):
        run_stage(tmp_path, tiny_bpnet(n_control_tracks=2), make_loci())
