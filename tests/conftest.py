"""Shared test fixtures: a registry with the test plugin, and a temporary work folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("BPNET_NO_PROGRESS", "1")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
