"""The page itself: escaping, tables, markers, figures as base64 PNG, the skeleton and its CSS.

Everything the page needs is inside it: CSS inline, figures as ``data:`` URIs, no
external URL, so the file works offline and can be mailed around. A small inline
script counts the figures that rendered: after ``load`` the body carries
``data-plots-loaded`` (images with ``naturalWidth > 0``) and ``data-plot-errors``
(broken ones), next to ``data-plots-expected`` written here.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence

from matplotlib.figure import Figure

from .guidance import Verdict
from .plots import png_bytes

CSS = """
:root { --ink:#1d2330; --muted:#5c6577; --line:#dfe3ea; --bg:#f5f6f8; --card:#ffffff; --accent:#1f6fb4;
        --pass:#1e7b45; --pass-bg:#e3f4ea; --warn:#8a5a00; --warn-bg:#fdf0d5; --fail:#a3202f; --fail-bg:#fbe3e6;
        --info:#3c4a63; --info-bg:#e9edf3; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); line-height:1.45;
       font:14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header.top { background:#18233a; color:#fff; padding:22px 32px 18px; }
header.top h1 { margin:0 0 4px; font-size:24px; font-weight:600; letter-spacing:.2px; }
header.top .meta { color:#b9c3d6; font-size:12.5px; }
nav.toc { background:#223152; padding:8px 32px; font-size:13px; }
nav.toc a { color:#dbe5f7; text-decoration:none; margin-right:18px; }
nav.toc a:hover { text-decoration:underline; }
main { max-width:1320px; margin:0 auto; padding:20px 32px 40px; }
section.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:18px 22px 20px; margin:0 0 22px;
               box-shadow:0 1px 2px rgba(20,30,50,.04); }
h2 { font-size:19px; margin:0 0 4px; }
h2 .badge { vertical-align:middle; margin-left:8px; }
h3 { font-size:15px; margin:22px 0 8px; padding-top:12px; border-top:1px solid var(--line); }
h4 { font-size:13.5px; margin:14px 0 6px; color:var(--muted); }
p { margin:6px 0; }
.sub { color:var(--muted); font-size:12.5px; margin-bottom:6px; }
.sub code, td code { font-size:12px; background:#f0f2f5; padding:1px 4px; border-radius:3px; word-break:break-all; }
table { border-collapse:collapse; width:100%; margin:6px 0 8px; font-size:13px; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f0f2f6; font-weight:600; color:#39445a; font-size:12.5px; }
tbody tr:nth-child(even) td { background:#fafbfc; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.guide { color:var(--muted); font-size:12.5px; max-width:620px; }
table.metrics { table-layout:fixed; }
table.metrics th:nth-child(1) { width:260px; }
table.metrics th:nth-child(2), table.metrics th:nth-child(3) { width:110px; }
table.metrics.wide th:nth-child(4) { width:90px; }
table.metrics th:last-child { width:auto; }
.badge { display:inline-block; min-width:44px; text-align:center; padding:1px 8px; border-radius:10px; font-size:11.5px;
         font-weight:600; text-transform:uppercase; letter-spacing:.3px; }
.badge.pass { color:var(--pass); background:var(--pass-bg); }
.badge.warn { color:var(--warn); background:var(--warn-bg); }
.badge.fail { color:var(--fail); background:var(--fail-bg); }
.badge.info, .badge.na { color:var(--info); background:var(--info-bg); }
.na { color:var(--muted); font-style:italic; }
figure { margin:8px 0 6px; }
figure img { display:block; max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; background:#fff; }
figcaption { color:var(--muted); font-size:12.5px; margin-top:4px; }
details { margin:6px 0; }
summary { cursor:pointer; color:var(--accent); font-size:13px; }
pre { background:#f0f2f5; padding:8px 10px; border-radius:4px; font-size:12px; overflow-x:auto; }
.legend span { margin-right:14px; }
table.patterns td { vertical-align:middle; }
table.patterns figure { margin:0; }
table.patterns figure img { max-width:380px; }
table.patterns td code { word-break:normal; white-space:nowrap; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:0 0 30px; }
@media print { nav.toc { display:none; } section.card { break-inside:avoid-page; box-shadow:none; } }
"""

SCRIPT = """
window.addEventListener("load", function () {
  var loaded = 0, broken = 0;
  for (var i = 0; i < document.images.length; i++) {
    if (document.images[i].naturalWidth > 0) { loaded++; } else { broken++; }
  }
  document.body.dataset.plotsLoaded = String(loaded);
  document.body.dataset.plotErrors = String(broken);
});
"""


def esc(text: object) -> str:
    """``text`` escaped for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def number(value: object, digits: int = 3) -> str:
    """A value for a table cell: ``digits`` decimals below 10, fewer above; "n/a" for missing or NaN."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        size = abs(value)
        if value != 0 and (size >= 1e6 or size < 1e-3):
            return f"{value:.{digits}g}"
        # fewer decimals as the value grows: 0.712, 12.35, 250.0, 1,234
        decimals = digits if size < 10 else max(digits - 1, 0) if size < 100 else 1 if size < 1000 else 0
        return f"{value:,.{decimals}f}"
    if value is None:
        return "n/a"
    return esc(value)


def badge(verdict: Verdict) -> str:
    """The coloured pass / warn / fail / info / n/a marker."""
    css = "na" if verdict is Verdict.NA else verdict.value
    return f'<span class="badge {css}">{esc(verdict.value)}</span>'


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Sequence[int] = (),
    guide: Sequence[int] = (),
    css: str = "",
) -> str:
    """A table; ``rows`` hold ready HTML cells. ``numeric``/``guide``: column indexes styled as such."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = "num" if i in numeric else "guide" if i in guide else ""
            cells.append(f'<td class="{cls}">{cell}</td>' if cls else f"<td>{cell}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def not_available(what: str) -> str:
    """A placeholder for a missing optional piece."""
    return f'<p class="na">{esc(what)}: not available.</p>'


def figure(fig: Figure, alt: str, caption: str = "", dpi: int = 100) -> str:
    """``fig`` embedded as a base64 PNG ``<img>`` with a caption (the figure is closed afterwards)."""
    data = base64.b64encode(png_bytes(fig, dpi=dpi)).decode("ascii")
    width, height = (round(x * dpi) for x in fig.get_size_inches())
    fig.clear()
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}" width="{width}" height="{height}" '
        f'loading="eager" decoding="sync">{cap}</figure>'
    )


def document(title: str, meta: str, nav: Sequence[tuple[str, str]], body: str, n_images: int, footer: str = "") -> str:
    """The whole page: ``nav`` holds (anchor, label) pairs, ``body`` the ready sections."""
    links = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in nav)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{CSS}</style>
</head>
<body data-plots-expected="{n_images}">
<header class="top"><h1>{esc(title)}</h1><div class="meta">{meta}</div></header>
<nav class="toc">{links}</nav>
<main>
{body}
</main>
<footer>{footer}</footer>
<script>{SCRIPT}</script>
</body>
</html>
"""
