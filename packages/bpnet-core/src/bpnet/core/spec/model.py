"""The pipeline spec as a user writes it (YAML), validated by pydantic.

Example::

    output_dir: out                    # relative to this file
    executor: local
    stages:
      model:                           # a stage id (letters, digits, - and _)
        stage: model-init              # the registered stage; defaults to the id
        params:
          architecture: bpnet
          hyperparameters: {n_filters: 32, n_layers: 4}
      export:
        stage: model-export
        params:
          model: "@model.model"        # the output 'model' of the stage 'model'

Each stage's ``params`` are validated by that stage's own ``Params`` model, found
through the registry, so a plugin's stage validates exactly like a built-in one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

STAGE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class StageSpec(BaseModel):
    """One stage of a pipeline."""

    model_config = ConfigDict(extra="forbid")

    stage: str | None = Field(None, description="registered stage name (default: the stage id)")
    params: dict[str, Any] = Field(default_factory=dict, description="the stage's parameters")
    after: list[str] = Field(default_factory=list, description="stage ids to run first (besides data dependencies)")


class PipelineSpec(BaseModel):
    """A pipeline: stages composed into a DAG by their inputs and outputs."""

    model_config = ConfigDict(extra="forbid")

    output_dir: Path = Field(Path("bpnet-out"), description="where stage folders, records and the run log go (relative to the spec)")
    executor: str = Field("local", description="registered executor that runs the stages")
    stages: dict[str, StageSpec] = Field(..., description="stage id -> stage", min_length=1)
