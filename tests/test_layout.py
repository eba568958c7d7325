"""The layout holds in fact: which package may import what, and each shared idea defined once."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "packages"

#: ideas that every stage shares, each with exactly one definition in packages/
ONE_DEFINITION = (
    # the model-output vocabulary (bpnet.core.outputs)
    "call_model", "total_log_counts", "profile_probabilities", "expected_counts", "flip_strands", "strand_pairs",
    "track_names", "average_predictions", "is_chrombpnet", "resolve_submodel", "select_submodel", "load_models",
    "output_shape", "check_models_agree", "default_input_length",
    # window geometry (bpnet.data.windows) and writing windows to bigWig (bpnet.data.bigwig_io)
    "output_offset", "on_chromosome", "keep_on_chromosome", "owned_spans", "write_window_values",
    # metrics (bpnet.core.metrics)
    "pearson_along", "jensen_shannon",
)


def python_files(package: str) -> list[Path]:
    return sorted((PACKAGES / package / "src").rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_each_shared_idea_has_exactly_one_definition():
    defined = Counter()
    where: dict[str, list[str]] = {}
    for path in PACKAGES.rglob("src/**/*.py"):
        for node in ast.parse(path.read_text()).body:  # module level: methods may delegate under the same name
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in ONE_DEFINITION:
                defined[node.name] += 1
                where.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    assert {name: where[name] for name in ONE_DEFINITION if defined[name] != 1} == {}


def test_bpnet_interpret_reads_training_outputs_through_files_not_training_code():
    offenders = [
        str(path.relative_to(ROOT)) for path in python_files("bpnet-interpret")
        if any(name == "bpnet.train" or name.startswith("bpnet.train.") for name in imported_modules(path))
    ]
    assert offenders == []


def test_bpnet_data_imports_no_torch():
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files("bpnet-data")
        if "torch" in {m.split(".")[0] for m in imported_modules(path)}
    ]
    assert offenders == []
    # and in fact: importing every module of bpnet.data loads no torch
    script = (
        "import importlib, pkgutil, sys, bpnet.data\n"
        "for m in pkgutil.walk_packages(bpnet.data.__path__, 'bpnet.data.'):\n"
        "    importlib.import_module(m.name)\n"
        "loaded = sorted(name for name in sys.modules if name == 'torch' or name.startswith('torch.'))\n"
        "assert not loaded, loaded[:5]\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("package, forbidden", [("bpnet-keras", ("bpnet.data", "bpnet.train", "bpnet.interpret")),
                                                ("bpnet-core", ("bpnet.data", "bpnet.train", "bpnet.interpret", "bpnet.keras")),
                                                ("bpnet-train", ("bpnet.interpret",))])
def test_packages_import_only_what_they_depend_on(package, forbidden):
    offenders = [
        str(path.relative_to(ROOT)) for path in python_files(package)
        if any(name.startswith(forbidden) for name in imported_modules(path))
    ]
    assert offenders == []


def test_package_versions_are_read_only_by_bpnet_core_versions():
    offenders = [
        str(path.relative_to(ROOT)) for path in PACKAGES.rglob("src/**/*.py")
        if path.name != "versions.py" and ("PackageNotFoundError" in path.read_text() or "metadata.version(" in path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize("package", ["bpnet.core", "bpnet.data", "bpnet.data.simulate", "bpnet.interpret.init", "bpnet.keras"])
def test_lazy_packages_export_exactly_their_lazy_names(package):
    import importlib

    module = importlib.import_module(package)
    lazy = getattr(module, "_EXPORTS", None)
    assert lazy is None or set(module.__all__) - {"__version__"} == set(lazy)
    assert all(getattr(module, name) is not None for name in module.__all__)
