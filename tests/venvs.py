"""Fresh virtual environments for tests that install bpnet's packages as a user would.

Every package is pinned to this environment's version, so uv installs from its cache,
and torch comes from the local CPU wheel folder (pip's find-links), never PyPI's CUDA build.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str | Path, timeout: int = 120, **options) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **options)


def find_links() -> str:
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


def uv() -> str:
    """The uv command (the test is skipped without it)."""
    found = shutil.which("uv")
    if found is None:
        pytest.skip("uv is not on PATH")
    return found


def fresh_venv(folder: Path) -> tuple[Path, list[str]]:
    """(python of a new venv in ``folder``, the ``uv pip install`` command line for it)."""
    freeze = run(uv(), "pip", "freeze", "--python", sys.executable).stdout.splitlines()
    pins = [line for line in freeze if "==" in line and not line.startswith(("-e", "torch", "bpnet"))]
    pins.append(f"torch=={importlib.metadata.version('torch')}")
    constraints = folder / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    links = find_links()
    if "+" in importlib.metadata.version("torch") and not links:
        pytest.skip("this torch is a local build (no find-links folder holds its wheel); not downloading another")
    venv = folder / "venv"
    assert run(uv(), "venv", "-q", "--python", sys.executable, venv).returncode == 0
    python = venv / "bin" / "python"
    install = [uv(), "pip", "install", "-q", "--python", str(python), "-c", str(constraints)]
    return python, install + (["--find-links", links] if links else [])
