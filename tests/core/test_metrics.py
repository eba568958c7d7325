"""Profile and count metrics against scipy, and their behaviour on empty or perfect profiles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import multinomial, pearsonr, rankdata, spearmanr

from bpnet.core.metrics import average_ranks, count_metrics, gaussian_smooth, profile_metrics, summarize


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    """6 loci x 2 tracks x 30 positions: sparse integer counts (many ties), random logits."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 2, 30))
    counts = rng.poisson(0.7, size=(6, 2, 30)).astype(np.float64)
    counts[:, :, 0] += 1  # every track has counts
    return logits, counts


def test_mnll_is_the_multinomial_negative_log_likelihood_summed_over_tracks(data):
    logits, counts = data
    got = profile_metrics(logits, counts)["mnll"]
    p = softmax(logits)
    expected = [
        -sum(multinomial.logpmf(counts[i, t], n=counts[i, t].sum(), p=p[i, t]) for t in range(2)) for i in range(6)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_jsd_is_the_squared_scipy_jensen_shannon_distance_averaged_over_tracks(data):
    logits, counts = data
    got = profile_metrics(logits, counts)["jsd"]
    p, q = softmax(logits), counts / counts.sum(-1, keepdims=True)
    expected = [np.mean([jensenshannon(p[i, t], q[i, t]) ** 2 for t in range(2)]) for i in range(6)]
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_profile_correlations_match_scipy_with_tied_counts(data):
    logits, counts = data
    got = profile_metrics(logits, counts)
    p = softmax(logits)
    pearson = [np.mean([pearsonr(p[i, t], counts[i, t])[0] for t in range(2)]) for i in range(6)]
    spearman = [np.mean([spearmanr(p[i, t], counts[i, t])[0] for t in range(2)]) for i in range(6)]
    np.testing.assert_allclose(got["pearson"], pearson, rtol=1e-9)
    np.testing.assert_allclose(got["spearman"], spearman, rtol=1e-9)


def test_average_ranks_match_scipy_rankdata_on_ties():
    x = torch.tensor([[3.0, 1.0, 3.0, 2.0, 1.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.0, 5.0]])
    np.testing.assert_array_equal(average_ranks(x).numpy(), rankdata(x.numpy(), axis=-1))


def test_zero_count_tracks_give_nan_and_loci_average_the_defined_tracks(data):
    logits, counts = data
    counts = counts.copy()
    counts[1] = 0  # a locus without counts
    counts[2, 1] = 0  # one empty track
    got = profile_metrics(logits, counts)
    for key in ("jsd", "pearson", "spearman"):
        assert math.isnan(got[key][1])
        assert np.isfinite(np.delete(got[key], 1)).all()
    only = profile_metrics(logits[2:3, :1], counts[2:3, :1])
    for key in ("jsd", "pearson", "spearman"):
        assert got[key][2] == pytest.approx(only[key][0])
    assert got["mnll"][1] == 0 and np.isfinite(got["mnll"]).all()


def test_perfect_prediction_gives_zero_jsd_and_correlation_one(data):
    _, counts = data
    got = profile_metrics(np.log(counts + 1e-12), counts)
    np.testing.assert_allclose(got["jsd"], 0, atol=1e-9)
    np.testing.assert_allclose(got["pearson"], 1)
    np.testing.assert_allclose(got["spearman"], 1)


def test_tensors_and_arrays_give_the_same_values(data):
    logits, counts = data
    a = profile_metrics(logits, counts, smooth_true=True)
    b = profile_metrics(torch.tensor(logits, dtype=torch.float32), torch.tensor(counts, dtype=torch.float32), smooth_true=True)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_smoothing_uses_a_normalised_gaussian_with_same_padding():
    x = torch.zeros(1, 1, 201, dtype=torch.float64)
    x[0, 0, 100] = 1.0
    smoothed = gaussian_smooth(x, 7.0, 81)[0, 0].numpy()
    offsets = np.arange(-40, 41)
    kernel = np.exp(-0.5 * (offsets / 7.0) ** 2)
    np.testing.assert_allclose(smoothed[60:141], kernel / kernel.sum())
    assert smoothed.shape == (201,) and smoothed[:60].sum() == 0
    with pytest.raises(ValueError, match="odd"):
        gaussian_smooth(x, 7.0, 80)


def test_smooth_true_changes_jsd_but_not_mnll(data):
    logits, counts = data
    raw, smooth = profile_metrics(logits, counts), profile_metrics(logits, counts, smooth_true=True)
    np.testing.assert_array_equal(raw["mnll"], smooth["mnll"])
    assert not np.allclose(raw["jsd"], smooth["jsd"])


def test_count_metrics_match_scipy_on_log1p_counts():
    rng = np.random.default_rng(1)
    totals = rng.poisson(20, 50).astype(float)
    totals[:5] = totals[5]  # ties
    pred = np.log1p(totals) + rng.normal(scale=0.5, size=50)
    got = count_metrics(pred, totals)
    assert got["pearson"] == pytest.approx(pearsonr(pred, np.log1p(totals))[0], rel=1e-10)
    assert got["spearman"] == pytest.approx(spearmanr(pred, np.log1p(totals))[0], rel=1e-10)
    assert got["mse"] == pytest.approx(np.mean((pred - np.log1p(totals)) ** 2))
    two_outputs = count_metrics(np.stack([pred - np.log(2), pred - np.log(2)], axis=1), totals)
    assert two_outputs["pearson"] == pytest.approx(got["pearson"])


def test_count_metrics_are_nan_for_too_few_loci_or_constant_values():
    assert all(math.isnan(v) for v in count_metrics(np.zeros(0), np.zeros(0)).values())
    one = count_metrics(np.array([1.0]), np.array([3.0]))
    assert math.isnan(one["pearson"]) and math.isnan(one["spearman"]) and one["mse"] == pytest.approx((1 - np.log(4)) ** 2)
    constant = count_metrics(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0]))
    assert math.isnan(constant["pearson"]) and math.isnan(constant["spearman"])


def test_summarize_takes_nan_means_and_counts_loci():
    summary = summarize({"jsd": np.array([0.1, np.nan, 0.3]), "pearson": np.array([np.nan, np.nan, np.nan])})
    assert summary["jsd"] == pytest.approx(0.2)
    assert math.isnan(summary["pearson"]) and summary["n"] == 3


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="shape"):
        profile_metrics(np.zeros((2, 1, 5)), np.zeros((2, 1, 6)))


def test_chunked_computation_equals_one_pass(data, monkeypatch):
    logits, counts = data
    whole = profile_metrics(logits, counts)
    monkeypatch.setattr("bpnet.core.metrics.CHUNK_VALUES", 100)  # 1 locus (2 x 30 values) per chunk
    for key, values in profile_metrics(logits, counts).items():
        np.testing.assert_allclose(values, whole[key], rtol=1e-12)


def test_profile_jsd_alone_equals_the_full_metrics_jsd():
    from bpnet.core.metrics import profile_jsd, profile_metrics

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 2, 50, generator=generator)
    counts = torch.poisson(torch.full((5, 2, 50), 0.5), generator=generator)
    counts[0] = 0
    full = profile_metrics(logits, counts)["jsd"]
    alone = profile_jsd(logits, counts).numpy()
    assert np.isnan(alone[0]) and np.allclose(alone[1:], full[1:])
