"""Recognise the architecture from weight names and read its hyperparameters from the tensors.

Families (layer names in brackets):

* ChromBPNet bias model [``bpnet_1st_conv``, ``bpnet_{i}conv``, ``prof_out_precrop``,
  ``logcount_predictions``] and accessibility ("no bias") model [the same with prefix
  ``wo_bias_``]; both present = the full ChromBPNet;
* bpnet-refactor / ENCODE TF ChIP / basepairmodels >= 0.3 BPNet [``<p>_conv_0``,
  ``<p>_dil_conv_{i}``, ``<p>_profile_head``, ``<p>_counts_head``, ``profile_predictions``,
  ``logcounts_predictions``];
* basepairmodels v0.1.x BPNet [``1st_conv``, ``dil_conv_{i}``, ``profile_out_prebias``,
  ``profile_predictions``, ``logcount_predictions``].

Filters, kernel sizes, tracks and control tracks come from the kernel shapes, the
number of layers from the layer names. The model config (when the file has one) only
supplies the input length and the profile crop, and cross-checks the dilations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .h5 import KerasWeights
from .sources import KerasImportError

DEFAULT_INPUT_LENGTH = 2114
DEFAULT_OUTPUT_LENGTH = 1000
KINDS = ("chrombpnet", "accessibility", "bias", "bpnet")
SUPPORTED = (
    "supported: ChromBPNet bias / accessibility (no-bias) / full models (kundajelab/chrombpnet), "
    "bpnet-refactor / ENCODE TF ChIP BPNet, basepairmodels v0.1.x and >= 0.3 BPNet"
)


@dataclass
class Part:
    """One torch architecture to build: its registered name, config and weight mapping."""

    architecture: str
    config: dict[str, Any]
    mapping: list[tuple[str, str, str]] = field(default_factory=list)  # (torch module, keras layer, conv|dense)


@dataclass
class Detected:
    """What a Keras file holds."""

    kind: str
    family: str
    parts: dict[str, Part]
    input_length: int
    controls: str = "none"


@dataclass(frozen=True)
class _ChromNames:
    first: str
    conv: str  # format string with {i}
    profile: str
    crop: str
    counts: str


BIAS_NAMES = _ChromNames(
    "bpnet_1st_conv", "bpnet_{i}conv", "prof_out_precrop", "logits_profile_predictions_preflatten", "logcount_predictions"
)
ACC_NAMES = _ChromNames(
    "wo_bias_bpnet_1st_conv",
    "wo_bias_bpnet_{i}conv",
    "wo_bias_bpnet_prof_out_precrop",
    "wo_bias_bpnet_logitt_before_flatten",
    "wo_bias_bpnet_logcount_predictions",
)


def _kernel(weights: KerasWeights, layer: str) -> Any:
    try:
        return weights.layers[layer]["kernel"]
    except KeyError as exc:
        raise KerasImportError(f"layer {layer!r} (or its kernel) is missing; the file is incomplete") from exc


def _numbered(weights: KerasWeights, pattern: str) -> int:
    """Count layers whose names match ``pattern`` (one group: the 1-based index); check 1..n."""
    regex = re.compile(pattern)
    numbers = sorted(int(m.group(1)) for name in weights.layers if (m := regex.fullmatch(name)))
    if numbers != list(range(1, len(numbers) + 1)):
        raise KerasImportError(f"dilated layers are not numbered 1..n (found {numbers})")
    return len(numbers)


def input_length(weights: KerasWeights) -> int:
    """Sequence length of the model input (from the config; else the official 2114)."""
    for layers in weights.layer_configs().values():
        for layer in layers:
            if layer.get("class_name") != "InputLayer":
                continue
            config = layer.get("config") or {}
            shape = config.get("batch_input_shape") or config.get("batch_shape")
            if shape and len(shape) == 3 and shape[-1] == 4 and isinstance(shape[1], int):
                return shape[1]
    return DEFAULT_INPUT_LENGTH


def _check_dilations(weights: KerasWeights, names: list[str]) -> None:
    for i, name in enumerate(names, start=1):
        config = weights.layer_config(name, "Conv1D")
        if config and config.get("dilation_rate") not in (None, [2**i], 2**i, (2**i,)):
            raise KerasImportError(f"layer {name} has dilation {config.get('dilation_rate')}, expected {2**i}")


def _output_length(weights: KerasWeights, crop_layer: str, trunk_config: dict[str, Any], length: int) -> int:
    """Profile output length from the crop layer's config, else the official 1000."""
    config = weights.layer_config(crop_layer, "Cropping1D")
    if not config or "cropping" not in config:
        return DEFAULT_OUTPUT_LENGTH
    c = trunk_config
    shrink = c["conv1_kernel_size"] - 1 + sum((c["dilated_kernel_size"] - 1) * 2**i for i in range(1, c["n_layers"] + 1))
    cropping = config["cropping"]
    left, right = (cropping, cropping) if isinstance(cropping, int) else cropping
    out = length - shrink - (c["profile_kernel_size"] - 1) - left - right
    if out <= 0:
        raise KerasImportError(f"the profile crop {cropping} leaves no output for {length} bp inputs")
    return out


def _trunk(weights: KerasWeights, first: str, conv: str) -> tuple[dict[str, Any], list[str]]:
    k_first = _kernel(weights, first)
    n_layers = _numbered(weights, re.escape(conv).replace(r"\{i\}", r"(\d+)"))
    names = [conv.format(i=i) for i in range(1, n_layers + 1)]
    _check_dilations(weights, names)
    dilated = _kernel(weights, names[0]).shape[0] if names else 3
    return {"n_filters": int(k_first.shape[2]), "n_layers": n_layers, "conv1_kernel_size": int(k_first.shape[0]),
            "dilated_kernel_size": int(dilated)}, names


def chrombpnet_part(weights: KerasWeights, names: _ChromNames, length: int) -> Part:
    """A ChromBPNet bias or accessibility body as a core ``bpnet`` architecture."""
    config, convs = _trunk(weights, names.first, names.conv)
    profile, counts = _kernel(weights, names.profile), _kernel(weights, names.counts)
    config.update(profile_kernel_size=int(profile.shape[0]), n_outputs=int(profile.shape[2]),
                  n_count_outputs=int(counts.shape[1]), n_control_tracks=0)
    config["output_length"] = _output_length(weights, names.crop, config, length)
    mapping = [("iconv", names.first, "conv")] + [(f"rconvs.{i}", n, "conv") for i, n in enumerate(convs)]
    mapping += [("fconv", names.profile, "conv"), ("linear", names.counts, "dense")]
    return Part("bpnet", config, mapping)


def _basepairnet(weights: KerasWeights, prefix: str, length: int) -> Detected:
    if any(re.fullmatch(r"(profile|logcounts)_predictions_\d+", n) for n in weights.layers):
        raise KerasImportError("multi-task bpnet-refactor models (per-task heads) are not supported; " + SUPPORTED)
    config, convs = _trunk(weights, f"{prefix}_conv_0", prefix + "_dil_conv_{i}")
    mapping = [("iconv", f"{prefix}_conv_0", "conv")] + [(f"rconvs.{i}", n, "conv") for i, n in enumerate(convs)]
    head = f"{prefix}_profile_head"
    if head in weights.layers:
        profile, counts = _kernel(weights, head), _kernel(weights, f"{prefix}_counts_head")
        tracks, n_counts = int(profile.shape[2]), int(counts.shape[1])
        n_ctl = int(_kernel(weights, "profile_predictions").shape[1]) - tracks
        final = _kernel(weights, "logcounts_predictions")
        expected = n_counts + (1 if n_counts == 1 else n_ctl)
        if final.shape != (expected, n_counts):
            raise KerasImportError(f"logcounts_predictions has shape {final.shape}, expected {(expected, n_counts)}")
        mapping += [("fconv", head, "conv"), ("counts_head", f"{prefix}_counts_head", "dense"),
                    ("ctl_profile", "profile_predictions", "conv"), ("linear", "logcounts_predictions", "dense")]
    else:
        profile, counts = _kernel(weights, "profile_predictions"), _kernel(weights, "logcounts_predictions")
        tracks, n_counts, n_ctl = int(profile.shape[2]), int(counts.shape[1]), 0
        mapping += [("fconv", "profile_predictions", "conv"), ("counts_head", "logcounts_predictions", "dense")]
    config.update(profile_kernel_size=int(profile.shape[0]), n_outputs=tracks, n_count_outputs=n_counts,
                  n_control_tracks=n_ctl)
    config["output_length"] = _output_length(weights, f"{prefix}_profile_head_cropped", config, length)
    controls = "none" if not n_ctl else ("total" if n_counts == 1 else "per-track")
    return Detected("bpnet", "bpnet-refactor", {"bpnet": Part("basepairnet", config, mapping)}, length, controls)


def _basepairnet_v01(weights: KerasWeights, length: int) -> Detected:
    config, convs = _trunk(weights, "1st_conv", "dil_conv_{i}")
    profile = _kernel(weights, "profile_out_prebias")
    tracks = int(profile.shape[2])
    n_ctl = int(_kernel(weights, "profile_predictions").shape[1]) - tracks
    counts = _kernel(weights, "logcount_predictions")
    if counts.shape[0] != config["n_filters"] + (1 if n_ctl else 0):
        raise KerasImportError(f"logcount_predictions has {counts.shape[0]} inputs, expected {config['n_filters'] + 1}")
    config.update(profile_kernel_size=int(profile.shape[0]), n_outputs=tracks, n_count_outputs=int(counts.shape[1]),
                  n_control_tracks=n_ctl)
    config["output_length"] = _output_length(weights, "prof_out_crop2match_output", config, length)
    mapping = [("iconv", "1st_conv", "conv")] + [(f"rconvs.{i}", n, "conv") for i, n in enumerate(convs)]
    mapping += [("fconv", "profile_out_prebias", "conv"), ("ctl_profile", "profile_predictions", "conv"),
                ("linear", "logcount_predictions", "dense")]
    controls = "total (both strands)" if n_ctl else "none"
    return Detected("bpnet", "basepairmodels-v0.1", {"bpnet": Part("basepairnet-v01", config, mapping)}, length, controls)


def _refactor_prefix(names: set[str]) -> str | None:
    for name in sorted(names):
        m = re.fullmatch(r"(.+)_dil_conv_1", name)
        if m and f"{m.group(1)}_conv_0" in names:
            return m.group(1)
    return None


def detect(weights: KerasWeights, source_name: str) -> Detected:
    """Recognise the family of ``weights`` and read its hyperparameters; raise when unknown."""
    names = set(weights.layers)
    length = input_length(weights)
    has_bias, has_acc = BIAS_NAMES.first in names, ACC_NAMES.first in names
    if has_bias or has_acc:
        parts = {}
        if has_bias:
            parts["bias"] = chrombpnet_part(weights, BIAS_NAMES, length)
        if has_acc:
            parts["accessibility"] = chrombpnet_part(weights, ACC_NAMES, length)
        kind = "chrombpnet" if has_bias and has_acc else ("bias" if has_bias else "accessibility")
        return Detected(kind, "chrombpnet", parts, length)
    prefix = _refactor_prefix(names)
    if prefix is not None:
        return _basepairnet(weights, prefix, length)
    if "1st_conv" in names and "dil_conv_1" in names:
        return _basepairnet_v01(weights, length)
    if any(re.fullmatch(r"conv1d(_\d+)*", n) for n in names) and any(n.startswith("logcounts") for n in names):
        raise KerasImportError(
            f"{source_name} is a chrombpnet-lite model (auto-named conv1d_* layers and a 'logcounts' head), "
            "which is not supported; " + SUPPORTED
        )
    found = ", ".join(sorted(names)[:8]) or "no layers with weights"
    raise KerasImportError(f"{source_name} is not a recognised BPNet/ChromBPNet model (layers: {found}); {SUPPORTED}")
