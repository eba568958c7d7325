"""Spec inputs given as http(s) URLs: downloaded once into the cache, recorded as URLs."""

from __future__ import annotations

import pytest

from bpnet.core.cli.main import run_cli
from bpnet.core.errors import InputError
from bpnet.core.remote import localize

from ..http_server import closed_port_url, serve_folder


@pytest.fixture(autouse=True)
def download_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BPNET_CACHE_DIR", str(tmp_path / "cache"))


def test_a_url_input_is_downloaded_counted_and_skipped_on_rerun(text_registry, write_spec, tmp_path, capsys):
    served = tmp_path / "www"
    served.mkdir()
    (served / "notes.txt").write_text("hello")
    with serve_folder(served) as base:
        spec = write_spec(f"output_dir: out\nstages:\n  n:\n    stage: count-chars\n    params: {{source: '{base}/notes.txt'}}\n")
        assert run_cli(["run", str(spec)]) == 0
        assert (tmp_path / "out/n/counts/n.txt").read_text() == "5"
        params_file = (tmp_path / "out/n/params.yaml").read_text()
        assert f"{base}/notes.txt" in params_file
        capsys.readouterr()
        assert run_cli(["run", str(spec)]) == 0
        captured = capsys.readouterr()
        assert "skipped" in captured.out + captured.err


def test_an_unreachable_url_fails_the_stage_with_a_clear_message(text_registry, write_spec, capsys):
    url = closed_port_url("notes.txt")
    spec = write_spec(f"output_dir: out\nstages:\n  n:\n    stage: count-chars\n    params: {{source: '{url}'}}\n")
    assert run_cli(["run", str(spec)]) == 2  # bad input
    out = capsys.readouterr()
    text = out.out + out.err
    assert "could not download" in text and url in text and "Traceback" not in text


def test_localize_retries_then_names_the_url(tmp_path):
    url = closed_port_url("x.bw")
    with pytest.raises(InputError, match="after 2 attempt"):
        localize(url, retries=2, timeout=1)


def test_a_missing_http_file_is_not_retried(tmp_path):
    with serve_folder(tmp_path) as base:
        with pytest.raises(InputError, match="HTTP 404"):
            localize(f"{base}/absent.bed", retries=3, timeout=2)
