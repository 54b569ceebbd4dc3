"""The review's figures, each defined once: its name, what it counts in plain words, unit, direction, cohort and window.

Every page, card, sparkline, change table, trend table and fix-list item that shows one of these figures takes its
name from here (:func:`name`), and ``metrics.json`` uses the same key, so two different computations never share a
name. A figure with two honest variants has two entries with two names, and each definition says how they differ:

- ``mql_to_sql`` (the cohort as it stood when its quarter ended: its youngest leads have not had their 90 days yet)
  and ``mql_to_sql_matured`` (only leads whose 90 days had passed, followed up to the end of the data: the
  quarter-by-quarter trend);
- ``win_rate`` (deals *closed* in the quarter, whenever they were created) and ``opportunity_to_won`` (opportunities
  *created* in the quarter, won within 90 days: a cohort, low while it is young) and ``leads_won`` (the quarter's new
  leads that reached a won deal within 90 days: the funnel's last step).

Targets are not here: they are the workspace's (``definitions/sla.yaml``); :func:`target` reads the one a figure has.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One figure. ``unit``: count, share, hours or money; ``cohort``: which leads or deals, over which window."""

    key: str
    name: str
    definition: str
    unit: str
    higher_is_better: bool
    cohort: str
    #: the ``sla.yaml`` setting that sets its target, as ``team.setting`` (empty: no target)
    target: str = ""


_ALL = [
    Metric("sales_ready_leads", "Sales-ready leads",
           "Leads handed to sales in the quarter: leads whose first MQL falls in it (under the signed qualification "
           "definition when there is one).", "count", True,
           "leads by the quarter of their first MQL, as the data stood at the quarter's end",
           "marketing.sales_ready_leads_per_quarter"),
    Metric("sales_ready_leads_commitment", "Sales-ready leads committed per quarter",
           "The number of sales-ready leads marketing committed to deliver each quarter (sla.yaml).", "count", True,
           "the quarter", "marketing.sales_ready_leads_per_quarter"),
    Metric("min_fields_at_handoff", "Handed over with the minimum information",
           "Of the quarter's sales-ready leads, the share that had every field sla.yaml asks for at handoff.",
           "share", True, "leads by the quarter of their first MQL", "marketing.min_fields_at_handoff"),
    Metric("acceptance_by_sales", "Accepted by sales",
           "Of the sales decisions dated in the quarter (accepted or rejected), the share accepted.", "share", True,
           "sales decisions dated in the quarter"),
    Metric("follow_up_within_sla", "Followed up within the SLA",
           "Of the quarter's sales-ready leads whose follow-up time had run out by the quarter's end, the share a rep "
           "followed up within the hours sla.yaml allows.", "share", True,
           "leads by the quarter of their first MQL, as the data stood at the quarter's end",
           "sales.max_hours_to_first_follow_up"),
    Metric("hours_to_first_follow_up", "Median hours to first follow-up",
           "Half of the quarter's sales-ready leads had their first sales follow-up within this many hours "
           "(Kaplan-Meier median: leads not yet followed up count as waiting).", "hours", False,
           "leads by the quarter of their first MQL, as the data stood at the quarter's end"),
    Metric("rejections_with_reason", "Rejections with a reason",
           "Of the leads sales rejected in the quarter, the share that came back with a reason.", "share", True,
           "rejections dated in the quarter"),
    Metric("rejections_without_reason", "Rejections without a reason",
           "Of the leads sales rejected in the quarter, the share that came back with no reason.", "share", False,
           "rejections dated in the quarter"),
    Metric("routed_within_limit", "Routed to a rep in time",
           "Of the quarter's sales-ready leads, the share that reached a rep within the hours handoff.yaml allows.",
           "share", True, "leads by the quarter of their first MQL"),
    Metric("mql_to_sql", "MQL to SQL",
           "Of the leads that first became MQL in the quarter, the share that reached SQL within 90 days, as the data "
           "stood at the quarter's end: leads still inside their 90 days count as not converted yet, so a young "
           "quarter reads lower than it will end up.", "share", True,
           "leads by the quarter of their first MQL, 90 days each, as the data stood at the quarter's end"),
    Metric("mql_to_sql_matured", "MQL to SQL, matured",
           "The same leads, counting only those whose 90 days had passed by the end of the data, each followed for "
           "its whole 90 days: the figure the quarter will keep. It is higher than \"MQL to SQL\" for recent "
           "quarters because it waits for the late conversions; a quarter with no lead past its 90 days has none.",
           "share", True, "leads by the quarter of their first MQL, 90 days each, followed up to the end of the data"),
    Metric("win_rate", "Win rate of closed deals",
           "Of the deals closed (won or lost) in the quarter, whenever they were created, the share won. Not the "
           "share of new opportunities that are won: see \"Opportunities won within 90 days\".", "share", True,
           "deals closed in the quarter"),
    Metric("opportunity_to_won", "Opportunities won within 90 days",
           "Of the opportunities created in the quarter, the share won within 90 days of creation. A cohort: while "
           "the quarter is young most of its deals are still open, so it reads far below the win rate of closed "
           "deals.", "share", True, "opportunities by the quarter they were created, 90 days each"),
    Metric("leads_won", "New leads won within 90 days",
           "Of the leads created in the quarter, the share that reached a won deal within 90 days: the last step of "
           "the shared funnel.", "share", True, "leads by the quarter they were created, 90 days each"),
    Metric("pipeline_created", "Pipeline created",
           "The summed amounts of the opportunities created in the quarter.", "money", True,
           "opportunities by the quarter they were created"),
    Metric("biggest_change", "Biggest change",
           "The figure whose change against last quarter is the most significant.", "", True, "the quarter"),
]

#: key -> :class:`Metric`, in the order the review shows them
METRICS: dict[str, Metric] = {m.key: m for m in _ALL}


def get(key: str) -> Metric | None:
    """The figure ``key`` names, or None when it is not one of the review's defined figures."""
    return METRICS.get(key)


def name(key: str, default: str | None = None) -> str:
    """The name every page shows for figure ``key`` (``default``, else the key, when it is not defined here)."""
    m = METRICS.get(key)
    return m.name if m else (default if default is not None else key)


def target(key: str, sla) -> object:
    """The target the workspace's ``sla.yaml`` (its model, or None) sets for figure ``key``; None when it sets none."""
    m = METRICS.get(key)
    if m is None or not m.target or sla is None:
        return None
    team, _, setting = m.target.partition(".")
    return getattr(getattr(sla, team, None), setting, None)


# --- the shapes of a figure's value in metrics.json

def is_rate(v) -> bool:
    """Is ``v`` a rate dict (``k``, ``n``, ``rate`` and its interval)?"""
    return isinstance(v, dict) and {"k", "n", "rate"} <= set(v)


def is_comparison(v) -> bool:
    """Is ``v`` a comparison dict (``value`` and last quarter's ``previous``)?"""
    return isinstance(v, dict) and "value" in v and "previous" in v


def headline_value(v) -> float | None:
    """The number a headline figure stands for (a rate's rate, a comparison's value); None if it has none."""
    if is_comparison(v):
        return headline_value(v["value"])
    if is_rate(v):
        v = v["rate"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)
