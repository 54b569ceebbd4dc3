"""Executed notebooks -> shareable HTML: no code, CRM text escaped, PII checked (fail closed), atomic publish."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
from pathlib import Path

import jinja2
import nbformat
from nbconvert import HTMLExporter

from salign import __version__, paths
from salign.schema import PII_COLUMNS

TITLES = {
    "01_personas": "Buyer personas",
    "02_content_audit": "Content audit",
    "03_qualification": "Qualified-lead definition",
    "04_quarterly_review": "Quarterly alignment review",
}
PAGE_BUDGET_BYTES = 3 * 1024 * 1024
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\+\d[\d ()/-]{6,}\d")
PERIOD_DIR = re.compile(r"^\d{4}Q[1-4]$")


class PublishError(RuntimeError):
    """A report that must not be published (PII found, unsafe HTML, over budget)."""


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(paths.TEMPLATES_DIR), autoescape=True)


def notebook_body(nb_path: Path) -> str:
    """The notebook's outputs and narrative as an HTML fragment; code, prompts and stderr removed."""
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, anchor_link_text="")
    body, _ = exporter.from_notebook_node(nb)
    return body


def _toc(body: str) -> list[dict]:
    return [{"id": m.group(1), "text": html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).strip()}
            for m in re.finditer(r'<h2[^>]*\bid="([^"]+)"[^>]*>(.*?)</h2>', body, flags=re.S)]


def page(title: str, body: str, period, tables, nav: list[dict]) -> str:
    """A complete, self-contained page: inline CSS, embedded images, no scripts."""
    css = (paths.TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")
    return _env().get_template("page.html.j2").render(
        title=title, body=jinja2.utils.markupsafe.Markup(body), css=jinja2.utils.markupsafe.Markup(css),
        period=str(period), fingerprint=tables.fingerprint, workspace_name=tables.config.name,
        as_of=f"{tables.as_of:%Y-%m-%d}", toc=_toc(body), nav=nav, version=__version__)


def visible_text(page_html: str) -> str:
    """What a reader can see: tags, embedded images and styles removed, entities decoded."""
    text = re.sub(r"<style.*?</style>", " ", page_html, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", text)
    return html.unescape(text)


def pii_values(tables) -> set[str]:
    """Exact PII values present in the inputs (emails, phones, full names) to look for in pages."""
    found: set[str] = set()
    for name in ("leads", "accounts", "opportunities", "activities", "stages"):
        frame = getattr(tables, name)
        if frame is None:
            continue
        for col in PII_COLUMNS:
            if col in frame.columns and col not in ("first_name", "last_name"):
                found |= {str(v).strip() for v in frame[col].dropna() if len(str(v).strip()) >= 5}
        if {"first_name", "last_name"} <= set(frame.columns):
            full = (frame["first_name"].astype("string") + " " + frame["last_name"].astype("string")).dropna()
            found |= set(full[full.str.len() >= 5])
    return found


def check_page(name: str, page_html: str, pii: set[str]) -> list[str]:
    """Every reason ``page_html`` must not be shared (empty list: safe)."""
    problems = []
    if re.search(r"<script\b", page_html, flags=re.I):
        problems.append(f"{name}: contains a <script> element (unescaped text from the data?)")
    if re.search(r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", page_html, flags=re.I):
        problems.append(f"{name}: loads something from the network")
    if 'class="jp-InputArea' in page_html or "jp-CodeMirrorEditor" in page_html:
        problems.append(f"{name}: contains source code cells")
    text = visible_text(page_html)
    for m in EMAIL.finditer(text):
        problems.append(f"{name}: an e-mail address is visible ({_mask(m.group())})")
    for m in PHONE.finditer(text):
        problems.append(f"{name}: a phone number is visible ({_mask(m.group())})")
    for value in pii:
        if value in text:
            problems.append(f"{name}: a value of a PII column is visible ({_mask(value)})")
            break
    if len(page_html.encode()) > PAGE_BUDGET_BYTES:
        problems.append(f"{name}: {len(page_html.encode()) / 1e6:.1f} MB is over the page budget of 3 MB")
    return problems


def _mask(value: str) -> str:
    return value[:2] + "***" + value[-2:] if len(value) > 6 else "***"


def build(staging: Path, tables, period, notebooks: list[str]) -> dict:
    """Write the pages, ``metrics.json`` and the overview into ``staging``; refuse if any page is unsafe.

    Returns the merged metrics.
    """
    nav = [{"href": "index.html", "label": "Overview"}] + [{"href": f"{n}.html", "label": TITLES[n]} for n in notebooks]
    pii = pii_values(tables)
    metrics = {"period": str(period), "workspace_fingerprint": tables.fingerprint, "notebooks": {}}
    pages, problems = {}, []
    for name in notebooks:
        mfile = staging / f"{name}.metrics.json"
        if mfile.exists():
            metrics["notebooks"][name] = json.loads(mfile.read_text(encoding="utf-8"))
            mfile.unlink()
        body = notebook_body(staging / "notebooks" / f"{name}.ipynb")
        this_nav = [dict(i, current=i["href"] == f"{name}.html") for i in nav]
        pages[f"{name}.html"] = page(TITLES[name], body, period, tables, this_nav)
    pages["index.html"] = page(f"Alignment overview {period}", overview_body(metrics), period, tables,
                               [dict(i, current=i["href"] == "index.html") for i in nav]
                               + [{"href": "../index.html", "label": "All periods"}])
    for fname, content in pages.items():
        problems += check_page(fname, content, pii)
    if problems:
        raise PublishError("refusing to publish; the pages would share what they must not:\n  - "
                           + "\n  - ".join(problems[:50]))
    for fname, content in pages.items():
        (staging / fname).write_text(content, encoding="utf-8")
    (staging / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return metrics


def _kpi(label: str, value: str, detail: str = "") -> str:
    esc = html.escape
    return (f"<div class='kpi'><div class='label'>{esc(label)}</div><div class='value'>{esc(value)}</div>"
            f"<div class='detail'>{esc(detail)}</div></div>")


def headline_cards(metrics: dict) -> list[tuple[str, str, str]]:
    """(label, value, detail) for every headline figure the notebooks reported."""
    cards = []
    for name, doc in metrics.get("notebooks", {}).items():
        for key, value in sorted(doc.get("headline", {}).items()):
            if isinstance(value, dict) and "rate" in value:
                shown = "n/a" if value["rate"] is None else f"{value['rate']:.1%}"
                detail = f"{value['k']:,} of {value['n']:,}" + (
                    f"; 95% CI {value['ci_low']:.1%}-{value['ci_high']:.1%}" if value.get("ci_low") is not None else "")
            elif isinstance(value, float):
                shown, detail = f"{value:,.3f}", ""
            elif isinstance(value, int):
                shown, detail = f"{value:,}", ""
            else:
                shown, detail = str(value), ""
            cards.append((key.replace("_", " "), shown, f"{TITLES.get(name, name)}" + (f" · {detail}" if detail else "")))
    return cards


def overview_body(metrics: dict) -> str:
    cards = "".join(_kpi(*c) for c in headline_cards(metrics))
    skipped = [(n, s, r) for n, d in metrics["notebooks"].items() for s, r in d.get("skipped", {}).items()]
    links = "".join(f"<li><a href='{n}.html'>{html.escape(TITLES[n])}</a></li>" for n in metrics["notebooks"])
    out = f"<h2 id='headline'>Headline figures</h2><div class='kpis'>{cards}</div>"
    out += f"<h2 id='pages'>Pages</h2><ul>{links}</ul>"
    if skipped:
        items = "".join(f"<li>{html.escape(TITLES.get(n, n))}: {html.escape(s)} — {html.escape(r)}</li>" for n, s, r in skipped)
        out += f"<h2 id='skipped'>What was skipped and why</h2><ul>{items}</ul>"
    return out


def commit(staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging`` so that a reader sees the old report or the new one, never a mix.

    The old report is moved aside first and restored if the swap fails.
    """
    target = Path(target)
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


def write_index(out: Path, tables) -> Path:
    """``reports/index.html``: every published period with its headline figures (written atomically)."""
    rows = []
    for d in sorted((p for p in Path(out).iterdir() if p.is_dir() and PERIOD_DIR.match(p.name)), reverse=True):
        mfile = d / "metrics.json"
        if not mfile.exists():
            continue
        cards = headline_cards(json.loads(mfile.read_text(encoding="utf-8")))
        figures = "; ".join(f"{label}: {value}" for label, value, _ in cards[:8])
        rows.append(f"<tr><td><a href='{d.name}/index.html'>{d.name}</a></td><td>{html.escape(figures)}</td></tr>")
    body = ("<h2 id='periods'>Published periods</h2><table><tr><th>period</th><th>headline figures</th></tr>"
            + "".join(rows) + "</table>")
    text = _env().get_template("page.html.j2").render(
        title="Sales and marketing alignment reports", body=jinja2.utils.markupsafe.Markup(body),
        css=jinja2.utils.markupsafe.Markup((paths.TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")),
        period="all", fingerprint=tables.fingerprint, workspace_name=tables.config.name, as_of="",
        toc=[], nav=[], version=__version__)
    index = Path(out) / "index.html"
    tmp = index.with_name(f".index.html.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, index)
    return index
