"""The ``annotate`` stage: name TF-MoDISco patterns and seqlets after a MEME motif database.

Each pattern (from a modisco stage's ``modisco_results.h5`` or ``patterns.meme``) and
each seqlet (a BED such as a seqlets stage's ``seqlets.bed``, with the genome to read
its sequence from) is compared with every database motif by TOMTOM (memelite's; no MEME
binary). The database is one MEME file or several merged (``motifs: [tn5, jaspar.meme]``);
``tn5`` and ``dnase`` are the enzymes' built-in bias motifs (:mod:`bpnet.data.motifs`),
e.g. to tell a ChromBPNet bias model's patterns apart from TF motifs. Outputs, tab-separated with a header line:

* ``patterns.tsv``: pattern, rank, motif, motif_alt_name, p_value, q_value, offset, strand, n_seqlets;
* ``seqlets.tsv``: seqlet, chrom, start, end, rank, motif, motif_alt_name, p_value, q_value, offset, strand;
* ``motif_counts.tsv``: motif, motif_alt_name, n_patterns, n_pattern_seqlets, n_seqlets.

Up to ``top_k`` rows per pattern / seqlet, best first, keeping matches with
``q_value <= max_q``; one without any kept match has a single row with empty match
cells. ``motif`` and ``motif_alt_name`` are the identifier and alternative name of the
database's ``MOTIF`` line (``MOTIF MA0139.2 CTCF``). q-values: Benjamini-Hochberg over
each query's tests across the database (see :mod:`bpnet.interpret.annotation`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams


class AnnotateParams(StageParams):
    motifs: Input | list[Input] = Field(
        ...,
        description="MEME motif database to name patterns and seqlets after (e.g. JASPAR's MEME download); tn5 or dnase: "
        "the enzymes' built-in bias motifs; a list (e.g. [tn5, motifs.meme]) is merged into one database",
    )
    patterns: Input | None = Field(
        None, description="patterns of a modisco stage: '@modisco.results' (modisco_results.h5) or '@modisco.patterns' (patterns.meme)"
    )
    seqlets: Input | None = Field(None, description="seqlets to name, BED (e.g. '@seqlets.seqlets' of a seqlets stage); needs genome")
    genome: Input | None = Field(None, description="reference genome FASTA the seqlets' sequences are read from")
    top_k: int = Field(3, ge=1, description="best database matches kept per pattern and per seqlet")
    max_q: float | None = Field(
        0.05, gt=0, le=1,
        description="keep matches with a q-value at most this (Benjamini-Hochberg over the database for each query); "
        "null keeps the top_k matches whatever their q-value",
    )
    patterns_table: Output = Field(Path("patterns.tsv"), description="best matches of each pattern (one row per match)")
    seqlets_table: Output = Field(Path("seqlets.tsv"), description="best matches of each seqlet (one row per match)")
    counts: Output = Field(
        Path("motif_counts.tsv"),
        description="per database motif: patterns, their seqlets, and seqlets whose best match it is",
    )

    @field_validator("motifs", mode="before")
    @classmethod
    def _builtin_motifs(cls, value: object) -> object:
        from bpnet.data.motifs import motifs_location

        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one MEME file or built-in motif set (tn5, dnase)")
            return [motifs_location(v) if isinstance(v, str) else v for v in value]
        return motifs_location(value) if isinstance(value, str) else value  # a built-in set's name becomes its MEME file

    @property
    def motif_files(self) -> list[Path]:
        """The database's MEME files, in the order given."""
        return self.motifs if isinstance(self.motifs, list) else [self.motifs]

    @model_validator(mode="after")
    def _something_to_name(self) -> AnnotateParams:
        if self.patterns is None and self.seqlets is None:
            raise ValueError("give patterns (from a modisco stage), seqlets (a BED), or both: there is nothing to annotate")
        if self.seqlets is not None and self.genome is None:
            raise ValueError("seqlets needs genome: the FASTA their sequences are read from")
        return self


class Annotate(Stage):
    """Name TF-MoDISco patterns and seqlets after a MEME motif database (TOMTOM): tables of best matches with q-values."""

    name = "annotate"
    Params = AnnotateParams

    def run(self, params: AnnotateParams, context: StageContext) -> None:
        from .. import annotation

        log = context.log
        database = annotation.read_database(params.motif_files, label="motifs")
        log.info("motif database %s: %d motifs", ", ".join(Path(p).name for p in params.motif_files), len(database))
        patterns = annotation.read_patterns(params.patterns, label="patterns") if params.patterns is not None else []
        seqlets = annotation.read_seqlets(params.seqlets, params.genome, log=log) if params.seqlets is not None else []
        if params.patterns is not None and not patterns:
            log.warning("%s holds no pattern (TF-MoDISco found none): the patterns table is empty", params.patterns)
        if params.seqlets is not None and not seqlets:
            log.warning("%s holds no seqlet: the seqlets table is empty", params.seqlets)

        options = {"top_k": params.top_k, "max_q": params.max_q, "log": log}
        pattern_matches = annotation.match_motifs(patterns, database, **options) if patterns else []
        seqlet_matches = annotation.match_motifs(seqlets, database, **options) if seqlets else []

        annotation.write_table(params.patterns_table, annotation.PATTERN_COLUMNS, annotation.pattern_rows(patterns, pattern_matches))
        annotation.write_table(params.seqlets_table, annotation.SEQLET_COLUMNS, annotation.seqlet_rows(seqlets, seqlet_matches))
        annotation.write_table(
            params.counts,
            annotation.COUNT_COLUMNS,
            annotation.count_rows(database, patterns, pattern_matches, seqlet_matches),
        )
        for pattern, found in zip(patterns, pattern_matches):
            best = f"{found[0].motif} {found[0].motif_alt_name} (q = {found[0].q_value:.2g})" if found else "no match"
            log.info("%s (%d seqlets): %s", pattern.name, pattern.n_seqlets, best)
        if seqlets:
            named = sum(bool(found) for found in seqlet_matches)
            log.info("seqlets: %d of %d matched a database motif", named, len(seqlets))
