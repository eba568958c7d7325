"""The example architecture plugin (plugins/bpnet-arch-bottleneck), tested as a third party's would be.

It is installed as a workspace member, so its entry point is visible: bpnet finds it,
lists it without importing it, builds, runs, saves and exports it like a built-in one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("bpnet_arch_bottleneck")

import torch  # noqa: E402

from bpnet.core import Architecture, build_model, load_model  # noqa: E402
from bpnet.core.plugin import PluginRef  # noqa: E402
from bpnet.core.plugin.registry import Registry  # noqa: E402

from ..core.test_architectures import one_hot, relu_bookkeeping  # noqa: E402


def test_discovered_through_its_entry_point_without_importing_the_model():
    entry = Registry().entry("architecture", "bpnet-bottleneck")
    assert (entry.kind, entry.package, entry.version) == ("architecture", "bpnet-arch-bottleneck", "0.1.0")
    assert isinstance(entry.item, PluginRef)  # listed without importing the model
    assert entry.summary
    cls = entry.load()
    assert issubclass(cls, Architecture) and cls.name == "bpnet-bottleneck"


def test_blocked_by_its_entry_point_name(monkeypatch):
    monkeypatch.setenv("BPNET_DISABLE_PLUGINS", "bottleneck, something-else")
    assert "bpnet-bottleneck" not in Registry().names("architecture")
    assert "bpnet" in Registry().names("architecture")


def test_shapes_and_relus():
    torch.manual_seed(0)
    model = build_model("bpnet-bottleneck", n_filters=16, bottleneck_filters=4, n_layers=8, n_outputs=2)
    assert model.minimum_input_length() == 2114
    with torch.no_grad():
        profile, counts = model(one_hot(2, 2114))
    assert profile.shape == (2, 2, 1000) and counts.shape == (2, 1)
    relus, calls, total = relu_bookkeeping(model, one_hot(1, 2114))
    assert len(relus) == 1 + 2 * 8
    assert all(calls.get(id(r)) == 1 for r in relus) and total == len(relus)
    with pytest.raises(ValueError, match="at least 2114 bp"):
        model(one_hot(1, 2000))


def test_model_stages_run_it_through_the_console_script(tmp_path):
    spec = tmp_path / "models.yaml"
    spec.write_text(
        """
output_dir: out
stages:
  init:
    stage: model-init
    params:
      architecture: bpnet-bottleneck
      hyperparameters: {n_filters: 8, bottleneck_filters: 4, n_layers: 2}
  export:
    stage: model-export
    params: {model: "@init.model"}
"""
    )
    bpnet = Path(sys.executable).parent / "bpnet"
    first = subprocess.run([bpnet, "run", spec], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    second = subprocess.run([bpnet, "run", spec], capture_output=True, text=True, timeout=120)
    assert second.returncode == 0 and (second.stdout + second.stderr).count("skipped") == 2

    model = load_model(tmp_path / "out/init/model")
    assert model.bpnet_metadata["architecture"] == "bpnet-bottleneck"
    exported = torch.load(tmp_path / "out/export/model.torch", weights_only=False)
    X = torch.zeros(1, 4, model.minimum_input_length())
    X[0, 0] = 1
    assert torch.equal(model(X)[0], exported(X)[0])
