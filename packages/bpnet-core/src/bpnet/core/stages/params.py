"""Parameter mix-ins shared by the stages that run models.

A stage's ``Params`` derives from the ones it needs, so the fields, their meaning and
what is done with them are written once::

    class PredictParams(ModelsParams, DeviceParams):
        regions: Input
        ...

    device = params.setup_device()            # resolved, checked, announced
    loaded = params.load_models(device)       # models, labels, submodels
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import Input, StageParams

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..outputs import LoadedModels


#: which part of a model a stage runs (:func:`bpnet.core.outputs.select_submodel`)
Submodel = Literal["auto", "model", "accessibility", "bias"]
SUBMODEL_HELP = (
    "auto: a ChromBPNet's de-biased accessibility model, any other model whole; "
    "or model (the whole model), accessibility or bias (the parts of a ChromBPNet)"
)


class DeviceParams(StageParams):
    """``device``: where the stage computes."""

    device: str = Field(
        "auto", description="auto (CUDA if present), cpu, cuda, cuda:N or mps; a GPU that is asked for and missing is an error",
    )

    def setup_device(self, precision: str = "float32", *, check_precision: bool = False) -> torch.device:
        """The resolved device, logged with ``precision`` (checked first with ``check_precision``).

        Asking for a GPU that is not there is an error, never a quiet fallback to the CPU.
        """
        from ..device import announce_device, resolve_device
        from ..device import check_precision as check

        device = resolve_device(self.device)
        if check_precision:
            check(precision, device)
        announce_device(device, precision)
        return device


class ModelsParams(StageParams):
    """``models`` (folds, averaged) and ``submodel``: which models a stage runs."""

    models: list[Input] = Field(
        ..., min_length=1, description="bpnet model folders (e.g. the folds of one experiment); their outputs are averaged",
    )
    submodel: Submodel = Field("auto", description=SUBMODEL_HELP)

    def load_models(self, device: torch.device | str) -> LoadedModels:
        """Every model folder on ``device`` in eval mode, with the submodel taken of each."""
        from ..outputs import load_models

        return load_models(self.models, self.submodel, device)


__all__ = ["SUBMODEL_HELP", "DeviceParams", "ModelsParams", "Submodel"]
