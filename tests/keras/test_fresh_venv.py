"""bpnet-core + bpnet-keras alone (no tangermeme, bpnet-data, ...) convert an ENCODE tarball."""

from __future__ import annotations

import configparser
import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def _find_links() -> str:
    """Where a local CPU torch wheel may lie: $BPNET_CPU_WHEEL_DIR, $PIP_FIND_LINKS, or pip's config."""
    for variable in ("BPNET_CPU_WHEEL_DIR", "PIP_FIND_LINKS"):
        if os.environ.get(variable):
            return os.environ[variable].split()[0]
    files = [os.environ.get("PIP_CONFIG_FILE", ""), "/etc/pip.conf", "/etc/xdg/pip/pip.conf"]
    files += [str(Path.home() / ".pip/pip.conf"), str(Path.home() / ".config/pip/pip.conf")]
    found = ""
    for file in files:  # later files win, as in pip
        parser = configparser.ConfigParser()
        if file and parser.read(file) and parser.has_option("global", "find-links"):
            found = parser.get("global", "find-links").split()[0]
    return found


@pytest.mark.slow
def test_fresh_venv_converts_encode_tarball(tmp_path, keras_dir):
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    # Pin every package to this environment's version so uv reuses its cache, and take the
    # CPU torch wheel from pip's find-links folder, never PyPI's CUDA build.
    freeze = _run(uv, "pip", "freeze", "--python", sys.executable).stdout.splitlines()
    pins = [line for line in freeze if "==" in line and not line.startswith(("-e", "torch"))]
    pins.append(f"torch=={importlib.metadata.version('torch')}")
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    find_links = _find_links()
    if "+" in importlib.metadata.version("torch") and not find_links:
        pytest.skip("this torch is a local build (no find-links folder holds its wheel); not downloading another")
    venv = tmp_path / "venv"
    assert _run(uv, "venv", "-q", "--python", sys.executable, str(venv)).returncode == 0
    python = venv / "bin" / "python"
    install = [uv, "pip", "install", "-q", "--python", str(python), "-c", str(constraints)]
    if find_links:
        install += ["--find-links", find_links]
    result = _run(*install, str(ROOT / "packages" / "bpnet-core"), str(ROOT / "packages" / "bpnet-keras"), timeout=300)
    assert result.returncode == 0, result.stderr

    assert _run(str(python), "-c", "import tangermeme").returncode != 0
    out = tmp_path / "model"
    result = _run(str(venv / "bin" / "bpnet-keras"), "convert", str(keras_dir / "ENCFF000FIX.tar.gz"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    check = (
        "import bpnet.core, numpy as np, torch;"
        f"m = bpnet.core.load_model({str(out)!r});"
        f"d = np.load({str(keras_dir / 'chrombpnet_full.npz')!r});"
        "p, c = m(torch.from_numpy(d['X']).permute(0, 2, 1));"
        "assert np.abs(p[:, 0].detach().numpy() - d['logits']).max() < 1e-4;"
        "assert np.abs(c.detach().numpy() - d['logcounts']).max() < 1e-4"
    )
    result = _run(str(python), "-c", check)
    assert result.returncode == 0, result.stderr
