"""Parts of a ChromBPNet's bias-model diagnostics: QC verdict rows, the bias-model candidates
of ``chrombpnet.json`` and the check of the bias model's TF-MoDISco patterns.

:mod:`.sections` puts them in the "Bias model diagnostics" part of a model's section.
Missing pieces become "not available" lines; nothing here raises on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..bias_patterns import BiasPatternCheck, PatternCall
from .guidance import (
    BIAS_CANDIDATES_READING,
    BIAS_PATTERNS_GUIDE,
    NO_BIAS_MOTIF_REMEDY,
    QC_GUIDES,
    QC_LEVELS,
    Verdict,
    qc_marker,
)
from .html import badge, esc, not_available, number, table
from .interpret_inputs import BiasPatterns, PatternMatch
from .interpretation import match_label, pattern_logo

#: what each call of a bias-model pattern means, for the table
CALL_TEXT = {
    "bias": "the enzyme's bias motif",
    "TF": "a TF motif (a good match): the bias model learned it",
    "weak TF": "a weak TF match, tolerated; no bias motif matches",
    "none": "no database match",
}


# --- official QC rows ---------------------------------------------------------------------------


def qc_rows(records: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Rows (rule, value, threshold, marker, what it checks / what to do) of official QC records."""
    return [
        [esc(r.get("rule", "")), number(r.get("value")), number(r.get("threshold")), badge(qc_marker(r)), qc_text(r)]
        for r in records if isinstance(r, dict)
    ]


def qc_table(records: Sequence[dict[str, Any]]) -> str:
    return table(["rule", "value", "threshold", "marker", "what it checks / what to do"], qc_rows(records),
                 numeric=(1, 2), guide=(4,), css="metrics wide")


def qc_text(record: dict[str, Any]) -> str:
    """What a QC rule checks and, unless it passed, what to do (the record's own meaning when no guide has the rule)."""
    guide = QC_GUIDES.get(record.get("rule", ""))
    meaning = record.get("meaning") or ""
    parts = [esc(guide.reading)] if guide else []
    if record.get("level") != "pass":
        parts += [f"<i>{esc(meaning)}</i>"] if meaning else []
        parts += [f"<b>What to do:</b> {esc(guide.remedy)}"] if guide else []
    return "<br>".join(parts)


# --- the bias-model candidates ------------------------------------------------------------------


def candidates_html(info: dict[str, Any]) -> str:
    """The candidates of ``chrombpnet.json`` (``bias_candidates``, ``bias_choice``) and the chosen one's checks
    (``bias_check.verdicts``); "" when the record predates them."""
    candidates = [c for c in info.get("bias_candidates") or [] if isinstance(c, dict)]
    if not candidates:
        return ""
    parts = [_choice_sentence(info), f'<p class="sub">{esc(BIAS_CANDIDATES_READING)}</p>']
    rows = []
    for c in candidates:
        level = c.get("level")
        rows.append([
            _factor(c.get("factor")), number(c.get("threshold")), number(c.get("n_loci")), number(c.get("peaks_count_pearson")),
            number(c.get("background_count_pearson")), number(c.get("shared_background_count_pearson")),
            number(c.get("specificity")), badge(QC_LEVELS.get(level, Verdict.NA) if isinstance(level, str) else Verdict.NA),
            "<b>chosen</b>" if c.get("chosen") else "", esc(c.get("why") or ""),
        ])
    headers = ["factor", "count threshold", "background loci", "r peaks", "r own background", "r shared background",
               "specificity", "marker", "chosen", "why"]
    parts.append(table(headers, rows, numeric=(0, 1, 2, 3, 4, 5, 6), guide=(9,)))
    verdicts = (info.get("bias_check") or {}).get("verdicts")
    if isinstance(verdicts, list) and verdicts:
        parts += ['<p class="sub">The chosen bias model\'s checks on the validation split, when it was chosen:</p>',
                  qc_table(verdicts)]
    return "\n".join(parts)


def _choice_sentence(info: dict[str, Any]) -> str:
    choice = info.get("bias_choice") if isinstance(info.get("bias_choice"), dict) else {}
    factor = choice.get("factor", info.get("bias_threshold_factor"))
    how = {"auto": "bias_choice: auto", "forced": "named by bias_choice"}.get(choice.get("rule"), "")
    why = f" · <i>{esc(choice['why'])}</i>" if choice.get("why") else ""
    return f"<p>Chosen bias model: factor <b>{_factor(factor)}</b>{f' ({how})' if how else ''}{why}</p>"


def _factor(value: Any) -> str:
    """A bias_threshold_factor as written in a spec (0.5, not 0.500)."""
    return esc(f"{value:g}") if isinstance(value, (int, float)) and not isinstance(value, bool) else number(value)


# --- the bias model's TF-MoDISco patterns -------------------------------------------------------


def patterns_verdict(bias: BiasPatterns | None) -> Verdict:
    """The marker of the bias-pattern check (NA without one)."""
    check = bias.check if bias is not None else None
    if check is None or check.level is None:
        return Verdict.NA
    return Verdict.PASS if check.level == "pass" else Verdict.WARN


def patterns_html(bias: BiasPatterns | None) -> str:
    """The verdict and the table of the bias model's top TF-MoDISco patterns."""
    if bias is None:
        return not_available(
            "Bias model TF-MoDISco patterns (give the model's entry bias_modisco and bias_annotations: the modisco and "
            "annotate stages of its bias model; bpnet init --model chrombpnet writes them)"
        )
    data = bias.patterns
    sources = [f"{what} <code>{esc(path)}</code>" for what, path in (("TF-MoDISco results", data.modisco_path),
                                                                     ("annotations", data.annotations_path)) if path]
    parts = [f'<p class="sub">{" · ".join(sources)}</p>', f'<p class="sub">{esc(BIAS_PATTERNS_GUIDE.reading)}</p>']
    check = bias.check
    if check is None:
        why = "give bias_annotations" if data.annotations_path is None else f"{data.annotations_path} was not found"
        parts.append(not_available(f"The check of the bias model's patterns ({why})"))
        return "\n".join(parts)
    parts.append(f"<p>Bias model: <b>{esc(check.verdict)}</b> {badge(patterns_verdict(bias))}</p>")
    if check.calls:
        parts.append(_calls_table(check, {p.name: p for p in data.modisco.patterns} if data.modisco else {}))
        if check.n_patterns > len(check.calls):
            parts.append(f'<p class="sub">The top {len(check.calls)} of {check.n_patterns} patterns, by seqlets.</p>')
    elif data.modisco is not None and data.modisco.message:
        parts.append(f'<p class="na">{esc(data.modisco.message)}</p>')  # why TF-MoDISco found nothing
    if check.level == "advice":
        remedy = BIAS_PATTERNS_GUIDE.remedy if any(c.call == "TF" for c in check.calls) else NO_BIAS_MOTIF_REMEDY
        parts.append(f"<p><b>What to do:</b> {esc(remedy)}</p>")
    return "\n".join(parts)


def _calls_table(check: BiasPatternCheck, patterns: dict[str, Any]) -> str:
    rows = [
        [pattern_logo(patterns.get(call.pattern)) if patterns else "", f"<code>{esc(call.pattern)}</code>",
         number(call.n_seqlets), esc(call.call), _match_cell(call.best), _q(call.best), _p(call.best),
         _match_cell(call.best_bias), _q(call.best_bias), esc(_call_note(call))]
        for call in check.calls
    ]
    headers = ["CWM logo", "pattern", "seqlets", "call", "best match", "q-value", "p-value", "best bias-motif match",
               "its q-value", "how to read it"]
    if not patterns:  # no modisco results: no logo column
        headers, rows = headers[1:], [row[1:] for row in rows]
    first = 1 if patterns else 0
    return table(headers, rows, numeric=tuple(first + i for i in (1, 4, 5, 7)), guide=(first + 8,), css="patterns")


def _call_note(call: PatternCall) -> str:
    text = CALL_TEXT[call.call]
    if call.call == "bias" and call.best is not None and call.best_bias is not None and call.best is not call.best_bias:
        text += f" (its best match, {match_label(call.best)}, is a weak TF match)"
    return text


def _match_cell(match: PatternMatch | None) -> str:
    return esc(match_label(match)) if match is not None else '<span class="na">none</span>'


def _q(match: PatternMatch | None) -> str:
    return number(match.q_value) if match is not None else "n/a"


def _p(match: PatternMatch | None) -> str:
    return number(match.p_value) if match is not None else "n/a"


__all__ = ["candidates_html", "patterns_html", "patterns_verdict", "qc_rows", "qc_table", "qc_text"]
