"""Step 4: both teams' service-level agreements (``sla.yaml``) measured for one period, by team, rep and week.

Definitions (the same for every quarter, so quarters compare):

- a *sales-ready lead* of the quarter is a lead whose **first** MQL falls in it
  (a re-entered MQL is not handed over again, see :mod:`salign.review.funnel`);
  where the workspace holds a signed ``definitions/qualification.yaml``, only
  those of them that the signed definition calls sales-ready (its score
  threshold, minimum information and disqualification rules) count, and the
  page says which definition it used;
- its *follow-up* is the first sales call, e-mail or meeting at or after that MQL
  (:func:`salign.common.followups.after_mql`, run by the workspace's engine);
- it is *followed up within the SLA* when that came within
  ``max_hours_to_first_follow_up``; the denominator is the leads whose window had
  elapsed by the cutoff, and a lead never followed up counts as a miss;
- hours to first follow-up are a Kaplan-Meier estimate: leads not followed up
  by the cutoff are censored there, not dropped;
- the *minimum information* is every ``min_fields_at_handoff`` column of the
  lead being non-empty;
- *acceptance* is sal / (sal + rejected) over the sales decisions dated in the
  quarter; a rejection's *feedback is in time* when it came within
  ``feedback_days_on_rejected`` of the lead's first MQL, and it *has a reason*
  when its ``reason`` is non-empty.

The cutoff is the workspace's ``as_of`` unless given (comparisons with earlier
quarters pass the same distance after their end, see :mod:`salign.review.changes`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact

from salign.common import followups, plotting
from salign.common.facts import lead_facts
from salign.common.result import Bullets, Paragraph, Result, Strong, Table
from salign.common.stats import Duration, Rate, benjamini_hochberg, kaplan_meier, rates
from salign.core import fmt
from salign.review import dimensions, funnel, words
from salign.scoring.score import score_leads

FOLLOW_UP_TYPES = followups.FOLLOW_UP_TYPES
HOUR = pd.Timedelta(hours=1)
#: SLA commitments with a target, as named in ``misses``
COMMITMENTS = ("marketing_volume", "marketing_min_fields", "sales_follow_up")
#: the rep of a lead that has no owner and no rep activity
NO_OWNER = "(unassigned)"


def handoffs(tables, period=None, cutoff: pd.Timestamp | None = None) -> pd.DataFrame:
    """Leads handed to sales (first MQL before ``cutoff``, in ``period`` if given), one row each, indexed by lead_id.

    Columns: ``mql_at``, ``first_follow_up`` (NaT if none before the cutoff),
    ``followed_up``, ``hours`` (to the follow-up, or to the cutoff when censored),
    ``rep`` (the lead's owner, else the first rep it was assigned to at or after the MQL, the smallest name
    at equal times, else ``(unassigned)``), ``complete`` (minimum information present, when ``sla.yaml`` says which).
    """
    tables.require("leads", "stages", "activities")
    cutoff = funnel.cutoff_of(tables, cutoff)
    after = followups.after_mql(tables, cutoff, queue_names(tables), start=None if period is None else period.start,
                                end=None if period is None else period.end)
    h = after[["mql_at", "first_follow_up"]].copy()
    h["followed_up"] = h["first_follow_up"].notna()
    h["hours"] = (h["first_follow_up"].fillna(cutoff) - h["mql_at"]) / HOUR
    sla = tables.definitions.get("sla.yaml")
    fields = sla.marketing.min_fields_at_handoff if sla is not None else []
    # only the columns used, of only these leads (not a copy of the whole leads table)
    wanted = [c for c in dict.fromkeys(["owner", *fields]) if c in tables.leads.columns and c != "lead_id"]
    mine = tables.leads.loc[tables.leads["lead_id"].isin(h.index).to_numpy(), ["lead_id", *wanted]]
    leads = mine.set_index("lead_id").reindex(h.index)
    owner = leads["owner"] if "owner" in leads.columns else pd.Series(np.nan, index=h.index, dtype=object)
    h["rep"] = owner.fillna(after["first_rep"]).fillna(NO_OWNER).astype(str)
    present = [leads[f].notna() if f in leads.columns else pd.Series(False, index=h.index) for f in fields]
    h["complete"] = np.logical_and.reduce(present) if present else True
    return h


def queue_names(tables) -> set[str]:
    """Assignment actors that stand for the queue of ``handoff.yaml`` (its name, and the literal ``queue``)."""
    handoff = tables.definitions.get("handoff.yaml")
    return {"queue"} | ({handoff.queue} if handoff is not None and handoff.queue else set())


def within_sla(h: pd.DataFrame, max_hours: float, cutoff: pd.Timestamp) -> tuple[pd.Series, pd.Series]:
    """(due, met): leads whose follow-up window had elapsed by ``cutoff``, and which of them were followed up in it."""
    due = h["mql_at"] + max_hours * HOUR <= cutoff
    met = due & h["followed_up"] & (h["hours"] <= max_hours)
    return due, met


def decisions(tables, period, cutoff: pd.Timestamp | None = None) -> pd.DataFrame:
    """Sales decisions (sal and rejected events) dated in ``period`` before the cutoff.

    Columns: lead_id, stage, at, reason, rep (the actor), ``days_from_mql``
    (from the lead's first MQL) and ``has_reason``.
    """
    tables.require("stages")
    cutoff = funnel.cutoff_of(tables, cutoff)
    st = tables.stages
    before = (st["at"] < cutoff).to_numpy()
    d = st[before & st["stage"].isin(["sal", "rejected"]).to_numpy() & period.contains(st["at"]).to_numpy()].copy()
    # the first MQL of only the leads decided on (no copy of the whole stage history)
    mqls = st.loc[before & (st["stage"] == "mql").to_numpy(), ["lead_id", "at"]]
    first_mql = mqls[mqls["lead_id"].isin(d["lead_id"])].groupby("lead_id")["at"].min()
    reason = d["reason"] if "reason" in d.columns else pd.Series(np.nan, index=d.index)
    d["has_reason"] = reason.astype("string").str.strip().fillna("").ne("")
    d["days_from_mql"] = (d["at"] - d["lead_id"].map(first_mql)) / pd.Timedelta(days=1)
    d["rep"] = dimensions.label(d["actor"] if "actor" in d.columns else pd.Series(np.nan, index=d.index))
    return d


@dataclass
class SLAScorecard(Result):
    """Both teams' commitments against what happened; by rep and by week in :attr:`by_rep` / :attr:`by_week`."""

    delivered: int
    commitment: int
    min_fields: Rate
    min_fields_target: float
    acceptance: Rate
    expected_acceptance: float
    follow_up: Rate
    follow_up_target: float
    max_hours: float
    time_to_follow_up: Duration
    feedback_in_time: Rate
    feedback_days: float
    with_reason: Rate
    period: str
    cutoff: pd.Timestamp
    timezone: str
    handoffs: pd.DataFrame = field(repr=False)
    curve: object = field(default=None, repr=False)
    #: what a sales-ready lead is here, in words (the signed definition, else the first MQL)
    ready_rule: str = ""
    #: the signed definition's version that counted the sales-ready leads (None: first MQLs)
    ready_version: int | None = None
    #: the monthly volume ``sla.yaml`` commits (None: only a quarterly one), paced month by month
    monthly_commitment: int | None = None
    #: the quarter itself (for the months it spans), when known
    quarter: object = field(default=None, repr=False)
    title: str = "Service-level agreements"

    @cached_property
    def by_rep(self) -> pd.DataFrame:
        """Per rep (see :func:`rep_table`)."""
        return rep_table(self.handoffs, *within_sla(self.handoffs, self.max_hours, self.cutoff), self.max_hours)

    @cached_property
    def by_week(self) -> pd.DataFrame:
        """Per week of handoff (see :func:`week_table`)."""
        return week_table(self.handoffs, *within_sla(self.handoffs, self.max_hours, self.cutoff), self.timezone)

    @property
    def misses(self) -> list[str]:
        """The commitments with a target that were missed (names as in :data:`COMMITMENTS`)."""
        missed = {"marketing_volume": self.delivered < self.commitment,
                  "marketing_min_fields": self.min_fields.n > 0 and self.min_fields.value < self.min_fields_target,
                  "sales_follow_up": self.follow_up.n > 0 and self.follow_up.value < self.follow_up_target}
        return [c for c in COMMITMENTS if missed[c]]

    @property
    def by_month(self) -> list[dict]:
        """Monthly pacing of the volume, when ``sla.yaml`` commits a monthly one: each month of the quarter
        (workspace time zone) with its sales-ready leads, the monthly commitment and whether it was met.
        Empty without a monthly commitment, or when a signed definition counts the sales-ready leads (the months
        count first MQLs)."""
        if self.monthly_commitment is None or self.quarter is None or self.delivered != len(self.handoffs):
            return []
        local = self.handoffs["mql_at"].dt.tz_convert(self.timezone).dt.strftime("%Y-%m")
        start = self.quarter.start.tz_convert(self.timezone)
        months = [f"{(start + pd.DateOffset(months=i)):%Y-%m}" for i in range(3)]
        counts = local.value_counts()
        return [{"month": m, "actual": int(counts.get(m, 0)), "target": self.monthly_commitment,
                 "met": bool(counts.get(m, 0) >= self.monthly_commitment)} for m in months]

    def commitments(self) -> list[dict]:
        """Each team's commitments of ``sla.yaml`` as data: ``team``, ``commitment`` (in words), ``key``
        (as in :data:`COMMITMENTS`, or None for an expectation), ``target`` (a count or a share), ``actual``
        (a count or a rate dict), ``met`` (None where ``sla.yaml`` sets no target) and, for a volume committed
        monthly, ``by_month`` (see :attr:`by_month`)."""
        m = self.misses
        volume = {"team": "marketing", "key": "marketing_volume", "commitment": "Sales-ready leads per quarter",
                  "target": self.commitment, "actual": self.delivered, "met": "marketing_volume" not in m}
        if self.by_month:
            volume["by_month"] = self.by_month
        return [volume,
                {"team": "marketing", "key": "marketing_min_fields",
                 "commitment": "Handed over with the minimum information", "target": self.min_fields_target,
                 "actual": self.min_fields.as_dict(), "met": "marketing_min_fields" not in m if self.min_fields.n else None},
                {"team": "marketing", "key": None, "commitment": "Accepted by sales (an expectation)",
                 "target": self.expected_acceptance, "actual": self.acceptance.as_dict(), "met": None},
                {"team": "sales", "key": "sales_follow_up",
                 "commitment": f"Followed up within {fmt.cut(self.max_hours)} h",
                 "target": self.follow_up_target, "actual": self.follow_up.as_dict(),
                 "met": "sales_follow_up" not in m if self.follow_up.n else None},
                {"team": "sales", "key": None,
                 "commitment": f"Feedback on rejected leads within {fmt.cut(self.feedback_days)} days",
                 "target": None, "actual": self.feedback_in_time.as_dict(), "met": None}]

    @property
    def slow_reps(self) -> list[str]:
        return sorted(self.by_rep.loc[self.by_rep["slow"], "rep"])

    def metrics(self) -> dict:
        return {"sales_ready_leads": self.delivered, "sales_ready_leads_commitment": self.commitment,
                "sales_ready_definition": ("first MQL" if self.ready_version is None else
                                           f"signed qualification.yaml version {self.ready_version}"),
                "marketing_volume_met": self.delivered >= self.commitment,
                "min_fields_at_handoff": self.min_fields.as_dict(), "min_fields_target": self.min_fields_target,
                "acceptance_by_sales": self.acceptance.as_dict(), "expected_acceptance": self.expected_acceptance,
                "follow_up_within_sla": self.follow_up.as_dict(),
                "follow_up_met": "sales_follow_up" not in self.misses and self.follow_up.n > 0,
                "hours_to_first_follow_up": self.time_to_follow_up.as_dict(),
                "rejection_feedback_in_time": self.feedback_in_time.as_dict(),
                "rejections_with_reason": self.with_reason.as_dict(),
                "misses": self.misses, "slow_reps": self.slow_reps,
                "by_rep": {r.rep: {"leads": int(r.leads), "within_sla": Rate(int(r.k), int(r.n)).as_dict(),
                                   "median_hours": _for_metrics(r.median_hours),
                                   "q_value": _for_metrics(r.q_value),
                                   "slow": bool(r.slow)} for r in self.by_rep.itertuples()},
                "by_week": {r.week: {"leads": int(r.leads), "within_sla": Rate(int(r.k), int(r.n)).as_dict()}
                            for r in self.by_week.itertuples()},
                "commitments": self.commitments()}

    @property
    def figure_description(self) -> str:
        return (f"Two panels: the share of {self.period}'s sales-ready leads not yet followed up by hours since "
                f"handoff against the {fmt.cut(self.max_hours)} h SLA, and the share followed up "
                "within the SLA by week of handoff, with 95% intervals, against the target.")

    def blocks(self) -> list:
        reps = self.by_rep
        shown = pd.DataFrame({"rep": reps["rep"], "leads": reps["leads"].map(fmt.count),
                              f"within {fmt.cut(self.max_hours)} h": [fmt.rate(*r) for r in zip(
                                  reps["k"], reps["n"], reps["ci_low"], reps["ci_high"])],
                              "rest of the team": [fmt.percent(x, 0) for x in reps["rest_rate"]],
                              "different from the rest of the team?": [
                                  _vs_rest(q, rate, rest) for q, rate, rest in
                                  zip(reps["q_value"], reps["rate"], reps["rest_rate"])],
                              "median hours": [fmt.number(x, 1) if x == x else "over half waiting"
                                               for x in reps["median_hours"].astype(float)],
                              "slow": np.where(reps["slow"], "SLOW", "")})
        within = f"within {fmt.cut(self.max_hours)} h"
        slow = reps[reps["slow"]]
        said = [f"{r.rep} followed up {fmt.count(r.k)} of {fmt.count(r.n)} leads {within}; the rest of the team "
                f"{fmt.percent(r.rest_rate, 0)}" + (
                    f", and half of {r.rep}'s leads waited more than {fmt.cut(self.max_hours)} h"
                    if r.median_hours is None or r.median_hours != r.median_hours or r.median_hours > self.max_hours
                    else "") for r in slow.itertuples()]
        slow_text = ([Paragraph(Strong("Slow to follow up:"), f" {', '.join(self.slow_reps)}."), Bullets(said)]
                     if said else [Paragraph("No rep is clearly slower than the rest of the team.")])
        return [Paragraph(f"A sales-ready lead here is {self.ready_rule or f'a lead whose first MQL falls in {self.period}'}"
                          f". Data until {self.cutoff:%Y-%m-%d %H:%M %Z}."),
                Table(self._by_team(), caption="By team"),
                Paragraph(f"Time from handoff to first follow-up: {words.plain(self.time_to_follow_up, 'been followed up')}."),
                *slow_text,
                Table(shown, caption=f"By rep (slow: a rep whose share followed up {within} is clearly below the "
                                     "rest of the team's, or half of whose leads waited longer than the SLA)")]

    def methods(self) -> list:
        reps = self.by_rep
        tests = pd.DataFrame({"rep": reps["rep"], "p-value": [fmt.p_value(x) for x in reps["p"]],
                              "q-value vs rest of team": [fmt.p_value(x) for x in reps["q_value"]]})
        return [Paragraph(words.method(self.time_to_follow_up, "Hours from handoff to first follow-up") +
                          " Leads not followed up by the cut-off are censored there, not dropped."),
                Paragraph(f"By rep: a rep is slow when their share followed up within {fmt.cut(self.max_hours)} h "
                          "is below the rest of the team's and the difference survives a two-sided Fisher's exact "
                          "test with Benjamini-Hochberg control of false discoveries at 5% over all reps (q-value "
                          "below 0.05), or when, with at least 10 leads due, their Kaplan-Meier median hours to first "
                          "follow-up exceed the SLA (a median not reached counts as exceeding it). Shares carry "
                          "Wilson 95% intervals."),
                Table(tests, caption="By rep: the tests against the rest of the team")]

    def _by_team(self) -> pd.DataFrame:
        """Each commitment of ``sla.yaml``, what was measured and whether it was met."""
        m = self.misses
        return pd.DataFrame([
            {"team": "marketing", "commitment": f"{fmt.count(self.commitment)} sales-ready leads per quarter" + (
                f" ({fmt.count(self.monthly_commitment)} a month)" if self.monthly_commitment else ""),
             "measured": fmt.count(self.delivered) + "".join(
                 f"; {b['month']}: {fmt.count(b['actual'])}{'' if b['met'] else ' (short)'}" for b in self.by_month),
             "met": fmt.value("marketing_volume" not in m)},
            {"team": "marketing",
             "commitment": f"{fmt.percent(self.min_fields_target, 0)} handed over with the minimum information",
             "measured": str(self.min_fields), "met": fmt.value("marketing_min_fields" not in m)},
            {"team": "marketing",
             "commitment": f"quality: about {fmt.percent(self.expected_acceptance, 0)} accepted by sales",
             "measured": str(self.acceptance), "met": "(expectation, not a commitment)"},
            {"team": "sales",
             "commitment": f"{fmt.percent(self.follow_up_target, 0)} followed up within {fmt.cut(self.max_hours)} h",
             "measured": str(self.follow_up), "met": fmt.value("sales_follow_up" not in m)},
            {"team": "sales", "commitment": f"feedback on rejected leads within {fmt.cut(self.feedback_days)} days",
             "measured": str(self.feedback_in_time), "met": "(no target share in sla.yaml)"},
            {"team": "sales", "commitment": "rejections come with a reason",
             "measured": str(self.with_reason), "met": "(no target share in sla.yaml)"},
        ])

    def draw(self):
        """Left: Kaplan-Meier share not yet followed up by hours since handoff. Right: within-SLA share by week."""
        fig, (ax, wx) = plotting.figure(1, 2, size=(plotting.SIZE[0] * 1.4, plotting.SIZE[1]))
        if self.curve is not None:
            sf = self.curve.survival_function_.iloc[:, 0]
            ax.step(sf.index, sf.to_numpy(), where="post", color=plotting.COLORS["sales"])
        ax.axvline(self.max_hours, color=plotting.COLORS["bad"], ls="--", label="SLA")
        ax.set_xlim(0, max(5 * self.max_hours, 1))
        plotting.percent_axis(ax)
        ax.set_xlabel("hours since handoff")
        ax.set_ylabel("not yet followed up")
        ax.set_title(f"Time to first follow-up, {self.period}")
        ax.legend()
        w = self.by_week
        x = np.arange(len(w))
        wx.errorbar(x, w["rate"], yerr=plotting.rate_error(w), fmt="o-", color=plotting.COLORS["sales"], capsize=3)
        wx.axhline(self.follow_up_target, color=plotting.COLORS["bad"], ls="--", label="target")
        wx.set_xticks(x, w["week"], rotation=60, fontsize=7)
        plotting.percent_axis(wx)
        wx.set_title(f"Within {self.max_hours:g} h, by week of handoff")
        wx.legend()
        return fig


def _for_metrics(x, digits: int = 4):
    """A number as ``metrics.json`` holds it: rounded to ``digits`` decimals, missing as None."""
    return None if x is None or pd.isna(x) else round(float(x), digits)


def _vs_rest(q, rate, rest) -> str:
    """A rep's within-SLA share against the rest of the team's, in words with its direction."""
    if q is None or q != q or rest != rest or q >= 0.05:
        return "no clear difference"
    return "yes, slower" if rate < rest else "yes, faster"


def rep_table(h: pd.DataFrame, due: pd.Series, met: pd.Series, max_hours: float,
              alpha: float = 0.05, min_leads: int = 10) -> pd.DataFrame:
    """Per rep: leads, within-SLA rate, Kaplan-Meier median hours, Fisher q-value against the rest, ``slow`` flag.

    A rep is slow when their within-SLA share is significantly below the rest of
    the team (two-sided Fisher exact test, Benjamini-Hochberg at ``alpha``), or,
    with at least ``min_leads`` leads due, their Kaplan-Meier median hours to first
    follow-up exceed ``max_hours`` (a median not reached counts as exceeding it).
    Leads with no rep are shown as ``(unassigned)`` and never flagged (they are a
    routing problem, see :mod:`salign.review.handoff`).
    """
    rows = []
    k_all, n_all = int(met.sum()), int(due.sum())
    for rep, mine in h.groupby("rep").groups.items():
        k, n = int(met[mine].sum()), int(due[mine].sum())
        p = fisher_exact([[k, n - k], [k_all - k, (n_all - n) - (k_all - k)]])[1] if 0 < n < n_all else 1.0
        duration, _ = kaplan_meier(h.loc[mine, "hours"], h.loc[mine, "followed_up"])
        rows.append({"rep": rep, "leads": len(mine), "k": k, "n": n, "median_hours": duration.median, "p": p,
                     "rest_rate": (k_all - k) / (n_all - n) if n_all > n else np.nan})
    t = pd.DataFrame(rows, columns=["rep", "leads", "k", "n", "median_hours", "p", "rest_rate"])
    t = pd.concat([t, rates(t["k"], t["n"])[["rate", "ci_low", "ci_high"]]], axis=1)
    reject, q = benjamini_hochberg(t["p"], alpha)
    t["q_value"] = q
    median = t["median_hours"].astype(float)
    late = (t["n"] >= min_leads) & (median.isna() | (median > max_hours))
    t["slow"] = ((reject & (t["rate"] < t["rest_rate"]).to_numpy()) | late) & (t["rep"] != NO_OWNER)
    return t.sort_values(["slow", "rate"], ascending=[False, True]).reset_index(drop=True)


def week_table(h: pd.DataFrame, due: pd.Series, met: pd.Series, timezone: str) -> pd.DataFrame:
    """Per week of handoff (Monday, workspace time zone): leads, and the within-SLA rate."""
    local = h["mql_at"].dt.tz_convert(timezone).dt.tz_localize(None)
    week = (local.dt.normalize() - pd.to_timedelta(local.dt.weekday, unit="D")).dt.strftime("%Y-%m-%d")
    g = pd.DataFrame({"week": week, "lead": 1, "k": met, "n": due}).groupby("week").sum()
    t = rates(g["k"], g["n"])
    t["leads"] = g["lead"]
    return t.rename_axis("week").reset_index()


def sla_scorecard(tables, period, cutoff: pd.Timestamp | None = None) -> SLAScorecard:
    """Marketing's and sales' commitments of ``sla.yaml`` for ``period``, by team, rep and week."""
    sla = tables.definition("sla.yaml")
    cutoff = funnel.cutoff_of(tables, cutoff)
    h = handoffs(tables, period, cutoff)
    max_h = sla.sales.max_hours_to_first_follow_up
    due, met = within_sla(h, max_h, cutoff)
    duration, km = kaplan_meier(h["hours"], h["followed_up"])
    d = decisions(tables, period, cutoff)
    rejected = d[d["stage"] == "rejected"]
    delivered, rule, version = sales_ready(tables, h, period)
    return SLAScorecard(
        delivered=delivered, ready_rule=rule, ready_version=version, commitment=sla.marketing.quarterly_volume,
        min_fields=Rate(int(h["complete"].sum()), len(h)), min_fields_target=sla.marketing.min_fields_share_target,
        acceptance=Rate(int((d["stage"] == "sal").sum()), len(d)),
        expected_acceptance=sla.sales.expected_acceptance_rate,
        follow_up=Rate(int(met.sum()), int(due.sum())), follow_up_target=sla.sales.follow_up_attainment_target,
        max_hours=max_h, time_to_follow_up=duration,
        feedback_in_time=Rate(int((rejected["days_from_mql"] <= sla.sales.feedback_days_on_rejected).sum()),
                              len(rejected)),
        feedback_days=sla.sales.feedback_days_on_rejected,
        with_reason=Rate(int(rejected["has_reason"].sum()), len(rejected)),
        period=str(period), cutoff=cutoff, timezone=tables.config.timezone, handoffs=h, curve=km,
        monthly_commitment=sla.marketing.sales_ready_leads_per_month, quarter=period)


QUALIFICATION = "qualification.yaml"


def sales_ready(tables, h: pd.DataFrame, period) -> tuple[int, str, int | None]:
    """(how many of the handoffs ``h`` are sales-ready, that definition in words, the signed version used or None).

    The signed ``definitions/qualification.yaml`` decides where the workspace holds one; otherwise every
    lead handed over (first MQL) counts, and the words say why.
    """
    d = tables.definitions.get(QUALIFICATION)
    if d is None or not d.signed:
        why = (f"the workspace has no signed definition of a sales-ready lead (definitions/{QUALIFICATION})"
               if d is None else f"definitions/{QUALIFICATION} (version {d.version}) is not signed by both teams yet")
        return len(h), (f"a lead whose first MQL (marketing's handoff) falls in {period}: {why}, so every lead handed "
                        "over counts"), None
    facts = lead_facts(tables)
    facts = facts[facts["lead_id"].astype(str).isin(h.index.astype(str))]
    if "persona" in {f.field for f in d.scorecard.features} and "persona" not in facts.columns:
        facts = facts.assign(persona=dimensions.persona(tables, facts))
    n = int(score_leads(d, facts)["qualified"].sum()) if len(facts) else 0
    return n, (f"a lead handed over (first MQL) in {period} that the signed definition (definitions/{QUALIFICATION}, "
               f"version {d.version}) calls sales-ready: a score of at least {d.threshold.score} points, the minimum "
               "information and no disqualification rule"), d.version
