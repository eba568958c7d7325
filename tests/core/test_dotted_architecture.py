"""A plain torch.nn.Module subclass named by 'module:Class' works without packaging a plugin."""

from __future__ import annotations

import textwrap

import torch

from bpnet.core import build_model, load_model, save_model
from bpnet.core.cli.main import run_cli

MODULE = '''
import torch

class TinyNet(torch.nn.Module):
    def __init__(self, n_filters=4, output_length=10):
        super().__init__()
        self.output_length = output_length
        self.conv = torch.nn.Conv1d(4, n_filters, 5)
        self.relu = torch.nn.ReLU()
        self.head = torch.nn.Conv1d(n_filters, 1, 1)
        self.count = torch.nn.Linear(n_filters, 1)

    def forward(self, X, X_ctl=None):
        h = self.relu(self.conv(X))
        start = (h.shape[-1] - self.output_length) // 2
        return self.head(h)[..., start:start + self.output_length], self.count(h.mean(-1))

    def minimum_input_length(self):
        return self.output_length + 4
'''


def make_module(tmp_path, monkeypatch) -> str:
    (tmp_path / "my_tiny_arch.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_tiny_arch:TinyNet"


def test_dotted_path_builds_saves_and_loads(tmp_path, monkeypatch):
    target = make_module(tmp_path, monkeypatch)
    model = build_model(target, n_filters=3, output_length=12)
    save_model(model, tmp_path / "tiny")
    loaded = load_model(tmp_path / "tiny")
    X = torch.rand(2, 4, 30)
    assert loaded.bpnet_metadata["architecture"] == target
    assert loaded.bpnet_metadata["config"] == {"n_filters": 3, "output_length": 12}
    assert torch.equal(model(X)[0], loaded(X)[0])


def test_dotted_path_in_a_spec(tmp_path, monkeypatch, capsys):
    target = make_module(tmp_path, monkeypatch)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"stages:\n  tiny:\n    stage: model-init\n    params: {{architecture: '{target}', hyperparameters: {{n_filters: 2}}}}\n"
    )
    assert run_cli(["run", str(spec)]) == 0, capsys.readouterr()
    assert load_model(tmp_path / "bpnet-out/tiny/model").conv.out_channels == 2
