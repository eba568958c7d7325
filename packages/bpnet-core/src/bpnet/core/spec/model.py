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

Folds: a spec may declare ``folds`` once and mark stages ``per_fold: true``; each such
stage becomes one instance per fold, with the id ``stage[fold]`` (its folder
``output_dir/stage/fold``), as :mod:`.folds` describes::

    folds: [fold_0, fold_1]
    stages:
      train:
        stage: train-bpnet
        per_fold: true
        params: {loci: "@loci.loci"}            # the same fold's instance of 'loci'
      attribute:
        params: {models: ["@train.model"]}      # a list item: every fold's model
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: a stage id as written in a spec: letters, digits, '-' and '_'
STAGE_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]*"
#: a fold name: letters, digits, '.', '-' and '_' (it names a folder)
FOLD_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
FOLD_NAME_PATTERN = rf"^{FOLD_NAME}$"
#: a stage id as written, or one fold's instance of a per-fold stage: ``train`` or ``train[fold_0]``
INSTANCE_ID_PATTERN = rf"^(?P<stage>{STAGE_NAME})(\[(?P<fold>{FOLD_NAME})\])?$"


def instance_id(stage_id: str, fold: str) -> str:
    """The id of one fold's instance of a per-fold stage: ``train[fold_0]``."""
    return f"{stage_id}[{fold}]"


def split_instance_id(stage_id: str) -> tuple[str, str | None]:
    """``train[fold_0]`` -> ``("train", "fold_0")``; ``train`` -> ``("train", None)``."""
    match = re.match(INSTANCE_ID_PATTERN, stage_id)
    if not match:
        return stage_id, None
    return match["stage"], match["fold"]


def stage_folder(output_dir: Path, stage_id: str) -> Path:
    """A stage's own folder: ``output_dir/train``, or ``output_dir/train/fold_0`` for a fold's instance."""
    stage, fold = split_instance_id(stage_id)
    return output_dir / stage / fold if fold else output_dir / stage_id


class StageSpec(BaseModel):
    """One stage of a pipeline."""

    model_config = ConfigDict(extra="forbid")

    stage: str | None = Field(None, description="registered stage name (default: the stage id)")
    params: dict[str, Any] = Field(default_factory=dict, description="the stage's parameters")
    after: list[str] = Field(default_factory=list, description="stage ids to run first (besides data dependencies)")
    per_fold: bool = Field(
        False,
        description="run one instance of this stage per fold of the spec's 'folds' (ids stage[fold]); '{fold}' in its "
        "parameters becomes the fold's name",
    )


class PipelineSpec(BaseModel):
    """A pipeline: stages composed into a DAG by their inputs and outputs."""

    model_config = ConfigDict(extra="forbid")

    output_dir: Path = Field(Path("bpnet-out"), description="where stage folders, records and the run log go (relative to the spec)")
    executor: str = Field("local", description="registered executor that runs the stages")
    folds: list[str] = Field(
        default_factory=list,
        description="fold names (as in the splits stage's file, e.g. fold_0 .. fold_4) that per_fold stages fan out over",
    )
    stages: dict[str, StageSpec] = Field(..., description="stage id -> stage", min_length=1)
