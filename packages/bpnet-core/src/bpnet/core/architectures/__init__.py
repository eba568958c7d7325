"""The model zoo: architectures bpnet-core registers as built-in plugins."""

from .base import Architecture, ArchitectureConfig
from .bpnet import BPNet, BPNetConfig
from .chrombpnet import ChromBPNet
from .dilated import DilatedResidualArchitecture
from .wrappers import ControlWrapper, CountWrapper, ProfileWrapper, SoftmaxWeightedLogits, deeplift_rules

__all__ = [
    "Architecture",
    "ArchitectureConfig",
    "BPNet",
    "BPNetConfig",
    "ChromBPNet",
    "DilatedResidualArchitecture",
    "ControlWrapper",
    "CountWrapper",
    "ProfileWrapper",
    "SoftmaxWeightedLogits",
    "deeplift_rules",
]
