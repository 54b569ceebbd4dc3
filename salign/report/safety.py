"""What must not be shared: unsafe HTML, pages over budget, and leaks of PII in cells, pages, metrics and artifacts.

Every check returns the list of problems found (empty: safe); :func:`salign.report.build.build`
refuses to publish on any. A leak is named by where it is and its kind, its value only masked
(the patterns are :mod:`salign.common.pii`'s).
"""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import nbformat

from salign.common.pii import Matcher

PAGE_BUDGET_BYTES = 3 * 1024 * 1024
#: files the notebooks write next to the pages (artifacts people sign) that are scanned as text
TEXT_ARTIFACTS = (".yaml", ".yml", ".json", ".csv", ".txt", ".md")


def visible_text(page_html: str) -> str:
    """What a reader can see: tags, embedded images and styles removed, entities decoded."""
    text = re.sub(r"<(style|script)\b.*?</\1\s*>", " ", page_html, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", text)
    return unescape(text)


def check_page(name: str, page_html: str, pii=(), scan_text: bool = True) -> list[str]:
    """Every reason ``page_html`` must not be shared (empty list: safe).

    ``pii`` is a :class:`salign.common.pii.Matcher` or the PII values of the inputs;
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


def _cell_text(cell) -> str:
    """What a reader sees of a cell: a markdown cell's source, the text of a code cell's rich outputs."""
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


def artifact_leaks(staging: Path, matcher: Matcher) -> list[str]:
    """Leaks in the text artifacts the notebooks wrote into the report folder (e.g. ``personas.common.yaml``)."""
    problems = []
    for path in sorted(Path(staging).iterdir()):
        if path.is_file() and path.suffix.lower() in TEXT_ARTIFACTS and not path.name.endswith(".metrics.json"):
            text = path.read_text(encoding="utf-8", errors="replace")
            problems += [f"{path.name}: {f.kind} ({f.masked})" for f in matcher.find(text)]
    return problems
