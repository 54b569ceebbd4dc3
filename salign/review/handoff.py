"""Step 5: the handoff loop, from ``handoff.yaml`` and the data: routing, rejections, recycling, stuck leads.

Definitions:

- an *assignment* is an activity of type ``assignment``; its actor is the queue
  when it is the queue named in ``handoff.yaml`` (or the literal ``queue``),
  otherwise a rep. A lead is *routed* at its first assignment to a rep at or
  after its first MQL; leads not routed by the cutoff are censored there. Its
  first assignment goes to a rep when one shares that time with a queue one
  (:func:`salign.common.followups.after_mql`, run by the workspace's engine);
- *routed in time*: within ``max_hours_to_route``, among leads whose window had
  elapsed by the cutoff (never routed counts as late);
- rejection reasons are shown with e-mail addresses and phone numbers replaced
  by ``[contact]`` (free text carries them);
- a *recycled* lead's later history is followed to the cutoff: back to MQL,
  on to SQL, opportunity or won after the recycling;
- a lead is *stuck with no owner* when, at the cutoff, its latest MQL is older
  than ``max_hours_to_route`` and since then it was neither assigned to a rep nor
  moved by any stage event; a lead recycled straight from MQL (no sales decision
  between) timed out in the queue.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.common import followups, pii, plotting
from salign.common.facts import recorded_stages
from salign.common.result import Paragraph, Result, Strong, Table
from salign.common.stats import Duration, Rate, kaplan_meier
from salign.core import fmt
from salign.review import dimensions, funnel, words
from salign.review.sla import HOUR, decisions, handoffs, queue_names

NO_REASON = "(no reason given)"
CONTACT = "[contact]"


def clean_reason(reasons: pd.Series) -> pd.Series:
    """Reasons as shown: contacts replaced by ``[contact]``, blanks as ``(no reason given)``."""
    text = reasons.astype("string").str.strip().fillna("")
    text = text.str.replace(pii.EMAIL, CONTACT, regex=True).str.replace(pii.PHONE, CONTACT, regex=True)
    return text.where(text != "", NO_REASON).astype(str)


def with_time(events: pd.DataFrame, per_lead: pd.Series, name: str) -> pd.DataFrame:
    """The events of the leads in ``per_lead`` (a time per lead_id), with that time as column ``name``."""
    out = events.assign(**{name: events["lead_id"].map(per_lead)})
    return out[out[name].notna()]


# --------------------------------------------------------------------------- routing

@dataclass
class Routing(Result):
    """Who receives the period's sales-ready leads and how fast they reach a rep."""

    declared: str
    first_to: dict
    in_time: Rate
    max_hours: float
    hours_to_route: Duration
    never_routed: Rate
    period: str
    title: str = "Routing: who receives leads, how fast"

    def metrics(self) -> dict:
        return {"declared": self.declared, "first_assignment": self.first_to,
                "routed_within_limit": self.in_time.as_dict(), "max_hours_to_route": self.max_hours,
                "hours_to_route": self.hours_to_route.as_dict(), "never_routed": self.never_routed.as_dict()}

    def blocks(self) -> list:
        total = sum(self.first_to.values())
        seen = (", ".join(f"{k}: {fmt.count(v)} ({fmt.percent(v / total, 0)})" for k, v in self.first_to.items())
                if total else "none")
        return [Paragraph(Strong("handoff.yaml:"), f" {self.declared}. ", Strong("In the data"),
                          f", the first assignment of the {fmt.count(total)} sales-ready leads of {self.period} went "
                          f"to — {seen}."),
                Paragraph(f"Reached a rep within {fmt.cut(self.max_hours)} h: {self.in_time}. Time to reach a rep: "
                          f"{words.plain(self.hours_to_route, 'reached a rep')}. Never reached a rep "
                          f"by the cutoff: {self.never_routed}.")]

    def methods(self) -> list:
        return [Paragraph(words.method(self.hours_to_route, "Hours to reach a rep") + " Leads never routed are "
                          "censored at the cut-off, not dropped. Shares carry Wilson 95% intervals.")]


def routing(tables, period, cutoff: pd.Timestamp | None = None) -> Routing:
    """Routing of the period's sales-ready leads against ``handoff.yaml``."""
    spec = tables.definition("handoff.yaml")
    cutoff = funnel.cutoff_of(tables, cutoff)
    h = handoffs(tables, period, cutoff)
    after = followups.after_mql(tables, cutoff, queue_names(tables), start=period.start,
                                end=period.end).reindex(h.index)
    routed_at, first = after["routed_at"], after["first_assigned"]
    to_rep = first.notna() & (routed_at == first)
    first_to = {"a rep": int(to_rep.sum()), "the queue": int((first.notna() & ~to_rep).sum()),
                "nobody": int(first.isna().sum())}
    hours = (routed_at.fillna(cutoff) - h["mql_at"]) / HOUR
    due = h["mql_at"] + spec.max_hours_to_route * HOUR <= cutoff
    in_time = due & routed_at.notna() & (hours <= spec.max_hours_to_route)
    duration, _ = kaplan_meier(hours, routed_at.notna())
    declared = (f"leads go to the queue '{spec.queue}', reps take them from there" if spec.routing == "queue"
                else "leads go straight to reps") + f"; a rep within {spec.max_hours_to_route:g} h"
    return Routing(declared, first_to, Rate(int(in_time.sum()), int(due.sum())), spec.max_hours_to_route, duration,
                   Rate(int(routed_at.isna().sum()), len(h)), str(period))


# --------------------------------------------------------------------------- rejections

@dataclass
class Rejections(Result):
    """Sales' decisions on handed-over leads: acceptance, rejection reasons and feedback, by rep."""

    acceptance: Rate
    rejected: Rate
    reasons: pd.DataFrame
    by_rep: pd.DataFrame
    without_reason: int
    feedback_days: float
    period: str
    title: str = "Acceptance and rejection"

    def metrics(self) -> dict:
        return {"acceptance": self.acceptance.as_dict(), "rejection": self.rejected.as_dict(),
                "rejected_without_reason": self.without_reason,
                "reasons": {r.reason: int(r.count) for r in self.reasons.itertuples()},
                "by_rep": {r.rep: {"rejected": int(r.rejected), "without_reason": int(r.without_reason),
                                   "late_feedback": int(r.late)} for r in self.by_rep.itertuples()}}

    @property
    def figure_description(self) -> str:
        return (f"Horizontal bars: the most frequent reasons sales gave for rejecting leads in {self.period}, "
                "by number of rejections; rejections without a reason are in red.")

    def blocks(self) -> list:
        r = self.reasons
        total = int(r["count"].sum())
        shown = pd.DataFrame({"reason": r["reason"], "rejections": r["count"].map(fmt.count),
                              "share": [str(Rate(int(k), total)) for k in r["count"]]})
        b = self.by_rep
        reps = pd.DataFrame({"rep": b["rep"], "rejected": b["rejected"].map(fmt.count),
                             "without a reason": b["without_reason"].map(fmt.count),
                             f"feedback later than {fmt.cut(self.feedback_days)} days": b["late"].map(fmt.count)})
        return [Paragraph(f"Sales decisions dated in {self.period}: accepted {self.acceptance}; rejected "
                          f"{self.rejected}. ", Strong(f"{fmt.count(self.without_reason)} rejected leads came back "
                                                       "without any feedback"), " (no reason)."),
                Table(shown, caption="Rejection reasons (contacts in the text removed)", max_rows=15),
                Table(reps, caption="Rejections by rep")]

    def draw(self):
        r = self.reasons.head(12).iloc[::-1]
        fig, ax = plotting.figure()
        colors = [plotting.COLORS["bad"] if x == NO_REASON else plotting.COLORS["sales"] for x in r["reason"]]
        ax.barh(r["reason"], r["count"], color=colors)
        ax.set_title(f"Why sales rejected leads in {self.period} (red: no reason given)")
        ax.set_xlabel("rejections")
        return fig


def rejections(tables, period, cutoff: pd.Timestamp | None = None) -> Rejections:
    """Acceptance and rejection rates, rejection reasons and missing or late feedback for ``period``."""
    sla = tables.definition("sla.yaml")
    d = decisions(tables, period, cutoff)
    rej = d[d["stage"] == "rejected"].copy()
    rej["shown"] = clean_reason(rej["reason"] if "reason" in rej.columns else pd.Series(np.nan, index=rej.index))
    reasons = rej["shown"].value_counts().rename_axis("reason").reset_index(name="count")
    reasons = reasons.sort_values(["count", "reason"], ascending=[False, True]).reset_index(drop=True)
    rej["late"] = ~(rej["days_from_mql"] <= sla.sales.feedback_days_on_rejected)
    by_rep = rej.groupby("rep").agg(rejected=("lead_id", "size"), without_reason=("has_reason", lambda s: int((~s).sum())),
                                    late=("late", "sum")).reset_index()
    by_rep = by_rep.sort_values(["without_reason", "rejected"], ascending=False).reset_index(drop=True)
    n_sal = int((d["stage"] == "sal").sum())
    return Rejections(Rate(n_sal, len(d)), Rate(len(rej), len(d)), reasons, by_rep, int((~rej["has_reason"]).sum()),
                      sla.sales.feedback_days_on_rejected, str(period))


# --------------------------------------------------------------------------- recycling

@dataclass
class Recycling(Result):
    """Leads sent back to nurture and what became of them."""

    table: pd.DataFrame
    since: str
    period: str
    title: str = "Recycled leads and what became of them"
    #: the later stages shown: of mql, sql and won, those the data records (metrics keep all three)
    shown: tuple = ("mql", "sql", "won")

    def _phrase(self, phrases: dict) -> str:
        said = [phrases[c] for c in self.shown]
        return said[0] if len(said) == 1 else f"{', '.join(said[:-1])}, or {said[-1]}"

    def metrics(self) -> dict:
        return {"since": self.since,
                **{r.reason: {"recycled": int(r.n), "in_period": int(r.in_period),
                              **{c: Rate(int(getattr(r, c)), int(r.n)).as_dict() for c in ("mql", "sql", "won")}}
                   for r in self.table.itertuples()}}

    @property
    def figure_description(self) -> str:
        return (f"Grouped bars: for each reason leads were recycled since {self.since}, the share that later "
                f"{self._phrase({'mql': 'came back as MQL', 'sql': 'reached SQL', 'won': 'were won'})}.")

    def blocks(self) -> list:
        t = self.table

        def later(c):
            return [str(Rate(int(k), int(n))) for k, n in zip(t[c], t["n"])]

        shown = pd.DataFrame({"why recycled": t["reason"], f"recycled since {self.since}": t["n"].map(fmt.count),
                              f"of them in {self.period}": t["in_period"].map(fmt.count),
                              **{label: later(c) for c, label in (("mql", "back to MQL later"),
                                                                  ("sql", "back to SQL later"), ("won", "won later"))
                                 if c in self.shown}})
        question = self._phrase({"mql": "come back as MQL", "sql": "reach SQL", "won": "win"})
        return [Paragraph(f"Leads recycled since {self.since} (first recycling of each lead), followed to the end of "
                          f"the data: did they {question}?"), Table(shown)]

    def draw(self):
        t = self.table
        fig, ax = plotting.figure()
        x = np.arange(len(t))
        for i, c in enumerate(self.shown):
            ax.bar(x + (i - 1) * 0.27, (t[c] / t["n"]).fillna(0), width=0.27, label=f"later {c}")
        ax.set_xticks(x, t["reason"], fontsize=8)
        plotting.percent_axis(ax)
        ax.set_title(f"What became of recycled leads (since {self.since})")
        ax.legend()
        return fig


def recycling(tables, period, lookback_quarters: int = 4, cutoff: pd.Timestamp | None = None) -> Recycling:
    """Leads first recycled in ``period`` or the ``lookback_quarters - 1`` before it, and their later stages."""
    tables.require("stages")
    cutoff = funnel.cutoff_of(tables, cutoff)
    stages = tables.stages
    before = (stages["at"] < cutoff).to_numpy()
    start = period.shift(1 - lookback_quarters)
    rec = stages[before & (stages["stage"] == "recycled").to_numpy()].sort_values("at").drop_duplicates("lead_id")
    rec = rec[(rec["at"] >= start.start) & (rec["at"] < period.end)].set_index("lead_id")
    # the later history of only these leads (not a copy of the whole stage history)
    st = stages.loc[before & stages["lead_id"].isin(rec.index).to_numpy(), ["lead_id", "stage", "at"]]
    later = with_time(st, rec["at"], "recycled_at")
    later = later[later["at"] > later["recycled_at"]]
    reached = {s: later.loc[later["stage"].isin(after), "lead_id"].unique() for s, after in
               (("mql", ["mql", "sal", "sql", "opportunity", "won"]), ("sql", ["sql", "opportunity", "won"]),
                ("won", ["won"]))}
    frame = pd.DataFrame({"reason": clean_reason(rec["reason"] if "reason" in rec.columns
                                                 else pd.Series(np.nan, index=rec.index)),
                          "n": 1, "in_period": period.contains(rec["at"]),
                          **{s: rec.index.isin(ids) for s, ids in reached.items()}}, index=rec.index)
    t = frame.groupby("reason")[["n", "in_period", "mql", "sql", "won"]].sum().astype(int)
    t = t.sort_values("n", ascending=False).reset_index()
    recorded = recorded_stages(tables)
    return Recycling(t, str(start), str(period), shown=tuple(s for s in ("mql", "sql", "won") if s in recorded))


# --------------------------------------------------------------------------- stuck leads

@dataclass
class StuckLeads(Result):
    """Sales-ready leads nobody owns at the cutoff."""

    stuck: int
    waiting_days: pd.Series
    by_source: pd.DataFrame
    timed_out: int
    max_hours: float
    cutoff: pd.Timestamp
    period: str
    title: str = "Leads stuck with no owner"

    def metrics(self) -> dict:
        w = self.waiting_days
        return {"stuck": self.stuck, "median_days_waiting": None if w.empty else round(float(w.median()), 2),
                "older_than_30_days": int((w > 30).sum()), "recycled_without_decision_in_period": self.timed_out}

    def blocks(self) -> list:
        m = self.metrics()
        wait = "" if not self.stuck else (f" They have waited a median of {fmt.days(m['median_days_waiting'])} days; "
                                          f"{fmt.count(m['older_than_30_days'])} for more than 30 days.")
        text = Paragraph(f"At {self.cutoff:%Y-%m-%d %H:%M %Z}, ",
                         Strong(f"{fmt.count(self.stuck)} sales-ready leads had no owner"),
                         f": their latest MQL was more than {fmt.cut(self.max_hours)} h old and since then no rep was "
                         f"assigned and nothing happened.{wait} In {self.period}, {fmt.count(self.timed_out)} leads "
                         "went back to nurture straight from MQL, with no sales decision on them.")
        if not self.stuck:
            return [text]
        by_source = self.by_source.assign(**{"stuck leads": self.by_source["stuck leads"].map(fmt.count)})
        return [text, Table(by_source, caption="Stuck leads by source")]


def stuck_leads(tables, period, cutoff: pd.Timestamp | None = None) -> StuckLeads:
    """Leads whose latest MQL went unanswered (no rep, no stage event) for longer than the routing limit."""
    spec = tables.definition("handoff.yaml")
    tables.require("leads", "stages", "activities")
    cutoff = funnel.cutoff_of(tables, cutoff)
    waiting = followups.unanswered(tables, cutoff, queue_names(tables))  # by the engine: only these leads return
    waiting = waiting[waiting + spec.max_hours_to_route * HOUR <= cutoff]
    days = ((cutoff - waiting) / pd.Timedelta(days=1)).reset_index(drop=True)
    mine = tables.leads.loc[tables.leads["lead_id"].isin(waiting.index).to_numpy(), ["lead_id", "source"]]
    source = dimensions.label(mine.set_index("lead_id")["source"].reindex(waiting.index))
    by_source = source.value_counts().rename_axis("source").reset_index(name="stuck leads")
    return StuckLeads(len(waiting), days, by_source, timed_out(tables, period, cutoff), spec.max_hours_to_route,
                      cutoff, str(period))


def timed_out(tables, period, cutoff: pd.Timestamp) -> int:
    """How many recycled events dated in ``period`` (before ``cutoff``) came straight after an MQL: the lead's
    stage event before it (by time; at equal times, in the table's order) is an MQL.

    Only the histories of leads recycled in the period are sorted, not the whole stage history."""
    st = tables.stages
    before = (st["at"] < cutoff).to_numpy()
    recycled = before & (st["stage"] == "recycled").to_numpy() & period.contains(st["at"]).to_numpy()
    mine = st.loc[before & st["lead_id"].isin(st.loc[recycled, "lead_id"]).to_numpy(), ["lead_id", "stage", "at"]]
    ordered = mine.sort_values(["lead_id", "at"])
    previous = ordered.groupby("lead_id")["stage"].shift()
    return int(((ordered["stage"] == "recycled") & (previous == "mql") & period.contains(ordered["at"])).sum())

