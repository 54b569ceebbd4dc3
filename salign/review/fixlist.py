"""What to fix next: a ranked list generated from the review's numbers, each item with its evidence and owner team.

Where items come from:

1. every SLA commitment missed in the quarter (``sla.yaml``);
2. every rep flagged slow to follow up; rejected leads that came back without
   a reason (no feedback); sales-ready leads stuck with no owner; a persona (or
   source) whose MQL -> SQL conversion fell beyond chance; a group of deals
   (persona, segment, source, product, rep) that wins significantly less often
   than the rest;
3. the weakest stage of the funnel: the lowest stage-to-stage conversion of the
   latest quarter with mature cohorts, between the stages the data records
   (lead -> MQL is left out: most inquiries are not meant to qualify).

Ranking: broken commitments first (they are promises between the teams), then
the specific failures of group 2, then the weakest stage; within a group, by
the number of leads affected (for a fallen conversion: the SQLs the quarter
would have had at the earlier rate; for a weak group of deals: the wins it
would have had at the overall rate). Sections that were skipped add nothing, and the
list names them.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from salign.common.result import Paragraph, Result, Skipped, Table
from salign.core import fmt
from salign.workspace.tables import MissingData

OWNERS = {"marketing_volume": "marketing", "marketing_min_fields": "marketing", "sales_follow_up": "sales"}
STAGE_OWNER = {"mql": "sales (acceptance) with marketing (lead quality)", "sal": "sales", "sql": "sales",
               "opportunity": "sales"}


@dataclass
class FixList(Result):
    """The ranked items (rank, what, evidence, owner, leads affected) and the sections that could not contribute."""

    items: pd.DataFrame
    not_considered: list
    period: str
    title: str = "What to fix next"

    def metrics(self) -> dict:
        return {"items": [{"rank": int(r.rank), "kind": r.kind, "what": r.what, "evidence": r.evidence,
                           "owner": r.owner, "leads_affected": int(r.affected)} for r in self.items.itertuples()],
                "not_considered": self.not_considered}

    def blocks(self) -> list:
        out = [Paragraph(f"Generated from the numbers of {self.period}: broken commitments first, then specific "
                         "failures, then the weakest funnel stage; within each, by leads affected.")]
        if self.items.empty:
            out.append(Paragraph("Nothing in this quarter's numbers calls for a fix."))
        else:
            shown = self.items.rename(columns={"what": "what to fix", "affected": "leads affected",
                                               "owner": "owner team"})[
                ["rank", "what to fix", "evidence", "owner team", "leads affected"]]
            out.append(Table(shown.assign(**{"leads affected": shown["leads affected"].map(fmt.count)})))
        if self.not_considered:
            out.append(Paragraph(f"Not considered (section skipped): {', '.join(self.not_considered)}.", note=True))
        return out


def _rate_evidence(k, n, lo, hi) -> str:
    """A rate in an item's evidence: ``32.8% (80 of 244; 27.2%-38.9%)``.

    The evidence is part of ``metrics.json``, so this keeps the wording it has always had there
    (without the ``95% CI`` that :func:`salign.core.fmt.rate` puts before the interval).
    """
    if not n:
        return fmt.rate(k, n)
    return f"{fmt.percent(k / n)} ({fmt.count(k)} of {fmt.count(n)}; {fmt.percent(lo)}-{fmt.percent(hi)})"


def fix_list(results: dict, period) -> FixList:
    """Rank what to fix from the review's results (``{name: result or Skipped}``; see the module docstring).

    Known names: ``scorecard`` (:class:`salign.review.sla.SLAScorecard`), ``rejections``
    (:class:`salign.review.handoff.Rejections`), ``stuck`` (:class:`salign.review.handoff.StuckLeads`),
    ``persona`` and ``source`` (:class:`salign.review.changes.GroupChanges`), ``stages``
    (:class:`salign.review.funnel.StageConversion` of a mature quarter), ``deals``
    (:class:`salign.review.winloss.WinLoss`).

    Raises
    ------
    MissingData
        Every result was skipped, so there is nothing to rank.
    """
    items = []

    def add(group, kind, what, evidence, owner, affected):
        items.append({"group": group, "kind": kind, "what": what, "evidence": evidence, "owner": owner,
                      "affected": int(affected)})

    got = {k: v for k, v in results.items() if not isinstance(v, Skipped)}
    if not got:
        raise MissingData("has none of the numbers the list is built from (" + ", ".join(sorted(results))
                          + " were all skipped)")
    s = got.get("scorecard")
    if s is not None:
        for miss in s.misses:
            if miss == "marketing_volume":
                add(1, miss, "Deliver the committed volume of sales-ready leads",
                    f"{s.delivered:,} delivered against a commitment of {s.commitment:,}", OWNERS[miss],
                    s.commitment - s.delivered)
            elif miss == "marketing_min_fields":
                add(1, miss, "Hand leads over with the minimum information",
                    f"{s.min_fields} complete; target {s.min_fields_target:.0%}", OWNERS[miss],
                    s.min_fields.n - s.min_fields.k)
            else:
                add(1, miss, f"Follow up sales-ready leads within {s.max_hours:g} h",
                    f"{s.follow_up} in time; target {s.follow_up_target:.0%}", OWNERS[miss],
                    s.follow_up.n - s.follow_up.k)
        for r in s.by_rep[s.by_rep["slow"]].itertuples():
            median = ("more than half not yet followed up at the cut-off" if pd.isna(r.median_hours)
                      else f"median {r.median_hours:,.1f} h")
            add(2, "slow_rep", f"Speed up first follow-up by rep {r.rep}",
                f"{r.k:,} of {r.n:,} followed up within {s.max_hours:g} h (rest of the team "
                f"{r.rest_rate:.0%}); {median}", "sales", r.n - r.k)
    rej = got.get("rejections")
    if rej is not None and rej.without_reason:
        add(2, "rejected_without_feedback", "Give a reason for every rejected lead",
            f"{rej.without_reason:,} of {rej.rejected.k:,} rejections came back without a reason", "sales",
            rej.without_reason)
    stuck = got.get("stuck")
    if stuck is not None and stuck.stuck:
        add(2, "stuck_leads", "Give every sales-ready lead an owner",
            f"{stuck.stuck:,} leads waiting with no owner at {stuck.cutoff:%Y-%m-%d %H:%M %Z}", "sales", stuck.stuck)
    for dim in ("persona", "source"):
        g = got.get(dim)
        if g is None:
            continue
        for r in g.fell.itertuples():
            against = "previous" if r.previous_significant and r.previous_delta < 0 else "year_ago"
            before = getattr(r, against)
            add(2, f"{dim}_conversion_fell", f"Find out why {g.conversion} fell for {dim} {r.group}",
                f"{r.value} now vs {before} {'last quarter' if against == 'previous' else 'a year earlier'}",
                "marketing and sales", round((before.value - r.value.value) * r.value.n))
    deals = got.get("deals")
    if deals is not None and deals.overall.n:
        overall = deals.overall.value
        for r in deals.by[deals.by["differs"] & (deals.by["rate"] < overall)].itertuples():
            add(2, "low_win_rate", f"Find out why deals of {r.dimension} {r.group} are won less often",
                f"{_rate_evidence(r.k, r.n, r.ci_low, r.ci_high)} won vs {overall:.1%} of all deals closed",
                "sales" if r.dimension in ("product", "rep") else "marketing and sales", round((overall - r.rate) * r.n))
    st = got.get("stages")
    if st is not None:
        t = st.table[(st.table["stage"] != "lead") & (st.table["n"] > 0)]
        if len(t):
            w = t.sort_values("rate").iloc[0]
            add(3, "weakest_stage", f"Strengthen the weakest stage: {w['stage']} to {w['next']}",
                f"{_rate_evidence(w['k'], w['n'], w['ci_low'], w['ci_high'])} converted within "
                f"{st.window_days} days in {st.period}", STAGE_OWNER[w["stage"]], w["n"] - w["k"])
    t = pd.DataFrame(items, columns=["group", "kind", "what", "evidence", "owner", "affected"])
    t = t.sort_values(["group", "affected"], ascending=[True, False], kind="stable").reset_index(drop=True)
    t.insert(0, "rank", range(1, len(t) + 1))
    return FixList(t.drop(columns="group"), sorted(k for k, v in results.items() if isinstance(v, Skipped)),
                   str(period))
