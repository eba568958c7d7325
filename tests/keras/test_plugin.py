"""bpnet-keras registers the `keras` importer, which core's `import-model` stage uses."""

from __future__ import annotations

import logging

import pytest

from bpnet.core import build_model, load_model, registry, save_model


def test_importer_registered(keras_dir, check):
    importer = registry().importer("keras")
    assert importer.name == "keras" and importer.summary
    assert importer.can_read(keras_dir / "chrombpnet_full.h5")
    assert importer.can_read(keras_dir / "ENCFF000FIX.tar.gz")
    assert not importer.can_read(keras_dir / "README.md")
    check(importer.load(keras_dir / "ENCFF000FIX.tar.gz", kind="accessibility"), "chrombpnet_nobias")


@pytest.mark.parametrize("name", ["basepairnet", "basepairnet-v01"])
def test_basepairnet_architectures_round_trip(name, tmp_path):
    import torch

    model = build_model(name, n_filters=8, n_layers=3).eval()
    path = save_model(model, tmp_path / name)
    loaded = load_model(path)
    X, ctl = torch.rand(2, 4, model.minimum_input_length()), torch.rand(2, 2, 1000)
    with torch.no_grad():
        torch.testing.assert_close(model(X, ctl), loaded(X, ctl))
    relus = [m for m in loaded.modules() if isinstance(m, torch.nn.ReLU)]
    assert len(relus) == len({id(m) for m in relus}) == 4


@pytest.mark.parametrize("importer", ["auto", "keras"])
def test_import_model_stage_uses_the_keras_importer(keras_dir, tmp_path, check, importer):
    from bpnet.core.stages import StageContext

    stage_cls = registry().stage("import-model")
    params = stage_cls.Params(source=keras_dir / "bpnet_encode_style.h5", importer=importer, out=tmp_path / "model")
    context = StageContext("import", tmp_path, tmp_path / "resume", logging.getLogger("test"))
    stage_cls().run(params, context)
    model = load_model(tmp_path / "model")
    check(model, "bpnet_encode_style")
    provenance = model.bpnet_metadata["provenance"]
    assert provenance["importer"] == "keras" and len(provenance["source_sha256"]) == 64


def test_import_model_stage_refuses_files_no_importer_reads(keras_dir, tmp_path):
    from bpnet.core.errors import BpnetError
    from bpnet.core.stages import StageContext

    stage_cls = registry().stage("import-model")
    params = stage_cls.Params(source=keras_dir / "README.md", importer="auto", out=tmp_path / "model")
    context = StageContext("import", tmp_path, tmp_path / "resume", logging.getLogger("test"))
    with pytest.raises(BpnetError, match=r"no installed importer reads .*README.md \(importers: keras\)"):
        stage_cls().run(params, context)
    assert not (tmp_path / "model").exists()
