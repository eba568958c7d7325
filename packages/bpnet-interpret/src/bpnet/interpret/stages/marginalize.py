"""The ``marginalize`` stage: each motif of a MEME database inserted into background loci.

Outputs (see :mod:`bpnet.interpret.marginalize` for the definitions):

* ``marginalization.tsv``: one row per motif, ranked by mean delta log counts (largest
  first): ``rank``, ``motif``, ``alt_name``, ``consensus``, ``width``, ``n_loci``,
  ``mean_delta_log_counts``, ``sd_delta_log_counts``, ``fold_change``,
  ``mean_log_counts_before``, ``mean_log_counts_after``, ``profile_jsd``,
  ``max_abs_profile_change``, ``plot`` (the figure's file name in the plots folder).
* ``effects.npz``: per-locus log counts before and after, per-locus profile JSD, and the
  mean expected-count profiles before and after, per motif in rank order.
* ``plots/``: one PNG per motif (``<rank>_<motif>.png``, characters other than letters,
  digits, '.', '-' and '_' replaced by '_').
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from bpnet.core.stages.base import Input, Output, Stage, StageContext
from bpnet.core.stages.params import DeviceParams, ModelsParams


class MarginalizeParams(ModelsParams, DeviceParams):
    loci: Input = Field(..., description="loci.h5 from the loci stage; its negatives (or peaks) are the background sequences")
    motifs: Input = Field(
        ...,
        description="MEME motif database (minimal MEME format, e.g. from JASPAR or HOCOMOCO, or a modisco stage's patterns.meme)",
    )
    peaks: bool = Field(
        False,
        description=(
            "insert into peaks instead of the negatives (negatives show a motif's effect on its own; peaks, on top of "
            "what is there)"
        ),
    )
    split: str | list[str] | None = Field(None, description="split(s) the background loci come from (e.g. test); empty: every split")
    n_loci: int | None = Field(
        100, ge=1, description="background loci, drawn at random (with seed) from those selected; empty: all of them"
    )
    seed: int = Field(0, description="seed of the background draw (and of sampled sites); the same inputs and seed give the same table")
    insertion: Literal["consensus", "sample"] = Field(
        "consensus",
        description=(
            "what is inserted: the consensus (most probable base at each position), or one site per locus drawn from "
            "the motif's probabilities"
        ),
    )
    batch_size: int = Field(64, ge=1, description="windows per forward pass")
    table: Output = Field(Path("marginalization.tsv"), description="motifs ranked by mean delta log counts, with count and profile effects")
    effects: Output = Field(
        Path("effects.npz"),
        description="per motif: delta log counts per locus, profile JSD per locus, mean expected profiles before and after",
    )
    plots: Output = Field(
        Path("plots"),
        description="folder of one PNG per motif: profile before/after, difference, counts before vs after",
    )


class Marginalize(Stage):
    """Effect of each motif of a database inserted into background loci on predicted counts and profiles (ranked table, plots)."""

    name = "marginalize"
    Params = MarginalizeParams

    def run(self, params: MarginalizeParams, context: StageContext) -> None:
        import numpy as np

        from bpnet.core.console import track
        from bpnet.core.outputs import check_models_fit, track_names
        from bpnet.data.loci import LociSet
        from bpnet.data.motifs import read_meme

        from .. import marginalize

        motifs = read_meme(params.motifs)
        loci = LociSet.open(params.loci)  # reads only the background rows it draws
        loci_label = str(params.loci)
        device = params.setup_device()
        loaded = params.load_models(device)
        models, labels, submodels = loaded.models, loaded.labels, loaded.submodels
        trained = [marginalize.trained_input_length(path) for path in params.models]
        shape = check_models_fit(
            models, labels, input_length=loci.input_length, output_length=loci.output_length, windows=loci_label,
            n_control_tracks=loci.n_controls, trained_input_lengths=trained,
        )
        background = marginalize.select_background(
            loci, split=params.split, peaks=params.peaks, n_loci=params.n_loci, seed=params.seed, label=loci_label,
            controls=bool(shape.n_control_tracks),
        )
        context.log.info(
            "marginalizing %d motif(s) over %d background %s of %s (%d bp windows) with %d model(s) (%s)%s",
            len(motifs), len(background), "peaks" if params.peaks else "negatives", loci_label, loci.input_length,
            len(models), ", ".join(sorted(set(submodels))),
            f"; control tracks: the loci's own {shape.n_control_tracks}" if background.controls is not None else "",
        )
        before = marginalize.predict_codes(models, background.codes, background.controls, batch_size=params.batch_size)
        effects = []
        for i, motif in enumerate(track(motifs, "marginalizing motifs")):
            effects.append(marginalize.marginalize_motif(
                models, background, before, motif, insertion=params.insertion,
                rng=np.random.default_rng([params.seed, i]), batch_size=params.batch_size, label=str(params.motifs),
            ))
        ranked = marginalize.rank_effects(effects)
        names = marginalize.plot_names(ranked)
        tracks = track_names(shape.n_tracks)
        rows = marginalize.effect_table(ranked, before, names)
        marginalize.write_table(params.table, rows)
        marginalize.write_effects(
            params.effects, ranked, background, before, track_names=tracks, models=labels, submodels=submodels,
            insertion=params.insertion, seed=params.seed,
        )
        params.plots.mkdir(parents=True, exist_ok=True)
        for rank, (effect, name) in enumerate(zip(ranked, names), start=1):
            marginalize.plot_effect(params.plots / name, effect, before, rank=rank, track_names=tracks, input_length=loci.input_length)
        _print_summary(rows, context)


def _print_summary(rows: list[dict], context: StageContext, n: int = 10) -> None:
    """The top ``n`` motifs as a table on the terminal, all of them in the run log."""
    from rich.table import Table

    from bpnet.core.console import LOG_FILE_ONLY, console

    table = Table(title=f"marginalization: top {min(n, len(rows))} of {len(rows)} motif(s)")
    for column in ("rank", "motif", "consensus", "mean_delta_log_counts", "fold_change", "profile_jsd"):
        table.add_column(column.replace("_", " "), justify="right" if column not in ("motif", "consensus") else "left")
    for row in rows[:n]:
        name = row["motif"] + (f" ({row['alt_name']})" if row["alt_name"] else "")
        table.add_row(
            str(row["rank"]), name, str(row["consensus"])[:30], f"{row['mean_delta_log_counts']:+.3f}",
            f"{row['fold_change']:.3g}", f"{row['profile_jsd']:.3g}",
        )
    console.print(table)
    for row in rows:
        context.log.info(
            "%d %s mean delta log counts %+.4f (sd %.4f), profile JSD %.4g", row["rank"], row["motif"],
            row["mean_delta_log_counts"], row["sd_delta_log_counts"], row["profile_jsd"], extra=LOG_FILE_ONLY,
        )
