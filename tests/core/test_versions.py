"""Package versions are read in one place (bpnet.core.versions) and model files record them."""

from __future__ import annotations

import platform

import torch

import bpnet.core
from bpnet.core import BPNet, read_config, save_model
from bpnet.core.stages.base import Stage
from bpnet.core.versions import distribution_version, installed_versions, package_version


def test_package_version_of_an_installed_distribution_and_of_a_missing_one():
    assert package_version("bpnet-core") == bpnet.core.__version__ != "0.0.0"
    assert package_version("no-such-distribution-here") == "unknown"
    assert package_version("no-such-distribution-here", missing="") == ""


def test_model_files_record_python_torch_and_every_installed_bpnet_package(tmp_path):
    versions = read_config(save_model(BPNet(n_filters=4, n_layers=1, output_length=20), tmp_path / "m"))["versions"]
    assert versions == installed_versions()
    assert versions["python"] == platform.python_version() and versions["torch"] == torch.__version__
    for dist in ("bpnet-core", "bpnet-data", "bpnet-train", "bpnet-interpret", "bpnet-keras"):
        assert versions[dist] == package_version(dist)


def test_a_stage_without_its_own_version_uses_its_distributions():
    class Counting(Stage):
        name = "counting"

    Counting.__module__ = "bpnet.train.stages.counting"
    assert Counting.code_version() == distribution_version("bpnet.train.stages.counting")
    assert distribution_version("bpnet.train.stages.counting") == f"bpnet-train=={package_version('bpnet-train')}"
    assert distribution_version("no_such_package.module") == "unversioned"
