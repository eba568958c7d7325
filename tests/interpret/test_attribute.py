"""The attribute stage: score files modisco-lite reads, attributions that add up to the
change of the output, agreement with tangermeme, fold averaging, ChromBPNet's
accessibility model, bigWigs of the observed contributions, and clear errors for models
DeepLIFT cannot explain and for loci made for another model."""

from __future__ import annotations

import json
import logging
import textwrap
import warnings
from pathlib import Path

import h5py
import numpy as np
import pyBigWig
import pytest
import torch
import yaml

from bpnet.core.architectures.bpnet import BPNet
from bpnet.core.architectures.chrombpnet import ChromBPNet
from bpnet.core.architectures.wrappers import ControlWrapper, CountWrapper, ProfileWrapper, deeplift_rules
from bpnet.core.cli.main import run_cli
from bpnet.core.errors import InputError
from bpnet.core.modelfile import build_model, load_model, save_model
from bpnet.core.stages.base import StageContext
from bpnet.data.bigwig_io import owned_spans, write_bigwig
from bpnet.data.errors import DataError
from bpnet.interpret.attribution import attribute, check_rules, dinucleotide_references
from bpnet.interpret.scores import read_scores
from bpnet.interpret.stages.attribute import Attribute

OUT = 100
IN = 206  # minimum input of a 2-layer BPNet with the default kernels for a 100 bp output
SHUFFLES = 4
SEED = 7
#: peak summits: chr1 has two overlapping windows (centres 1000 and 1040)
SUMMITS = [("chr1", 400), ("chr1", 1000), ("chr1", 1040), ("chr1", 2500), ("chr2", 700), ("chr2", 1900)]
SIZES = {"chr1": 3200, "chr2": 2600}


def random_sequence(length: int, seed: int) -> str:
    return "".join(np.array(list("ACGT"))[np.random.default_rng(seed).integers(0, 4, length)])


def write_inputs(folder: Path) -> dict[str, Path]:
    """genome.fa, peaks.narrowPeak and a signal bigWig whose counts differ from peak to peak."""
    genome = folder / "genome.fa"
    with open(genome, "w") as out:
        for i, (chrom, size) in enumerate(SIZES.items()):
            seq = random_sequence(size, seed=i)
            out.write(f">{chrom}\n" + "".join(seq[j : j + 60] + "\n" for j in range(0, size, 60)))
    peaks = folder / "peaks.narrowPeak"
    peaks.write_text("".join(f"{c}\t{s - 50}\t{s + 50}\tp{i}\t0\t.\t1\t-1\t-1\t50\n" for i, (c, s) in enumerate(SUMMITS)))
    tracks = {chrom: np.zeros(size, np.float32) for chrom, size in SIZES.items()}
    for i, (chrom, summit) in enumerate(SUMMITS):
        tracks[chrom][summit - 10 : summit + 10] += (i + 1) ** 3  # later peaks have more counts, even with overlaps
    signal = folder / "signal.bw"
    write_bigwig(signal, SIZES, tracks)
    return {"genome": genome, "peaks": peaks, "signal": signal}


def tiny_bpnet(seed: int, **kwargs) -> BPNet:
    torch.manual_seed(seed)
    return BPNet(**{"n_filters": 8, "n_layers": 2, "n_outputs": 2, "output_length": OUT, **kwargs}).eval()


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    """Loci and several attribute stages, run once through `bpnet run` on one spec."""
    folder = tmp_path_factory.mktemp("attribute")
    files = write_inputs(folder)
    models = {
        "m1": save_model(tiny_bpnet(1, n_control_tracks=2), folder / "m1"),
        "chrom": save_model(
            ChromBPNet(tiny_bpnet(2, n_filters=4, n_layers=1, n_outputs=1), tiny_bpnet(3, n_outputs=1)), folder / "chrom"
        ),
    }
    models["m1_copy"] = save_model(load_model(models["m1"]), folder / "m1_copy")
    common = {"loci": "@loci.loci", "n_shuffles": SHUFFLES, "seed": SEED, "device": "cpu"}
    spec = {
        "output_dir": "out",
        "stages": {
            "loci": {
                "stage": "loci",
                "params": {
                    "genome": str(files["genome"]),
                    "peaks": str(files["peaks"]),
                    "signals": [str(files["signal"])],
                    "input_length": IN,
                    "output_length": OUT,
                    "max_jitter": 8,
                    "outlier_quantile": None,
                },
            },
            "attr": {"stage": "attribute", "params": {**common, "models": [str(models["m1"])], "batch_size": 8}},
            "twice": {
                "stage": "attribute",
                "params": {**common, "models": [str(models["m1"]), str(models["m1_copy"])], "heads": ["counts"]},
            },
            "chrom": {
                "stage": "attribute",
                "params": {**common, "models": [str(models["chrom"])], "heads": ["profile"]},
            },
            "strongest": {
                "stage": "attribute",
                "params": {**common, "models": [str(models["m1"])], "heads": ["counts"], "max_loci": 3},
            },
        },
    }
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec))
    assert run_cli(["run", str(folder / "spec.yaml")]) == 0
    out = folder / "out"
    return {"folder": folder, "out": out, "loci": out / "loci" / "loci.h5", **files, **models}


def one_hot_of(scores) -> torch.Tensor:
    return torch.from_numpy(scores.one_hot)


def test_score_files_are_read_by_read_scores_and_in_modiscolite_layout(run):
    scores = read_scores(run["out"] / "attr" / "scores" / "counts.h5", input_length=IN)
    assert len(scores) == len(SUMMITS) and scores.input_length == IN
    assert scores.meta["head"] == "counts" and scores.meta["submodel"] == "model"
    assert scores.meta["models"] == [str(run["m1"])] and scores.meta["n_shuffles"] == SHUFFLES and scores.meta["seed"] == SEED
    assert scores.chrom.tolist() == [c for c, _ in SUMMITS]
    assert scores.start.tolist() == [s - IN // 2 for _, s in SUMMITS]
    assert scores.is_peak.all()
    genome = run["genome"].read_text().split(">")[1].split("\n", 1)[1].replace("\n", "")
    bases = "".join("ACGT"[i] for i in scores.one_hot[0].argmax(axis=0))
    assert bases == genome[SUMMITS[0][1] - IN // 2 : SUMMITS[0][1] - IN // 2 + IN]
    # what modisco-lite's `-i` reads: shap/seq and raw/seq, (N, 4, L), transposed to (N, L, 4)
    with h5py.File(run["out"] / "attr" / "scores" / "profile.h5", "r") as f:
        assert f["shap"]["seq"].shape == f["raw"]["seq"].shape == (len(SUMMITS), 4, IN)
        attributions = f["shap"]["seq"][..., :, 50:150].transpose(0, 2, 1)
        sequences = f["raw"]["seq"][..., :, 50:150].transpose(0, 2, 1)
        assert attributions.dtype == sequences.dtype == np.float32
        assert np.array_equal(sequences.sum(axis=2), np.ones((len(SUMMITS), 100)))
    summary = json.loads((run["out"] / "attr" / "scores" / "summary.json").read_text())
    assert set(summary) == {"counts", "profile"}
    for head in summary.values():
        assert head["n"] == len(SUMMITS) and head["sequences_per_s"] > 0 and head["batch_size"] == 8
        assert head["delta_max_abs"] < 1e-4 and head["delta_mean_abs"] <= head["delta_max_abs"]


@pytest.mark.parametrize("head", ["counts", "profile"])
def test_attributions_add_up_to_the_change_of_the_target(run, head):
    scores = read_scores(run["out"] / "attr" / "scores" / f"{head}.h5")
    model = load_model(run["m1"])
    target = (CountWrapper if head == "counts" else ProfileWrapper)(ControlWrapper(model))
    X = one_hot_of(scores)
    refs = dinucleotide_references(X, SHUFFLES, SEED)
    with torch.no_grad():
        change = target(X)[:, 0] - target(refs.reshape(-1, 4, IN))[:, 0].reshape(len(X), SHUFFLES).mean(dim=1)
    # sum of observed attributions = f(X) - mean_k f(ref_k) + the recorded delta
    total = scores.observed.sum(axis=(1, 2))
    np.testing.assert_allclose(total, change.numpy() + scores.delta, atol=1e-6)
    assert np.abs(scores.delta).max() < 1e-5 < np.abs(change.numpy()).max()
    # with one reference: hypothetical x (X - reference), summed over bases and positions, is the change
    single = attribute([model], ["m1"], X, head, n_shuffles=1, seed=SEED, progress=False)
    with torch.no_grad():
        change = target(X)[:, 0] - target(refs[:, 0])[:, 0]
    np.testing.assert_allclose((single.hypothetical * (X - refs[:, 0]).numpy()).sum(axis=(1, 2)), change.numpy() + single.delta, atol=1e-6)
    assert np.abs(single.delta).max() < 1e-5


def test_attributions_equal_tangermeme_deep_lift_shap_with_the_same_seed(run):
    from tangermeme.deep_lift_shap import deep_lift_shap

    scores = read_scores(run["out"] / "attr" / "scores" / "profile.h5")
    target = ProfileWrapper(ControlWrapper(load_model(run["m1"]))).double()  # the stage's profile head runs in float64
    assert scores.meta["precision"] == "float64"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = deep_lift_shap(target, one_hot_of(scores)[:3].double(), hypothetical=True, n_shuffles=SHUFFLES, random_state=SEED,
                                batch_size=8, device="cpu", additional_nonlinear_ops=deeplift_rules())
    np.testing.assert_allclose(scores.hypothetical[:3], theirs.numpy(), rtol=1e-5, atol=1e-8)


class _LiteScaling(torch.nn.Module):
    """bpnet-lite 1.1's ``_ProfileLogitScaling``, rebuilt: a Softmax child, ``logits * softmax``."""

    def __init__(self):
        super().__init__()
        self.softmax = torch.nn.Softmax(dim=-1)

    def forward(self, logits):
        return logits * self.softmax(logits)


class _LiteProfileWrapper(torch.nn.Module):
    """bpnet-lite 1.1's ``ProfileWrapper``: centred logits through ``_ProfileLogitScaling``, summed."""

    def __init__(self, model):
        super().__init__()
        self.model, self.scaling = model, _LiteScaling()

    def forward(self, X):
        logits = self.model(X)[0].reshape(len(X), -1)
        return self.scaling(logits - logits.mean(dim=-1, keepdim=True)).sum(dim=-1, keepdim=True)


def test_profile_attributions_equal_bpnet_lites_rule(run):
    """bpnet-lite registers its scaling module with tangermeme's rescale rule and runs float64."""
    from tangermeme.deep_lift_shap import _nonlinear, deep_lift_shap

    scores = read_scores(run["out"] / "attr" / "scores" / "profile.h5")
    lite = _LiteProfileWrapper(ControlWrapper(load_model(run["m1"]))).double()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = deep_lift_shap(lite, one_hot_of(scores).double(), hypothetical=True, n_shuffles=SHUFFLES, random_state=SEED,
                                batch_size=8, device="cpu", additional_nonlinear_ops={_LiteScaling: _nonlinear}).numpy()
    for ours, lites in zip(scores.hypothetical, theirs):
        assert np.corrcoef(ours.ravel(), lites.ravel())[0, 1] > 0.9999


def test_two_identical_models_average_to_one(run):
    one = read_scores(run["out"] / "attr" / "scores" / "counts.h5")
    two = read_scores(run["out"] / "twice" / "scores" / "counts.h5")
    assert len(two.meta["models"]) == 2
    np.testing.assert_allclose(two.hypothetical, one.hypothetical, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(two.delta, one.delta, atol=1e-7)
    assert not (run["out"] / "twice" / "scores" / "profile.h5").exists()


def test_chrombpnet_explains_the_accessibility_model_by_default(run):
    scores = read_scores(run["out"] / "chrom" / "scores" / "profile.h5")
    assert scores.meta["submodel"] == "accessibility"
    accessibility = load_model(run["chrom"]).accessibility.eval()
    direct = attribute([accessibility], ["accessibility"], scores.one_hot, "profile", n_shuffles=SHUFFLES, seed=SEED, progress=False)
    np.testing.assert_allclose(scores.hypothetical, direct.hypothetical, rtol=1e-5, atol=1e-9)
    whole = attribute(
        [load_model(run["chrom"]).eval()],
        ["chrombpnet"],
        scores.one_hot[:2],
        "profile",
        n_shuffles=SHUFFLES,
        seed=SEED,
        progress=False,
    )
    assert not np.allclose(whole.hypothetical, scores.hypothetical[:2], atol=1e-6)


def test_bigwig_holds_the_projected_scores_of_the_owning_window(run):
    scores = read_scores(run["out"] / "attr" / "scores" / "counts.h5")
    projected = scores.projected
    with pyBigWig.open(str(run["out"] / "attr" / "scores" / "counts.bw")) as bw:
        assert bw.chroms() == SIZES  # the genome's sizes, from the FASTA the loci came from
        for chrom in SIZES:
            rows = np.flatnonzero(scores.chrom == chrom)
            lo, hi = owned_spans(scores.start[rows], IN)
            for i, a, b in zip(rows, lo, hi):
                got = np.array(bw.values(chrom, int(a), int(b)), np.float32)
                offset = int(a - scores.start[i])
                np.testing.assert_allclose(got, projected[i, offset : offset + b - a], rtol=1e-6, atol=1e-12)
        entries = bw.intervals("chr1")
        starts = np.array([e[0] for e in entries])
        assert np.all(np.diff(starts) > 0) and all(e[1] <= f[0] for e, f in zip(entries, entries[1:]))
        # the overlapping pair (centres 1000 and 1040) meets halfway: 1020 is the right one's first base
        assert bw.values("chr1", 1019, 1021) == pytest.approx([projected[1, 1019 - 897], projected[2, 1020 - 937]], rel=1e-6)


def test_max_loci_keeps_the_loci_with_most_counts(run):
    scores = read_scores(run["out"] / "strongest" / "scores" / "counts.h5")
    assert [(c, s + IN // 2) for c, s in zip(scores.chrom, scores.start)] == SUMMITS[-3:]


# --- errors -----------------------------------------------------------------------------------

FUNCTIONAL = '''
import torch

class FunctionalReluNet(torch.nn.Module):
    """A model whose ReLU is a function call: DeepLIFT (module hooks) cannot see it."""

    def __init__(self, n_filters=4, output_length=100):
        super().__init__()
        self.output_length = output_length
        self.conv = torch.nn.Conv1d(4, n_filters, 21)
        self.head = torch.nn.Conv1d(n_filters, 1, 1)
        self.count = torch.nn.Linear(n_filters, 1)

    def forward(self, X, X_ctl=None):
        h = torch.relu(self.conv(X))
        start = (h.shape[-1] - self.output_length) // 2
        return self.head(h)[..., start:start + self.output_length], self.count(h.mean(-1))
'''


def run_stage(run: dict, out: Path, **params) -> Path:
    params = {"loci": run["loci"], "n_shuffles": 2, "device": "cpu", "scores": out / "scores", **params}
    Attribute().run(Attribute.Params(**params), StageContext("attribute", out, out / "resume", logging.getLogger("test")))
    return out / "scores"


def test_a_functional_relu_gets_a_clear_error(run, tmp_path, monkeypatch):
    (tmp_path / "functional_relu_arch.py").write_text(textwrap.dedent(FUNCTIONAL))
    monkeypatch.syspath_prepend(str(tmp_path))
    torch.manual_seed(0)
    folder = save_model(build_model("functional_relu_arch:FunctionalReluNet"), tmp_path / "functional")
    with pytest.raises(DataError, match="non-linearity DeepLIFT cannot see.*torch.relu") as error:
        run_stage(run, tmp_path / "stage", models=[folder], heads=["counts"])
    assert str(folder) in str(error.value) and "torch.nn.ReLU()" in str(error.value)
    assert not list((tmp_path / "stage").glob("scores/*.h5"))


def test_a_module_without_a_deeplift_rule_is_refused_before_running(run, tmp_path):
    model = BPNet(n_filters=4, n_layers=1, n_outputs=1, output_length=OUT)
    model.rrelus[0] = torch.nn.Hardtanh()
    with pytest.raises(DataError, match=r"models/hard: .*rrelus\.0 \(Hardtanh\)"):
        check_rules(model, "models/hard")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_layers": 4}, "needs input windows of at least"), ({"output_length": 80}, "were made for another model")],
)
def test_loci_of_another_window_are_refused(run, tmp_path, kwargs, message):
    folder = save_model(tiny_bpnet(5, n_control_tracks=2, **kwargs), tmp_path / "other")
    with pytest.raises(InputError, match=message) as error:
        run_stage(run, tmp_path / "stage", models=[folder])
    assert str(run["loci"]) in str(error.value)
    assert not list((tmp_path / "stage").glob("scores/*.h5"))


def test_a_split_without_peaks_is_refused(run, tmp_path):
    with pytest.raises(DataError, match="no peaks in split 'test'.*unassigned"):
        run_stage(run, tmp_path / "stage", models=[run["m1"]], split="test")
