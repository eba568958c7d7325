"""Model files: safetensors + JSON round trips, no pickle on load, clear errors."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from bpnet.core import BPNet, ChromBPNet, build_model, export_torch, load_model, read_config, save_model
from bpnet.core.errors import BpnetError, ModelFileError, RegistryError


def one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()


def bpnet(n_ctl: int = 0) -> BPNet:
    torch.manual_seed(0)
    return BPNet(n_filters=8, n_layers=2, n_outputs=2, n_control_tracks=n_ctl, output_length=50)


def chrombpnet() -> ChromBPNet:
    torch.manual_seed(1)
    return ChromBPNet(
        BPNet(n_filters=8, n_layers=2, n_outputs=1, output_length=60),
        BPNet(n_filters=8, n_layers=2, n_outputs=1, output_length=50),
    )


def bottleneck():
    pytest.importorskip("bpnet_arch_bottleneck")
    torch.manual_seed(2)
    return build_model("bpnet-bottleneck", n_filters=8, bottleneck_filters=4, n_layers=2, output_length=50)


MODELS = {"bpnet": bpnet, "bpnet-controls": lambda: bpnet(2), "chrombpnet": chrombpnet, "bpnet-bottleneck": bottleneck}


def outputs(model, seed: int = 0):
    L = model.minimum_input_length()
    X = one_hot(2, L, seed)
    g = torch.Generator().manual_seed(seed)
    args = (torch.rand(2, model.n_control_tracks, L, generator=g),) if model.n_control_tracks else ()
    model.eval()
    with torch.no_grad():
        return model(X, *args)


def assert_same(a, b):
    for x, y in zip(a, b):
        assert torch.equal(x, y)


@pytest.fixture
def no_pickle(monkeypatch):
    """Make every way of unpickling raise."""

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(torch, "load", refuse)


@pytest.mark.parametrize("name", MODELS)
def test_round_trip(name, tmp_path, no_pickle):
    model = MODELS[name]()
    expected = outputs(model)
    path = save_model(model, tmp_path / "model", provenance={"trained_on": "test"})
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert not loaded.training
    assert_same(outputs(loaded), expected)
    config = read_config(path)
    assert config["provenance"] == {"trained_on": "test"}
    assert "torch" in config["versions"]


def test_architecture_names_in_config(tmp_path):
    save_model(bottleneck(), tmp_path / "b")
    assert read_config(tmp_path / "b")["architecture"] == "bpnet-bottleneck"
    save_model(chrombpnet(), tmp_path / "c")
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    assert config["architecture"] == "chrombpnet"
    assert config["config"]["bias"]["architecture"] == "bpnet"


def test_chrombpnet_bias_stays_frozen_after_loading(tmp_path):
    loaded = load_model(save_model(chrombpnet(), tmp_path / "m"))
    assert all(not p.requires_grad for p in loaded.bias.parameters())


def test_safetensors_file_alone_loads(tmp_path, no_pickle):
    model = bpnet(2)
    path = save_model(model, tmp_path / "model")
    alone = tmp_path / "alone.safetensors"
    alone.write_bytes((path / "model.safetensors").read_bytes())
    assert_same(outputs(load_model(alone)), outputs(model))


def test_export_torch(tmp_path):
    for name in ("bpnet", "chrombpnet", "bpnet-bottleneck"):
        model = MODELS[name]()
        path = export_torch(model, tmp_path / f"{name}.torch")
        loaded = torch.load(path, weights_only=False)
        assert_same(outputs(loaded), outputs(model))


# -- errors ------------------------------------------------------------------------------


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message.strip()
    assert isinstance(exc.value, BpnetError)
    return message


def test_missing_path(tmp_path):
    with pytest.raises(ModelFileError) as exc:
        load_model(tmp_path / "nowhere")
    assert "nowhere" in one_line(exc) and "does not exist" in one_line(exc)


def test_folder_without_config(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError) as exc:
        load_model(tmp_path / "empty")
    assert "config.json is missing" in one_line(exc)


def test_invalid_json(tmp_path):
    path = save_model(bpnet(), tmp_path / "m")
    (path / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError) as exc:
        load_model(path)
    assert "config.json" in one_line(exc) and "not valid JSON" in one_line(exc)


def test_not_a_safetensors_file(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ModelFileError) as exc:
        load_model(bad)
    assert "model.safetensors" in one_line(exc)


def test_weights_that_do_not_fit(tmp_path):
    path = save_model(bpnet(), tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["config"]["n_filters"] = 16
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError) as exc:
        load_model(path)
    message = one_line(exc)
    assert "model.safetensors" in message and "'bpnet'" in message


def test_architecture_not_installed(tmp_path):
    path = save_model(bpnet(), tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["architecture"] = "no-such-net"
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(RegistryError) as exc:
        load_model(path)
    message = one_line(exc)
    assert "no-such-net" in message and "installed" in message and "bpnet" in message


def test_missing_weights_file(tmp_path):
    path = save_model(bpnet(), tmp_path / "m")
    (path / "model.safetensors").unlink()
    with pytest.raises(ModelFileError) as exc:
        load_model(path)
    assert "model.safetensors" in one_line(exc)


def test_unsaveable_module(tmp_path):
    with pytest.raises(ModelFileError) as exc:
        save_model(torch.nn.Linear(2, 2), tmp_path / "m")
    assert "Linear" in one_line(exc)
    assert not (tmp_path / "m").exists()
