"""Did a ChromBPNet bias model learn the enzyme's bias, or TF motifs? The check of its TF-MoDISco patterns.

The official ChromBPNet rule: TF-MoDISco on the bias model's contribution scores should
find the enzyme's bias motifs (Tn5 for ATAC-seq, DNase-I for DNase-seq) as its first 3
to 5 patterns, and a pattern whose best TOMTOM match is a TF motif should match it
poorly (q above 1e-4). A bias model with a TF motif among its top patterns learned
accessibility from its training background, which the de-biased model then loses: the
fix is a lower ``bias_threshold_factor`` (another candidate of train-chrombpnet-bias,
picked with ``bias_choice``).

:func:`check_bias_patterns` reads the annotate stage's ``patterns.tsv`` of the bias
model's patterns (annotated against a database holding both the bias motifs and TF
motifs, e.g. ``motifs: [tn5, jaspar.meme]``) and calls each of the ``top`` patterns with
the most seqlets:

* ``bias``: its best match is a bias motif; or its best match is a TF motif matched
  weakly (q >= ``tf_q``, which the official rule tolerates) and a bias motif is among its
  kept matches;
* ``TF``: its best match is a TF motif with q < ``tf_q``;
* ``weak TF``: its best match is a TF motif with q >= ``tf_q`` and no bias motif matches;
* ``none``: no match was kept (annotate's ``max_q``).

The verdict (``level``): ``advice`` when a top pattern is ``TF``; else ``pass`` when one
is ``bias``; else ``advice`` (no top pattern is the enzyme's motif); ``None`` when there is
no pattern to judge. Bias motifs are told from TF motifs by their ``MOTIF`` identifiers:
those of the built-in sets (:data:`bpnet.data.motifs.BUILTIN_MOTIFS`) unless a set or MEME
file is named.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    from .report.interpret_inputs import AnnotatedPattern, Annotations, PatternMatch

#: patterns judged: the official "first 3 to 5"
TOP_PATTERNS = 5
#: a TF match with a q-value below this is a good match (the official TOMTOM bar)
TF_MATCH_Q = 1e-4

Call = Literal["bias", "TF", "weak TF", "none"]
Level = Literal["pass", "advice"]

LEARNED_BIAS = "learned the enzyme bias"
TF_AMONG_TOP = (
    "a TF motif among the bias model's top patterns: lower bias_threshold_factor or choose another candidate with bias_choice"
)
NO_BIAS_MOTIF = "none of the bias model's top patterns matches the enzyme's bias motifs"
NO_PATTERNS = "TF-MoDISco found no pattern in the bias model's contribution scores: nothing to judge"


@dataclass(frozen=True)
class PatternCall:
    """One of the bias model's top patterns: what it is (``call``), its best match and its best bias-motif match."""

    pattern: str
    n_seqlets: int | None
    call: Call
    best: PatternMatch | None
    best_bias: PatternMatch | None


@dataclass(frozen=True)
class BiasPatternCheck:
    """The verdict on a bias model's TF-MoDISco patterns: ``level`` (pass, advice; None: nothing to
    judge), one ``verdict`` sentence and the call of each top pattern (most seqlets first)."""

    level: Level | None
    verdict: str
    calls: list[PatternCall]
    n_patterns: int
    bias_motifs: frozenset[str] = field(default_factory=frozenset)
    tf_q: float = TF_MATCH_Q


def bias_motif_names(source: str | Path | None = None) -> frozenset[str]:
    """``MOTIF`` identifiers of the bias motifs: of ``source`` (a built-in set's name or a MEME file),
    or of every built-in set when None."""
    from bpnet.data.motifs import BUILTIN_MOTIFS, read_motifs

    sources = list(BUILTIN_MOTIFS) if source is None else [source]
    return frozenset(motif.name for s in sources for motif in read_motifs(s))


def call_pattern(pattern: AnnotatedPattern, bias_motifs: Collection[str], tf_q: float = TF_MATCH_Q) -> PatternCall:
    """What one annotated pattern is: ``bias``, ``TF``, ``weak TF`` or ``none`` (see the module docstring)."""
    best = pattern.best
    best_bias = next((m for m in pattern.matches if m.motif in bias_motifs), None)
    if best is None:
        call: Call = "none"
    elif best.motif in bias_motifs:
        call = "bias"
    elif best.q_value is not None and best.q_value < tf_q:
        call = "TF"
    else:
        call = "bias" if best_bias is not None else "weak TF"
    return PatternCall(pattern.name, pattern.n_seqlets, call, best, best_bias)


def check_bias_patterns(
    annotations: Annotations, bias_motifs: Collection[str], *, top: int = TOP_PATTERNS, tf_q: float = TF_MATCH_Q,
) -> BiasPatternCheck:
    """The check of the ``top`` patterns with the most seqlets of the bias model's annotations."""
    patterns = sorted(annotations.patterns.values(), key=lambda p: (-(p.n_seqlets or 0), p.name))
    calls = [call_pattern(p, bias_motifs, tf_q) for p in patterns[:top]]
    kinds = {c.call for c in calls}
    if not calls:
        level, verdict = None, NO_PATTERNS
    elif "TF" in kinds:
        level, verdict = "advice", TF_AMONG_TOP
    elif "bias" in kinds:
        level, verdict = "pass", LEARNED_BIAS
    else:
        level, verdict = "advice", NO_BIAS_MOTIF
    return BiasPatternCheck(level, verdict, calls, len(patterns), frozenset(bias_motifs), tf_q)


def read_bias_pattern_check(
    annotations: str | Path, bias_motifs: str | Path | None = None, *, top: int = TOP_PATTERNS, tf_q: float = TF_MATCH_Q,
) -> BiasPatternCheck:
    """:func:`check_bias_patterns` of an annotate stage's ``patterns.tsv``; ``bias_motifs``: the set
    (``tn5``, ``dnase``) or MEME file of the enzyme's motifs, default every built-in set."""
    from .report.interpret_inputs import read_annotations

    return check_bias_patterns(
        read_annotations(Path(annotations), label="bias_annotations"), bias_motif_names(bias_motifs), top=top, tf_q=tf_q,
    )


__all__ = [
    "BiasPatternCheck", "PatternCall", "TF_MATCH_Q", "TOP_PATTERNS", "bias_motif_names", "call_pattern", "check_bias_patterns",
    "read_bias_pattern_check",
]
