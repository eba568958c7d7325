"""Device choice: asking for a GPU that is not there is an error, never a silent fallback."""

from __future__ import annotations

import pytest
import torch

from bpnet.core.device import check_precision, describe_device, resolve_device
from bpnet.core.errors import BpnetError


def test_auto_and_cpu():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_a_gpu_is_an_error():
    with pytest.raises(BpnetError, match="device 'cuda' was requested but no CUDA GPU is available"):
        resolve_device("cuda")


def test_unknown_device_and_precision():
    with pytest.raises(BpnetError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    with pytest.raises(BpnetError, match="unknown precision 'fp8'"):
        check_precision("fp8", torch.device("cpu"))
    with pytest.raises(BpnetError, match="bf16 needs a CUDA GPU"):
        check_precision("bf16", torch.device("cpu"))
    assert check_precision("float32", torch.device("cpu")) == "float32"


def test_description_names_device_and_precision():
    assert describe_device(torch.device("cpu")).startswith("cpu (") and describe_device(torch.device("cpu")).endswith(", float32")
