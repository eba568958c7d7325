"""bpnet-core + bpnet-keras alone (no tangermeme, bpnet-data, ...) convert an ENCODE tarball."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..venvs import fresh_venv, run

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_fresh_venv_converts_encode_tarball(tmp_path, keras_dir):
    python, install = fresh_venv(tmp_path)
    result = run(*install, ROOT / "packages" / "bpnet-core", ROOT / "packages" / "bpnet-keras", timeout=300)
    assert result.returncode == 0, result.stderr
    venv = python.parent.parent

    assert run(str(python), "-c", "import tangermeme").returncode != 0
    out = tmp_path / "model"
    result = run(str(venv / "bin" / "bpnet-keras"), "convert", str(keras_dir / "ENCFF000FIX.tar.gz"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    check = (
        "import bpnet.core, numpy as np, torch;"
        f"m = bpnet.core.load_model({str(out)!r});"
        f"d = np.load({str(keras_dir / 'chrombpnet_full.npz')!r});"
        "p, c = m(torch.from_numpy(d['X']).permute(0, 2, 1));"
        "assert np.abs(p[:, 0].detach().numpy() - d['logits']).max() < 1e-4;"
        "assert np.abs(c.detach().numpy() - d['logcounts']).max() < 1e-4"
    )
    result = run(str(python), "-c", check)
    assert result.returncode == 0, result.stderr
