"""A period's overview page body: its headline figures by page, links to the pages, what was skipped and why."""
from __future__ import annotations

from markupsafe import Markup

from salign.report.cards import headline_cards
from salign.report.html import fragment
from salign.report.pages import summary, title

#: the overview shows the quarterly review's figures first: they are the ones leaders ask for
OVERVIEW_ORDER = ("04_quarterly_review", "01_personas", "03_qualification", "02_content_audit")


def overview_body(metrics: dict, notebooks: list[str] | None = None, ledes: dict[str, str] | None = None) -> Markup:
    """The period's overview: headline cards, links to the pages (with their introductions), what was skipped and why.

    ``ledes`` are the pages' introductions (HTML); each link shows the first paragraph of its page's.
    """
    docs = metrics["notebooks"]
    ledes = ledes or {}
    ordered = sorted(docs, key=lambda n: OVERVIEW_ORDER.index(n) if n in OVERVIEW_ORDER else len(OVERVIEW_ORDER))
    groups = [{"name": name, "title": title(name), "cards": cards} for name in ordered
              if (cards := headline_cards({"notebooks": {name: docs[name]}}))]
    pages = [{"name": name, "title": title(name), "summary": summary(ledes[name]) if ledes.get(name) else ""}
             for name in notebooks or list(docs)]
    skipped = [{"title": title(name), "what": what.replace("_", " "), "reason": reason}
               for name, doc in docs.items() for what, reason in (doc.get("skipped") or {}).items()]
    return fragment("overview.html.j2", groups=groups, pages=pages, skipped=skipped)
