"""The ``predict`` stage: profiles and counts of one or more models over a BED of regions."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from bpnet.core.errors import InputError
from bpnet.core.stages.base import Input, Output, Stage, StageContext
from bpnet.core.stages.params import SUBMODEL_HELP, DeviceParams, ModelsParams, Submodel

from . import STAGE_VERSION


class PredictParams(ModelsParams, DeviceParams):
    submodel: Submodel = Field("model", description=f"{SUBMODEL_HELP}; the whole model by default")
    genome: Input = Field(..., description="reference genome FASTA")
    regions: Input = Field(
        ...,
        description="regions to predict, BED or narrowPeak; one window per region, centred on the summit where there is one",
    )
    use_summits: bool = Field(True, description="centre windows on the narrowPeak summit (column 10) rather than the interval midpoint")
    input_length: int | None = Field(
        None,
        ge=1,
        description="sequence window (bp); default: the models' minimum input length (2114 for the standard BPNet), else 2114",
    )
    control_tracks: list[Input] = Field(
        default_factory=list,
        description=(
            "control bigWigs or track-set folders, in the order the models were trained with (models with control "
            "tracks need them)"
        ),
    )
    control_length: int | None = Field(
        None,
        ge=1,
        description="control window (bp) centred on the output window; default the output length (as the loci stage)",
    )
    track_names: list[str] | None = Field(
        None,
        description=(
            "names of the predicted tracks (bigWig file names); default plus/minus for 2 tracks, signal for 1, else "
            "track_0, track_1, ..."
        ),
    )
    reverse_complement_average: bool = Field(
        False,
        description="also predict the reverse complement, flip it back (swapping plus and minus for 2-track models) and average",
    )
    off_chrom: Literal["drop", "error"] = Field(
        "drop", description="regions whose windows run off a chromosome end: drop them (logged) or stop with an error"
    )
    batch_size: int = Field(64, ge=1, description="windows per forward pass")
    bigwigs: Output = Field(
        Path("bigwigs"),
        description="track-set folder: one bigWig of predicted expected counts per track, plus tracks.json",
    )
    arrays: Output = Field(
        Path("predictions.npz"),
        description=(
            "npz: output windows (chrom, start, end, centre), log_counts (N,), profiles (N, tracks, length) "
            "probabilities, track_names, models"
        ),
    )

    @field_validator("track_names")
    @classmethod
    def _file_names(cls, names: list[str] | None) -> list[str] | None:
        if names is None:
            return names
        if len(set(names)) != len(names):
            raise ValueError(f"track names must differ, got {names}")
        for name in names:
            if not name or "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(f"track name {name!r} must be a plain file name (no '/', not starting with '.')")
        return names


class Predict(Stage):
    """Predict profiles and counts for a BED of regions, averaged over models (bigWig, npz)."""

    name = "predict"
    version = STAGE_VERSION
    Params = PredictParams

    def run(self, params: PredictParams, context: StageContext) -> None:
        from bpnet.core.outputs import check_models_agree, default_input_length, strand_pairs
        from bpnet.data.sources import SequenceSource, open_source

        from .. import prediction

        device = params.setup_device()
        loaded = params.load_models(device)
        input_length = params.input_length or default_input_length(loaded.models)
        shape = check_models_agree(loaded.models, loaded.labels, input_length)
        names = _track_names(params.track_names, shape.n_tracks)
        controls = prediction.ControlReader(params.control_tracks, params.control_length or shape.output_length)
        _check_controls(controls.n_tracks, shape.n_control_tracks, loaded.labels[0])

        genome = open_source(params.genome, SequenceSource)
        regions, label = prediction.read_regions(params.regions)
        windows = prediction.prediction_windows(
            regions, genome.sizes, input_length=input_length, output_length=shape.output_length,
            control_length=controls.length if controls.n_tracks else 0, use_summits=params.use_summits,
            off_chrom=params.off_chrom, label=label, reference_label=genome.label,
        )
        controls.check(sorted(set(windows.chrom.tolist())), genome.sizes, label=label, genome_label=genome.label)
        context.log.info(
            "predicting %d region(s) with %d model(s)%s: %d bp in, %d track(s) x %d bp out",
            len(windows), len(loaded), " and their reverse complements" if params.reverse_complement_average else "",
            input_length, shape.n_tracks, shape.output_length,
        )
        pairs = strand_pairs(shape.n_tracks)
        try:
            predictions = prediction.predict_windows(
                loaded.models, genome, windows, controls=controls, reverse_complement_average=params.reverse_complement_average,
                strand_pairs=pairs, batch_size=params.batch_size,
            )
        finally:
            controls.close()
        submodel = ",".join(dict.fromkeys(loaded.submodels))  # what "auto" became
        description = {"kind": "predicted expected counts", "models": loaded.labels, "submodel": submodel,
                       "regions": label, "reverse_complement_average": params.reverse_complement_average}
        prediction.write_prediction_bigwigs(params.bigwigs, genome.sizes, windows, predictions.expected_counts(), names,
                                            strand_pairs=pairs, description=description)
        prediction.write_prediction_arrays(params.arrays, windows, predictions, names, loaded.labels, submodel)
        context.log.info("wrote %d bigWig track(s) and %d predicted window(s)", len(names), len(windows))


def _track_names(names: list[str] | None, n_tracks: int) -> list[str]:
    from bpnet.core.outputs import track_names

    if names is None:
        return track_names(n_tracks)
    if len(names) != n_tracks:
        raise InputError(
            f"track_names has {len(names)} name(s) but the models predict {n_tracks} track(s): give {n_tracks} names or leave it unset"
        )
    return names


def _check_controls(given: int, needed: int, model_label: str) -> None:
    if needed and not given:
        raise InputError(
            f"{model_label} takes {needed} control track(s) (e.g. ChIP input) but control_tracks is empty: "
            "give the control bigWigs (or track-set folder) the model was trained with"
        )
    if given != needed:
        raise InputError(
            f"control_tracks hold {given} track(s) but {model_label} takes {needed}: "
            + ("leave control_tracks empty for this model" if not needed else f"give exactly {needed} control track(s)")
        )
