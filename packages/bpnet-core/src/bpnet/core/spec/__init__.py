"""Pipeline specs: the YAML users write, validated and resolved."""

from .model import PipelineSpec, StageSpec
from .resolve import Pipeline, ResolvedStage, load_pipeline, resolve

__all__ = ["Pipeline", "PipelineSpec", "ResolvedStage", "StageSpec", "load_pipeline", "resolve"]
