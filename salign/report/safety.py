"""What must not be shared: unsafe HTML, pages over budget, and leaks of PII in cells, pages, metrics and artifacts.

Every check returns the list of problems found (empty: safe); :func:`salign.report.build.build`
refuses to publish on any. A leak is named by where it is and its kind, its value only masked
(the patterns are :mod:`salign.common.pii`'s).
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from salign.common.pii import Matcher, mask

PAGE_BUDGET_BYTES = 3 * 1024 * 1024
#: files the notebooks write next to the pages (artifacts people sign) that are scanned as text
TEXT_ARTIFACTS = (".yaml", ".yml", ".json", ".csv", ".txt", ".md")


#: elements a shared page must not contain (they run code, load or send something, or change where links go)
FORBIDDEN_ELEMENTS = ("script", "iframe", "object", "embed", "link", "base", "form")
#: attributes whose value is a URL the browser loads or sends to
URL_ATTRIBUTES = ("src", "href", "srcset", "action", "formaction", "data", "poster", "background")
#: classes of the source-code parts of an exported notebook
CODE_CLASSES = ("jp-InputArea", "jp-CodeMirrorEditor", "input_area", "highlight hl-")
#: a URL that leaves the page's origin (``//host``, ``https://host``); bounded, so linear in the text
NETWORK_URL = re.compile(r"^\s{0,64}(?:[a-z][a-z0-9+.-]{0,31}:)?//", re.I)
CSS_NETWORK_URL = re.compile(r"url\(\s{0,64}[\"']?\s{0,64}((?:[a-z][a-z0-9+.-]{0,31}:)?//[^)\"'\s]{0,200})", re.I)


class _PageScan(HTMLParser):
    """One pass over a page: its visible text and every element or attribute that is unsafe, with its section.

    The parsed elements are checked, not the page's text, so escaped markup from the data
    (``&lt;iframe src="https://..."&gt;``) is text, as a reader sees it.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.unsafe: list[tuple[str, str, str]] = []  # (what, section, value)
        self.section, self._heading, self._hidden = "(before the first heading)", None, 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._hidden += 1
        if tag in ("h1", "h2", "h3", "h4"):
            self._heading = []
        if tag in FORBIDDEN_ELEMENTS:
            self._flag(f"a <{tag}> element", dict(attrs).get("src") or dict(attrs).get("href") or "")
        for name, value in attrs:
            self._attribute(name, value or "")

    def _attribute(self, name: str, value: str) -> None:
        compact = "".join(ch for ch in value if ch > " ").lower()
        if name.startswith("on"):
            self._flag(f"an event handler ({name})", value)
        elif compact.startswith("javascript:"):
            self._flag(f"an event handler or a javascript: link ({name})", value)
        elif name in URL_ATTRIBUTES and any(NETWORK_URL.match(part) for part in value.split(",")):
            self._flag(f"something loaded from the network ({name})", value)
        elif name == "style" and (m := CSS_NETWORK_URL.search(value)):
            self._flag("something loaded from the network (a CSS url())", m.group(1))
        elif name == "class" and any(c in value for c in CODE_CLASSES):
            self._flag("source code cells", "")

    def _flag(self, what: str, value: str) -> None:
        self.unsafe.append((what, self.section, value))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("style", "script"):
            self._hidden -= 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._hidden = max(0, self._hidden - 1)
        if tag in ("h1", "h2", "h3", "h4") and self._heading is not None:
            self.section = " ".join("".join(self._heading).split())[:80] or self.section
            self._heading = None

    def handle_data(self, data):
        if self._hidden:
            if m := CSS_NETWORK_URL.search(data):
                self._flag("something loaded from the network (a CSS url())", m.group(1))
            return
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)


def _scan(page_html: str) -> _PageScan:
    scan = _PageScan()
    scan.feed(page_html)
    scan.close()
    return scan


def visible_text(page_html: str) -> str:
    """What a reader can see: tags, embedded images and styles removed, entities decoded."""
    return " ".join(_scan(page_html).text)


def check_page(name: str, page_html: str, pii=(), scan_text: bool = True) -> list[str]:
    """Every reason ``page_html`` must not be shared (empty list: safe).

    ``pii`` is a :class:`salign.common.pii.Matcher` or the PII values of the inputs;
    ``scan_text=False`` skips the leak scan (done per cell already). An unsafe
    element or attribute is named with its section and its value masked.
    """
    scan = _scan(page_html)
    problems = [f"{name}: contains {what} in section '{section}'" + (f" ({mask(value)})" if value else "")
                + ("" if "source code" in what else " (unescaped text from the data?)")
                for what, section, value in scan.unsafe]
    if scan_text:
        matcher = pii if isinstance(pii, Matcher) else Matcher(pii)
        problems += [f"{name}: {f.kind} visible ({f.masked})" for f in matcher.find(" ".join(scan.text))]
    size = len(page_html.encode())
    if size > PAGE_BUDGET_BYTES:
        images = sum(len(m) for m in re.findall(r"data:image/[^\"']+", page_html))
        problems.append(f"{name}: {size / 2**20:.1f} MB is over the page budget of 3 MB "
                        f"({images / 2**20:.1f} MB of it embedded images)")
    return problems


def _output_text(output) -> str:
    """Everything an output holds as text: streams, errors, and every text-like MIME type (HTML and SVG as read)."""
    parts = [output.get("text", ""), output.get("ename", ""), output.get("evalue", ""),
             "\n".join(output.get("traceback", []))]
    for mime, value in output.get("data", {}).items():
        value = value if isinstance(value, str) else "".join(value) if isinstance(value, list) else json.dumps(value)
        if mime in ("text/html", "image/svg+xml"):
            parts.append(visible_text(value))
        elif mime.startswith("text/") or mime.endswith("json"):
            parts.append(value)
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts if p)


def _cell_text(cell) -> str:
    """Everything of a cell but its source code: a markdown cell's text, every output of a code cell."""
    if cell.cell_type == "markdown":
        return cell.source
    return "\n".join(_output_text(o) for o in cell.get("outputs", []))


def cell_leaks(name: str, nb: nbformat.NotebookNode, matcher: Matcher) -> list[str]:
    """Every leak in any output of the executed notebook, each named by page, notebook, section and cell (masked).

    Every output is read, including those the page leaves out (``text/plain``, streams, errors): the
    executed notebooks are kept for the team (``.internal/``) and must be as safe as the pages.
    """
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
