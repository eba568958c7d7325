"""Pipeline stages: the Stage API and bpnet-core's built-in stages."""

from .base import INPUT, OUTPUT, Input, Output, Stage, StageContext, StageParams, path_fields, path_items, replace_paths

__all__ = [
    "INPUT", "OUTPUT", "Input", "Output", "Stage", "StageContext", "StageParams", "path_fields", "path_items", "replace_paths",
]
