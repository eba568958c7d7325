"""The ``modisco`` stage: TF-MoDISco patterns of one head's attributions, with a report.

Reads one attribution file of an ``attribute`` stage (``scores/counts.h5`` or
``scores/profile.h5``), runs TF-MoDISco (modisco-lite's Python API) on the central
``window`` bases of the peak windows and writes:

* ``modisco_results.h5``: modisco-lite's own format (``modisco report`` reads it);
* ``patterns.meme``: each pattern's trimmed position probability matrix, MOTIF names
  ``pos_patterns.pattern_0``, ... (for the ``annotate`` stage or any MEME tool);
* ``patterns.tsv``: pattern, n_seqlets, consensus, width;
* ``report.html``: logos (and database matches when ``motifs`` is given), self-contained.

When TF-MoDISco finds nothing (too few seqlets), the stage still succeeds: it logs why,
writes valid empty files (no pattern group, a MEME file without motifs, a header-only
table) and a report that says so.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams


class ModiscoParams(StageParams):
    attributions: Input = Field(
        ..., description="one head's attribution file from an attribute stage, e.g. '@attribute.scores/counts.h5'"
    )
    window: int = Field(
        400, ge=2, description="bases at the centre of each input window that TF-MoDISco looks at (official pipelines: 400)"
    )
    sliding_window: int = Field(20, ge=1, description="seqlet core length in bp (modisco's sliding_window_size)")
    flank: int = Field(5, ge=1, description="bases added on each side of a seqlet core (modisco's flank_size)")
    trim: int = Field(
        30,
        ge=1,
        description="patterns are trimmed to this many bp around their most informative part (modisco's trim_to_window_size)",
    )
    max_seqlets: int = Field(
        50_000, ge=1,
        description="most seqlets clustered per sign (positive / negative), taken window by window; more finds rarer motifs "
        "but clustering time grows faster than linearly (bpnet-lite uses 100000)",
    )
    n_leiden_runs: int = Field(
        2, ge=1, description="Leiden clusterings with different (fixed) seeds; the best is kept. Runs are reproducible"
    )
    peaks_only: bool = Field(
        True,
        description="use only the peak windows of the attribution file (official pipelines run TF-MoDISco on peaks)",
    )
    motifs: Input | None = Field(
        None, description="MEME motif database (e.g. JASPAR) to name the patterns in the report; leave empty for logos only"
    )
    top_k: int = Field(3, ge=1, description="database matches shown per pattern in the report")
    title: str = Field("TF-MoDISco patterns", description="title at the top of the report")
    results: Output = Field(
        Path("modisco_results.h5"),
        description="modisco-lite results file (its own format; `modisco report -i` reads it)",
    )
    patterns: Output = Field(Path("patterns.meme"), description="trimmed position probability matrix of every pattern, MEME format")
    table: Output = Field(Path("patterns.tsv"), description="one row per pattern: pattern, n_seqlets, consensus, width")
    report: Output = Field(Path("report.html"), description="self-contained HTML report: logos and database matches, figures embedded")

    @model_validator(mode="after")
    def _seqlets_fit(self) -> ModiscoParams:
        seqlet = self.sliding_window + 2 * self.flank
        if seqlet > self.window:
            raise ValueError(
                f"a seqlet is sliding_window + 2 x flank = {seqlet} bp, longer than window ({self.window} bp): "
                "lower sliding_window or flank, or widen window"
            )
        return self


class Modisco(Stage):
    """TF-MoDISco patterns of one head's attributions: results file, MEME patterns, table and HTML report."""

    name = "modisco"
    Params = ModiscoParams

    def run(self, params: ModiscoParams, context: StageContext) -> None:
        from bpnet.data.errors import DataError

        from ..modisco import ModiscoSettings, run_modisco, save_results, write_patterns_meme, write_patterns_table
        from ..scores import read_scores

        log = context.log
        database = _read_database(params.motifs) if params.motifs is not None else None
        scores = read_scores(params.attributions, label="attributions")
        if params.peaks_only:
            n_all = len(scores)
            scores = scores.subset(scores.is_peak)
            if n_all and not len(scores):
                raise DataError(
                    f"attributions: {params.attributions} holds {n_all} windows but none is a peak (loci/is_peak); "
                    "set peaks_only: false to use them all"
                )
        settings = ModiscoSettings(
            window=params.window, sliding_window=params.sliding_window, flank=params.flank, trim=params.trim,
            max_seqlets=params.max_seqlets, n_leiden_runs=params.n_leiden_runs,
        )
        result = run_modisco(scores, settings, log, label=f"attributions ({params.attributions})")
        if result.empty:
            log.warning("%s. The outputs are valid but empty", result.message)
        else:
            log.info(
                "TF-MoDISco: %d patterns (%s)",
                len(result.patterns),
                ", ".join(f"{p.name}: {p.n_seqlets} seqlets" for p in result.patterns),
            )

        source = Path(params.attributions).name
        provenance = {"attributions": source, "head": scores.head, "peaks_only": params.peaks_only}
        save_results(params.results, result, provenance)
        write_patterns_meme(params.patterns, result.patterns, comments=[f"bpnet modisco stage: {source}, head {scores.head or 'n/a'}"])
        write_patterns_table(params.table, result.patterns)
        self._report(params, result, database, source, scores.head, log)

    @staticmethod
    def _report(params: ModiscoParams, result, database, source: str, head: str, log) -> None:
        from bpnet.core.atomic import write_text_atomic

        from ..annotation import PatternQuery, match_motifs
        from ..modisco_report import build_modisco_report

        matches = None
        if database is not None:
            queries = [PatternQuery(p.name, p.trimmed(p.ppm), n_seqlets=p.n_seqlets) for p in result.patterns]
            matches = match_motifs(queries, database, top_k=params.top_k, log=log)
        page = build_modisco_report(
            result, matches, {m.name: m for m in database} if database else None,
            title=params.title, source=source, head=head, database=Path(params.motifs).name if params.motifs else None,
        )
        write_text_atomic(params.report, page)
        log.info("report: %d patterns, %.1f MB", len(result.patterns), len(page) / 1e6)


def _read_database(path: Path):
    from ..annotation import read_database

    return read_database(path, label="motifs")
