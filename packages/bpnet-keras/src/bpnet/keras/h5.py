"""Read layer weights from Keras files with h5py, without Keras or TensorFlow.

Three layouts are read into one flat form, ``{layer name: {"kernel": array, "bias": array}}``:

* legacy HDF5 (``model.save('x.h5')`` in Keras 2 and 3): ``model_weights/<layer>`` groups
  listed in the ``layer_names`` attribute, each with ``weight_names``; a nested model
  (the full ChromBPNet) is one group whose weight names start with its layers' names;
* weights-only HDF5 (``save_weights``): the same groups at the root;
* Keras 3 ``.keras`` zip: ``model.weights.h5`` stores weights under class-derived auto
  paths (``layers/conv1d_3/vars/0``); layer names are recovered by walking
  ``config.json`` in order with one counter per class and container.

The model config JSON is parsed as data only (for input length, crops and cross-checks);
nothing in it, in particular no Lambda layer, is ever executed or unmarshalled.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from .sources import KerasImportError, Source, open_zip

NESTED_CLASSES = {"Functional", "Model", "Sequential"}


@dataclass
class KerasWeights:
    """Weights by layer name plus what the file says about itself."""

    layers: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    keras_version: str | None = None
    backend: str | None = None
    layout: str = "legacy-h5"
    nested: list[str] = field(default_factory=list)
    layer_order: list[str] = field(default_factory=list)

    def layer_configs(self) -> dict[str, list[dict[str, Any]]]:
        """``{layer name: [layer dicts with "class_name" and "config"]}``, nested models included."""
        found: dict[str, list[dict[str, Any]]] = {}
        if self.config:
            _collect_configs(self.config, found)
        return found

    def layer_config(self, name: str, class_name: str) -> dict[str, Any] | None:
        """The ``config`` of the layer ``name`` of class ``class_name`` (None when unknown)."""
        for layer in self.layer_configs().get(name, []):
            if layer.get("class_name") == class_name:
                return layer.get("config") or {}
        return None


def _collect_configs(model: dict[str, Any], found: dict[str, list[dict[str, Any]]]) -> None:
    for layer in (model.get("config") or {}).get("layers", []) or []:
        name = layer.get("name") or (layer.get("config") or {}).get("name")
        found.setdefault(name, []).append(layer)
        if layer.get("class_name") in NESTED_CLASSES:
            _collect_configs(layer, found)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, np.bytes_)) else str(value)


def _names(attr: Any) -> list[str]:
    return [_text(v) for v in np.atleast_1d(attr)] if attr is not None else []


def _variable(weight_name: str, index: int) -> str:
    leaf = weight_name.rsplit("/", 1)[-1].split(":")[0]
    if leaf in ("kernel", "bias"):
        return leaf
    return ("kernel", "bias")[index] if index < 2 else leaf


def _add(weights: KerasWeights, layer: str, variable: str, array: np.ndarray) -> None:
    weights.layers.setdefault(layer, {})[variable] = np.asarray(array, dtype=np.float32)


def _read_layer_group(weights: KerasWeights, name: str, group: h5py.Group, nested: bool) -> None:
    positions: dict[str, int] = {}
    for weight_name in _names(group.attrs.get("weight_names")):
        parts = weight_name.split("/")
        owner = parts[-2] if nested and len(parts) >= 2 else name
        position = positions.get(owner, 0)
        positions[owner] = position + 1
        _add(weights, owner, _variable(weight_name, position), group[weight_name][()])


def _is_nested(name: str, group: h5py.Group, configs: dict[str, dict[str, Any]]) -> bool:
    if name in configs:
        return any(layer.get("class_name") in NESTED_CLASSES for layer in configs[name])
    firsts = {w.split("/")[0] for w in _names(group.attrs.get("weight_names"))}
    return len(firsts) > 1


def read_hdf5(source: Source, handle: h5py.File) -> KerasWeights:
    """Read a legacy or weights-only Keras HDF5 file."""
    weights = KerasWeights(
        keras_version=_attr(handle, "keras_version"),
        backend=_attr(handle, "backend"),
    )
    config_text = _attr(handle, "model_config")
    if config_text:
        try:
            weights.config = json.loads(config_text)
        except json.JSONDecodeError:
            weights.config = None
    if "model_weights" in handle:
        root = handle["model_weights"]
        weights.keras_version = weights.keras_version or _attr(root, "keras_version")
    elif "layer_names" in handle.attrs:
        root, weights.layout = handle, "weights-only-h5"
    elif "layers" in handle and "vars" not in handle:
        raise KerasImportError(
            f"{source.name} looks like a Keras 3 'model.weights.h5' without its config; give the whole .keras file"
        )
    else:
        raise KerasImportError(
            f"{source.name} is an HDF5 file but not a Keras model (no 'model_weights' group or 'layer_names'); "
            "supported: files written by Keras model.save('x.h5') or save_weights"
        )
    weights.keras_version = weights.keras_version or _attr(root, "keras_version")
    configs = weights.layer_configs()
    for name in _names(root.attrs.get("layer_names")):
        weights.layer_order.append(name)
        if name not in root:
            continue
        group = root[name]
        nested = _is_nested(name, group, configs)
        if nested:
            weights.nested.append(name)
        _read_layer_group(weights, name, group, nested)
    return weights


def _attr(obj: h5py.HLObject, key: str) -> str | None:
    value = obj.attrs.get(key)
    return None if value is None else _text(value)


def snake_case(name: str) -> str:
    """Keras 3's class-name to path-name rule (``Conv1D`` -> ``conv1d``)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _walk_keras3(model: dict[str, Any], group: h5py.Group | None, weights: KerasWeights, prefix: str) -> None:
    counters: dict[str, int] = {}
    for layer in model.get("config", {}).get("layers", []):
        cls = layer.get("class_name", "")
        base = snake_case(cls)
        count = counters.get(base, 0)
        counters[base] = count + 1
        path = base if count == 0 else f"{base}_{count}"
        name = layer.get("name") or layer.get("config", {}).get("name")
        weights.layer_order.append(name)
        sub = group.get(path) if group is not None else None
        if cls in NESTED_CLASSES:
            weights.nested.append(name)
            _walk_keras3(layer, sub.get("layers") if sub is not None else None, weights, f"{prefix}{path}/")
            continue
        if sub is None or "vars" not in sub:
            continue
        variables = sub["vars"]
        for index in sorted(variables, key=int):
            _add(weights, name, ("kernel", "bias")[int(index)] if int(index) < 2 else index, variables[index][()])


def read_keras_zip(source: Source) -> KerasWeights:
    """Read a Keras 3 ``.keras`` zip (config.json + model.weights.h5)."""
    with open_zip(source) as archive:
        names = set(archive.namelist())
        if not {"config.json", "model.weights.h5"} <= names:
            raise KerasImportError(
                f"{source.name} is a zip file but not a Keras 3 .keras model (config.json or model.weights.h5 missing)"
            )
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json")) if "metadata.json" in names else {}
        data = archive.read("model.weights.h5")
    weights = KerasWeights(config=config, keras_version=metadata.get("keras_version"), layout="keras-v3")
    with h5py.File(io.BytesIO(data), "r") as handle:
        _walk_keras3(config, handle.get("layers"), weights, "")
    return weights


def read_weights(source: Source, container: str) -> KerasWeights:
    """Read the weights of an ``hdf5`` or ``keras-zip`` source (see :func:`sources.sniff`)."""
    if container == "keras-zip":
        return read_keras_zip(source)
    try:
        handle = h5py.File(source.path if source.path is not None else io.BytesIO(source.data or b""), "r")
    except (OSError, ValueError) as exc:
        raise KerasImportError(f"{source.name} is not a readable HDF5 file (truncated or corrupt: {exc})") from exc
    try:
        with handle:
            return read_hdf5(source, handle)
    except (OSError, KeyError, ValueError) as exc:
        raise KerasImportError(f"{source.name} could not be read as a Keras HDF5 file ({exc})") from exc
