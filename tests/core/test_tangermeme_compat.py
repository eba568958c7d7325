"""tangermeme's predict, deep_lift_shap and design functions work on our models unchanged."""

from __future__ import annotations

import warnings

import pytest
import torch

pytest.importorskip("tangermeme")

from tangermeme.deep_lift_shap import deep_lift_shap  # noqa: E402
from tangermeme.design import greedy_substitution  # noqa: E402
from tangermeme.predict import predict  # noqa: E402

from bpnet.core import BPNet, ChromBPNet, ControlWrapper, CountWrapper, ProfileWrapper, build_model, deeplift_rules  # noqa: E402


def one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()


def sharpen(model: torch.nn.Module) -> torch.nn.Module:
    """Scale the heads so profiles are peaked and counts vary, as in a trained model."""
    with torch.no_grad():
        for name, module in model.named_modules():
            if name.split(".")[-1] in ("fconv", "linear"):
                module.weight.mul_(20.0)
    return model


def bpnet(n_ctl: int = 0, **kw) -> BPNet:
    torch.manual_seed(0)
    return sharpen(BPNet(n_filters=8, n_layers=2, n_outputs=2, n_control_tracks=n_ctl, output_length=100, **kw)).eval()


def chrombpnet() -> ChromBPNet:
    torch.manual_seed(1)
    bias = BPNet(n_filters=8, n_layers=2, n_outputs=1, output_length=120)
    accessibility = BPNet(n_filters=8, n_layers=2, n_outputs=1, output_length=100)
    return sharpen(ChromBPNet(bias, accessibility)).eval()


def bottleneck() -> torch.nn.Module:
    pytest.importorskip("bpnet_arch_bottleneck")
    torch.manual_seed(2)
    model = build_model("bpnet-bottleneck", n_filters=8, bottleneck_filters=4, n_layers=2, output_length=100)
    return sharpen(model).eval()


MODELS = {"bpnet": bpnet, "bpnet-controls": lambda: bpnet(2), "chrombpnet": chrombpnet, "bottleneck": bottleneck}


def inputs(model, n: int = 3, seed: int = 0):
    L = model.minimum_input_length()
    X = one_hot(n, L, seed)
    args = (torch.rand(n, model.n_control_tracks, L) * 2,) if model.n_control_tracks else None
    return X, args


@pytest.mark.parametrize("name", MODELS)
def test_predict(name):
    model = MODELS[name]()
    X, args = inputs(model, n=5)
    profile, counts = predict(model, X, args=args, batch_size=2, device="cpu")
    with torch.no_grad():
        ref_profile, ref_counts = model(X, *(args or ()))
    torch.testing.assert_close(profile, ref_profile)
    torch.testing.assert_close(counts, ref_counts)


def attribute(wrapper, X, args, rules=True):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = deep_lift_shap(
            wrapper, X, args=args, n_shuffles=3, batch_size=8, random_state=0, device="cpu",
            hypothetical=True, return_references=True, additional_nonlinear_ops=deeplift_rules() if rules else None,
        )
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    return result, messages


def convergence_deltas(wrapper, X, args, result) -> torch.Tensor:
    """|f(X) - f(ref) - sum((X - ref) * hypothetical multipliers)| over every pair."""
    attributions, references = result.attributions, result.references
    n, k = references.shape[:2]
    # hypothetical attributions averaged over references; recompute f on each pair instead
    with torch.no_grad():
        f_x = wrapper(X, *(args or ()))[:, 0]
        refs = references.reshape(n * k, *X.shape[1:])
        ref_args = tuple(a.repeat_interleave(k, 0) for a in args) if args else ()
        f_ref = wrapper(refs, *ref_args)[:, 0].reshape(n, k).mean(dim=1)
    # with hypothetical=True, sum over positions of (attribution * X) is the mean over
    # references of sum((X - ref) * multipliers) (tangermeme's hypothetical projection)
    explained = (attributions * X).sum(dim=(1, 2))
    return (f_x - f_ref - explained).abs()


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("Wrapper", [CountWrapper, ProfileWrapper])
def test_deep_lift_shap(name, Wrapper):
    model = MODELS[name]()
    X, args = inputs(model)
    wrapper = Wrapper(model)
    result, messages = attribute(wrapper, X, args)
    assert result.attributions.shape == X.shape
    assert torch.isfinite(result.attributions).all()
    assert result.attributions.abs().sum() > 0
    assert not messages, messages  # no convergence warnings: every non-linearity has a rule
    deltas = convergence_deltas(wrapper, X, args, result)
    assert deltas.max() < 1e-3, deltas


def test_profile_target_needs_the_extra_rule_to_add_up():
    model = MODELS["bpnet"]()
    X, args = inputs(model)
    wrapper = ProfileWrapper(model)
    with_rule = convergence_deltas(wrapper, X, args, attribute(wrapper, X, args)[0])
    without = convergence_deltas(wrapper, X, args, attribute(wrapper, X, args, rules=False)[0])
    assert with_rule.max() < 1e-3 < without.max()


def test_deep_lift_shap_with_zero_controls():
    model = bpnet(2)
    X, _ = inputs(model)
    result, messages = attribute(CountWrapper(ControlWrapper(model)), X, None)
    assert torch.isfinite(result.attributions).all() and not messages


def test_deep_lift_shap_per_track_counts():
    model = bpnet(n_count_outputs=2)
    X, _ = inputs(model)
    wrapper = CountWrapper(model)
    with torch.no_grad():
        torch.testing.assert_close(wrapper(X), torch.logsumexp(model(X)[1], dim=-1, keepdim=True))
    result, messages = attribute(wrapper, X, None)
    assert not messages, messages
    assert convergence_deltas(wrapper, X, None, result).max() < 1e-3


def test_profile_target_is_the_official_one():
    model = bpnet()
    X, _ = inputs(model)
    with torch.no_grad():
        logits = model(X)[0].reshape(len(X), -1)
        expected = (torch.softmax(logits, -1) * (logits - logits.mean(-1, keepdim=True))).sum(-1, keepdim=True)
        torch.testing.assert_close(ProfileWrapper(model)(X), expected)


@pytest.mark.parametrize("name", MODELS)
def test_greedy_substitution(name):
    model = MODELS[name]()
    X, _ = inputs(model, n=1)
    wrapper = CountWrapper(ControlWrapper(model))  # design varies X alone: zero controls
    mask = torch.zeros(X.shape[-1], dtype=torch.bool)
    centre = X.shape[-1] // 2
    mask[centre - 8 : centre + 8] = True
    designed = greedy_substitution(
        wrapper, X, motifs=["GATA", "CACGTG"], input_mask=mask, max_iter=2, batch_size=16, device="cpu"
    )
    assert designed.shape == X.shape
    assert torch.equal(designed.sum(dim=1), X.sum(dim=1))  # still one-hot
    with torch.no_grad():
        # greedy_substitution maximises the output when no target y is given
        assert wrapper(designed) >= wrapper(X)
