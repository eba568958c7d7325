"""The modisco stage's ``report.html``: every pattern's logos and its motif database matches.

One self-contained page (the look of the training report, :mod:`bpnet.interpret.report.html`):
logos are PNG ``data:`` URIs, the CSS is inline, nothing refers to a file or URL, so the
page can be moved or mailed. Per pattern: its seqlet count and consensus, logos of the
contribution weight matrix (CWM), of the position probability matrix as information
content, and of the hypothetical CWM (all trimmed to the informative columns, see
:func:`bpnet.interpret.modisco.trim_bounds`), where its seqlets lie in the analysed
window, and, when a motif database was given, the best TOMTOM matches with the logo of
each matched motif on the strand it matched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bpnet.core.versions import package_version

from .annotation import Match
from .logos import information_heights, logo_figure
from .modisco import ModiscoResult, Pattern
from .report.html import document, esc, figure, number, table

#: logos side by side, wrapping on narrow screens
ROW = '<div style="display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start">'

ABOUT = """
<p>TF-MoDISco cuts the attribution tracks into <em>seqlets</em> (short stretches with high total contribution),
clusters them by similarity and aggregates each cluster into a <em>pattern</em>. <code>pos_patterns</code> are made
of seqlets that raise the explained output, <code>neg_patterns</code> of seqlets that lower it.</p>
<p class="sub">Logos show the columns whose summed |CWM| is at least 30% of the largest column's.
<b>CWM</b>: mean contribution of each base at each position (what the model uses).
<b>PFM (bits)</b>: base frequencies of the seqlets scaled by information content (what the sequence looks like).
<b>Hypothetical CWM</b>: the contribution each base would have had at each position.
Matches: TOMTOM (memelite) of the PFM against the motif database; q-values are Benjamini-Hochberg over the database
for each pattern; a q-value below 0.05 is a confident name.</p>
"""


def build_modisco_report(
    result: ModiscoResult,
    matches: Sequence[Sequence[Match]] | None,
    database_motifs: dict | None,
    *,
    title: str,
    source: str,
    head: str,
    database: str | None,
) -> str:
    """The page: ``matches`` (one list per pattern) and ``database_motifs`` (name -> Motif) when a database was given."""
    patterns = result.patterns
    body = [_summary(result, matches, source=source, head=head, database=database)]
    for i, pattern in enumerate(patterns):
        found = matches[i] if matches is not None else None
        body.append(_pattern_section(pattern, found, database_motifs or {}, result.settings.window))
    page_body = "\n".join(body)
    nav = [("summary", "Summary"), *[(_anchor(p), p.name) for p in patterns]]
    meta = (
        f"{esc(source)} · head {esc(head or 'n/a')} · {result.n_windows:,} windows · "
        f"central {result.settings.window} bp · bpnet-interpret {esc(package_version('bpnet-interpret'))}"
    )
    footer = "Self-contained report: every logo is embedded; no network access needed."
    return document(title, meta, nav, page_body, page_body.count("<img "), footer)


def _summary(result: ModiscoResult, matches, *, source: str, head: str, database: str | None) -> str:
    s = result.settings
    n_pos = sum(p.group == "pos_patterns" for p in result.patterns)
    n_neg = len(result.patterns) - n_pos
    settings = table(
        ["setting", "value"],
        [
            ["attributions", f"<code>{esc(source)}</code> (head {esc(head or 'n/a')})"],
            ["windows analysed", number(result.n_windows)],
            [
                "central window",
                f"bases {result.window_start}-{result.window_start + 2 * (s.window // 2)} of each input window (window {s.window})",
            ],
            ["seqlet core / flank / trim", f"{s.sliding_window} / {s.flank} / {s.trim} bp"],
            ["most seqlets per sign", number(s.max_seqlets)],
            ["Leiden runs", number(s.n_leiden_runs)],
            ["motif database", f"<code>{esc(database)}</code>" if database else "none given: no matches"],
        ],
    )
    if result.empty:
        found = f'<p class="na"><b>No pattern.</b> {esc(result.message or "TF-MoDISco found no pattern.")}</p>'
    else:
        found = f"<p>{n_pos} positive and {n_neg} negative pattern{'s' if n_neg != 1 else ''}.</p>" + _patterns_table(
            result.patterns, matches
        )
    return f'<section class="card" id="summary"><h2>Summary</h2>{found}{ABOUT}<h3>Settings</h3>{settings}</section>'


def _patterns_table(patterns: Sequence[Pattern], matches) -> str:
    rows = []
    for i, p in enumerate(patterns):
        best = matches[i][0] if matches is not None and matches[i] else None
        name = f'<a href="#{_anchor(p)}">{esc(p.name)}</a>'
        cells = [name, number(p.n_seqlets), f"<code>{esc(p.consensus)}</code>"]
        if matches is not None:
            cells += [esc(_motif_label(best)) if best else '<span class="na">none</span>', number(best.q_value) if best else "n/a"]
        rows.append(cells)
    headers = ["pattern", "seqlets", "consensus"] + (["best match", "q-value"] if matches is not None else [])
    return table(headers, rows, numeric=(1, 4))


def _pattern_section(pattern: Pattern, found: Sequence[Match] | None, motifs: dict, window: int) -> str:
    start, end = pattern.trim_bounds
    parts = [
        f'<section class="card" id="{_anchor(pattern)}"><h2>{esc(pattern.name)}</h2>',
        f'<p class="sub">{number(pattern.n_seqlets)} seqlets · consensus <code>{esc(pattern.consensus)}</code> · '
        f"columns {start}-{end} of {len(pattern.ppm)}</p>",
        ROW,
        figure(
            logo_figure(pattern.trimmed(pattern.cwm), title="CWM", ylabel="contribution"), f"{pattern.name} CWM logo"
        ),
        figure(
            logo_figure(information_heights(pattern.trimmed(pattern.ppm)), title="PFM", ylabel="bits"),
            f"{pattern.name} PFM logo",
        ),
        figure(
            logo_figure(pattern.trimmed(pattern.hcwm), title="hypothetical CWM", ylabel="contribution"),
            f"{pattern.name} hypothetical CWM logo",
        ),
    ]
    positions = _positions_figure(pattern, window)
    if positions is not None:
        parts.append(figure(positions, f"{pattern.name} seqlet positions", "seqlet centres in the analysed window (0 = its centre)"))
    parts.append("</div>")
    if found is not None:
        parts.append(_matches_html(pattern, found, motifs))
    parts.append("</section>")
    return "\n".join(parts)


def _matches_html(pattern: Pattern, found: Sequence[Match], motifs: dict) -> str:
    if not found:
        return '<h3>Database matches</h3><p class="na">No database motif matches this pattern at the chosen q-value.</p>'
    rows = [
        [str(m.rank), esc(m.motif), esc(m.motif_alt_name), number(m.p_value), number(m.q_value), str(m.offset), m.strand]
        for m in found
    ]
    html = [
        "<h3>Database matches</h3>",
        table(["rank", "motif", "name", "p-value", "q-value", "offset", "strand"], rows, numeric=(3, 4, 5)),
    ]
    html.append(ROW)
    for m in found:
        motif = motifs.get(m.motif)
        if motif is None:
            continue
        shown = motif.reverse_complement() if m.strand == "-" else motif
        html.append(figure(
            logo_figure(information_heights(shown.pwm), title=f"{m.rank}. {_motif_label(m)} ({m.strand})", ylabel="bits"),
            f"{m.motif} logo",
        ))
    html.append("</div>")
    return "\n".join(html)


def _positions_figure(pattern: Pattern, window: int) -> Figure | None:
    starts, ends = pattern.seqlets.get("start"), pattern.seqlets.get("end")
    if starts is None or ends is None or len(starts) == 0:
        return None
    centres = (np.asarray(starts) + np.asarray(ends)) / 2 - window / 2
    fig = Figure(figsize=(4.2, 1.7))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.13, 0.28, 0.83, 0.62))
    ax.hist(centres, bins=np.linspace(-window / 2, window / 2, 41), color="#1f6fb4")
    ax.set_xlabel("seqlet centre (bp from window centre)", fontsize=7)
    ax.set_ylabel("seqlets", fontsize=7)
    ax.tick_params(labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def _motif_label(match: Match) -> str:
    return f"{match.motif_alt_name} ({match.motif})" if match.motif_alt_name else match.motif


def _anchor(pattern: Pattern) -> str:
    return pattern.name.replace(".", "-")


__all__ = ["build_modisco_report"]
