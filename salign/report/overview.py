"""A period's overview page body: the first screen a leader reads, then its headline figures by page, links to the
pages, what was skipped and why.

The first screen (:func:`first_screen`, drawn by ``templates/overview_first.html.j2``) answers the leader: one
sentence saying whether the teams are aligned and whether the quarter is better or worse than the last, on what
evidence (:func:`salign.review.verdict.verdict`); each team's SLA commitments, target against actual (:func:`sla_rows`); the top three
fixes with the person who owns each, when it is due and whether it was on last quarter's list (:func:`top_fixes`);
and last quarter's fixes with their status now. It reads the quarterly review's figures in ``metrics.json``
(the SLA scorecard's ``commitments``, the change table's ``figures``, the fix list); it never recomputes one.
"""
from __future__ import annotations

from markupsafe import Markup

from salign.common.metrics import is_rate
from salign.core import fmt
from salign.report.cards import format_headline, headline_cards
from salign.report.html import fragment
from salign.report.pages import summary, title
from salign.review.verdict import verdict

#: the overview shows the quarterly review's figures first: they are the ones leaders ask for; the personas'
#: constants (marks, counts of personas and customers) come last
OVERVIEW_ORDER = ("04_quarterly_review", "03_qualification", "02_content_audit", "01_personas")
REVIEW = "04_quarterly_review"
#: how many fixes the first screen shows
TOP_FIXES = 3


def _target(t) -> str:
    if t is None:
        return "no target"
    return fmt.percent(t, 0) if isinstance(t, float) and t <= 1 else fmt.count(t)


def _actual(c: dict) -> str:
    a, t = c.get("actual"), c.get("target")
    if is_rate(a):
        value, detail = format_headline(a)
        return f"{value} ({detail.split(' · ')[0]})"
    if isinstance(a, (int, float)) and isinstance(t, int) and not isinstance(t, bool) and t > 0:
        return f"{fmt.count(a)} of {fmt.count(t)} committed ({fmt.percent(a / t, 0)})"
    return fmt.value(a) if a is not None else fmt.MISSING


def _met(met, c: dict | None = None) -> str:
    """``met``/``missed``; an expectation (a share the teams expect but did not commit to) says whether it was
    reached, so a row with a target never reads "no target"."""
    if met is None and c is not None and c.get("target") is not None and is_rate(c.get("actual")):
        share = c["actual"].get("rate")
        if share is not None:
            return "expected: reached" if share >= c["target"] else "expected: not reached"
    return "no target" if met is None else "met" if met else "missed"


def sla_rows(commitments: list[dict]) -> list[dict]:
    """Each commitment as the first screen's table shows it: team, commitment, target, actual (with its attainment
    against a committed count), met (``met``, ``missed``, ``expected: reached``/``not reached`` for an
    expectation, or ``no target``) and, for a volume committed by the
    month, its monthly pacing (``2026-07: 412 of 280, met``)."""
    rows = []
    for c in commitments:
        pacing = "; ".join(f"{m['month']}: {fmt.count(m['actual'])} of {fmt.count(m['target'])}, {_met(m['met'])}"
                           for m in c.get("by_month") or [])
        rows.append({"team": c["team"], "commitment": c["commitment"], "target": _target(c.get("target")),
                     "actual": _actual(c), "met": _met(c.get("met"), c), "tone": {True: "good", False: "bad"}.get(
                         c.get("met"), ""), "pacing": pacing})
    return rows


def top_fixes(fix_list: dict, n: int = TOP_FIXES) -> list[dict]:
    """The first ``n`` fixes: rank, what, evidence (the stuck leads split into this quarter's and older), owner
    (the person ``handoff.yaml`` names, else the team), team, due date and whether it was on last quarter's list."""
    previous = fix_list.get("previous_period")
    out = []
    for item in (fix_list.get("items") or [])[:n]:
        evidence = item.get("evidence", "")
        if item.get("this_period") is not None:
            evidence = (f"{fmt.count(item['leads_affected'])} leads with no owner: {fmt.count(item['this_period'])} "
                        f"handed over this quarter, {fmt.count(item['older'])} older")
        again = item.get("on_last_list")
        out.append({"rank": item["rank"], "what": item["what"], "evidence": evidence,
                    "owner": item.get("owner_named") or item.get("owner", ""), "team": item.get("owner", ""),
                    "due": item.get("due") or fmt.MISSING,
                    "again": fmt.MISSING if again is None else f"yes, also in {previous}" if again else "no, new"})
    return out


def first_screen(metrics: dict) -> dict | None:
    """What the first screen shows of a period's merged metrics (see the module docstring); None when the
    quarterly review did not run."""
    doc = (metrics.get("notebooks") or {}).get(REVIEW)
    if not doc:
        return None
    sections = doc.get("sections") or {}
    scorecard, changes, fixes = (sections.get(k) or {} for k in ("sla_scorecard", "changes", "fix_list"))
    commitments = [c for c in scorecard.get("commitments") or [] if isinstance(c, dict)]
    said = verdict(commitments, changes.get("figures") or {}, changes.get("previous_period") or "")
    return {"period": metrics.get("period", ""), "verdict": said, "sla": sla_rows(commitments),
            "teams": list(dict.fromkeys(c["team"] for c in commitments)),
            "pacing": any(c.get("by_month") for c in commitments), "fixes": top_fixes(fixes),
            "more_fixes": max(0, len(fixes.get("items") or []) - TOP_FIXES), "due": fixes.get("due") or "",
            "previous": fixes.get("previous_period") or "", "last_quarter": fixes.get("last_quarter") or [],
            "skipped": [k.replace("_", " ") for k in ("sla_scorecard", "changes", "fix_list")
                        if not sections.get(k) or "skipped" in sections[k]]}


def overview_body(metrics: dict, notebooks: list[str] | None = None, ledes: dict[str, str] | None = None) -> Markup:
    """The period's overview: the first screen, headline cards, links to the pages (with their introductions), what
    was skipped and why.

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
    return fragment("overview.html.j2", groups=groups, pages=pages, skipped=skipped, first=first_screen(metrics),
                    review=REVIEW)
