"""A period's report from its executed notebooks: the pages, the overview and ``metrics.json``, or a refusal.

The build only reads what the notebooks wrote (executed notebooks and ``<name>.metrics.json``);
it never recomputes a metric. Putting the finished folder in place is the runner's
(:mod:`salign.runner.publish`).
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import nbformat

from salign.common.pii import Matcher, pii_values
from salign.report.cards import headline_cards, kpi_grid
from salign.report.index import index_page
from salign.report.overview import overview_body
from salign.report.pages import notebook_body, page, shareable, title
from salign.report.safety import artifact_leaks, cell_leaks, check_page, metrics_leaks

#: how many problems a refusal lists
SHOWN_PROBLEMS = 50


class PublishError(RuntimeError):
    """A report that must not be published (PII found, unsafe HTML, over budget)."""


def _notebook_page(name, staging, period, tables, nav, doc, matcher) -> tuple[str, str, list[str]]:
    """(page, lede, leaks) of one executed notebook."""
    executed = nbformat.read(staging / "notebooks" / f"{name}.ipynb", as_version=4)
    leaks = cell_leaks(name, executed, matcher)
    nb = shareable(executed)
    heading, lede, body = notebook_body(nb)
    kpis = kpi_grid(headline_cards({"notebooks": {name: doc}}), source=False) if doc else ""
    this_nav = [dict(i, current=i["href"] == f"{name}.html") for i in nav]
    text = page(title(name), body, period, tables, this_nav, heading=heading, kpis=kpis, lede=lede)
    return text, lede, leaks


def _refusal(problems: list[str]) -> PublishError:
    """The refusal listing each distinct problem once (with a count if repeated), at most ``SHOWN_PROBLEMS``."""
    lines = [line + (f" ({n} times)" if n > 1 else "") for line, n in Counter(problems).items()]
    more = len(lines) - SHOWN_PROBLEMS
    return PublishError("refusing to publish; the pages would share what they must not:\n  - "
                        + "\n  - ".join(lines[:SHOWN_PROBLEMS])
                        + (f"\n  ... and {more} more" if more > 0 else ""))


def build(staging: Path, tables, period, notebooks: list[str], out: Path | None = None) -> dict:
    """Write the pages, ``metrics.json`` and the overview into ``staging``; refuse if any page is unsafe.

    Every output of every notebook, every page, the merged metrics and (with
    ``out``) the index of all periods as it will be are checked before anything
    is written; a refusal (:class:`PublishError`) lists each leak with the page,
    its kind and where it came from, never the full value. Returns the merged metrics.
    """
    nav = [{"href": "index.html", "label": "Overview"}] + [{"href": f"{n}.html", "label": title(n)} for n in notebooks]
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
                    [dict(i, current=i["href"] == "index.html") for i in nav])
    problems += check_page("index.html", overview, matcher)
    problems += metrics_leaks(metrics, matcher)
    problems += artifact_leaks(staging, matcher)
    if out is not None:
        problems += check_page("../index.html", index_page(out, tables, {str(period): metrics}), matcher)
    pages["index.html"] = overview
    if problems:
        raise _refusal(problems)
    for fname, content in pages.items():
        (staging / fname).write_text(content, encoding="utf-8")
    (staging / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return metrics
