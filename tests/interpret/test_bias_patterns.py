"""The check of a ChromBPNet bias model's TF-MoDISco patterns: the enzyme's bias motifs, or TF motifs?

The annotations are the annotate stage's ``patterns.tsv``: written by the stage itself from
a small ``patterns.meme`` (a Tn5-like pattern, the JASPAR CTCF matrix, a random one) against
the built-in Tn5 motifs plus the simulator's JASPAR motifs, or by the stage's own table
writer from hand-made matches for the edge cases.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from bpnet.core.stages.base import StageContext
from bpnet.data.motifs import Motif, read_meme, write_meme
from bpnet.interpret.annotation import PATTERN_COLUMNS, Match, PatternQuery, pattern_rows, write_table
from bpnet.interpret.bias_patterns import (
    LEARNED_BIAS,
    NO_BIAS_MOTIF,
    NO_PATTERNS,
    TF_AMONG_TOP,
    bias_motif_names,
    read_bias_pattern_check,
)
from bpnet.interpret.stages.annotate import Annotate

JASPAR = Path(__file__).parents[2] / "packages/bpnet-data/src/bpnet/data/simulate/jaspar.meme"
TN5_2 = "GTGCACAGTTCTAGAGTGTGCAG"


def soft(sequence: str, p: float = 0.85) -> np.ndarray:
    """A pattern-like matrix of ``sequence``: probability ``p`` for its base, the rest spread, flanked by 3 flat columns."""
    matrix = np.full((len(sequence), 4), (1 - p) / 3)
    matrix[np.arange(len(sequence)), ["ACGT".index(b) for b in sequence]] = p
    flat = np.full((3, 4), 0.25)
    return np.vstack([flat, matrix, flat])


def annotate(tmp_path: Path, patterns: list[Motif], motifs: list[str]) -> Path:
    """The annotate stage's patterns.tsv of ``patterns`` (as a modisco stage's patterns.meme) against ``motifs``."""
    write_meme(tmp_path / "patterns.meme", patterns)
    params = Annotate.Params(
        motifs=motifs, patterns=tmp_path / "patterns.meme", patterns_table=tmp_path / "patterns.tsv",
        seqlets_table=tmp_path / "seqlets.tsv", counts=tmp_path / "motif_counts.tsv",
    )
    Annotate().run(params, StageContext("bias-annotate", tmp_path, tmp_path / "resume", logging.getLogger("test")))
    return tmp_path / "patterns.tsv"


def match(query: str, rank: int, motif: str, q: float, alt: str = "") -> Match:
    return Match(query, rank, motif, alt, p_value=q / 10, q_value=q, offset=0, strand="+")


def table(tmp_path: Path, patterns: dict[str, tuple[int, list[tuple[str, float]]]]) -> Path:
    """patterns.tsv written by the annotate stage's writer: pattern -> (seqlets, [(motif, q-value), ...] best first)."""
    queries = [PatternQuery(name, np.full((4, 4), 0.25), n_seqlets=n) for name, (n, _) in patterns.items()]
    matches = [[match(name, i, motif, q) for i, (motif, q) in enumerate(found, 1)] for name, (_, found) in patterns.items()]
    write_table(tmp_path / "patterns.tsv", PATTERN_COLUMNS, pattern_rows(queries, matches))
    return tmp_path / "patterns.tsv"


def test_a_ctcf_pattern_among_the_top_ones_is_a_tf_motif_and_a_warning(tmp_path):
    rng = np.random.default_rng(0)
    ctcf = read_meme(JASPAR)[0]
    patterns = [
        Motif("pos_patterns.pattern_0", soft(TN5_2), nsites=900),
        Motif("pos_patterns.pattern_1", ctcf.pwm, nsites=500),
        Motif("pos_patterns.pattern_2", rng.dirichlet(np.ones(4), 12), nsites=40),
    ]
    check = read_bias_pattern_check(annotate(tmp_path, patterns, ["tn5", str(JASPAR)]), "tn5")
    assert check.level == "advice" and check.verdict == TF_AMONG_TOP
    assert "lower bias_threshold_factor" in check.verdict and "bias_choice" in check.verdict
    assert [(c.pattern, c.n_seqlets, c.call) for c in check.calls] == [
        ("pos_patterns.pattern_0", 900, "bias"), ("pos_patterns.pattern_1", 500, "TF"), ("pos_patterns.pattern_2", 40, "none"),
    ]
    tn5, tf = check.calls[0], check.calls[1]
    assert tn5.best.motif == tn5.best_bias.motif == "tn5_2" and tn5.best.q_value < 1e-6  # the match statistics
    assert (tf.best.motif, tf.best.alt_name) == ("MA0139.2", "CTCF") and tf.best.q_value < 1e-4 and tf.best_bias is None


def test_bias_motifs_alone_among_the_top_patterns_mean_the_enzyme_bias_was_learned(tmp_path):
    patterns = [Motif("pos_patterns.pattern_0", soft(TN5_2), nsites=700),
                Motif("pos_patterns.pattern_1", soft("GCACAGTACAGAGCTG"), nsites=300)]
    check = read_bias_pattern_check(annotate(tmp_path, patterns, ["tn5", str(JASPAR)]))  # default: every built-in set
    assert check.level == "pass" and check.verdict == LEARNED_BIAS
    assert [(c.call, c.best.motif) for c in check.calls] == [("bias", "tn5_2"), ("bias", "tn5_1")]


def test_weak_tf_matches_are_tolerated_and_only_the_top_patterns_count(tmp_path):
    path = table(tmp_path, {
        "pos_patterns.pattern_0": (800, [("MA0099.4", 0.002), ("tn5_3", 0.01)]),  # a weak TF match, then a bias motif
        "pos_patterns.pattern_1": (600, [("MA0035.5", 0.003)]),  # a weak TF match alone
        "pos_patterns.pattern_2": (400, []),
        "neg_patterns.pattern_0": (300, [("tn5_1", 1e-8)]),
        "pos_patterns.pattern_3": (200, []),
        "pos_patterns.pattern_4": (100, [("MA0139.2", 1e-9)]),  # a good TF match, but sixth by seqlets
    })
    check = read_bias_pattern_check(path, "tn5")
    assert [c.call for c in check.calls] == ["bias", "weak TF", "none", "bias", "none"]
    assert check.calls[0].best.motif == "MA0099.4" and check.calls[0].best_bias.motif == "tn5_3"
    assert (check.level, check.verdict, check.n_patterns) == ("pass", LEARNED_BIAS, 6)
    assert read_bias_pattern_check(path, "tn5", top=6).verdict == TF_AMONG_TOP
    # another enzyme's motifs are not this one's: against DNase-I's set, a good Tn5 match counts as a non-bias motif
    dnase = read_bias_pattern_check(path, "dnase")
    assert [c.call for c in dnase.calls] == ["weak TF", "weak TF", "none", "TF", "none"] and dnase.verdict == TF_AMONG_TOP
    no_bias = read_bias_pattern_check(path, "dnase", top=3)
    assert (no_bias.level, no_bias.verdict) == ("advice", NO_BIAS_MOTIF)


def test_no_pattern_is_nothing_to_judge(tmp_path):
    check = read_bias_pattern_check(table(tmp_path, {}), "tn5")
    assert (check.level, check.verdict, check.calls, check.n_patterns) == (None, NO_PATTERNS, [], 0)


def test_bias_motif_names_come_from_the_named_set_or_every_built_in_one(tmp_path):
    assert bias_motif_names("dnase") == {"dnase_1"}
    assert bias_motif_names() == {f"tn5_{i}" for i in range(1, 6)} | {"dnase_1"}
    write_meme(tmp_path / "mine.meme", [Motif("my_tn5", np.eye(4))])
    assert bias_motif_names(tmp_path / "mine.meme") == {"my_tn5"}


def test_a_motif_in_two_database_files_is_refused_naming_both(tmp_path):
    from bpnet.data.errors import DataError

    write_meme(tmp_path / "copy.meme", [Motif("tn5_1", np.eye(4))])
    with pytest.raises(DataError, match=r"motif tn5_1 is in both .*tn5\.meme and .*copy\.meme"):
        annotate(tmp_path, [Motif("pos_patterns.pattern_0", soft(TN5_2), nsites=10)], ["tn5", str(tmp_path / "copy.meme")])
