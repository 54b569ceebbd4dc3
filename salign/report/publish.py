"""Executed notebooks -> shareable HTML: no code, CRM text escaped, PII checked (fail closed), atomic publish.

The publisher only reads what the notebooks wrote (executed notebooks and
``<name>.metrics.json``); it never recomputes a metric.
"""
from __future__ import annotations

import ctypes
import errno
import html
import json
import math
import os
import re
import shutil
from pathlib import Path
from typing import NamedTuple

import jinja2
import nbformat
from markupsafe import Markup
from nbconvert import HTMLExporter

from salign.core import paths
from salign.core.version import __version__
from salign.report.pii import Matcher, pii_values  # noqa: F401  (pii_values is part of this module's API)

TITLES = {
    "01_personas": "Buyer personas",
    "02_content_audit": "Content audit",
    "03_qualification": "Qualified-lead definition",
    "04_quarterly_review": "Quarterly alignment review",
}
PAGE_BUDGET_BYTES = 3 * 1024 * 1024
PERIOD_DIR = re.compile(r"^\d{4}Q[1-4]$")
#: cells that are plumbing, not content
HIDDEN_TAGS = {"parameters", "injected-parameters"}
#: output kinds a shared page shows; a bare text/plain result is a Python repr and is left out
SHOWN_MIME = ("text/html", "image/png", "image/jpeg", "image/svg+xml", "text/markdown")
ALT_PLACEHOLDER = "Figure"
#: how many headline figures the table of all periods shows as columns
INDEX_COLUMNS = 8


class PublishError(RuntimeError):
    """A report that must not be published (PII found, unsafe HTML, over budget)."""


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(paths.TEMPLATES_DIR), autoescape=True)


# --------------------------------------------------------------------------- notebook -> HTML body

def visible_text(page_html: str) -> str:
    """What a reader can see: tags, embedded images and styles removed, entities decoded."""
    text = re.sub(r"<(style|script)\b.*?</\1\s*>", " ", page_html, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", text)
    return html.unescape(text)


def shareable(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as a reader gets it: narrative and rich results only.

    Dropped: the parameters cells, every code cell's source (by the exporter),
    streams (stdout/stderr), errors, and results that are only ``text/plain``
    (Python reprs such as ``Tables(...)``); code cells left without output go too.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # a deep copy
    kept = []
    for cell in nb.cells:
        if set(cell.get("metadata", {}).get("tags", [])) & HIDDEN_TAGS:
            continue
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if o.get("output_type") in ("display_data", "execute_result")
                            and any(m in o.get("data", {}) for m in SHOWN_MIME)]
            if not cell.outputs:
                continue
            cell.metadata["alt"] = ALT_PLACEHOLDER  # replaced by the section's name in _alt_texts
        kept.append(cell)
    nb.cells = kept
    return nb


def _cell_text(cell) -> str:
    if cell.cell_type == "markdown":
        return cell.source
    parts = []
    for o in cell.get("outputs", []):
        data = o.get("data", {})
        for mime in ("text/html", "image/svg+xml"):
            if mime in data:
                parts.append(visible_text("".join(data[mime])))
        if "text/markdown" in data:
            parts.append("".join(data["text/markdown"]))
    return "\n".join(parts)


def cell_leaks(name: str, nb: nbformat.NotebookNode, matcher: Matcher) -> list[str]:
    """Every leak in the shareable notebook, each named by page, notebook, section and cell (value masked)."""
    problems, section = [], "(before the first heading)"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heads = re.findall(r"^#{1,4}\s+(.+?)\s*#*\s*$", cell.source, flags=re.M)
            section = heads[-1] if heads else section
        for f in matcher.find(_cell_text(cell)):
            problems.append(f"{name}.html: {f.kind} ({f.masked}) in notebook {name}, section '{section}', "
                            f"cell {cell.get('id', '?')}")
    return problems


def notebook_body(nb: nbformat.NotebookNode | Path) -> tuple[str, str, str]:
    """``(heading, lede, body)`` of a notebook as HTML fragments.

    ``heading`` is the text of the first cell's ``#`` heading (it becomes the
    page's ``<h1>``), ``lede`` the rest of that cell, ``body`` the rest of the
    shareable notebook. Every image gets an alt text naming its section.
    """
    if not isinstance(nb, nbformat.NotebookNode):
        nb = shareable(nbformat.read(nb, as_version=4))
    heading, lede = "", ""
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "markdown" and re.match(r"\s*#\s", first.source):
        title, _, rest = first.source.strip().partition("\n")
        heading = title.lstrip("#").strip()
        lede = _export(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(rest)])) if rest.strip() else ""
        nb = nbformat.from_dict(dict(nb, cells=nb.cells[1:]))
    return heading, lede, _alt_texts(_without_repeated_titles(_export(nb)))


_HEADING = re.compile(r"<(h[1-6])\b[^>]*>(.*?)</\1>", flags=re.S | re.I)


def _without_repeated_titles(body: str) -> str:
    """Drop a sub-heading (h3-h6) that only repeats the heading just before it.

    A result's own title (shown when it is displayed alone in a notebook) often
    says the same as the narrative's section heading above it.
    """
    out, last, pos = [], None, 0
    for m in _HEADING.finditer(body):
        text = html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).strip().casefold()
        if text and text == last and m.group(1).lower() not in ("h1", "h2"):  # h1/h2 carry the contents
            out.append(body[pos:m.start()])
            pos = m.end()
        last = text
    return "".join(out) + body[pos:]


def _export(nb: nbformat.NotebookNode) -> str:
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, anchor_link_text="")
    return exporter.from_notebook_node(nb)[0]


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _alt_texts(body: str) -> str:
    section = [""]

    def swap(m):
        if m.group(1) is not None:
            section[0] = _text(m.group(2))
            return m.group(0)
        return f'<img alt="{html.escape("Figure: " + section[0] if section[0] else "Figure")}"'

    return re.sub(rf"(<h[2-4]\b[^>]*>)(.*?)</h[2-4]>|<img\s+alt=\"{ALT_PLACEHOLDER}\"", swap, body, flags=re.S)


def _toc(body: str) -> list[dict]:
    return [{"id": html.unescape(m.group(1) or m.group(2)), "text": _text(m.group(3))}
            for m in re.finditer(r"""<h2[^>]*\bid=(?:"([^"]+)"|'([^']+)')[^>]*>(.*?)</h2>""", body, flags=re.S)]


def page(title: str, body: str, period, tables, nav: list[dict], heading: str = "", kpis: str = "",
         lede: str = "") -> str:
    """A complete, self-contained page: inline CSS, embedded images, no scripts.

    ``title`` names the page in the navigation and the browser tab, ``heading``
    (default: the title) is its ``<h1>``, ``lede`` the introduction under it and
    ``kpis`` the headline cards shown before the body.
    """
    css = (paths.TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")
    toc = ([{"id": "headline", "text": "Headline figures"}] if kpis else []) + _toc(body)
    return _env().get_template("page.html.j2").render(
        title=title, heading=heading or title, body=Markup(body), css=Markup(css), kpis=Markup(kpis), lede=Markup(lede),
        period=str(period), fingerprint=tables.fingerprint, workspace_name=tables.config.name,
        as_of=f"{tables.as_of:%Y-%m-%d}", toc=toc, nav=nav, version=__version__)


# --------------------------------------------------------------------------- safety checks

def check_page(name: str, page_html: str, pii=(), scan_text: bool = True) -> list[str]:
    """Every reason ``page_html`` must not be shared (empty list: safe).

    ``pii`` is a :class:`salign.report.pii.Matcher` or the PII values of the inputs;
    ``scan_text=False`` skips the leak scan (done per cell already).
    """
    problems = []
    if re.search(r"<script\b", page_html, flags=re.I):
        problems.append(f"{name}: contains a <script> element (unescaped text from the data?)")
    if re.search(r"<[a-z][^>]*\son[a-z]+\s*=|=\s*[\"']?\s*javascript:", page_html, flags=re.I):
        problems.append(f"{name}: contains an event handler or a javascript: link (unescaped text from the data?)")
    if re.search(r"<(?:iframe|object|embed|link|base|form)\b", page_html, flags=re.I):
        problems.append(f"{name}: contains an <iframe>, <object>, <embed>, <link>, <base> or <form> element")
    if re.search(r"""\b(?:src|href|action|srcset)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//|url\(\s*["']?(?:https?:)?//""",
                 page_html, flags=re.I):
        problems.append(f"{name}: loads something from the network")
    if re.search(r'class="[^"]*(?:jp-InputArea|jp-CodeMirrorEditor|input_area|highlight hl-)', page_html):
        problems.append(f"{name}: contains source code cells")
    if scan_text:
        matcher = pii if isinstance(pii, Matcher) else Matcher(pii)
        problems += [f"{name}: {f.kind} visible ({f.masked})" for f in matcher.find(visible_text(page_html))]
    size = len(page_html.encode())
    if size > PAGE_BUDGET_BYTES:
        images = sum(len(m) for m in re.findall(r"data:image/[^\"']+", page_html))
        problems.append(f"{name}: {size / 2**20:.1f} MB is over the page budget of 3 MB "
                        f"({images / 2**20:.1f} MB of it embedded images)")
    return problems


def metrics_leaks(metrics, matcher: Matcher, where: str = "metrics.json") -> list[str]:
    """Leaks in the text values (and keys) of the merged metrics, named by their key path."""
    problems = []
    if isinstance(metrics, dict):
        for key, value in metrics.items():
            problems += [f"{where}: {f.kind} ({f.masked}) in a key" for f in matcher.find(str(key))]
            problems += metrics_leaks(value, matcher, f"{where} > {key}")
    elif isinstance(metrics, list):
        for i, value in enumerate(metrics):
            problems += metrics_leaks(value, matcher, f"{where} > [{i}]")
    elif isinstance(metrics, str):
        problems += [f"{where}: {f.kind} ({f.masked})" for f in matcher.find(metrics)]
    return problems


#: files the notebooks write next to the pages (artifacts people sign) that are scanned as text
TEXT_ARTIFACTS = (".yaml", ".yml", ".json", ".csv", ".txt", ".md")


def artifact_leaks(staging: Path, matcher: Matcher) -> list[str]:
    """Leaks in the text artifacts the notebooks wrote into the report folder (e.g. ``personas.common.yaml``)."""
    problems = []
    for path in sorted(Path(staging).iterdir()):
        if path.is_file() and path.suffix.lower() in TEXT_ARTIFACTS and not path.name.endswith(".metrics.json"):
            text = path.read_text(encoding="utf-8", errors="replace")
            problems += [f"{path.name}: {f.kind} ({f.masked})" for f in matcher.find(text)]
    return problems


# --------------------------------------------------------------------------- headline figures

class Card(NamedTuple):
    """One KPI card. ``arrow``: up/down/flat or None; ``tone``: good/bad/neutral or None (no comparison)."""

    label: str
    value: str
    detail: str
    source: str
    arrow: str | None = None
    tone: str | None = None
    change: str = ""


def _is_rate(v) -> bool:
    return isinstance(v, dict) and {"k", "n", "rate"} <= set(v)


def _is_comparison(v) -> bool:
    return isinstance(v, dict) and "value" in v and "previous" in v


def headline_value(v) -> float | None:
    """The number a headline figure stands for (a rate's rate, a comparison's value); None if it has none."""
    if _is_comparison(v):
        return headline_value(v["value"])
    if _is_rate(v):
        v = v["rate"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def _fmt_number(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int) or float(x).is_integer():
        return f"{int(x):,}"
    a = abs(x)
    return f"{x:,.0f}" if a >= 1000 else f"{x:,.1f}" if a >= 10 else f"{x:.2f}" if a >= 1 else f"{x:.3f}"


def format_headline(v) -> tuple[str, str]:
    """``(value, detail)`` for a number or a rate dict, e.g. ``("66.7%", "2 of 3 · 95% CI 20.8–93.9%")``."""
    if _is_rate(v):
        if v["rate"] is None or not v["n"]:
            return "n/a", f"0 of {v['n']:,}"
        detail = f"{v['k']:,} of {v['n']:,}"
        if v.get("ci_low") is not None and v.get("ci_high") is not None:
            detail += f" · 95% CI {v['ci_low']:.1%}–{v['ci_high']:.1%}"
        return f"{v['rate']:.1%}", detail
    if isinstance(v, (int, float)):
        return _fmt_number(v), ""
    return str(v), ""


def _change(value, previous, significant: bool, higher_is_better: bool) -> tuple[str | None, str | None, str]:
    now, before = headline_value(value), headline_value(previous)
    if previous is None or now is None or before is None:
        return None, None, "" if previous is None else "no comparison (n/a)"
    arrow = "up" if now > before else "down" if now < before else "flat"
    if _is_rate(value):
        delta = f"{(now - before) * 100:+.1f} pts"
    else:
        delta = _fmt_number(now - before)
        delta = delta if delta.startswith("-") else "+" + delta
    tone = "neutral" if not significant or arrow == "flat" else (
        "good" if (arrow == "up") == bool(higher_is_better) else "bad")
    shown = format_headline(previous)[0]
    return arrow, tone, (f"{delta} vs last quarter ({shown}); "
                         + ("significant" if significant else "not significant"))


ACRONYMS = {"sla", "slas", "mql", "mqls", "sal", "sals", "sql", "sqls", "auc", "kpi", "roi", "ci", "crm", "p90"}


def label_of(key: str) -> str:
    """``follow_up_within_sla`` -> ``Follow up within SLA``."""
    words = [w.upper() if w.lower() in ACRONYMS else w for w in key.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def headline_cards(metrics: dict) -> list[Card]:
    """One :class:`Card` per headline figure of every notebook, in notebook order, keys sorted.

    The headline contract: each notebook's metrics file has a ``headline``
    object mapping a key (``snake_case``, shown as its label) to one of

    - a number (int or float; ``true``/``false`` show as yes/no);
    - a rate dict ``{"k", "n", "rate", "ci_low", "ci_high"}`` as written by
      :meth:`salign.common.stats.Rate.as_dict` (``rate`` null for 0/0, shown "n/a");
    - a comparison dict ``{"value": <number or rate dict>, "previous": <same or null>,
      "change_significant": bool, "higher_is_better": bool}``, shown as a card
      with an arrow against last quarter: green when the change is significant
      and in the good direction, red when significant and in the bad direction,
      grey when not significant; no arrow when ``previous`` is null. An optional
      ``label`` (text) replaces the key as the card's label, e.g. to say which
      metric changed most.

    Anything else is shown as text. The publisher formats these figures; it
    never recomputes them.
    """
    cards = []
    for name, doc in metrics.get("notebooks", {}).items():
        source = TITLES.get(name, name)
        for key, v in sorted((doc.get("headline") or {}).items()):
            label = label_of(key)
            if _is_comparison(v):
                label = str(v["label"]) if v.get("label") else label
                value, detail = format_headline(v["value"])
                arrow, tone, change = _change(v["value"], v["previous"], bool(v.get("change_significant")),
                                              bool(v.get("higher_is_better", True)))
                cards.append(Card(label, value, detail, source, arrow, tone, change))
            else:
                cards.append(Card(label, *format_headline(v), source))
    return cards


ARROWS = {"up": "▲", "down": "▼", "flat": "▶"}


def kpi_html(card: Card, trend: str = "", source: bool = True) -> str:
    """A card: label, value with its arrow, detail (count and interval), change vs last quarter, trend, source."""
    esc = html.escape
    tone = f" tone-{card.tone}" if card.tone else ""
    arrow = (f" <span class='arrow' title='{esc(card.arrow)} vs last quarter'>{ARROWS[card.arrow]}</span>"
             if card.arrow else "")
    return (f"<div class='kpi{tone}'><div class='label'>{esc(card.label)}</div>"
            f"<div class='value'>{esc(card.value)}{arrow}</div>"
            + (f"<div class='detail'>{esc(card.detail)}</div>" if card.detail else "")
            + (f"<div class='change'>{esc(card.change)}</div>" if card.change else "")
            + trend
            + (f"<div class='source'>{esc(card.source)}</div>" if source else "") + "</div>")


def kpi_grid(cards: list[Card], source: bool = True) -> str:
    """The cards in a grid; ``source=False`` where the page or a heading already says where they come from."""
    return f"<div class='kpis'>{''.join(kpi_html(c, source=source) for c in cards)}</div>" if cards else ""


# --------------------------------------------------------------------------- building a period

def _notebook_page(name, staging, period, tables, nav, doc, matcher) -> tuple[str, str, list[str]]:
    """(page, lede, leaks) of one executed notebook."""
    nb = shareable(nbformat.read(staging / "notebooks" / f"{name}.ipynb", as_version=4))
    leaks = cell_leaks(name, nb, matcher)
    heading, lede, body = notebook_body(nb)
    kpis = kpi_grid(headline_cards({"notebooks": {name: doc}}), source=False) if doc else ""
    this_nav = [dict(i, current=i["href"] == f"{name}.html") for i in nav]
    text = page(TITLES.get(name, name), body, period, tables, this_nav, heading=heading, kpis=kpis, lede=lede)
    return text, lede, leaks


def build(staging: Path, tables, period, notebooks: list[str], out: Path | None = None) -> dict:
    """Write the pages, ``metrics.json`` and the overview into ``staging``; refuse if any page is unsafe.

    Every output of every notebook, every page, the merged metrics and (with
    ``out``) the index of all periods as it will be are checked before anything
    is written; a refusal (:class:`PublishError`) lists each leak with the page,
    its kind and where it came from, never the full value. Returns the merged metrics.
    """
    nav = [{"href": "index.html", "label": "Overview"}] + [{"href": f"{n}.html", "label": TITLES.get(n, n)}
                                                           for n in notebooks]
    matcher = Matcher(pii_values(tables))
    metrics = {"period": str(period), "workspace_fingerprint": tables.fingerprint, "notebooks": {}}
    pages, ledes, problems = {}, {}, []
    for name in notebooks:
        mfile = staging / f"{name}.metrics.json"
        if mfile.exists():
            metrics["notebooks"][name] = json.loads(mfile.read_text(encoding="utf-8"))
            mfile.unlink()
        text, ledes[name], leaks = _notebook_page(name, staging, period, tables, nav, metrics["notebooks"].get(name),
                                                  matcher)
        pages[f"{name}.html"] = text
        problems += leaks
        problems += check_page(f"{name}.html", text, matcher, scan_text=not leaks)
    overview = page(f"Alignment overview {period}", overview_body(metrics, notebooks, ledes), period, tables,
                    [dict(i, current=i["href"] == "index.html") for i in nav]
                    + [{"href": "../index.html", "label": "All periods"}])
    problems += check_page("index.html", overview, matcher)
    problems += metrics_leaks(metrics, matcher)
    problems += artifact_leaks(staging, matcher)
    if out is not None:
        problems += check_page("../index.html", index_page(out, tables, {str(period): metrics}), matcher)
    pages["index.html"] = overview
    if problems:
        raise PublishError("refusing to publish; the pages would share what they must not:\n  - "
                           + "\n  - ".join(problems[:50])
                           + (f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""))
    for fname, content in pages.items():
        (staging / fname).write_text(content, encoding="utf-8")
    (staging / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return metrics


#: the overview shows the quarterly review's figures first: they are the ones leaders ask for
OVERVIEW_ORDER = ("04_quarterly_review", "01_personas", "03_qualification", "02_content_audit")


def summary(lede: str) -> str:
    """The first paragraph of a lede as plain text (inline markup dropped without adding spaces)."""
    first = re.search(r"<p\b[^>]*>(.*?)</p>", lede, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "", first.group(1) if first else lede))
    return re.sub(r"\s+", " ", text).strip()


def overview_body(metrics: dict, notebooks: list[str] | None = None, ledes: dict[str, str] | None = None) -> str:
    """The period's overview: headline cards, links to the pages (with their introductions), what was skipped and why."""
    esc = html.escape
    notebooks = notebooks or list(metrics["notebooks"])
    ledes = ledes or {}
    out = "<h2 id='headline'>Headline figures</h2>"
    groups = sorted(metrics["notebooks"], key=lambda n: OVERVIEW_ORDER.index(n) if n in OVERVIEW_ORDER else 99)
    shown = [(name, headline_cards({"notebooks": {name: metrics["notebooks"][name]}})) for name in groups]
    out += "".join(f"<h3><a href='{esc(name)}.html'>{esc(TITLES.get(name, name))}</a></h3>{kpi_grid(cards, source=False)}"
                   for name, cards in shown if cards) or "<p class='note'>The notebooks reported no headline figures.</p>"
    links = "".join(f"<li><a href='{n}.html'>{esc(TITLES.get(n, n))}</a>"
                    f"{' — ' + esc(summary(ledes[n])) if ledes.get(n) else ''}</li>" for n in notebooks)
    out += f"<h2 id='pages'>Pages</h2><ul class='pages'>{links}</ul>"
    skipped = [(n, s, r) for n, d in metrics["notebooks"].items() for s, r in (d.get("skipped") or {}).items()]
    if skipped:
        items = "".join(f"<li><strong>{esc(TITLES.get(n, n))}</strong>: {esc(s.replace('_', ' '))} — {esc(r)}</li>"
                        for n, s, r in skipped)
        out += f"<h2 id='skipped'>What was skipped and why</h2><ul>{items}</ul>"
    return out


# --------------------------------------------------------------------------- all periods

def sparkline(points: list[tuple[str, float | None]], label: str, rate: bool = False,
              width: int = 140, height: int = 34) -> str:
    """A small inline SVG line of ``(period, value)`` points (None: a gap), oldest first; the last point marked."""
    known = [(i, v) for i, (_, v) in enumerate(points) if v is not None]
    if len(known) < 2:
        return ""
    lo, hi = min(v for _, v in known), max(v for _, v in known)
    span = (hi - lo) or 1.0
    pad = 4
    step = (width - 2 * pad) / max(1, len(points) - 1)

    def xy(i, v):
        y = height / 2 if hi == lo else height - pad - (v - lo) / span * (height - 2 * pad)
        return round(pad + i * step, 1), round(y, 1)

    segments, run = [], []
    for i, (_, v) in enumerate(points):
        if v is None:
            segments, run = segments + [run] if run else segments, []
        else:
            run.append(xy(i, v))
    segments += [run] if run else []
    lines = "".join(f"<polyline points='{' '.join(f'{x},{y}' for x, y in seg)}'/>" for seg in segments if len(seg) > 1)
    x, y = xy(*known[-1])
    fmt = (lambda v: f"{v:.1%}") if rate else _fmt_number
    said = ", ".join(f"{p} {fmt(v) if v is not None else 'n/a'}" for p, v in points)
    return (f"<svg class='spark' width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
            f"aria-label='{html.escape(label)}: {html.escape(said)}'><title>{html.escape(said)}</title>{lines}"
            f"<circle cx='{x}' cy='{y}' r='2.5'/></svg>")


def _periods(out: Path, pending: dict | None = None) -> dict[str, dict]:
    found = {}
    for d in Path(out).iterdir():
        if d.is_dir() and PERIOD_DIR.match(d.name) and (d / "metrics.json").exists():
            try:
                found[d.name] = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                found[d.name] = {"notebooks": {}, "unreadable": True}
    found.update(pending or {})
    return dict(sorted(found.items()))


def index_body(periods: dict[str, dict]) -> str:
    """Trend cards (latest value, sparkline across periods) and a table of every period's headline figures."""
    esc = html.escape
    if not periods:
        return "<h2 id='periods'>Published periods</h2><p>No period has been published yet.</p>"
    names = list(periods)
    cards_by_period = {p: {(c.source, c.label): c for c in headline_cards(m)} for p, m in periods.items()}
    raw = {p: {(TITLES.get(n, n), label_of(k)): v
               for n, d in m.get("notebooks", {}).items() for k, v in (d.get("headline") or {}).items()}
           for p, m in periods.items()}
    keys = list(dict.fromkeys(k for p in reversed(names) for k in cards_by_period[p]))
    latest = names[-1]
    trend_cards = []
    for key in keys:
        card = cards_by_period[latest].get(key) or Card(key[1], "–", f"not reported in {latest}", key[0])
        series = [(p, headline_value(raw[p].get(key))) for p in names]
        is_rate = any(_is_rate(v) or (_is_comparison(v) and _is_rate(v["value"])) for v in
                      (raw[p].get(key) for p in names))
        spark = sparkline(series, card.label, rate=is_rate)
        span = f"{names[0]}–{latest}" if spark else "no trend yet: only one period has this figure"
        trend = f"<div class='trend'>{spark}<span class='note'>{esc(span)}</span></div>"
        trend_cards.append(kpi_html(card, trend))
    since = f" and the trend since {names[0]}" if len(names) > 1 else ""
    out = (f"<h2 id='trends'>Headline figures of {esc(latest)}{esc(since)}</h2>"
           f"<div class='kpis'>{''.join(trend_cards)}</div>" if trend_cards else "")
    cols = keys[:INDEX_COLUMNS]
    head = "".join(f"<th>{esc(label)}</th>" for _, label in cols)
    rows = []
    for p in reversed(names):
        m = periods[p]
        cells = "".join(f"<td>{esc(cards_by_period[p][k].value) if k in cards_by_period[p] else '–'}</td>" for k in cols)
        fp = "unreadable metrics.json" if m.get("unreadable") else m.get("workspace_fingerprint", "")
        rows.append(f"<tr><td><a href='{esc(p)}/index.html'>{esc(p)}</a></td><td><code>{esc(fp)}</code></td>{cells}</tr>")
    out += (f"<h2 id='periods'>Published periods</h2><table class='salign-table periods'><thead><tr><th>period</th>"
            f"<th>data fingerprint</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    if len(keys) > len(cols):
        out += f"<p class='note'>The table shows {len(cols)} of {len(keys)} headline figures; the cards show all.</p>"
    return out


def index_page(out: Path, tables, pending: dict | None = None) -> str:
    """The HTML of ``<out>/index.html``: every published period (plus ``pending`` ones about to be)."""
    css = (paths.TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")
    body = index_body(_periods(out, pending))
    return _env().get_template("page.html.j2").render(
        title="Sales and marketing alignment reports", heading="Sales and marketing alignment reports",
        body=Markup(body), css=Markup(css), kpis="", period="all periods", fingerprint=tables.fingerprint,
        workspace_name=tables.config.name, as_of="", toc=_toc(body), nav=[], version=__version__)


def write_index(out: Path, tables) -> Path:
    """``reports/index.html``: every published period with its headline figures and trends (written atomically)."""
    index = Path(out) / "index.html"
    tmp = index.with_name(f".index.html.{os.getpid()}")
    tmp.write_text(index_page(out, tables), encoding="utf-8")
    os.replace(tmp, index)
    return index


# --------------------------------------------------------------------------- atomic replacement

def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def commit(staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging`` so that a reader sees the old report or the new one, never a mix.

    On Linux the two folders are exchanged in one atomic step; the old report
    (now in ``staging``) is removed afterwards. Elsewhere the old report is
    moved aside to ``.old-<name>-<pid>`` first and restored if the swap fails;
    if the process dies between the two renames, :func:`recover` puts it back
    at the start of the next run.
    """
    staging, target = Path(staging), Path(target)
    if target.exists() and _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)
        return
    aside = target.with_name(f".old-{target.name}-{os.getpid()}")
    if target.exists():
        os.replace(target, aside)
    try:
        os.replace(staging, target)
    except BaseException:
        if aside.exists():
            os.replace(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def recover(out: Path) -> list[str]:
    """Tidy what dead runs left in ``out`` (call while holding the run lock); return what was done.

    A report moved aside by an interrupted :func:`commit` is restored if its
    period is missing; staging folders and temporary index files are removed.
    """
    notes = []
    for p in sorted(Path(out).iterdir()):
        m = re.match(r"^\.old-(\d{4}Q[1-4])-\d+$", p.name)
        if m and p.is_dir():
            target = p.with_name(m.group(1))
            if not target.exists():
                os.replace(p, target)
                notes.append(f"restored the report of {m.group(1)} that an interrupted run had moved aside")
            else:
                shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(".staging-") and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            notes.append(f"removed {p.name}, left by a run that did not finish")
        elif p.name.startswith(".index.html."):
            p.unlink(missing_ok=True)
    return notes
