"""Python API: :func:`load` a Keras/ENCODE model as a torch module, :func:`inspect` a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import torch

from .convert import build, build_part, combine
from .detect import KINDS, Detected, detect
from .h5 import KerasWeights, read_weights
from .sources import KerasImportError, Source, SourceLike, as_source, sniff
from .tarball import read_members, scan


@dataclass
class ModelFile:
    """One Keras model file (standalone or a tarball member), read and recognised."""

    source: Source
    weights: KerasWeights
    detected: Detected
    member: str | None = None

    def kinds(self) -> list[str]:
        """The kinds this file alone can give."""
        if self.detected.kind == "chrombpnet":
            return ["chrombpnet", "accessibility", "bias"]
        return [self.detected.kind]


@dataclass
class Imported:
    """A converted model and where it came from."""

    model: torch.nn.Module
    provenance: dict[str, Any] = field(default_factory=dict)


def read_model_file(source: Source, member: str | None = None) -> ModelFile:
    """Read and recognise an ``.h5`` / ``.keras`` source (not a tarball)."""
    container = sniff(source)
    if container == "tar":
        raise KerasImportError(f"{source.name} is a tar archive inside an archive; give the .h5 model instead")
    weights = read_weights(source, container)
    return ModelFile(source, weights, detect(weights, source.name), member)


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise KerasImportError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")


def _from_file(model_file: ModelFile, kind: str | None) -> tuple[torch.nn.Module, str]:
    kind = kind or model_file.detected.kind
    if kind not in model_file.kinds():
        raise KerasImportError(
            f"{model_file.source.name} holds a {model_file.detected.kind} model ({model_file.detected.family}); "
            f"kind {kind!r} is not available from it (available: {', '.join(model_file.kinds())})"
        )
    return build(model_file.weights, model_file.detected, kind), kind


def tarball_models(source: Source, fold: int | None) -> tuple[int | None, list[ModelFile]]:
    """The recognised model files of one fold of an ENCODE tarball (lowest fold by default)."""
    tarball = scan(source)
    fold = tarball.default_fold() if fold is None else fold
    members = tarball.members(fold)
    data = read_members(source, [m.name for m in members])
    files = [read_model_file(Source(PurePosixPath(m.name).name, data=data[m.name]), m.name) for m in members]
    return fold, files


def _pick(files: list[ModelFile], kind: str) -> ModelFile | None:
    """The file that holds ``kind`` itself; for ``bias`` prefer a scaled bias model."""
    matches = [f for f in files if f.detected.kind == kind]
    if kind == "bias":
        matches.sort(key=lambda f: "bias_scaled" not in (f.member or ""))
    return matches[0] if matches else None


def _from_tarball(files: list[ModelFile], kind: str | None, label: str) -> tuple[torch.nn.Module, str, list[ModelFile]]:
    held = {f.detected.kind for f in files}
    if kind is None:
        kind = "chrombpnet" if held & {"chrombpnet", "accessibility"} else sorted(held)[0]
    own = _pick(files, kind)
    if own is not None:
        return _from_file(own, kind)[0], kind, [own]
    full = _pick(files, "chrombpnet")
    if full is not None and kind in ("accessibility", "bias"):
        return _from_file(full, kind)[0], kind, [full]
    acc, bias = _pick(files, "accessibility"), _pick(files, "bias")
    if kind == "chrombpnet" and acc is not None and bias is not None:
        model = combine(build_part(bias.weights, bias.detected.parts["bias"]),
                        build_part(acc.weights, acc.detected.parts["accessibility"]))
        return model, kind, [acc, bias]
    raise KerasImportError(f"{label} holds {', '.join(sorted(held))} models; kind {kind!r} cannot be built from them")


def import_model(
    source: SourceLike, *, fold: int | None = None, kind: str | None = None, checksum: bool = False
) -> Imported:
    """Convert ``source`` and record its provenance (see :func:`load`)."""
    _check_kind(kind)
    src = as_source(source)
    container = sniff(src)
    if container == "tar":
        fold, files = tarball_models(src, fold)
        model, kind, used = _from_tarball(files, kind, f"fold {fold} of {src.name}")
    else:
        if fold is not None:
            raise KerasImportError(f"{src.name} is a single model file; --fold only applies to ENCODE tarballs")
        used = [read_model_file(src)]
        model, kind = _from_file(used[0], kind)
    provenance = {
        "importer": "bpnet-keras",
        "source": src.name,
        "container": container,
        "fold": fold,
        "kind": kind,
        "members": [f.member for f in used if f.member],
        "family": used[0].detected.family,
        "keras_version": used[0].weights.keras_version,
        "keras_backend": used[0].weights.backend,
        "keras_layout": used[0].weights.layout,
        "input_length": used[0].detected.input_length,
    }
    if checksum:
        provenance["sha256"] = src.sha256()
    model = model.float().eval()
    model.bpnet_provenance = provenance
    return Imported(model, provenance)


def load(source: SourceLike, *, fold: int | None = None, kind: str | None = None) -> torch.nn.Module:
    """Load an official Keras BPNet/ChromBPNet model or ENCODE tarball as a torch module.

    ``source``: a path, ``bytes``, or a binary file-like object (e.g. a ``BytesIO`` of a
    tar member) holding a Keras 2/3 ``.h5`` (full model or weights-only), a Keras 3
    ``.keras`` file, or an ENCODE model ``.tar.gz``.

    ``kind``: ``"chrombpnet"`` (bias + accessibility), ``"accessibility"`` (the de-biased
    no-bias model, for interpretation), ``"bias"``, or ``"bpnet"`` (TF ChIP-seq BPNet);
    default: what the file holds, and for a tarball the full ChromBPNet (from its
    ``chrombpnet`` h5, or from ``chrombpnet_nobias`` + ``bias_scaled`` of the fold).
    ``fold``: the tarball fold (default: the lowest one).

    Returns the model in eval mode, float32. ``model(X)`` takes one-hot ``X`` of shape
    ``(N, 4, L)`` (A, C, G, T) and returns ``(profile_logits (N, tracks, output_length),
    log_counts (N, n))``; Keras' ``(N, L, 4)`` inputs and ``(N, 1000)`` / ``(N, 1000, T)``
    outputs are transposed. ChromBPNet files give :class:`bpnet.core.BPNet` /
    :class:`bpnet.core.ChromBPNet`; BPNet files with control inputs give
    ``BasePairNet`` / ``BasePairNetV01``, called as ``model(X, X_ctl)`` with ``X_ctl`` the
    raw control counts per position ``(N, control tracks, L')`` (plus, minus strand),
    ``L' >= output_length``, centre-cropped; the count-control inputs are derived inside.
    """
    return import_model(source, fold=fold, kind=kind).model


def _describe(model_file: ModelFile) -> dict[str, Any]:
    d = model_file.detected
    parts = {role: {"architecture": p.architecture, **p.config} for role, p in d.parts.items()}
    return {
        "member": model_file.member,
        "kind": d.kind,
        "family": d.family,
        "kinds": model_file.kinds(),
        "controls": d.controls,
        "input_length": d.input_length,
        "keras_version": model_file.weights.keras_version,
        "layout": model_file.weights.layout,
        "parts": parts,
    }


def inspect(source: SourceLike, *, fold: int | None = None) -> dict[str, Any]:
    """Describe what ``source`` holds without converting it.

    Returns ``{"source", "container", "models": [{kind, family, kinds, controls,
    input_length, keras_version, layout, parts: {role: {architecture, n_filters, n_layers,
    n_outputs, ...}}}]}``; tarballs add ``folds``, ``fold`` (the one described) and
    ``members`` (model files per fold).
    """
    src = as_source(source)
    container = sniff(src)
    info: dict[str, Any] = {"source": src.name, "container": container}
    if container == "tar":
        tarball = scan(src)
        info["folds"] = tarball.fold_numbers()
        info["members"] = {str(k): [m.name for m in v] for k, v in tarball.folds.items()}
        info["fold"], files = tarball_models(src, fold)
    else:
        files = [read_model_file(src)]
    info["models"] = [_describe(f) for f in files]
    return info
