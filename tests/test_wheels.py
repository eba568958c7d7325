"""Every workspace package builds as its own wheel, and the wheels alone give a working bpnet."""

from __future__ import annotations

import os
import tomllib
import zipfile
from pathlib import Path

import pytest

from bpnet.core.plugin.registry import Registry

from .venvs import fresh_venv, run, uv

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = sorted([*ROOT.glob("packages/*/pyproject.toml"), *ROOT.glob("plugins/*/pyproject.toml")])


def distribution(pyproject: Path) -> str:
    return tomllib.loads(pyproject.read_text())["project"]["name"]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    """distribution name -> its wheel, built by `uv build --all-packages`."""
    out = tmp_path_factory.mktemp("dist")
    result = run(uv(), "build", "--all-packages", "--wheel", "-q", "-o", out, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    built = {}
    for wheel in out.glob("*.whl"):
        built[wheel.name.split("-")[0].replace("_", "-")] = wheel
    return built


def module_folder(pyproject: Path) -> str:
    """The import path a member ships, as a folder: ``bpnet/train``, ``bpnet_arch_bottleneck``."""
    src = pyproject.parent / "src"
    return min((p.parent.relative_to(src).as_posix() for p in src.rglob("__init__.py")), key=len)


def test_every_package_builds_one_wheel_holding_only_its_own_modules(wheels):
    assert sorted(wheels) == sorted(distribution(p) for p in MEMBERS)
    for pyproject in MEMBERS:
        wheel = wheels[distribution(pyproject)]
        with zipfile.ZipFile(wheel) as archive:
            files = [n for n in archive.namelist() if n.endswith(".py")]
        folder = module_folder(pyproject) + "/"
        assert files and all(n.startswith(folder) for n in files), f"{wheel.name}: {[n for n in files if not n.startswith(folder)]}"
        assert "bpnet/__init__.py" not in files  # one PEP 420 namespace shared by all packages


@pytest.mark.slow
def test_the_wheels_alone_install_a_bpnet_that_lists_every_builtin(wheels, tmp_path):
    python, install = fresh_venv(tmp_path)
    result = run(*install, *wheels.values(), timeout=600)
    assert result.returncode == 0, result.stderr
    bpnet = python.parent / "bpnet"
    listing = run(bpnet, "plugins", timeout=120, env={**os.environ, "COLUMNS": "200", "BPNET_DISABLE_PLUGINS": ""})
    assert listing.returncode == 0, listing.stderr
    rows = {tuple(cell.strip() for cell in line.split("│")[1:4]) for line in listing.stderr.splitlines() + listing.stdout.splitlines()
            if line.count("│") >= 5}
    here = Registry()  # this checkout's own packages, installed in editable mode
    expected = {(e.kind, e.name, e.package) for e in here.entries() if e.package.startswith("bpnet-")}
    assert expected <= rows, f"missing from the wheels' bpnet plugins: {sorted(expected - rows)}"
    assert any(row[:2] == ("importer", "keras") and row[2] == "bpnet-keras" for row in rows)
    convert = run(python.parent / "bpnet-keras", "--help", timeout=120)
    assert convert.returncode == 0, convert.stderr
