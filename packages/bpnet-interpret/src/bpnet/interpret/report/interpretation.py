"""The interpretation parts of a model's section: example attribution tracks, TF-MoDISco
motifs with their database matches (of one head, and of the profile head beside them when
given: a ChIP-seq BPNet's motifs live in its profile head), and marginalization effects.

:class:`InterpretationSection` turns one model's :class:`~.interpret_inputs.Interpretation`
into HTML. A part appears only when its input was requested; a requested file that was
not there shows as "not available"; nothing here raises on a missing piece.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..logos import logo_figure
from . import interpret_plots as iplots
from .guidance import INTERPRETATION_GUIDES, LOW_SEQLET_SUPPORT, MATCH_Q_VALUE, Verdict
from .html import badge, esc, figure, not_available, number, table
from .interpret_inputs import AnnotatedPattern, AttributionExample, AttributionExamples, Interpretation, PatternMatch

#: patterns listed in the Motifs part (the modisco stage's report.html has them all)
MAX_PATTERNS = 12
#: motifs listed in the marginalization table
MAX_MARGINALIZATION_ROWS = 20
#: how headings name the head a modisco stage recorded (another name is shown as "<name> head")
HEAD_NAMES = {"counts": "count head", "profile": "profile head"}

ATTRIBUTION_READING = """
<p class="sub">How to read them: each base's contribution is how much it moved the explained output (the head named
above) compared with shuffled versions of the same sequence (DeepLIFT/SHAP). Letters above 0 (blue in the track) raise
the output, letters below 0 (red in the track) lower it. A model that learned motifs shows a few sharp clusters of tall letters (motif
instances) near the summit and little elsewhere; contribution smeared evenly over the window, or strongest at the
window's edges, suggests the model relies on sequence composition or has not learned motifs. The windows shown are the
{what} with the largest summed |contribution|: the model's most confident examples, not typical ones.</p>
"""

MOTIFS_READING = f"""
<p class="sub">How to read them: TF-MoDISco clusters seqlets (short stretches of high contribution) into patterns.
The logo is the pattern's contribution weight matrix (CWM): the mean contribution of each base at each position, trimmed
to its informative columns; positive patterns raise the output, negative ones lower it. Patterns are listed positive
first, each sign by the number of seqlets. A best match with a q-value below {MATCH_Q_VALUE:g} means the pattern
matches that database motif; a pattern without a match may be novel, a composite of two motifs (e.g. a dimer or a
motif pair at a fixed spacing) or part of a motif; fewer than {LOW_SEQLET_SUPPORT} seqlets means weak evidence.
Repeated patterns with the same match are usual (e.g. a motif's core and its extended form).</p>
"""

PROFILE_HEAD_READING = """
<p class="sub">These patterns come from the profile head's attributions (what shapes the predicted profile), the
ones above from the count head's. For ChIP-seq BPNet the motifs are usually clearest here (the BPNet paper ran
TF-MoDISco on profile contributions): without background depletion in the data the count head may read little sequence,
so a motif missing above but found here is expected, not a fault of the model.</p>
"""

MARGINALIZATION_READING = """
<p class="sub">How to read it: each motif of the database was inserted at the centre of the same background sequences
and the model's predictions compared before and after. Mean Δ log counts &gt; 0 means the motif on its own raises the
predicted counts (fold change = exp(mean Δ)); the sd shows how much this depends on the surrounding sequence.
Profile JSD (0 to ln 2 ≈ 0.69) measures how much the shape of the profile changes. Motifs the model has learned as
drivers rank at the top; near-zero effects for most motifs are normal. Related motifs (one family) rank together.</p>
"""


class InterpretationSection:
    """One model's interpretation parts: verdicts, a summary cell and HTML."""

    def __init__(self, interpretation: Interpretation | None, head: str | None = None, prefix: str = ""):
        """``head``: the head the patterns are of, unless the modisco results record it; ``prefix``: of the
        section's field names in hints (``profile_``)."""
        self.data = interpretation or Interpretation()
        self.prefix = prefix
        profile = self.data.profile
        self.profile = InterpretationSection(profile, "profile", "profile_") if profile is not None else None
        # beside the profile head's patterns, modisco holds the count head's (the report stage's field says so)
        self.head = head if head is not None else "counts" if self.profile is not None else None

    @property
    def patterns_head(self) -> str | None:
        """The head the patterns came from: as the modisco stage recorded it, else as the fields say (``None``: unknown)."""
        recorded = self.data.modisco.head if self.data.modisco is not None else None
        return recorded or self.head

    # --- numbers and verdicts ------------------------------------------------------------

    def pattern_rows(self) -> list[tuple[Any, AnnotatedPattern | None]]:
        """``(modisco pattern or None, annotations or None)`` per pattern, positive first, by seqlets."""
        data = self.data
        annotated = data.annotations.patterns if data.annotations else {}
        if data.modisco is not None:
            return [(p, annotated.get(p.name)) for p in data.modisco.patterns]
        rows = sorted(annotated.values(), key=lambda a: (not a.name.startswith("pos_"), -(a.n_seqlets or 0), a.name))
        return [(None, a) for a in rows]

    def checks(self) -> dict[str, float | None]:
        """The numbers behind :data:`INTERPRETATION_GUIDES` (``None``: not available)."""
        values: dict[str, float | None] = {}
        rows = self.pattern_rows()
        if self.data.motifs_requested and (self.data.modisco is not None or self.data.annotations is not None):
            positive = [(p, a) for p, a in rows if _group(p, a) == "pos_patterns"]
            values["n_pos_patterns"] = len(positive)
            values["top_pattern_seqlets"] = max((_seqlets(p, a) or 0 for p, a in positive), default=None)
            if self.data.annotations is not None:
                values["n_matched"] = sum(_significant(a.best if a else None) for _, a in rows)
        if self.data.attributions is not None:
            values["delta_max_abs"] = self.data.attributions.delta_max_abs
        return values

    def verdicts(self) -> list[Verdict]:
        """The markers of every part shown, the profile head's patterns included."""
        found = [INTERPRETATION_GUIDES[key].verdict(value) for key, value in self.checks().items()]
        return found + (self.profile.verdicts() if self.profile is not None else [])

    @property
    def has_motifs(self) -> bool:
        return self.data.motifs_requested or (self.profile is not None and self.profile.has_motifs)

    def summary_cell(self) -> str:
        """Patterns found and the top positive pattern's best match, for the summary table; one line per head
        when the profile head's patterns are given too."""
        if self.profile is None:
            return self._patterns_cell()
        shown = [part for part in (self, self.profile) if part.data.motifs_requested]
        return "<br>".join(f"{esc(_head_name(part.patterns_head) or 'patterns')}: {part._patterns_cell()}" for part in shown)

    def _patterns_cell(self) -> str:
        data = self.data
        if not data.motifs_requested:
            return '<span class="na">n/a</span>'
        if data.modisco is None and data.annotations is None:
            return '<span class="na">not available</span>'
        rows = self.pattern_rows()
        text = f"{len(rows)} pattern{'s' if len(rows) != 1 else ''}"
        top = next(((p, a) for p, a in rows if _group(p, a) == "pos_patterns"), None)
        if top is not None and top[1] is not None and _significant(top[1].best):
            best = top[1].best
            text += f"; top: {esc(match_label(best))} (q {number(best.q_value)})"
        return text

    # --- HTML ----------------------------------------------------------------------------

    def html(self) -> list[str]:
        """The requested parts, each an ``<h3>`` heading and its content."""
        parts: list[str] = []
        data = self.data
        if data.attributions_path is not None:
            parts += ["<h3>Example attribution tracks</h3>", self._attributions()]
        if data.motifs_requested:
            parts += [self._motifs_heading(), self._motifs()]
        if self.profile is not None and self.profile.data.motifs_requested:
            parts += [self.profile._motifs_heading(), PROFILE_HEAD_READING if data.motifs_requested else "", self.profile._motifs()]
        if data.marginalization_path is not None:
            parts += ["<h3>Marginalization</h3>", self._marginalization()]
        return parts

    def _motifs_heading(self) -> str:
        head = _head_name(self.patterns_head)
        return f"<h3>Motifs: {esc(head)}</h3>" if head else "<h3>Motifs</h3>"

    def _checks_table(self, keys: Sequence[str]) -> str:
        values = self.checks()
        rows = []
        for key in keys:
            if key not in values:
                continue
            guide = INTERPRETATION_GUIDES[key]
            rows.append([esc(guide.label), _check_value(key, values[key]), badge(guide.verdict(values[key])), esc(guide.reading)])
        return table(["check", "value", "marker", "how to read it"], rows, numeric=(1,), guide=(3,), css="metrics") if rows else ""

    def _attributions(self) -> str:
        scores = self.data.attributions
        if scores is None:
            return not_available(f"Attribution tracks ({self.data.attributions_path} was not found)")
        parts = [_attribution_sources(scores), self._checks_table(["delta_max_abs"])]
        if not scores.examples:
            parts.append(not_available("Example attribution tracks (the attribution file holds no windows)"))
            return "\n".join(parts)
        what = "peaks" if scores.from_peaks else "windows (the file marks no peak)"
        parts.append(ATTRIBUTION_READING.format(what=what))
        for example in scores.examples:
            parts.append(
                figure(
                    iplots.attribution_figure(example),
                    f"attributions at {_locus(example)}",
                    _attribution_caption(example, scores),
                )
            )
        return "\n".join(parts)

    def _motifs(self) -> str:
        data = self.data
        parts = [_motif_sources(data)]
        if data.modisco is None and data.annotations is None:
            missing = " and ".join(str(p) for p in (data.modisco_path, data.annotations_path) if p is not None)
            parts.append(not_available(f"TF-MoDISco patterns ({missing} not found)"))
            return "\n".join(parts)
        rows = self.pattern_rows()
        parts.append(self._checks_table(["n_pos_patterns", "top_pattern_seqlets", "n_matched"]))
        if not rows:
            message = (data.modisco.message if data.modisco is not None else "") or "TF-MoDISco found no pattern."
            parts.append(f'<p class="na"><b>No pattern.</b> {esc(message)}</p>')
            return "\n".join(parts)
        if data.modisco is None:
            why = f"give {self.prefix}modisco: the modisco stage's results file" if data.modisco_path is None else (
                f"{data.modisco_path} was not found")
            parts.append(not_available(f"Pattern logos ({why})"))
        elif data.annotations_path is None:
            parts.append('<p class="sub">No annotations were given, so patterns are not named: add the patterns.tsv of an '
                         "annotate stage to see their best database matches.</p>")
        elif data.annotations is None:
            parts.append(not_available(f"Database matches ({data.annotations_path} was not found)"))
        parts.append(MOTIFS_READING)
        parts.append(self._patterns_table(rows[:MAX_PATTERNS]))
        if len(rows) > MAX_PATTERNS:
            parts.append(
                f'<p class="sub">{len(rows) - MAX_PATTERNS} more pattern(s) with fewer seqlets: see the modisco stage\'s report.html.</p>'
            )
        return "\n".join(parts)

    def _patterns_table(self, rows: Sequence[tuple[Any, AnnotatedPattern | None]]) -> str:
        named = self.data.annotations is not None
        body = []
        for pattern, annotated in rows:
            name = pattern.name if pattern is not None else annotated.name
            seqlets = _seqlets(pattern, annotated)
            logo = pattern_logo(pattern)
            consensus = f"<code>{esc(pattern.consensus)}</code>" if pattern is not None else '<span class="na">n/a</span>'
            best = annotated.best if annotated is not None else None
            match = esc(match_label(best)) if best else '<span class="na">none</span>' if named else '<span class="na">n/a</span>'
            body.append([
                logo, f"<code>{esc(name)}</code>", number(seqlets), consensus, match,
                number(best.q_value) if best else "n/a", esc(_pattern_note(name, seqlets, annotated, named)),
            ])
        return table(["CWM logo", "pattern", "seqlets", "consensus", "best match", "q-value", "how to read it"], body,
                     numeric=(2, 5), guide=(6,), css="patterns")

    def _marginalization(self) -> str:
        data = self.data
        table_data = data.marginalization
        if table_data is None:
            return not_available(f"Marginalization ({data.marginalization_path} was not found)")
        rows = table_data.rows
        parts = [_marginalization_sources(data)]
        if not rows:
            parts.append(not_available("Marginalization effects (the table holds no motif)"))
            return "\n".join(parts)
        parts.append(MARGINALIZATION_READING)
        shown = rows[:MAX_MARGINALIZATION_ROWS]
        parts.append(_marginalization_table(shown, len(rows)))
        n_loci = shown[0].get("n_loci")
        loci = f" over {number(int(n_loci))} background loci" if isinstance(n_loci, float) and math.isfinite(n_loci) else ""
        parts.append(figure(
            iplots.effects_figure(shown),
            "marginalization effects on counts",
            f"Mean change of the predicted log counts when each motif is inserted{loci}, ± one standard deviation over the loci, "
            f"for the {len(shown)} top-ranked motif(s); blue raises, red lowers the predicted counts.",
        ))
        parts.append(self._profile_change(shown))
        return "\n".join(parts)

    def _profile_change(self, rows: Sequence[dict[str, Any]]) -> str:
        data = self.data
        if data.effects is None:
            why = (
                "give marginalization_effects: the effects.npz of the marginalize stage"
                if data.effects_path is None
                else f"{data.effects_path} was not found"
            )
            return not_available(f"Mean profile change ({why})")
        top = [row for row in rows if row["motif"] in set(data.effects.motif)][: iplots.MAX_PROFILE_MOTIFS]
        if not top:
            return not_available("Mean profile change (effects.npz holds none of the table's motifs)")
        tracks = data.effects.mean_profile_before.shape[0]
        stranded = " Two tracks are the + (up) and − (down, mirrored) strands." if tracks == 2 else ""
        caption = (
            f"Mean predicted profile (expected counts) over the background loci before (grey) and after (colour) inserting each of "
            f"the {len(top)} top-ranked motif(s), and the difference below.{stranded} A motif the model reads as a binding site "
            "raises the profile around the centre, where it was inserted; a footprint shows as a dip flanked by peaks."
        )
        fig = iplots.profile_change_figure(data.effects, [row["motif"] for row in top], [iplots.motif_label(row) for row in top])
        return figure(fig, "mean profile change of the top motifs", caption)


# --- helpers ------------------------------------------------------------------------------------


def _head_name(head: str | None) -> str | None:
    """How a heading names ``head``: count head, profile head, or another recorded name with " head"."""
    return HEAD_NAMES.get(head, f"{head} head") if head else None


def pattern_logo(pattern: Any) -> str:
    """A TF-MoDISco pattern's trimmed CWM logo, sized for a table cell (a placeholder without a pattern)."""
    if pattern is None:
        return '<span class="na">no logo</span>'
    heights = pattern.trimmed(pattern.cwm)
    return figure(logo_figure(heights, ylabel="contribution", width_per_base=0.16, height=1.25), f"{pattern.name} CWM logo")


def _group(pattern: Any, annotated: AnnotatedPattern | None) -> str:
    name = pattern.name if pattern is not None else annotated.name if annotated is not None else ""
    return name.split(".", 1)[0]


def _seqlets(pattern: Any, annotated: AnnotatedPattern | None) -> int | None:
    if pattern is not None:
        return int(pattern.n_seqlets)
    return annotated.n_seqlets if annotated is not None else None


def _significant(match: PatternMatch | None) -> bool:
    return match is not None and match.q_value is not None and match.q_value < MATCH_Q_VALUE


def match_label(match: PatternMatch) -> str:
    """A database match as "alt name (ID)", or its ID."""
    return f"{match.alt_name} ({match.motif})" if match.alt_name and match.alt_name != match.motif else match.motif


def _pattern_note(name: str, seqlets: int | None, annotated: AnnotatedPattern | None, named: bool) -> str:
    notes = []
    best = annotated.best if annotated is not None else None
    if named and annotated is None:
        notes.append("Not in the annotations table (annotated from other TF-MoDISco results?).")
    elif named and best is None:
        notes.append("No database match: possibly a novel motif, a composite of two motifs, or part of a motif.")
    elif named and _significant(best):
        notes.append(f"Matches {match_label(best)} (q < {MATCH_Q_VALUE:g}).")
    elif named:
        notes.append(f"Best match not significant (q ≥ {MATCH_Q_VALUE:g} or unknown): treat as unnamed, possibly novel or a composite.")
    if seqlets is not None and seqlets < LOW_SEQLET_SUPPORT:
        notes.append(f"Few seqlets (< {LOW_SEQLET_SUPPORT}): weak evidence.")
    if name.startswith("neg_"):
        notes.append("Negative pattern: these bases lower the output.")
    return " ".join(notes)


def _check_value(key: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if key == "delta_max_abs":
        return esc(f"{value:.2g}")
    return number(int(value))


def _locus(example: AttributionExample) -> str:
    return f"{example.chrom}:{example.start + 1:,}-{example.start + example.observed.shape[1]:,}"


def _attribution_caption(example: AttributionExample, scores: AttributionExamples) -> str:
    length = example.observed.shape[1]
    start, end = iplots.logo_span(length)
    kind = "peak" if example.is_peak else "background"
    logo = f"{example.chrom}:{example.start + start + 1:,}-{example.start + end:,}"
    return (
        f"<b>{esc(_locus(example))}</b> ({kind}, window {example.row} of the file) · summed |contribution| "
        f"{esc(f'{example.total_abs:.3g}')}. Top: contribution per position over the whole {length:,} bp window "
        f"(the shaded span is the logo). Bottom: the central {end - start} bp ({esc(logo)}), each base's letter scaled by its contribution."
    )


def _attribution_sources(scores: AttributionExamples) -> str:
    meta = scores.meta
    bits = [
        f"head <b>{esc(scores.head or 'n/a')}</b>",
        f"{scores.n_windows:,} windows ({scores.n_peaks:,} peaks) of {scores.input_length:,} bp",
    ]
    if meta.get("n_shuffles") is not None:
        bits.append(f"{esc(meta['n_shuffles'])} shuffled references")
    if meta.get("submodel"):
        bits.append(f"submodel {esc(meta['submodel'])}")
    return f'<p class="sub">{" · ".join(bits)}</p><p class="sub">attributions <code>{esc(scores.path)}</code></p>'


def _motif_sources(data: Interpretation) -> str:
    sources = []
    if data.modisco_path is not None:
        sources.append(f"TF-MoDISco results <code>{esc(data.modisco_path)}</code>")
    if data.annotations_path is not None:
        sources.append(f"annotations <code>{esc(data.annotations_path)}</code>")
    return f'<p class="sub">{" · ".join(sources)}</p>'


def _marginalization_sources(data: Interpretation) -> str:
    sources = [f"table <code>{esc(data.marginalization_path)}</code>"]
    if data.effects_path is not None:
        sources.append(f"effects <code>{esc(data.effects_path)}</code>")
    return f'<p class="sub">{" · ".join(sources)}</p>'


def _marginalization_table(rows: Sequence[dict[str, Any]], total: int) -> str:
    body = []
    for i, row in enumerate(rows, start=1):
        rank = row.get("rank")
        mean, sd = row.get("mean_delta_log_counts"), row.get("sd_delta_log_counts")
        effect = f"{number(mean)} ± {number(sd)}" if sd is not None else number(mean)
        body.append([
            number(int(rank)) if isinstance(rank, float) and math.isfinite(rank) else str(i),
            esc(row["motif"]), esc(row.get("alt_name") or ""), f"<code>{esc(str(row.get('consensus') or '')[:30])}</code>",
            effect, number(row.get("fold_change")), number(row.get("profile_jsd")), number(row.get("max_abs_profile_change")),
        ])
    note = f'<p class="sub">The top {len(rows)} of {total} motifs, by mean Δ log counts.</p>' if total > len(rows) else ""
    headers = ["rank", "motif", "name", "consensus", "mean Δ log counts ± sd", "fold change", "profile JSD", "max |profile change|"]
    return note + table(headers, body, numeric=(0, 4, 5, 6, 7))


__all__ = ["InterpretationSection", "MAX_MARGINALIZATION_ROWS", "MAX_PATTERNS", "match_label", "pattern_logo"]
