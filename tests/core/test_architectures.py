"""BPNet and ChromBPNet: shapes, equivalence with the 'same'-padding layout, errors."""

from __future__ import annotations

import pytest
import torch

from bpnet.core import BPNet, ChromBPNet


def one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()


def small(**kw) -> BPNet:
    torch.manual_seed(0)
    kw = {"n_filters": 8, "n_layers": 2, "output_length": 100, **kw}
    return BPNet(**kw)


# -- shapes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "n_ctl", "profile_shape", "count_shape"),
    [
        ({"n_filters": 64, "n_layers": 8, "n_outputs": 2}, 0, (2, 2, 1000), (2, 1)),
        ({"n_filters": 16, "n_layers": 8, "n_outputs": 1}, 0, (2, 1, 1000), (2, 1)),
        ({"n_filters": 16, "n_layers": 8, "n_outputs": 2, "n_count_outputs": 2}, 0, (2, 2, 1000), (2, 2)),
        ({"n_filters": 16, "n_layers": 8, "n_outputs": 2, "n_control_tracks": 2}, 2, (2, 2, 1000), (2, 1)),
    ],
)
def test_bpnet_shapes(config, n_ctl, profile_shape, count_shape):
    model = BPNet(**config)
    X = one_hot(2, 2114)
    X_ctl = torch.rand(2, n_ctl, 2114) if n_ctl else None
    with torch.no_grad():
        profile, counts = model(X, X_ctl)
    assert profile.shape == profile_shape
    assert counts.shape == count_shape
    assert model.output_length(2114) == 1000


def test_bpnet_64x8_needs_2114():
    model = BPNet(n_filters=64, n_layers=8)
    # 20 (first conv) + 2 * (2 + 4 + ... + 256) (dilated stack) + 74 (profile head) + 1000
    assert model.minimum_input_length() == 2114
    assert model.trunk_length(2114) == 1074


def test_longer_input_gives_same_output_window():
    model = small()
    L = model.minimum_input_length()
    X = one_hot(1, L + 40)
    with torch.no_grad():
        profile, _ = model(X)
        centre, _ = model(X[:, :, 20:-20])
    assert profile.shape[-1] == 100
    # the profile on the centre window only depends on the centred input
    torch.testing.assert_close(profile, centre)


def test_n_count_outputs_must_be_1_or_tracks():
    with pytest.raises(ValueError, match="n_count_outputs"):
        BPNet(n_outputs=2, n_count_outputs=3)


# -- equivalence with a 'same'-padding + crop reference --------------------------------


def same_padding_reference(model: BPNet, X: torch.Tensor, X_ctl: torch.Tensor | None = None):
    """BPNet as bpnet-lite writes it: 'same' convolutions over the whole input, then crop."""
    c = model.config
    F = torch.nn.functional
    L = X.shape[-1]
    h = F.relu(F.conv1d(X, model.iconv.weight, model.iconv.bias, padding=c.conv1_kernel_size // 2))
    for i, conv in enumerate(model.rconvs, start=1):
        h = h + F.relu(F.conv1d(h, conv.weight, conv.bias, padding=2**i, dilation=2**i))
    trim = (L - c.output_length) // 2
    half = c.profile_kernel_size // 2
    profile = F.conv1d(h, model.fconv.weight, model.fconv.bias, padding=half)[:, :, trim : L - trim]
    pooled = h[:, :, trim - half : L - trim + half].mean(dim=-1)
    if X_ctl is not None:
        ctl = X_ctl[:, :, trim : L - trim]
        profile = profile + F.conv1d(ctl, model.ctl_profile.weight)
        pooled = torch.cat([pooled, torch.log1p(ctl.sum(dim=(1, 2))).unsqueeze(-1)], dim=-1)
    counts = F.linear(pooled, model.linear.weight, model.linear.bias)
    return profile, counts


@pytest.mark.parametrize("n_ctl", [0, 2])
def test_valid_convolutions_equal_same_padding_and_crop(n_ctl):
    torch.manual_seed(1)
    model = BPNet(n_filters=16, n_layers=8, n_outputs=2, n_control_tracks=n_ctl).eval()
    with torch.no_grad():  # non-trivial biases, so padding mistakes would show
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    X = one_hot(2, 2114, seed=3)
    X_ctl = torch.rand(2, n_ctl, 2114) * 3 if n_ctl else None
    with torch.no_grad():
        profile, counts = model(X, X_ctl)
        ref_profile, ref_counts = same_padding_reference(model, X, X_ctl)
    # the count head pools the whole valid trunk: the 1074-bp window of the reference
    assert model.trunk_length(2114) == 2114 - 2 * 520
    assert (profile - ref_profile).abs().max() < 1e-4
    assert (counts - ref_counts).abs().max() < 1e-4


# -- errors ----------------------------------------------------------------------------


def test_too_short_input_names_the_minimum():
    model = small()
    n = model.minimum_input_length()
    with pytest.raises(ValueError, match=rf"at least {n} bp.*got {n - 1}"):
        model(one_hot(1, n - 1))


def test_missing_controls_are_an_error():
    model = small(n_control_tracks=2)
    with pytest.raises(ValueError, match="expects X_ctl.*ControlWrapper"):
        model(one_hot(1, model.minimum_input_length()))


def test_wrong_control_shape_is_an_error():
    model = small(n_control_tracks=2)
    L = model.minimum_input_length()
    with pytest.raises(ValueError, match=r"got \(1, 3, "):
        model(one_hot(1, L), torch.zeros(1, 3, L))
    with pytest.raises(ValueError, match=r"L >= 100"):
        model(one_hot(1, L), torch.zeros(1, 2, 50))


def test_superfluous_controls_are_an_error():
    model = small()
    L = model.minimum_input_length()
    with pytest.raises(ValueError, match="no control tracks"):
        model(one_hot(1, L), torch.zeros(1, 2, L))


# -- ChromBPNet --------------------------------------------------------------------------


def chrombpnet() -> ChromBPNet:
    torch.manual_seed(2)
    bias = BPNet(n_filters=8, n_layers=2, n_outputs=1, output_length=140)
    accessibility = BPNet(n_filters=8, n_layers=3, n_outputs=1, output_length=100)
    return ChromBPNet(bias, accessibility).eval()


def test_chrombpnet_identities():
    model = chrombpnet()
    L = model.minimum_input_length()
    X = one_hot(3, L)
    with torch.no_grad():
        logits, counts = model(X)
        acc_logits, acc_counts = model.accessibility(X)
        bias_logits, bias_counts = model.bias(X)
    assert logits.shape == (3, 1, 100) and counts.shape == (3, 1)
    torch.testing.assert_close(logits, acc_logits + bias_logits[:, :, 20:120])
    expected = torch.logsumexp(torch.cat([acc_counts, bias_counts], dim=-1), dim=-1, keepdim=True)
    torch.testing.assert_close(counts, expected)


def test_chrombpnet_counts_are_stable_for_large_values():
    model = chrombpnet()
    with torch.no_grad():
        model.accessibility.linear.bias.fill_(200.0)
        model.bias.linear.bias.fill_(-200.0)
        _, counts = model(one_hot(1, model.minimum_input_length()))
    assert torch.isfinite(counts).all()


def test_chrombpnet_bias_is_frozen():
    model = chrombpnet()
    assert all(not p.requires_grad for p in model.bias.parameters())
    assert all(p.requires_grad for p in model.accessibility.parameters())
    logits, counts = model(one_hot(2, model.minimum_input_length()))
    (logits.sum() + counts.sum()).backward()
    assert all(p.grad is None for p in model.bias.parameters())


def test_chrombpnet_refuses_controls():
    model = chrombpnet()
    L = model.minimum_input_length()
    with pytest.raises(ValueError, match="no control tracks"):
        model(one_hot(1, L), torch.zeros(1, 1, L))


# -- every non-linearity is its own module, used once --------------------------------------


class CountReluCalls(torch.overrides.TorchFunctionMode):
    """Counts every relu call, functional or through a module."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (torch.relu, torch.relu_, torch.nn.functional.relu, torch.nn.functional.relu_):
            self.calls += 1
        return func(*args, **(kwargs or {}))


def relu_bookkeeping(model: torch.nn.Module, *inputs):
    relus = [m for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    calls: dict[int, int] = {}
    handles = [r.register_forward_hook(lambda mod, i, o: calls.__setitem__(id(mod), calls.get(id(mod), 0) + 1)) for r in relus]
    try:
        with torch.no_grad(), CountReluCalls() as mode:
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return relus, calls, mode.calls


@pytest.mark.parametrize("n_ctl", [0, 2])
def test_every_relu_is_a_distinct_module_used_once(n_ctl):
    model = small(n_layers=4, n_control_tracks=n_ctl)
    L = model.minimum_input_length()
    inputs = (one_hot(1, L),) + ((torch.rand(1, n_ctl, L),) if n_ctl else ())
    relus, calls, total = relu_bookkeeping(model, *inputs)
    assert len(relus) == 1 + 4
    assert len({id(r) for r in relus}) == len(relus)
    assert all(calls.get(id(r)) == 1 for r in relus)
    assert total == len(relus)  # no functional relu besides the modules' own


def test_chrombpnet_relus_are_distinct_modules_used_once():
    model = chrombpnet()
    relus, calls, total = relu_bookkeeping(model, one_hot(1, model.minimum_input_length()))
    assert len(relus) == (1 + 2) + (1 + 3)
    assert all(calls.get(id(r)) == 1 for r in relus)
    assert total == len(relus)
