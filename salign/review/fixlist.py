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

Each item also names its owner as ``handoff.yaml``'s ``contacts`` do (the team when it names nobody), is due
by the next review (the last day of the next quarter, plus ``sla.yaml``'s ``review_days_after_quarter``), and says whether it was on last quarter's list
(:func:`previous_fix_list`: the same list computed for the previous quarter on the data as it stood at that
quarter's end, so it is the list that quarter's review published); last quarter's items are listed with their
status now: still open (on this list again) or resolved. Leads stuck with no owner are split into those handed
over this quarter and the older backlog.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from salign.common import metrics as registry
from salign.common import periods
from salign.common.result import Paragraph, Result, Skipped, Table
from salign.core import fmt
from salign.review import changes, funnel, handoff, sla, winloss
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
    #: the next review's date (the last day of the next quarter, workspace time zone); empty when unknown
    due: str = ""
    #: last quarter's list (None: not known, e.g. the previous quarter is before the data)
    previous: "FixList | None" = field(default=None, repr=False)
    #: leads stuck with no owner: ``{"this_period": n, "older": m}`` by when their latest MQL came (None: no split)
    stuck_split: dict | None = None
    title: str = "What to fix next"

    def _key(self, r) -> tuple[str, str]:
        return (r["kind"], r["what"])

    @property
    def on_last_list(self) -> list:
        """Per item: was the same fix (kind and what) on last quarter's list? None when that list is not known."""
        if self.previous is None:
            return [None] * len(self.items)
        before = {self._key(r) for _, r in self.previous.items.iterrows()}
        return [self._key(r) in before for _, r in self.items.iterrows()]

    @property
    def last_quarter(self) -> list[dict]:
        """Last quarter's items with their status now: ``still open`` (on this list again) or ``resolved``."""
        if self.previous is None:
            return []
        now = {self._key(r) for _, r in self.items.iterrows()}
        return [{"rank": int(r["rank"]), "kind": r["kind"], "what": r["what"], "owner": r["owner"],
                 "owner_named": r["owner_named"], "status": "still open" if self._key(r) in now else "resolved"}
                for _, r in self.previous.items.iterrows()]

    def metrics(self) -> dict:
        out = {"items": [{"rank": int(r.rank), "kind": r.kind, "what": r.what, "evidence": r.evidence,
                          "owner": r.owner, "leads_affected": int(r.affected)} for r in self.items.itertuples()],
               "not_considered": self.not_considered}
        for item, named, again in zip(out["items"], self.items["owner_named"], self.on_last_list):
            item.update(owner_named=named, due=self.due, on_last_list=again)
            if item["kind"] == "stuck_leads" and self.stuck_split is not None:
                item.update(self.stuck_split)
        out["due"] = self.due
        out["previous_period"] = None if self.previous is None else self.previous.period
        out["last_quarter"] = self.last_quarter
        return out

    def blocks(self) -> list:
        out = [Paragraph(f"Generated from the numbers of {self.period}: broken commitments first, then specific "
                         "failures, then the weakest funnel stage; within each, by leads affected.")]
        if self.items.empty:
            out.append(Paragraph("Nothing in this quarter's numbers calls for a fix."))
        else:
            evidence = [e + (f" ({self.split_words})" if k == "stuck_leads" and self.split_words else "")
                        for k, e in zip(self.items["kind"], self.items["evidence"])]
            shown = self.items.assign(evidence=evidence).rename(columns={
                "what": "what to fix", "affected": "leads affected", "owner": "owner team",
                "owner_named": "owner"})[["rank", "what to fix", "evidence", "owner", "owner team", "leads affected"]]
            shown = shown.assign(**{"leads affected": shown["leads affected"].map(fmt.count)})
            if self.previous is not None:
                shown[f"on {self.previous.period}'s list"] = [fmt.value(x) for x in self.on_last_list]
            out.append(Table(shown))
            if self.due:
                out.append(Paragraph(f"Due by the next review, on {self.due}."))
        if self.previous is not None:
            if self.last_quarter:
                last = pd.DataFrame(self.last_quarter)[["rank", "what", "owner_named", "status"]].rename(
                    columns={"what": "what to fix", "owner_named": "owner", "status": "status now"})
                out.append(Table(last, caption=f"Last quarter's list ({self.previous.period}), now"))
            else:
                out.append(Paragraph(f"Last quarter's list ({self.previous.period}) was empty."))
        if self.not_considered:
            out.append(Paragraph(f"Not considered (section skipped): {', '.join(self.not_considered)}.", note=True))
        return out

    @property
    def split_words(self) -> str:
        """``23 this quarter, 89 older``: the stuck leads by when they were handed over; empty without a split."""
        s = self.stuck_split
        return "" if not s else f"{fmt.count(s['this_period'])} this quarter, {fmt.count(s['older'])} older"


def _rate_evidence(k, n, lo, hi) -> str:
    """A rate in an item's evidence: ``32.8% (80 of 244; 27.2%-38.9%)``.

    The evidence is part of ``metrics.json``, so this keeps the wording it has always had there
    (without the ``95% CI`` that :func:`salign.core.fmt.rate` puts before the interval).
    """
    if not n:
        return fmt.rate(k, n)
    return f"{fmt.percent(k / n)} ({fmt.count(k)} of {fmt.count(n)}; {fmt.percent(lo)}-{fmt.percent(hi)})"


def contacts_of(tables) -> dict[str, str]:
    """Who owns each team's side of the handoff: ``handoff.yaml``'s ``contacts`` (empty without the file)."""
    spec = tables.definitions.get("handoff.yaml")
    return dict(spec.contacts) if spec is not None else {}


def named_owner(owner: str, contacts: dict[str, str]) -> str:
    """An item's owner team(s) with the people ``contacts`` name: ``sales`` -> ``Head of Sales Development``;
    a team ``contacts`` does not name stays as it is (``marketing and sales`` -> ``Head of Demand Generation
    and sales`` when only marketing is named)."""
    return re.sub(r"\b(marketing|sales)\b", lambda m: contacts.get(m.group(1)) or m.group(1), owner)


def review_days_of(tables) -> int:
    """How many days after a quarter ends the teams review it: ``sla.yaml``'s ``review_days_after_quarter``
    (0 without the file)."""
    spec = tables.definitions.get("sla.yaml")
    return spec.review_days_after_quarter if spec is not None else 0


def next_review(period, days_after: int = 0) -> str:
    """The date of the next review: the last day of the quarter after ``period`` (its time zone) plus
    ``days_after`` (:func:`review_days_of`); empty for a period that is not a
    :class:`~salign.common.periods.Quarter`."""
    if not isinstance(period, periods.Quarter):
        return ""
    last_day = period.shift(2).start.tz_convert(period.timezone) - pd.Timedelta(days=1)
    return f"{last_day + pd.Timedelta(days=days_after):%Y-%m-%d}"


def _stuck_split(stuck, period) -> dict | None:
    """Leads stuck with no owner whose latest MQL fell in ``period`` and those older (None without a quarter)."""
    if not isinstance(period, periods.Quarter):
        return None
    mql_at = stuck.cutoff - pd.to_timedelta(stuck.waiting_days.to_numpy(), unit="D")
    this = int((mql_at >= period.start).sum())
    return {"this_period": this, "older": int(stuck.stuck) - this}


def previous_fix_list(tables, period, window_days: int = 90) -> FixList:
    """The list of the quarter before ``period``, as that quarter's review made it: the same sections measured on
    the data as it stood at that quarter's end (:func:`salign.common.periods.known_at`).

    Raises
    ------
    MissingData
        The previous quarter has none of the numbers the list is built from.
    """
    prev = period.previous
    try:
        periods.check_covered(prev, tables)
    except periods.PeriodError as exc:
        raise MissingData(f"has no previous quarter to compare with: {exc}") from None
    known = periods.known_at(tables, periods.cutoff(prev, tables))

    def run(key, fn, *args):
        try:
            return fn(known, prev, *args)
        except MissingData as exc:
            return Skipped(key, f"this workspace {exc}")

    results = {"scorecard": run("sla scorecard", sla.sla_scorecard),
               "rejections": run("rejections", handoff.rejections),
               "stuck": run("stuck leads", handoff.stuck_leads),
               "persona": run("persona changes", changes.by_group, "persona", window_days),
               "source": run("source changes", changes.by_group, "source", window_days),
               "stages": run("stage conversion mature", funnel.mature_stage_conversion, window_days),
               "deals": run("win loss", winloss.win_loss)}
    return fix_list(results, prev, contacts=contacts_of(tables), review_days=review_days_of(tables))


def fix_list(results: dict, period, contacts: dict[str, str] | None = None, review_days: int = 0) -> FixList:
    """Rank what to fix from the review's results (``{name: result or Skipped}``; see the module docstring).

    ``contacts`` (``handoff.yaml``'s, see :func:`contacts_of`) name each item's owner; ``results["previous"]``,
    when given, is last quarter's list (:func:`previous_fix_list`, or a Skipped: not known); the items are due at
    the next review, ``review_days`` after the next quarter ends (:func:`next_review`).

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

    previous = results.get("previous")
    previous = previous if isinstance(previous, FixList) else None
    results = {k: v for k, v in results.items() if k != "previous"}
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
            # the cohort is followed up to the cut-off (a matured figure), and opportunity to won is not the win rate
            # of closed deals: the evidence says both (issue 13, one figure one number)
            evidence = (f"{_rate_evidence(w['k'], w['n'], w['ci_low'], w['ci_high'])} converted within "
                        f"{st.window_days} days in {st.period}, followed up to {st.cutoff:%Y-%m-%d}")
            if (w["stage"], w["next"]) == ("opportunity", "won"):
                evidence += (f" ({registry.name('opportunity_to_won')}; not the "
                             f"{registry.name('win_rate')[:1].lower()}{registry.name('win_rate')[1:]}")
                evidence += f", {deals.overall.value:.1%} in {period})" if deals is not None and deals.overall.n else ")"
            add(3, "weakest_stage", f"Strengthen the weakest stage: {w['stage']} to {w['next']}", evidence,
                STAGE_OWNER[w["stage"]], w["n"] - w["k"])
    t = pd.DataFrame(items, columns=["group", "kind", "what", "evidence", "owner", "affected"])
    t = t.sort_values(["group", "affected"], ascending=[True, False], kind="stable").reset_index(drop=True)
    t.insert(0, "rank", range(1, len(t) + 1))
    t["owner_named"] = [named_owner(o, contacts or {}) for o in t["owner"]]
    return FixList(t.drop(columns="group"), sorted(k for k, v in results.items() if isinstance(v, Skipped)),
                   str(period), due=next_review(period, review_days), previous=previous,
                   stuck_split=_stuck_split(stuck, period) if stuck is not None and stuck.stuck else None)
