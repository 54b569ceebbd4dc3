"""Executed notebooks -> pages: what a reader gets (narrative and rich results), its HTML body, contents, alt texts.

:func:`shareable` keeps a notebook's narrative and rich results; :func:`notebook_body` exports that
to HTML (the first heading becomes the page's heading, the rest of its cell the lede); :func:`page`
puts a body in the self-contained page of ``templates/page.html.j2`` (inline CSS, embedded images,
no scripts).
"""
from __future__ import annotations

import json
import re
from html import escape, unescape

import nbformat
from markupsafe import Markup
from nbconvert import HTMLExporter

from salign.common import periods
from salign.core import paths
from salign.core.version import __version__
from salign.report.html import ENV, METHODS_END, METHODS_START
from salign.workspace.provenance import set_aside_line

TITLES = {
    "01_personas": "Buyer personas",
    "02_content_audit": "Content audit",
    "03_qualification": "Qualified-lead definition",
    "04_quarterly_review": "Quarterly alignment review",
}
#: cells that are plumbing, not content
HIDDEN_TAGS = {"parameters", "injected-parameters"}
#: output kinds a shared page shows; a bare text/plain result is a Python repr and is left out
SHOWN_MIME = ("text/html", "image/png", "image/jpeg", "image/svg+xml", "text/markdown")
ALT_PLACEHOLDER = "Figure"
#: the alt text of an image that has no description of its own
UNDESCRIBED = "A chart illustrating the section “{section}” (no description was given)"
#: how a table's sideways-scrolling box starts (salign/report/templates/result.html.j2 draws the same)
SCROLL_BOX = "<div class='table-scroll'"
#: the page that lists every period, from a period's page (its folder is beside the others)
ALL_PERIODS = "../index.html"


#: the part at the end of a page that says how its findings were computed (:func:`methods_at_end`)
METHODS_HEADING = "How this was computed"
METHODS_ID = "how-this-was-computed"
#: what a 95% interval means, said once per page in its methods part
INTERVAL_IN_WORDS = ("A range written after a figure (\"95% CI 40%-52%\") is its 95% interval: the figure is "
                     "measured on a limited number of leads or deals, and the true value lies within that range "
                     "with 95% confidence; the fewer the cases, the wider the range. \"Significant\", "
                     "\"beyond chance\" or \"clear difference\" means a difference too large to be chance alone, "
                     "after allowing for how many comparisons the page makes.")
_ID_ATTRIBUTE = re.compile(r"""\s+id=(?:"[^"]*"|'[^']*')""")
_METHODS = re.compile(re.escape(METHODS_START) + r"(.*?)" + re.escape(METHODS_END), flags=re.S)


def title(name: str) -> str:
    """The title of a notebook's page (the notebook's name where it has none)."""
    return TITLES.get(name, name)


def _element(tag: str) -> re.Pattern:
    """A pattern finding the elements whose name matches ``tag`` (a regular expression, e.g. ``h[1-6]``).

    Its groups are the element's name, its attributes and its inner HTML.
    """
    return re.compile(rf"<({tag})\b([^>]*)>(.*?)</\1\s*>", flags=re.S | re.I)


_HEADING = _element("h[1-6]")
_PARAGRAPH = _element("p")
_ID = re.compile(r"""\bid=(?:"([^"]+)"|'([^']+)')""")
_BOXED = re.compile(r"""<div\b[^>]*\bclass=["']table-scroll["'][^>]*>\s*\Z""")
_BOX_LABEL = re.compile(r"""<div\b(?=[^>]*\bclass=["']table-scroll["'])[^>]*?(aria-label=(?:"([^"]*)"|'([^']*)'))""")
_ANCHOR_LINK = re.compile(r"<a\s+class=\"anchor-link\"[^>]*>.*?</a>", flags=re.S)


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


def notebook_body(nb: nbformat.NotebookNode) -> tuple[str, str, str]:
    """``(heading, lede, body)`` of a shareable notebook, the lede and body as HTML fragments.

    ``heading`` is the text of the first cell's ``#`` heading (it becomes the
    page's ``<h1>``), ``lede`` the rest of that cell, ``body`` the rest of the
    notebook. Every image gets an alt text naming its section.
    """
    heading, lede = "", ""
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "markdown" and re.match(r"\s*#\s", first.source):
        head, _, rest = first.source.strip().partition("\n")
        heading = head.lstrip("#").strip()
        lede = _export(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(rest, id=f"{first.get('id', 'lede')}-lede")])) if rest.strip() else ""
        nb = nbformat.from_dict(dict(nb, cells=nb.cells[1:]))
    return heading, lede, _alt_texts(outline(_without_repeated_titles(methods_at_end(_without_anchor_links(_export(nb))))))


def methods_at_end(body: str) -> str:
    """Every result's methods (between :data:`~salign.report.html.METHODS_START` and ``METHODS_END``) moved out of
    the findings into one part at the end of the page, :data:`METHODS_HEADING`, grouped under the section
    (``h2``) each came from, after a plain-words note on what a 95% interval is. The findings above it read
    in plain words; the test names, corrections and diagnostics are there for the reader who asks."""
    sections: dict[str, list[str]] = {}
    heads = [(m.start(), _text(m.group(3))) for m in _HEADING.finditer(body) if m.group(1).lower() == "h2"]

    def take(m):
        section = next((t for at, t in reversed(heads) if at < m.start()), "") or "This page"
        inner = re.sub(r"<(/?)h([3-5])\b", lambda h: f"<{h.group(1)}h{int(h.group(2)) + 1}", m.group(1))
        inner = _ID_ATTRIBUTE.sub("", inner)  # a result's title keeps its id where the finding is shown
        sections.setdefault(section, []).append(inner)
        return ""

    body = _METHODS.sub(take, body)
    if not sections:
        return body
    parts = [f"<section class='methods' aria-labelledby='{METHODS_ID}'><h2 id='{METHODS_ID}'>{escape(METHODS_HEADING)}</h2>",
             f"<p>{escape(INTERVAL_IN_WORDS)}</p>"]
    for section, chunks in sections.items():
        parts.append(f"<h3>{escape(section)}</h3>")
        parts += chunks
    return body + "".join(parts) + "</section>"


def _export(nb: nbformat.NotebookNode) -> str:
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, anchor_link_text="")
    return exporter.from_notebook_node(nb)[0]


def _text(fragment: str) -> str:
    """The text of an HTML fragment: tags dropped (without adding spaces), entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _without_repeated_titles(body: str) -> str:
    """Drop a sub-heading (h3-h6) that only repeats the heading just before it.

    A result's own title (shown when it is displayed alone in a notebook) often
    says the same as the narrative's section heading above it.
    """
    out, last, pos = [], None, 0
    for m in _HEADING.finditer(body):
        text = _text(m.group(3)).casefold()
        if text and text == last and m.group(1).lower() not in ("h1", "h2"):  # h1/h2 carry the contents
            out.append(body[pos:m.start()])
            pos = m.end()
        last = text
    return "".join(out) + body[pos:]


def _without_anchor_links(body: str) -> str:
    """Drop the exporter's empty ``¶`` links after each heading (links without a name; the contents link instead)."""
    return _ANCHOR_LINK.sub("", body)


def outline(body: str, top: int = 1) -> str:
    """Headings renumbered so that none skips a level (h2 then h4 becomes h2 then h3), under a page's ``h<top>``.

    Each heading keeps its place in the outline: one deeper than the nearest heading above it of a higher
    level as written, the same as its siblings. Ids, attributes and text are kept.
    """
    stack = [(top, top)]  # (level as written, level shown) of the open sections

    def renumber(m):
        written = int(m.group(1)[1])
        while len(stack) > 1 and stack[-1][0] >= written:
            stack.pop()
        shown = min(written, stack[-1][1] + 1)
        stack.append((written, shown))
        return f"<h{shown}{m.group(2)}>{m.group(3)}</h{shown}>"

    return _HEADING.sub(renumber, body)


def _alt_texts(body: str) -> str:
    """An alt text for an image that came without one (the figure formatter gives every figure its description).

    The fallback says it is a chart and names the section it illustrates (the heading above it).
    """
    section = [""]

    def swap(m):
        if m.group(1) is not None:
            section[0] = _text(m.group(2))
            return m.group(0)
        return f'<img alt="{escape(UNDESCRIBED.format(section=section[0]) if section[0] else "A chart (undescribed)")}"'

    return re.sub(rf"(<h[2-6]\b[^>]*>)(.*?)</h[2-6]>|<img\s+alt=\"{ALT_PLACEHOLDER}\"", swap, body, flags=re.S)


def _scrolling_tables(body: str) -> str:
    """Every table in a box that scrolls sideways on a narrow screen (the result template already boxes its own)."""
    out, pos = [], 0
    for m in _element("table").finditer(body):
        if _BOXED.search(body, max(0, m.start() - 500), m.start()):  # boxed already (attributes in any order)
            continue
        out += [body[pos:m.start()], SCROLL_BOX + ' role="region" tabindex="0" aria-label="Table">', m.group(0), "</div>"]
        pos = m.end()
    return _unique_labels("".join(out) + body[pos:])


def _unique_labels(body: str) -> str:
    """Number the table boxes that share a name (``Routing (table 2 of 3)``): a reader told of a region can tell
    one from another."""
    found = [(m, unescape(m.group(2) or m.group(3))) for m in _BOX_LABEL.finditer(body)]
    count = {}
    for _, label in found:
        count[label] = count.get(label, 0) + 1
    seen, out, pos = {}, [], 0
    for m, label in found:
        if count[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            named = f"{label} (table {seen[label]} of {count[label]})"
            out += [body[pos:m.start(1)], f'aria-label="{escape(named)}"']
            pos = m.end(1)
    return "".join(out) + body[pos:]


def _toc(body: str) -> list[dict]:
    """The contents: every ``h2`` with an id, in order."""
    entries = []
    for m in _HEADING.finditer(body):
        found = _ID.search(m.group(2))
        if m.group(1).lower() == "h2" and found:
            entries.append({"id": unescape(found.group(1) or found.group(2)), "text": _text(m.group(3))})
    return entries


def summary(lede: str) -> str:
    """The first paragraph of a lede as plain text (inline markup dropped without adding spaces)."""
    first = _PARAGRAPH.search(lede)
    return re.sub(r"\s+", " ", _text(first.group(3) if first else lede))


def _data_end(period, tables):
    """The end of the data a period's pages read (UTC): the period's end, or ``as_of`` if sooner (a review reads
    the data as it stood at its period's end, :func:`salign.common.periods.known_at`)."""
    return periods.cutoff(period, tables) if isinstance(period, periods.Quarter) else tables.as_of


def page(title: str, body: str, period, tables, nav: list[dict], heading: str = "", kpis: str = "",
         lede: str = "", dated: bool = True, home: bool = False) -> str:
    """A complete, self-contained page: inline CSS, embedded images, no scripts.

    ``title`` names the page in the navigation and the browser tab, ``heading``
    (default: the title) is its ``<h1>``, ``lede`` the introduction under it and
    ``kpis`` the headline cards shown before the body (all three HTML).
    ``dated=False`` leaves out the data's last day (the index spans periods). A workspace written by an import
    adds, under the page's meta line, how many rows the import set aside and why.

    Every page links to the index of all periods (``home``: it is that index) and says which report it
    belongs to, so that a page or a period's folder forwarded on its own still tells where it comes from.
    Its headings never skip a level and every table scrolls sideways inside its own box on a narrow screen.
    """
    css = (paths.TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")
    body = _scrolling_tables(outline(body, top=1))
    toc = ([{"id": "headline", "text": "Headline figures"}] if kpis else []) + _toc(body)
    return ENV.get_template("page.html.j2").render(
        title=title, heading=heading or title, body=Markup(body), css=Markup(css), kpis=Markup(kpis), lede=Markup(lede),
        period=str(period), fingerprint=tables.fingerprint, workspace_name=tables.config.name,
        as_of=f"{_data_end(period, tables):%Y-%m-%d}" if dated else "", toc=toc, nav=nav, version=__version__,
        set_aside=set_aside_line(getattr(tables, "folder", None)), home=home,
        all_periods="index.html" if home else ALL_PERIODS)
