"""Rendering a report in headless Chromium (Debian's package), as a reader's browser would."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium_command(profile: Path) -> list[str]:
    """Headless Chromium with a fresh profile folder (the test is skipped without Chromium)."""
    browser = next((found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))), None)
    if browser is None:
        pytest.skip("no chromium binary found (apt-get install chromium); the page itself is tested above")
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", f"--user-data-dir={profile}"]


def rendered_body(report: Path, profile: Path) -> str:
    """The ``<body ...>`` tag of ``report`` after Chromium ran its scripts."""
    flags = chromium_command(profile)
    dom = subprocess.run([*flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body, dom.stderr[-2000:]
    return body.group(0)
