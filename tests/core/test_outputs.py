"""The model-output vocabulary: one meaning of counts, profiles, strands, averages and submodels."""

from __future__ import annotations

import pytest
import torch

from bpnet.core.architectures.bpnet import BPNet
from bpnet.core.architectures.chrombpnet import ChromBPNet
from bpnet.core.errors import InputError
from bpnet.core.modelfile import save_model
from bpnet.core.outputs import (
    average_predictions,
    call_model,
    check_models_agree,
    expected_counts,
    flip_strands,
    load_models,
    profile_probabilities,
    select_submodel,
    strand_pairs,
    total_log_counts,
    track_names,
)

TINY = dict(n_filters=4, n_layers=1, conv1_kernel_size=7, profile_kernel_size=9, output_length=20)


def one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.nn.functional.one_hot(torch.randint(0, 4, (n, length), generator=generator), 4).permute(0, 2, 1).float()


def test_total_log_counts_is_the_one_output_or_the_logsumexp_of_several():
    one = torch.tensor([[1.5], [-2.0]])
    several = torch.tensor([[0.0, 1.0], [2.0, 2.0]])
    assert torch.equal(total_log_counts(one), one[:, 0])
    torch.testing.assert_close(total_log_counts(several), torch.log(several.exp().sum(-1)))


@pytest.mark.parametrize("n_counts", [1, 2])
def test_probabilities_sum_to_one_and_expected_counts_to_the_total(n_counts):
    logits = torch.randn(3, 2, 10)
    log_counts = torch.randn(3, n_counts)
    probabilities, total = profile_probabilities(logits, log_counts)
    torch.testing.assert_close(probabilities.sum(dim=(1, 2)), torch.ones(3))
    torch.testing.assert_close(total, total_log_counts(log_counts))
    torch.testing.assert_close(expected_counts(logits, log_counts).sum(dim=(1, 2)), total.exp())
    if n_counts == 2:  # one count per track: each track holds its count's share
        share = torch.softmax(log_counts, dim=-1)
        torch.testing.assert_close(probabilities.sum(-1), share)


def test_flipping_strands_reverses_positions_and_swaps_plus_and_minus():
    values = torch.arange(12.0).reshape(1, 2, 6)
    flipped = flip_strands(values, strand_pairs(2))
    assert torch.equal(flipped[0, 0], values[0, 1].flip(-1)) and torch.equal(flipped[0, 1], values[0, 0].flip(-1))
    assert torch.equal(flip_strands(flipped, strand_pairs(2)), values)
    assert strand_pairs(1) == [] and track_names(2) == ["plus", "minus"] and track_names(1) == ["signal"]


def test_models_with_controls_get_zero_controls_only_when_asked():
    torch.manual_seed(0)
    model = BPNet(n_outputs=2, n_control_tracks=2, **TINY).eval()
    X = one_hot(2, 60)
    with pytest.raises(ValueError, match="expects X_ctl"):
        call_model(model, X)
    logits, _ = call_model(model, X, zero_controls=True)
    torch.testing.assert_close(logits, model(X, torch.zeros(2, 2, 60))[0])


def test_averages_are_mean_probabilities_and_mean_log_counts_over_models_and_strands():
    torch.manual_seed(0)
    first, second = BPNet(n_outputs=2, **TINY).eval(), BPNet(n_outputs=2, **TINY).eval()
    X = one_hot(3, 60)
    probabilities, counts = average_predictions([first, second], X)
    p1, c1 = profile_probabilities(*first(X))
    p2, c2 = profile_probabilities(*second(X))
    torch.testing.assert_close(probabilities, (p1 + p2) / 2)
    torch.testing.assert_close(counts, (c1 + c2) / 2)
    both_strands, _ = average_predictions([first], X, reverse_complement=True, strand_pairs=strand_pairs(2))
    reverse, _ = profile_probabilities(*first(X.flip(-2, -1)))
    torch.testing.assert_close(both_strands, (p1 + flip_strands(reverse, strand_pairs(2))) / 2)


def test_submodels_are_chosen_by_one_vocabulary_and_refused_clearly(tmp_path):
    torch.manual_seed(0)
    chrombpnet = ChromBPNet(BPNet(n_outputs=1, **TINY), BPNet(n_outputs=1, **TINY))
    plain = BPNet(n_outputs=1, **TINY)
    assert select_submodel(chrombpnet, "auto", "m") is chrombpnet.accessibility
    assert select_submodel(chrombpnet, "bias", "m") is chrombpnet.bias
    assert select_submodel(chrombpnet, "model", "m") is chrombpnet
    assert select_submodel(plain, "auto", "m") is plain
    with pytest.raises(InputError, match="plain: submodel 'accessibility' needs a ChromBPNet .* use submodel: model"):
        select_submodel(plain, "accessibility", "plain")
    folders = [save_model(chrombpnet, tmp_path / "c"), save_model(plain, tmp_path / "p")]
    loaded = load_models(folders, "auto")
    assert loaded.submodels == ["accessibility", "model"] and loaded.labels == [str(f) for f in folders]
    assert all(not m.training for m in loaded.models)
    shape = check_models_agree(loaded.models, loaded.labels, 60)
    assert (shape.n_tracks, shape.output_length, shape.n_control_tracks) == (1, 20, 0)


def test_models_of_different_designs_cannot_be_averaged():
    torch.manual_seed(0)
    stranded, unstranded = BPNet(n_outputs=2, **TINY), BPNet(n_outputs=1, **TINY)
    with pytest.raises(InputError, match="models cannot be averaged: a predicts 2 track.* but b predicts 1 track"):
        check_models_agree([stranded, unstranded], ["a", "b"], 60)
