"""Installed package versions: what reports, specs and model files say wrote them.

* :func:`package_version`: one distribution's version (``"unknown"`` when not installed);
* :func:`installed_versions`: the versions a model file records;
* :func:`distribution_version`: ``"dist==version"`` of the distribution providing a module,
  a stage's default code version.

Nothing here imports torch at import time.
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform

#: the bpnet distributions whose versions a model file records when they are installed
BPNET_DISTRIBUTIONS = ("bpnet-core", "bpnet-data", "bpnet-train", "bpnet-interpret", "bpnet-keras")


def package_version(distribution: str, missing: str = "unknown") -> str:
    """The installed version of ``distribution``, or ``missing`` when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return missing


def installed_versions() -> dict[str, str]:
    """Python's, torch's and each installed bpnet distribution's version (what a model file records)."""
    import torch

    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for dist in BPNET_DISTRIBUTIONS:
        version = package_version(dist, missing="")
        if version:
            versions[dist] = version
    return versions


@functools.cache
def distribution_version(module: str) -> str:
    """``"dist==version"`` of the installed distribution that provides ``module``."""
    candidates = importlib.metadata.packages_distributions().get(module.split(".")[0], [])
    best = ""
    for dist in candidates:
        dotted = dist.replace("-", ".").replace("_", ".").lower()
        if (module.lower() + ".").startswith(dotted + ".") and len(dotted) > len(best.replace("-", ".")):
            best = dist
    parts = module.split(".")
    for n in range(len(parts), 0, -1):  # editable installs: guess "a.b" -> "a-b"
        if best:
            break
        for guess in ("-".join(parts[:n]), "_".join(parts[:n])):
            try:
                importlib.metadata.version(guess)
            except importlib.metadata.PackageNotFoundError:
                continue
            best = guess
            break
    best = best or (candidates[0] if candidates else "")
    if not best:
        return "unversioned"
    return f"{best}=={importlib.metadata.version(best)}"


__all__ = ["BPNET_DISTRIBUTIONS", "distribution_version", "installed_versions", "package_version"]
