"""Is the alignment working? The review's key figures quarter by quarter, and the last four quarters vs the four before.

The handoff figures of every quarter (follow-up within the SLA, hours to first
follow-up, acceptance, rejections without a reason) are measured as the change
table measures them (:func:`salign.review.changes.lagged_cutoff`): as the quarter
stood as long after its end as this review is after this quarter's, so a quarter
reads the same here, in the change table and in its own review. The conversion is
the matured variant, a figure of its own (``mql_to_sql_matured``, "MQL to SQL,
matured"): a quarter's MQLs followed for their whole window, shown once every one
of them has had it by the cutoff ("not matured yet" before, so a quarter never
shows two matured values in two reviews). The two years are compared with the tests
of :func:`salign.review.changes.compare` and Benjamini-Hochberg over the trend's
comparisons; the verdict is *improving* when at least one figure got
significantly better and none significantly worse (*worsening* the reverse,
*mixed* when both happen, *no significant change* otherwise). The series starts
at the first quarter the data covers in full (:func:`salign.common.periods.first_complete`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.common import metrics as registry
from salign.common import periods, plotting
from salign.common.result import Paragraph, Result, Strong, Table
from salign.common.stats import Rate, benjamini_hochberg, kaplan_meier
from salign.core import fmt
from salign.review import changes, funnel, sla
from salign.workspace.tables import MissingData

#: the key conversion of the trend: the matured variant (only leads whose window had passed, followed up to the
#: cut-off), a different figure from the change table's ``mql_to_sql`` (the cohort as it stood at its quarter's end)
MATURED = "mql_to_sql_matured"
#: name -> (higher is better, label): the names every page gives these figures (:mod:`salign.common.metrics`)
SERIES = {key: (registry.get(key).higher_is_better, registry.name(key)) for key in (
    "follow_up_within_sla", "hours_to_first_follow_up", MATURED, "acceptance_by_sales", "rejections_without_reason")}


@dataclass
class Trend(Result):
    """Per-quarter series and the year-on-year comparison with its verdict."""

    quarters: pd.DataFrame
    years: pd.DataFrame
    verdict: str
    recent: list
    earlier: list
    window_days: int
    title: str = "The trend: is it getting better?"
    #: the key conversion as pages name it (:func:`salign.review.funnel.conversion_key`); its metric keys stay
    #: ``mql_to_sql_matured`` (:data:`MATURED`)
    conversion: str = "MQL to SQL"
    #: the day the cohorts are followed up to (the cut-off, local date): the matured conversion is a different figure
    #: from the change table's, which is the cohort as it stood at its quarter's end
    followed_up_to: str = ""

    def label(self, figure: str) -> str:
        """A figure's label, the key conversion named after the stages the data records."""
        if figure != MATURED:
            return SERIES[figure][1]
        to = f", followed up to {self.followed_up_to}" if self.followed_up_to else ""
        name = registry.name(MATURED).replace("MQL to SQL", self.conversion)
        return f"{name[:1].upper()}{name[1:]} ({self.window_days} d{to})"

    def metrics(self) -> dict:
        q = {r["quarter"]: {k: (v if not isinstance(v, float) else (None if np.isnan(v) else round(v, 4)))
                            for k, v in r.items() if k != "quarter"} for r in self.quarters.to_dict("records")}
        y = {r["figure"]: {"earlier": r["earlier"], "recent": r["recent"], "test": r["test"],
                           "p": None if pd.isna(r["p"]) else round(float(r["p"]), 6),
                           "q": None if pd.isna(r["q"]) else round(float(r["q"]), 6), "direction": r["direction"]}
             for r in self.years.to_dict("records")}
        return {"verdict": self.verdict, "recent_quarters": self.recent, "earlier_quarters": self.earlier,
                "by_quarter": q, "year_on_year": y}

    @property
    def figure_description(self) -> str:
        return (f"Lines by quarter: the share followed up within the SLA, {self.conversion} conversion (matured: drawn "
                "once the whole cohort is mature), acceptance by sales and rejections without a reason.")

    def blocks(self) -> list:
        y = self.years
        shown = pd.DataFrame({"figure": [self.label(f) for f in y["figure"]],
                              f"{self.earlier[0]}–{self.earlier[-1]}" if self.earlier else "earlier":
                                  [_figure_text(v) for v in y["earlier"]],
                              f"{self.recent[0]}–{self.recent[-1]}": [_figure_text(v) for v in y["recent"]],
                              "change": [_direction_text(d) for d in y["direction"]]})
        q = self.quarters

        def cells(name):
            return [str(Rate(int(k), int(n))) if n or name != MATURED else "not matured yet"
                    for k, n in zip(q[f"{name}_k"], q[f"{name}_n"])]

        series = pd.DataFrame({"quarter": q["quarter"], **{
            self.label(name): ([fmt.number(x, 1) for x in q[name]] if name == "hours_to_first_follow_up" else
                               cells(name)) for name in SERIES}})
        return [Paragraph(Strong(f"Verdict: {self.verdict}."), " The last four quarters against the four before "
                          "them; 'better' or 'worse' means the change is too large to be chance."),
                Table(shown), Table(series, caption="Quarter by quarter")]

    def methods(self) -> list:
        y = self.years
        tests = pd.DataFrame({"figure": [self.label(f) for f in y["figure"]],
                              "test": list(y["test"]),
                              "p-value": [changes.p_text(p) for p in y["p"]],
                              "q-value": [changes.p_text(q) for q in y["q"]]})
        return [Paragraph("Tests as in the change table, on the last four quarters pooled against the four before "
                          "them; Benjamini-Hochberg correction over these comparisons (false discoveries held at "
                          "5%). The median hours to first follow-up are Kaplan-Meier medians (leads not yet followed "
                          "up censored at the cut-off). Each quarter's handoff figures are measured as the change table "
                          "measures them: as the quarter stood at its end."), Table(tests),
                Paragraph(f"{self.label(MATURED)}: {registry.get(MATURED).definition}")]

    def draw(self):
        q = self.quarters
        fig, ax = plotting.figure()
        for name in ("follow_up_within_sla", MATURED, "acceptance_by_sales", "rejections_without_reason"):
            shown = q[name]
            ax.plot(q["quarter"], shown, marker="o", label=self.label(name))
        plotting.percent_axis(ax)
        ax.set_title(f"Key rates by quarter ({self.conversion}, matured: drawn once a cohort is mature)")
        ax.legend(fontsize=8)
        return fig


def _direction_text(direction: str) -> str:
    """The year-on-year verdict as a reader says it (``no significant change``: could be chance)."""
    return "no clear change" if direction == "no significant change" else str(direction)


def _figure_text(v) -> str:
    """A pooled figure as people read it: a rate with its interval, or a median; ``n/a`` when missing."""
    if v is None:
        return "n/a"
    return str(Rate(v["k"], v["n"])) if isinstance(v, dict) else fmt.number(v, 1)


def _rate(k, n) -> float:
    return k / n if n else np.nan


@dataclass(frozen=True)
class Span:
    """Consecutive quarters as one period (``start``, ``end``, :meth:`contains`), to read them in one pass."""

    start: pd.Timestamp
    end: pd.Timestamp

    def contains(self, times: pd.Series) -> pd.Series:
        return (times >= self.start) & (times < self.end)


def handoffs_at(handed: pd.DataFrame, q, c: pd.Timestamp) -> pd.DataFrame:
    """``sla.handoffs(tables, q, c)``'s ``mql_at``, ``first_follow_up``, ``followed_up`` and ``hours``, read off
    ``handed`` = ``sla.handoffs(tables, span, cutoff)`` for a span holding quarter ``q`` and a cutoff at or after ``c``.

    A lead's first MQL before ``c`` is its first before the later cutoff when that one is before ``c`` (else it
    has none), and its first follow-up at or after that MQL and before ``c`` is the one before the later cutoff
    when that one is before ``c``."""
    h = handed[q.contains(handed["mql_at"]) & (handed["mql_at"] < c)]
    first = h["first_follow_up"].where(h["first_follow_up"] < c)
    return pd.DataFrame({"mql_at": h["mql_at"], "first_follow_up": first, "followed_up": first.notna(),
                         "hours": (first.fillna(c) - h["mql_at"]) / sla.HOUR})


def decisions_at(decided: pd.DataFrame, q, c: pd.Timestamp) -> pd.DataFrame:
    """``sla.decisions(tables, q, c)``'s rows (``stage``, ``at``, ``has_reason``), read off ``decided`` =
    ``sla.decisions(tables, span, cutoff)`` for a span holding quarter ``q`` and a cutoff at or after ``c``
    (``days_from_mql`` there counts from the first MQL before the later cutoff)."""
    return decided[q.contains(decided["at"]) & (decided["at"] < c)]


def trend(tables, period, window_days: int = 90, cutoff: pd.Timestamp | None = None) -> Trend:
    """The key handoff and funnel figures for every quarter of the data up to ``period``, and the year-on-year test."""
    definition = tables.definition("sla.yaml")
    cutoff = funnel.cutoff_of(tables, cutoff)
    if changes.data_start(tables) is None:
        raise MissingData("has no dated leads or opportunities")
    first = periods.first_complete(tables)  # a quarter only partly in the data would read as a dip
    quarters = [period.shift(-i) for i in range(7, -1, -1) if period.shift(-i) >= first]
    if not quarters:
        raise MissingData(f"has no complete quarter up to {period} (the first one the data covers in full is "
                          f"{first})")
    max_hours = definition.sales.max_hours_to_first_follow_up
    entries = funnel.stage_entries(tables, cutoff)
    src, dst, _, conversion = funnel.conversion_key(tables)
    rows, pooled = [], {}
    # every quarter's handoffs and decisions in one pass (one query, one scan of the stage history), each quarter
    # then read off them as it stood at its own cutoff (:func:`handoffs_at`, :func:`decisions_at`)
    span = Span(quarters[0].start, quarters[-1].end)
    handed, decided = sla.handoffs(tables, span, cutoff), sla.decisions(tables, span, cutoff)
    for q in quarters:
        # the handoff figures of each quarter as its own review and the change table show them: as the quarter stood
        # as long after its end as this review is after this quarter's (one figure, one number, issue 13)
        c = funnel.cutoff_of(tables, changes.lagged_cutoff(period, q, cutoff))
        h = handoffs_at(handed, q, c)
        due, met = sla.within_sla(h, max_hours, c)
        d = decisions_at(decided, q, c)
        rej = d[d["stage"] == "rejected"]
        conv = funnel.cohort_rates(entries, q, src, dst, window_days)
        km, _ = kaplan_meier(h["hours"], h["followed_up"])
        # the matured conversion exists once the whole cohort has had its window (until then it would be a handful
        # of early leads, a different number in every review): n/a before
        whole, mature = int(conv["n"].sum()), int(conv["mature"].sum())
        counts = {"follow_up_within_sla": (int(met.sum()), int(due.sum())),
                  MATURED: (int(conv["k_mature"].sum()), mature) if whole and mature == whole else (0, 0),
                  "acceptance_by_sales": (int((d["stage"] == "sal").sum()), len(d)),
                  "rejections_without_reason": (int((~rej["has_reason"]).sum()), len(rej))}
        pooled[str(q)] = (counts, (h["hours"].to_numpy(), h["followed_up"].to_numpy()))
        rows.append({"quarter": str(q), "sales_ready_leads": len(h),
                     "hours_to_first_follow_up": np.nan if km.median is None else km.median,
                     **{k: _rate(*v) for k, v in counts.items()},
                     **{f"{k}_k": v[0] for k, v in counts.items()}, **{f"{k}_n": v[1] for k, v in counts.items()}})
    labels = [str(q) for q in quarters]
    recent, earlier = labels[-4:], labels[-8:-4]
    years = []
    for name in SERIES:
        def pool(qs, name=name):
            if name == "hours_to_first_follow_up":
                hours = np.concatenate([pooled[q][1][0] for q in qs]) if qs else np.zeros(0)
                seen = np.concatenate([pooled[q][1][1] for q in qs]).astype(bool) if qs else np.zeros(0, bool)
                km, _ = kaplan_meier(pd.Series(hours), pd.Series(seen))
                return changes.Figure(name, km.median, (hours, seen), kind="duration")
            k = sum(pooled[q][0][name][0] for q in qs)
            n = sum(pooled[q][0][name][1] for q in qs)
            return changes.Figure(name, Rate(k, n), kind="rate")

        now, before = pool(recent), pool(earlier)
        test, p = changes.compare(now, before) if earlier else ("none (no earlier year)", None)
        years.append({"figure": name, "recent": now.shown(), "earlier": before.shown() if earlier else None,
                      "test": test, "p": p, "better_when_higher": SERIES[name][0],
                      "delta": (now.number() or np.nan) - (before.number() or np.nan) if earlier else np.nan})
    y = pd.DataFrame(years)
    y["q"], y["direction"] = np.nan, "no significant change"
    tested = y["p"].notna()
    if tested.any():
        reject, qv = benjamini_hochberg(y.loc[tested, "p"].astype(float))
        y.loc[tested, "q"] = qv
        sig = pd.Series(False, index=y.index)
        sig[tested] = reject
        better = (y["delta"] > 0) == y["better_when_higher"]
        y.loc[sig & better, "direction"] = "better"
        y.loc[sig & ~better, "direction"] = "worse"
    ups, downs = (y["direction"] == "better").sum(), (y["direction"] == "worse").sum()
    verdict = ("improving" if ups and not downs else "worsening" if downs and not ups else
               "mixed" if ups and downs else "no significant change")
    return Trend(pd.DataFrame(rows), y, verdict, recent, earlier, window_days, conversion=conversion,
                 followed_up_to=f"{cutoff:%Y-%m-%d}")
