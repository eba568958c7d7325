from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bpnet.core.plugin.registry import Registry, set_registry

from .plugins import textstages


@pytest.fixture
def text_registry():
    """The installed plugins plus the test plugin's text stages."""
    textstages.RUNS.clear()
    registry = Registry(plugins=[textstages])
    set_registry(registry)
    yield registry
    set_registry(None)


@pytest.fixture
def runs():
    return textstages.RUNS


@pytest.fixture
def write_spec(tmp_path: Path):
    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


TEXT_PIPELINE = """
    output_dir: out
    stages:
      hello:
        stage: write-text
        params: {text: "hello "}
      world:
        stage: write-text
        params: {text: "world"}
      joined:
        stage: concat
        params:
          parts: ["@hello.out", "@world.out", notes.txt]
      counted:
        stage: count-chars
        params: {source: "@joined.out", every: 1}
"""
