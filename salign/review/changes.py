"""Change vs last quarter and vs a year earlier on every headline figure, tested so noise is not read as change.

**Like for like.** A comparison quarter is measured as it stood the same time
after its end as this quarter is now (its cutoff is its end plus this
quarter's ``cutoff - end``). Reviewed on the day a quarter closes, last
quarter's figures are the ones its own review showed on the day it closed, and
an immature cohort is never compared with a mature one.

**Tests** (which one is named in every row):

- rates: two-proportion z-test (statsmodels ``proportions_ztest``) when every
  cell of the 2x2 table has an expected count of at least 5, otherwise Fisher's
  exact test (scipy);
- counts (sales-ready leads): two-sample Poisson score test (statsmodels
  ``test_poisson_2indep``; quarters count as equal exposure);
- amounts (pipeline created: the amounts of the opportunities created in the
  quarter; skipped when most open and lost deals have no amount): z-test under a
  compound Poisson model (the variance of a quarter's total is the sum of its
  squared deal amounts);
- durations (hours to first follow-up): log-rank test (lifelines) on the
  censored durations; the figure shown is the Kaplan-Meier median.

The false discovery rate over all comparisons in the review is controlled with
Benjamini-Hochberg at 5%: a change is *significant* when it survives that.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact, norm
from statsmodels.stats.proportion import proportions_ztest
from statsmodels.stats.rates import test_poisson_2indep

from salign.common import metrics as registry
from salign.common import periods
from salign.common.result import Bullets, Paragraph, Result, Strong, Table
from salign.common.stats import Rate, benjamini_hochberg
from salign.core import fmt
from salign.review import dimensions, funnel, handoff, sla, winloss
from salign.workspace.tables import MissingData

ALPHA = 0.05
#: name -> (kind, higher is better, label); the order of the review's table. Labels are the names the figures have
#: everywhere (:mod:`salign.common.metrics`)
FIGURES = {key: (kind, registry.get(key).higher_is_better, registry.name(key)) for key, kind in (
    ("sales_ready_leads", "count"), ("min_fields_at_handoff", "rate"), ("acceptance_by_sales", "rate"),
    ("follow_up_within_sla", "rate"), ("hours_to_first_follow_up", "duration"), ("rejections_with_reason", "rate"),
    ("routed_within_limit", "rate"), ("mql_to_sql", "rate"), ("win_rate", "rate"), ("pipeline_created", "amount"))}
#: the figures leaders ask for first, shown as cards with an arrow vs last quarter
HEADLINE = ("sales_ready_leads", "follow_up_within_sla", "mql_to_sql", "win_rate", "pipeline_created")
#: the key conversion's name in FIGURES and HEADLINE; on data without SQLs it is named after the stages the data
#: records (:func:`salign.review.funnel.conversion_key`), e.g. ``mql_to_won``
CONVERSION = "mql_to_sql"


def spec(name: str) -> tuple[str, bool, str]:
    """(kind, higher is better, label) of figure ``name``, the key conversion under any of its names included."""
    if name in FIGURES:
        return FIGURES[name]
    src, _, dst = name.partition("_to_")
    if dst in funnel.STAGE_LABELS and src in funnel.STAGE_LABELS:
        label = f"{funnel.stage_label(src)} to {funnel.stage_label(dst)} conversion"
        return ("rate", True, label[:1].upper() + label[1:])
    raise KeyError(name)


@dataclass(frozen=True)
class Figure:
    """One measured figure: ``value`` is an int (count), :class:`Rate`, float (amount) or float/None (median).

    ``sample`` holds what the test needs beyond the value: the deal amounts, or
    ``(durations, observed)``. ``kind`` (count, rate, amount, duration) defaults
    to the one :data:`FIGURES` gives for ``name``.
    """

    name: str
    value: object
    sample: object = None
    kind: str = ""

    def __post_init__(self):
        if not self.kind:
            object.__setattr__(self, "kind", spec(self.name)[0])

    def shown(self):
        """The JSON form used in metrics and the headline (a rate dict or a number)."""
        if isinstance(self.value, Rate):
            return self.value.as_dict()
        if isinstance(self.value, float):
            return round(self.value, 4)
        return self.value

    def number(self) -> float | None:
        return self.value.value if isinstance(self.value, Rate) else (
            None if self.value is None else float(self.value))


def p_text(p) -> str:
    """A p- or q-value with its relation, for readers: ``< 0.0001``, ``= 0.0003``, ``= 0.236`` (``n/a`` if missing)."""
    text = fmt.p_value(p)
    return text if text.startswith("<") or text == fmt.NO_CASES else f"= {text}"


def lagged_cutoff(period, other, cutoff: pd.Timestamp) -> pd.Timestamp:
    """The cutoff of ``other`` that is as far after its end as ``cutoff`` is after the end of ``period``."""
    return other.end + (cutoff - period.end)


def data_start(tables) -> periods.Quarter | None:
    """The first quarter the data covers (of leads and opportunities created)."""
    starts = [getattr(tables, t)["created_at"].min() for t in ("leads", "opportunities")
              if getattr(tables, t) is not None and len(getattr(tables, t))]
    starts = [s for s in starts if pd.notna(s)]
    if not starts:
        return None
    cfg = tables.config
    return periods.Quarter.containing(min(starts), cfg.fiscal_year_start_month, cfg.timezone)


NO_DATA = "no data"


def not_comparable(tables, q) -> str | None:
    """Why quarter ``q`` cannot be compared with (no data, or only part of it in the data), or ``None``."""
    first = data_start(tables)
    if first is None or q < first:
        return NO_DATA
    if q < periods.first_complete(tables):
        start = tables.data_start.tz_convert(tables.config.timezone)
        return f"{q}, which is only partly in the data (it starts {start:%Y-%m-%d})"
    return None


def snapshot(tables, period, window_days: int = 90, cutoff: pd.Timestamp | None = None) -> tuple[dict, dict]:
    """Every figure of :data:`FIGURES` the workspace can give for ``period``: ({name: Figure}, {name: why skipped})."""
    cutoff = funnel.cutoff_of(tables, cutoff)
    found, skipped = {}, {}

    def take(names, fn):
        try:
            for f in fn():
                found[f.name] = f
        except MissingData as exc:
            skipped.update({n: f"this workspace {exc}" for n in names})

    def from_sla():
        s = sla.sla_scorecard(tables, period, cutoff)
        h = s.handoffs
        return [Figure("sales_ready_leads", s.delivered), Figure("min_fields_at_handoff", s.min_fields),
                Figure("acceptance_by_sales", s.acceptance), Figure("follow_up_within_sla", s.follow_up),
                Figure("hours_to_first_follow_up", s.time_to_follow_up.median,
                       (h["hours"].to_numpy(), h["followed_up"].to_numpy())),
                Figure("rejections_with_reason", s.with_reason)]

    def from_routing():
        return [Figure("routed_within_limit", handoff.routing(tables, period, cutoff).in_time)]

    src, dst, conversion, _ = funnel.conversion_key(tables)

    def from_funnel():
        r = funnel.cohort_rates(funnel.stage_entries(tables, cutoff), period, src, dst, window_days)
        k, n = (int(r["k"].iloc[0]), int(r["n"].iloc[0])) if len(r) else (0, 0)
        return [Figure(conversion, Rate(k, n))]

    def from_deals():
        w = winloss.win_loss(tables, period, dims=(), cutoff=cutoff)
        o = tables.opportunities
        created = o[period.contains(o["created_at"]) & (o["created_at"] < cutoff)]
        if "amount" not in o.columns or o.loc[o["outcome"] != "won", "amount"].notna().mean() < 0.5:
            skipped["pipeline_created"] = ("records no amount for most open and lost opportunities (amounts only "
                                           "at a win), so the pipeline created is unknown")
            return [Figure("win_rate", w.overall)]
        amounts = created["amount"].fillna(0).to_numpy(float)
        return [Figure("win_rate", w.overall), Figure("pipeline_created", float(amounts.sum()), amounts)]

    take(list(FIGURES)[:6], from_sla)
    take(["routed_within_limit"], from_routing)
    take([conversion], from_funnel)
    take(["win_rate", "pipeline_created"], from_deals)
    return found, skipped


def compare(now: Figure, before: Figure) -> tuple[str, float | None]:
    """(name of the test, two-sided p-value or None when there is nothing to test)."""
    if now.kind == "rate":
        a, b = now.value, before.value
        if not a.n or not b.n:
            return "none (a rate is n/a)", None
        table = np.array([[a.k, a.n - a.k], [b.k, b.n - b.k]])
        expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
        if (expected < 5).any():
            return "Fisher's exact test", float(fisher_exact(table)[1])
        if table[:, 0].sum() in (0, table.sum()):
            return "two-proportion z-test", 1.0
        return "two-proportion z-test", float(proportions_ztest([a.k, b.k], [a.n, b.n])[1])
    if now.kind == "count":
        if now.value == 0 and before.value == 0:
            return "two-sample Poisson test", 1.0
        return "two-sample Poisson test", float(test_poisson_2indep(now.value, 1, before.value, 1).pvalue)
    if now.kind == "amount":
        var = float((now.sample ** 2).sum() + (before.sample ** 2).sum())
        if var == 0:
            return "compound Poisson z-test", 1.0
        z = (now.value - before.value) / math.sqrt(var)
        return "compound Poisson z-test", float(2 * norm.sf(abs(z)))
    from lifelines.statistics import logrank_test

    (d1, e1), (d0, e0) = now.sample, before.sample
    if not len(d1) or not len(d0):
        return "log-rank test", None
    return "log-rank test", float(logrank_test(d1, d0, event_observed_A=e1, event_observed_B=e0).p_value)


@dataclass
class Changes(Result):
    """Every figure now, last quarter and a year earlier, with its test, p and BH q-values."""

    table: pd.DataFrame
    skipped: dict
    commitment: int | None
    period: str
    previous: str
    year_ago: str
    #: why a quarter was not compared, when it is only partly in the data ({"previous": "...", ...})
    partial: dict = field(default_factory=dict)
    #: the name of the key conversion (MQL to the outcome stage), e.g. mql_to_sql
    conversion: str = CONVERSION
    #: the workspace currency, shown with every amount
    currency: str = ""
    title: str = "What changed: vs last quarter and vs a year earlier"

    def _row(self, name):
        return self.table.set_index("figure").loc[name]

    def comparison(self, name: str, against: str = "previous") -> dict:
        """The headline contract's comparison dict for ``name`` (``against``: previous or year_ago)."""
        r = self._row(name)
        out = {"value": r["value"], "previous": r[against],
               "change_significant": bool(r[f"{against}_significant"]),
               "higher_is_better": bool(spec(name)[1])}
        return {**out, "currency": self.currency} if spec(name)[0] == "amount" and self.currency else out

    @property
    def biggest(self) -> str | None:
        """The figure whose change vs last quarter is the most significant (smallest q-value)."""
        t = self.table.dropna(subset=["previous_q"])
        return None if t.empty else str(t.sort_values(["previous_q", "previous_p"]).iloc[0]["figure"])

    def headline(self) -> dict:
        names = set(self.table["figure"])
        out = {n: self.comparison(n) for n in HEADLINE + (self.conversion,) if n in names}
        if self.commitment is not None and "sales_ready_leads" in names:
            out["sales_ready_leads_commitment"] = self.commitment
        if self.biggest is not None:
            out["biggest_change"] = {**self.comparison(self.biggest), "metric": self.biggest,
                                     "label": f"Biggest change: {spec(self.biggest)[2]}"}
        return out

    def metrics(self) -> dict:
        rows = {}
        for r in self.table.to_dict("records"):
            rows[r["figure"]] = {k: (None if isinstance(v, float) and math.isnan(v) else
                                     round(v, 6) if isinstance(v, float) else v)
                                 for k, v in r.items() if k != "figure"}
        return {"period": self.period, "previous_period": self.previous, "year_ago_period": self.year_ago,
                "figures": rows, "not_measured": self.skipped, "biggest_change": self.biggest,
                "headline": self.headline()}

    def blocks(self) -> list:
        t = self.table
        shown = pd.DataFrame({
            "figure": [spec(n)[2] for n in t["figure"]],
            self.period: [self._text(n, v) for n, v in zip(t["figure"], t["value"])],
            f"last quarter ({self.previous})": [self._text(n, v) for n, v in zip(t["figure"], t["previous"])],
            "change vs last quarter": [_change_text(r, "previous") for _, r in t.iterrows()],
            f"a year earlier ({self.year_ago})": [self._text(n, v) for n, v in zip(t["figure"], t["year_ago"])],
            "change vs a year earlier": [_change_text(r, "year_ago") for _, r in t.iterrows()],
        })
        out = [] if self.biggest is None else [
            Paragraph(Strong("Biggest change vs last quarter:"), f" {spec(self.biggest)[2]}.")]
        out += [Paragraph("Each earlier quarter is measured as it stood the same time after its end as this one is "
                          "now, so cohorts that are still filling up are compared with cohorts at the same age. "
                          "'Better' or 'worse' means the change is too large to be chance; 'no clear change' means "
                          "it could be chance."),
                Table(shown)]
        out += [Paragraph(f"Not compared with {why}: a quarter the data covers only in part would read as a "
                          "change.", note=True) for why in self.partial.values()]
        if self.skipped:
            out += [Paragraph("Not measured:"), Bullets([f"{spec(k)[2]}: {v}" for k, v in self.skipped.items()])]
        return out

    def _text(self, name: str, v) -> str:
        """A figure of the change table as people read it, amounts in the workspace currency."""
        if spec(name)[0] == "amount" and v is not None and not isinstance(v, dict):
            return fmt.money(v, self.currency)
        return _figure_text(v)

    def methods(self) -> list:
        t = self.table
        tests = pd.DataFrame({
            "figure": [spec(n)[2] for n in t["figure"]],
            "test vs last quarter": [_test_text(r, "previous") for _, r in t.iterrows()],
            "test vs a year earlier": [_test_text(r, "year_ago") for _, r in t.iterrows()],
        })
        defined = [registry.get(n) for n in t["figure"] if registry.get(n) is not None]
        words = pd.DataFrame({"figure": [m.name for m in defined], "what it counts": [m.definition for m in defined],
                              "which leads or deals": [m.cohort for m in defined],
                              "better when": ["higher" if m.higher_is_better else "lower" for m in defined]})
        return [Paragraph(METHODS), Table(tests), Table(words, caption="What each figure counts")]


#: how the change table tests a change, for the page's methods part
METHODS = ("Rates: two-proportion z-test, or Fisher's exact test when a cell of the 2x2 table expects fewer than "
           "5 cases. Counts (sales-ready leads): two-sample Poisson test. Pipeline amounts: z-test under a "
           "compound Poisson model. Hours to first follow-up: log-rank test on the durations, leads not yet followed "
           "up censored at the cut-off; the figure shown is the Kaplan-Meier median. Every comparison in the table "
           "is corrected for the number of comparisons (Benjamini-Hochberg, false discoveries held at 5%): a change "
           "is better or worse when its q-value is below 0.05. Rates carry Wilson 95% intervals.")


def _test_text(row, against: str) -> str:
    """One change's test with its p- and q-value, for the methods part."""
    if row[f"{against}_p"] is None or pd.isna(row[f"{against}_p"]):
        return "not tested"
    return f"{row[f'{against}_test']}, p {p_text(row[f'{against}_p'])}, q {p_text(row[f'{against}_q'])}"


def _figure_text(v) -> str:
    """A figure of the change table as people read it: a rate with its interval, a count or an amount."""
    if v is None:
        return "no data"
    if isinstance(v, dict):
        return str(Rate(v["k"], v["n"]))
    return fmt.number(v, 1 if isinstance(v, float) and abs(v) < 1000 else 0)


def _number(v) -> float | None:
    """The number a figure of the change table stands for (a rate's rate)."""
    if isinstance(v, dict):
        return v.get("rate")
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _change_text(row, against: str) -> str:
    """The verdict on one change in words, with its direction (``against``: previous or year_ago):
    ``up: better``, ``down: worse``, ``no clear change`` (could be chance), ``not compared``."""
    if row[f"{against}_p"] is None or pd.isna(row[f"{against}_p"]):
        return "not compared"
    if not row[f"{against}_significant"]:
        return "no clear change"
    now, before = _number(row["value"]), _number(row[against])
    if now is None or before is None or now == before:
        return "changed"
    up = now > before
    return f"{'up' if up else 'down'}: {'better' if up == bool(spec(row['figure'])[1]) else 'worse'}"


def review_changes(tables, period, window_days: int = 90, cutoff: pd.Timestamp | None = None) -> Changes:
    """Measure every figure for ``period``, last quarter and a year earlier (like for like) and test the changes."""
    cutoff = funnel.cutoff_of(tables, cutoff)
    first = data_start(tables)
    if first is None or period < first:
        raise MissingData(f"has no data in {period}" + ("" if first is None else f" (its data starts in {first})"))
    now, skipped = snapshot(tables, period, window_days, cutoff)
    if not now:
        raise MissingData("gives none of the review's figures: " + "; ".join(sorted(set(skipped.values()))))
    earlier, untested = {}, {}
    for label, q in (("previous", period.previous), ("year_ago", period.year_ago)):
        untested[label] = not_comparable(tables, q)
        earlier[label] = ({} if untested[label] else
                          snapshot(tables, q, window_days, lagged_cutoff(period, q, cutoff))[0])
    rows = []
    for name, fig in now.items():
        row = {"figure": name, "value": fig.shown()}
        for label, figs in earlier.items():
            before = figs.get(name)
            test, p = (compare(fig, before) if before is not None else
                       (f"none ({untested[label] or NO_DATA})", None))
            row.update({label: None if before is None else before.shown(), f"{label}_test": test, f"{label}_p": p})
        rows.append(row)
    t = pd.DataFrame(rows)
    for label in earlier:
        t[f"{label}_q"], t[f"{label}_significant"] = np.nan, False
    pv = [(i, label, t.at[i, f"{label}_p"]) for label in earlier for i in t.index if pd.notna(t.at[i, f"{label}_p"])]
    if pv:
        reject, q = benjamini_hochberg([p for _, _, p in pv], ALPHA)
        for (i, label, _), qi, ri in zip(pv, q, reject):
            t.at[i, f"{label}_q"], t.at[i, f"{label}_significant"] = float(qi), bool(ri)
    sla_def = tables.definitions.get("sla.yaml")
    partial = {label: why for label, why in untested.items() if why and why != NO_DATA}
    return Changes(t, skipped, sla_def.marketing.quarterly_volume if sla_def else None, str(period),
                   str(period.previous), str(period.year_ago), partial, funnel.conversion_key(tables)[2],
                   getattr(tables.config, "currency", ""))



# --------------------------------------------------------------------------- by group

@dataclass
class GroupChanges(Result):
    """The key conversion (MQL -> SQL on data that records both) per group (persona or source): now, last quarter,
    a year earlier, tested. ``conversion`` is its label (:func:`salign.review.funnel.conversion_key`)."""

    table: pd.DataFrame
    dimension: str
    period: str
    title: str = ""
    conversion: str = "MQL to SQL"

    def __post_init__(self):
        self.title = self.title or f"{self.conversion[:1].upper()}{self.conversion[1:]} conversion by {self.dimension}: what changed"

    @property
    def fell(self) -> pd.DataFrame:
        """Groups whose conversion fell significantly vs last quarter or a year earlier."""
        t = self.table
        return t[(t["previous_significant"] & (t["previous_delta"] < 0))
                 | (t["year_ago_significant"] & (t["year_ago_delta"] < 0))]

    def metrics(self) -> dict:
        out = {}
        for r in self.table.to_dict("records"):
            out[r["group"]] = {
                "value": r["value"].as_dict(),
                **{label: {"value": None if r[label] is None else r[label].as_dict(), "test": r[f"{label}_test"],
                           "p": None if pd.isna(r[f"{label}_p"]) else round(float(r[f"{label}_p"]), 6),
                           "q": None if pd.isna(r[f"{label}_q"]) else round(float(r[f"{label}_q"]), 6),
                           "significant": bool(r[f"{label}_significant"])} for label in ("previous", "year_ago")}}
        return {"by": self.dimension, "groups": out, "fell": sorted(self.fell["group"])}

    def blocks(self) -> list:
        t = self.table

        def cell(r, label):
            if r[label] is None:
                return "no data"
            mark = (" — clearly " + ("fell" if r[f"{label}_delta"] < 0 else "rose") + " since") if r[f"{label}_significant"] else ""
            return f"{r[label]}{mark}"

        shown = pd.DataFrame({self.dimension: t["group"], self.period: [str(v) for v in t["value"]],
                              "last quarter": [cell(r, "previous") for _, r in t.iterrows()],
                              "a year earlier": [cell(r, "year_ago") for _, r in t.iterrows()]})
        fell = self.fell
        lead = ("No group's conversion fell beyond chance." if fell.empty else
                "Conversion fell beyond chance for: " + ", ".join(fell["group"]) + ".")
        return [Paragraph(f"{lead} Measured like for like, as in the change table."), Table(shown)]

    def methods(self) -> list:
        return [Paragraph("Same like-for-like rule and tests as the change table; the comparisons of this table are "
                          "corrected for their number (Benjamini-Hochberg, false discoveries held at 5%). A "
                          "change marked 'clearly fell since' or 'clearly rose since' is one that survives that correction.")]


def by_group(tables, period, by: str = "persona", window_days: int = 90,
             cutoff: pd.Timestamp | None = None) -> GroupChanges:
    """The key cohort conversion (MQL -> SQL on data that records both) per ``by`` group now, last quarter and a
    year earlier (like for like)."""
    tables.require("leads", "stages")
    cutoff = funnel.cutoff_of(tables, cutoff)
    src, dst, _, conversion = funnel.conversion_key(tables)

    # a lead's group is read off its own row, so one labelling of the leads at ``cutoff`` serves every comparison
    # (an earlier cutoff's leads are among them)
    leads = tables.leads if by == "persona" else tables.leads[["lead_id", by]]  # a persona may read any column
    leads = leads.set_index("lead_id").reindex(funnel.stage_entries(tables, cutoff).at.index)
    groups = dimensions.persona(tables, leads) if by == "persona" else dimensions.label(leads[by])
    del leads

    def measure(q, c):
        entries = funnel.stage_entries(tables, c)
        r = funnel.cohort_rates(entries, q, src, dst, window_days, groups)
        return {g: Rate(int(k), int(n)) for g, k, n in zip(r["group"], r["k"], r["n"])}

    now = measure(period, cutoff)
    earlier = {label: {} if not_comparable(tables, q) else measure(q, lagged_cutoff(period, q, cutoff))
               for label, q in (("previous", period.previous), ("year_ago", period.year_ago))}
    rows = []
    for g, rate in sorted(now.items()):
        row = {"group": g, "value": rate}
        for label, rates_ in earlier.items():
            before = rates_.get(g)
            test, p = (compare(Figure(g, rate, kind="rate"), Figure(g, before, kind="rate"))
                       if before is not None else ("none (no data)", None))
            row.update({label: before, f"{label}_test": test, f"{label}_p": p,
                        f"{label}_delta": (rate.value or 0) - (before.value or 0) if before is not None and
                        before.n and rate.n else np.nan})
        rows.append(row)
    t = pd.DataFrame(rows, columns=["group", "value"] + [f"{label}{suffix}" for label in earlier
                                                         for suffix in ("", "_test", "_p", "_delta")])
    pv = [(i, label) for label in earlier for i in t.index if pd.notna(t.at[i, f"{label}_p"])]
    for label in earlier:
        t[f"{label}_q"], t[f"{label}_significant"] = np.nan, False
    if pv:
        reject, q = benjamini_hochberg([t.at[i, f"{label}_p"] for i, label in pv], ALPHA)
        for (i, label), qi, ri in zip(pv, q, reject):
            t.at[i, f"{label}_q"], t.at[i, f"{label}_significant"] = float(qi), bool(ri)
    return GroupChanges(t, by, str(period), conversion=conversion)
