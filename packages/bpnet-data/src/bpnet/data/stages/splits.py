"""The ``splits`` stage: chromosome-held-out folds (train/valid/test) for a genome."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from bpnet.core.stages.base import Input, Output, Stage, StageContext, StageParams


class ChromosomeSplitsParams(StageParams):
    genome: Input = Field(..., description="genome FASTA or chromosome sizes (.fai, .sizes): the chromosomes the folds are fitted to")
    folds: Literal["human", "bpnet-lite"] | dict[str, Any] = Field(
        "human",
        description="human: the five official ChromBPNet hg38 folds fold_0..fold_4; bpnet-lite: its default (valid chr8, chr20; test chr1, "
        "chr3, chr6); or custom folds: {valid: [...], test: [...], train: [...]} (one fold; train defaults to every other chromosome) "
        "or {fold_name: {valid, test, train}, ...}",
    )
    disjoint_tests: bool = Field(
        False,
        description="refuse folds whose test chromosomes overlap (k-fold cross-validation: each chromosome held out by one fold; "
        "the human folds are disjoint)",
    )
    splits: Output = Field(Path("splits.json"), description="the folds, fitted to the genome's chromosomes")

    @field_validator("folds")
    @classmethod
    def _custom_shape(cls, folds: str | dict[str, Any]) -> str | dict[str, Any]:
        if isinstance(folds, dict):
            from ..splits import parse_custom

            parse_custom(folds)
        return folds


class ChromosomeSplits(Stage):
    """Chromosome-held-out folds: built-in human (ChromBPNet) and bpnet-lite folds, or custom ones."""

    name = "splits"
    Params = ChromosomeSplitsParams

    def run(self, params: ChromosomeSplitsParams, context: StageContext) -> None:
        from ..sources.fasta import genome_sizes
        from ..splits import SPLIT_NAMES, build_splits

        sizes = genome_sizes(params.genome)
        splits = build_splits(
            params.folds, list(sizes), genome_label=str(params.genome), log=context.log, disjoint_tests=params.disjoint_tests,
        )
        for name, fold in splits.folds.items():
            parts = []
            for split in SPLIT_NAMES:
                chroms = getattr(fold, split)
                parts.append(f"{split} {len(chroms)} chromosomes ({sum(sizes[c] for c in chroms) / 1e6:.1f} Mb)")
            context.log.info("%s: %s", name, ", ".join(parts))
        splits.write(params.splits)
