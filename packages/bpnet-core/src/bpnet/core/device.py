"""Choosing the compute device, and saying which one is used.

Users in this field lose days to training that silently ran on the CPU, so asking for
a GPU that is not there is an error, never a quiet fallback.
"""

from __future__ import annotations

import logging

import torch

from .errors import BpnetError

log = logging.getLogger("bpnet.device")

PRECISIONS = ("float32", "bf16")


def resolve_device(requested: str = "auto") -> torch.device:
    """``auto`` (CUDA if present, else CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""
    requested = (requested or "auto").lower()
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BpnetError(
                f"device '{requested}' was requested but no CUDA GPU is available "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); "
                "use device: cpu to run on the CPU"
            )
        device = torch.device(requested)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise BpnetError(f"device '{requested}' does not exist ({torch.cuda.device_count()} GPU(s) visible)")
        return device
    if requested == "mps":
        if not torch.backends.mps.is_available():
            raise BpnetError("device 'mps' was requested but Apple's MPS backend is not available")
        return torch.device("mps")
    if requested == "cpu":
        return torch.device("cpu")
    raise BpnetError(f"unknown device '{requested}' (use auto, cpu, cuda, cuda:N or mps)")


def check_precision(precision: str, device: torch.device) -> str:
    """Validate a precision switch: bf16 autocast needs a GPU that supports it."""
    if precision not in PRECISIONS:
        raise BpnetError(f"unknown precision '{precision}' (use {' or '.join(PRECISIONS)})")
    if precision == "bf16" and (device.type != "cuda" or not torch.cuda.is_bf16_supported()):
        raise BpnetError(f"precision bf16 needs a CUDA GPU with bfloat16 support (device is {device})")
    return precision


def describe_device(device: torch.device, precision: str = "float32") -> str:
    """A one-line description, e.g. ``cuda:0 (NVIDIA H100 80GB HBM3), bf16``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        name = f"{device.type}:{index} ({torch.cuda.get_device_name(index)})"
    elif device.type == "cpu":
        name = f"cpu ({torch.get_num_threads()} threads)"
    else:
        name = str(device)
    return f"{name}, {precision}"


def announce_device(device: torch.device, precision: str = "float32") -> str:
    """Log (and return) the device line every computing command prints at start."""
    line = f"device: {describe_device(device, precision)}"
    log.info(line)
    return line
