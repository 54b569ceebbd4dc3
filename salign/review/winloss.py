"""Step 7: win/loss of the deals closed in the period, the sales cycle and the key accounts.

- A deal *closed in the period* has outcome won or lost and ``closed_at`` in it;
  the win rate is won / (won + lost).
- Breakdowns by persona, segment, source, product and rep (those the data has,
  see :mod:`salign.review.dimensions`) test each group against the rest of its
  breakdown (Fisher's exact test) and control the false discovery rate over
  all groups at once (Benjamini-Hochberg).
- The *sales cycle* is the days from a deal's ``created_at`` to its close (won
  or lost), Kaplan-Meier over the deals created in the period and the quarters
  before it (``lookback_quarters`` in all); deals still open at the cutoff are
  censored there.
- *Key accounts* are the accounts with ``tier`` ``key`` when the workspace
  uses tiers, otherwise the largest tenth of accounts by the amount of their
  deals.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact, mannwhitneyu

from salign.common import followups, plotting
from salign.common.result import Paragraph, Result, Table
from salign.common.stats import Duration, Rate, benjamini_hochberg, kaplan_meier, rates
from salign.core import fmt
from salign.review import dimensions, funnel, words
from salign.review.handoff import clean_reason
from salign.workspace.tables import MissingData

DIMENSIONS = ("persona", "segment", "source", "product", "rep")
KEY_SHARE = 0.10
DAY = pd.Timedelta(days=1)


def deals(tables) -> pd.DataFrame:
    """Opportunities with the attributes the review cuts by (persona, segment, source, product, rep, account fields)."""
    tables.require("opportunities")
    o = tables.opportunities.copy()
    leads = None
    if tables.leads is not None and "lead_id" in o.columns:
        mine = tables.leads[tables.leads["lead_id"].isin(o["lead_id"])]  # the deals' leads, not a copy of all
        leads = mine.set_index("lead_id").reindex(o["lead_id"])
        o["source"] = dimensions.label(leads["source"]).to_numpy()
        try:
            o["persona"] = dimensions.persona(tables, leads).to_numpy()
        except MissingData:
            pass
        if "job_level" in leads.columns:
            o["job_level"] = dimensions.label(leads["job_level"]).to_numpy()
    employees = pd.Series(np.nan, index=o.index)
    if tables.accounts is not None and "account_id" in o.columns:
        acc = tables.accounts[tables.accounts["account_id"].isin(o["account_id"])]
        acc = acc.set_index("account_id").reindex(o["account_id"])
        for col in ("name", "industry", "tier"):
            if col in acc.columns:
                o[f"account_{col}"] = acc[col].to_numpy()
        if "employees" in acc.columns:
            employees = pd.Series(acc["employees"].to_numpy(), index=o.index)
    if leads is not None and "employees" in leads.columns:
        employees = employees.fillna(pd.Series(leads["employees"].to_numpy(), index=o.index))
    if employees.notna().any():
        o["segment"] = dimensions.segment(employees)
    for col, src in (("product", "product"), ("rep", "owner")):
        if src in o.columns:
            o[col] = dimensions.label(o[src])
    return o


def closed_in(o: pd.DataFrame, period) -> pd.DataFrame:
    """Deals won or lost in ``period``; :class:`MissingData` without ``closed_at``."""
    if "closed_at" not in o.columns:
        raise MissingData("has no 'closed_at' on opportunities, so deals cannot be placed in a period")
    return o[o["outcome"].isin(["won", "lost"]) & period.contains(o["closed_at"])]


def breakdown(closed: pd.DataFrame, dims, alpha: float = 0.05) -> pd.DataFrame:
    """Win rate per group of each dimension in ``dims``, with Fisher p against the rest and BH q over all groups."""
    won = closed["outcome"].eq("won")
    k_all, n_all = int(won.sum()), len(closed)
    rows = []
    for dim in dims:
        g = won.groupby(closed[dim]).agg(["sum", "size"])
        for value, (k, n) in g.iterrows():
            p = fisher_exact([[k, n - k], [k_all - k, n_all - n - (k_all - k)]])[1] if n < n_all else 1.0
            rows.append({"dimension": dim, "group": str(value), "k": int(k), "n": int(n), "p": p})
    t = pd.DataFrame(rows, columns=["dimension", "group", "k", "n", "p"])
    t = pd.concat([t, rates(t["k"], t["n"])[["rate", "ci_low", "ci_high"]]], axis=1)
    reject, q = benjamini_hochberg(t["p"], alpha)
    t["q_value"], t["differs"] = q, reject
    return t


@dataclass
class WinLoss(Result):
    """Win rate of the period's closed deals, by group, and why deals were lost."""

    overall: Rate
    by: pd.DataFrame
    loss_reasons: pd.DataFrame
    pipeline: float
    pipeline_deals: int
    period: str
    currency: str = ""
    title: str = "Win/loss of deals closed in the quarter"

    def metrics(self) -> dict:
        groups = {}
        for r in self.by.itertuples():
            groups.setdefault(r.dimension, {})[r.group] = {**Rate(r.k, r.n).as_dict(), "q_value": round(float(r.q_value), 6),
                                                          "differs": bool(r.differs)}
        return {"win_rate": self.overall.as_dict(), "by": groups,
                "loss_reasons": {r.reason: int(r.count) for r in self.loss_reasons.itertuples()},
                "pipeline_created": round(self.pipeline, 2), "opportunities_created": self.pipeline_deals}

    @property
    def figure_description(self) -> str:
        return (f"Horizontal bars: the win rate of the deals closed in {self.period} by "
                f"{self._figure_dimension or 'group'}, with 95% intervals, against the rate of all deals.")

    @property
    def _figure_dimension(self) -> str | None:
        """The breakdown the figure shows: product, else the first one the data has."""
        dims = list(dict.fromkeys(self.by["dimension"]))
        return "product" if "product" in dims else (dims[0] if dims else None)

    def blocks(self) -> list:
        b = self.by
        shown = pd.DataFrame({"by": b["dimension"], "group": b["group"],
                              "win rate": [fmt.rate(*r) for r in zip(b["k"], b["n"], b["ci_low"], b["ci_high"])],
                              "different from the rest of its breakdown?": [
                                  ("yes, wins more often" if higher else "yes, wins less often") if differs
                                  else "no clear difference" for differs, higher in zip(b["differs"], self._above_rest)]})
        diff = b[b["differs"]]
        lead = ("No group's win rate differs from the rest beyond chance."
                if diff.empty else "Groups whose win rate differs from the rest beyond chance: "
                + "; ".join(f"{r.dimension} {r.group} {fmt.percent(r.rate, 0)} "
                            f"({'higher' if higher else 'lower'} than the rest)"
                            for r, higher in zip(diff.itertuples(), self._above_rest[b["differs"].to_numpy(bool)])) + ".")
        lr = self.loss_reasons
        return [Paragraph(f"Deals closed in {self.period}: win rate {self.overall}. {lead} Pipeline created in the "
                          f"quarter: {fmt.money(self.pipeline, self.currency)} across {fmt.count(self.pipeline_deals)} new "
                          "opportunities."),
                Table(shown, caption="Win rate by group, each against the rest of its breakdown"),
                Table(lr.assign(count=lr["count"].map(fmt.count)), caption="Why deals were lost") if len(lr) else
                Paragraph("The data records no reason for any lost deal of the quarter.")]

    @property
    def _above_rest(self) -> np.ndarray:
        """Per group: is its win rate above that of the rest of its breakdown?"""
        b = self.by
        k, n = b.groupby("dimension")["k"].transform("sum"), b.groupby("dimension")["n"].transform("sum")
        rest = (k - b["k"]) / (n - b["n"]).where(n > b["n"])
        return (b["rate"] > rest).to_numpy(bool)

    def methods(self) -> list:
        b = self.by
        tests = pd.DataFrame({"by": b["dimension"], "group": b["group"],
                              "q-value": [fmt.p_value(x) for x in b["q_value"]]})
        return [Paragraph("Win rate by group: Fisher's exact test of each group against the rest of its breakdown, "
                          "Benjamini-Hochberg control of false discoveries at 5% over all groups at once (a group "
                          "differs when its q-value is below 0.05). Win rates carry Wilson 95% intervals."),
                Table(tests, caption="Win rate by group: the tests")]

    def draw(self):
        """Win rate by product (else by the first breakdown the data has), with intervals and the overall rate."""
        dim = self._figure_dimension
        b = self.by[self.by["dimension"] == dim].sort_values("rate")
        fig, ax = plotting.figure()
        if len(b):
            ax.barh(b["group"], b["rate"].fillna(0), color=plotting.COLORS["sales"],
                    xerr=plotting.rate_error(b), capsize=3)
            ax.axvline(self.overall.value or 0, color=plotting.COLORS["ink"], ls="--", label="all deals")
            ax.legend()
            ax.set_title(f"Win rate by {dim}, deals closed in {self.period} (95% CI)")
        plotting.percent_axis(ax, "x")
        return fig


def win_loss(tables, period, dims=DIMENSIONS, cutoff: pd.Timestamp | None = None) -> WinLoss:
    """Win rate of opportunities closed (won or lost) in ``period`` before the cutoff, overall and by each dimension
    the data has."""
    cutoff = funnel.cutoff_of(tables, cutoff)
    o = deals(tables)
    o = o[o["created_at"] < cutoff]
    closed = closed_in(o, period)
    closed = closed[closed["closed_at"] < cutoff]
    present = [d for d in dims if d in closed.columns]
    lost = closed[closed["outcome"] == "lost"]
    if "loss_reason" in lost.columns and lost["loss_reason"].notna().any():
        lr = clean_reason(lost["loss_reason"]).value_counts().rename_axis("reason").reset_index(name="count")
    else:
        lr = pd.DataFrame({"reason": pd.Series(dtype=str), "count": pd.Series(dtype=int)})
    created = o[period.contains(o["created_at"])]
    amount = created["amount"].fillna(0).sum() if "amount" in created.columns else np.nan
    return WinLoss(Rate(int(closed["outcome"].eq("won").sum()), len(closed)), breakdown(closed, present),
                   lr.sort_values(["count", "reason"], ascending=[False, True]).reset_index(drop=True),
                   float(amount), len(created), str(period), getattr(tables.config, "currency", ""))


# --------------------------------------------------------------------------- sales cycle

@dataclass
class SalesCycle(Result):
    """Days from opportunity to close (Kaplan-Meier; open deals censored)."""

    overall: Duration
    by_outcome: dict
    since: str
    period: str
    curve: object = field(default=None, repr=False)
    title: str = "Sales cycle"

    def metrics(self) -> dict:
        return {"since": self.since, "days_to_close": self.overall.as_dict(),
                "median_days_closed_deals": {k: v for k, v in self.by_outcome.items()}}

    figure_description = ("A curve: the share of deals still open by days since the opportunity was "
                          "created; deals still open at the end of the data count as open.")

    def blocks(self) -> list:
        closed = ", ".join(f"{k} {fmt.days(v, 0)} days" for k, v in self.by_outcome.items() if v is not None)
        return [Paragraph(f"Deals created from {self.since} to the end of {self.period}: time to close (won or lost), "
                          f"{words.plain(self.overall, 'closed')}. Deals still open count as open, so long cycles are "
                          f"not hidden. Median of the deals already closed, by outcome: {closed}.")]

    def methods(self) -> list:
        return [Paragraph(words.method(self.overall, "Days to close") + " Deals still open are censored at the end "
                          "of the data, not dropped.")]

    def draw(self):
        fig, ax = plotting.figure()
        if self.curve is not None:
            sf = self.curve.survival_function_.iloc[:, 0]
            ax.step(sf.index, sf.to_numpy(), where="post", color=plotting.COLORS["sales"])
        plotting.percent_axis(ax)
        ax.set_xlabel("days since the opportunity was created")
        ax.set_ylabel("still open")
        ax.set_title(f"Sales cycle, deals created {self.since} to {self.period}")
        return fig


def cycle_frame(o: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Deals created in [start, end): ``days`` to close or to the cutoff, ``observed`` (closed by the cutoff)."""
    c = o[(o["created_at"] >= start) & (o["created_at"] < end) & (o["created_at"] < cutoff)]
    closed_at = c["closed_at"] if "closed_at" in c.columns else pd.Series(pd.NaT, index=c.index)
    done = c["outcome"].isin(["won", "lost"]) & closed_at.notna() & (closed_at < cutoff)
    stop = closed_at.where(done, cutoff)
    return pd.DataFrame({"days": (stop - c["created_at"]) / DAY, "observed": done, "outcome": c["outcome"]})


def sales_cycle(tables, period, lookback_quarters: int = 4, cutoff: pd.Timestamp | None = None) -> SalesCycle:
    """Kaplan-Meier sales cycle of the deals created in the ``lookback_quarters`` ending with ``period``."""
    tables.require("opportunities")
    cutoff = funnel.cutoff_of(tables, cutoff)
    start = period.shift(1 - lookback_quarters)
    f = cycle_frame(tables.opportunities, start.start, period.end, cutoff)
    duration, km = kaplan_meier(f["days"], f["observed"], unit="days")
    by_outcome = {k: round(float(f.loc[f["observed"] & (f["outcome"] == k), "days"].median()), 2)
                  if (f["observed"] & (f["outcome"] == k)).any() else None for k in ("won", "lost")}
    return SalesCycle(duration, by_outcome, str(start), str(period), km)


# --------------------------------------------------------------------------- key accounts

@dataclass
class KeyAccounts(Result):
    """Key accounts' wins and losses, and the deal attributes that separate won from lost."""

    how: str
    accounts: pd.DataFrame
    contrasts: pd.DataFrame
    n_key: int
    since: str
    period: str
    currency: str = ""
    title: str = "Key accounts: wins and losses"

    def metrics(self) -> dict:
        a = self.accounts
        return {"key_accounts": self.n_key, "how": self.how, "since": self.since,
                "with_closed_deals": len(a), "won": sorted(a.loc[a["won"] > 0, "account_id"]),
                "lost_only": sorted(a.loc[(a["won"] == 0) & (a["lost"] > 0), "account_id"]),
                "lost_only_at_stake": {r.account_id: None if pd.isna(r.amount_lost) else round(float(r.amount_lost), 2)
                                       for r in self.lost_only.sort_values("account_id").itertuples()},
                "distinguishing": [{"attribute": r.attribute, "won": r.won, "lost": r.lost,
                                    "q_value": round(float(r.q_value), 6)}
                                   for r in self.contrasts[self.contrasts["differs"]].itertuples()]}

    def blocks(self) -> list:
        money = lambda x: fmt.money(x, self.currency)  # noqa: E731
        a = self.accounts.assign(**{"amount won": self.accounts["amount_won"].map(money),
                                    "amount lost": self.accounts["amount_lost"].map(money)})
        cols = [c for c in ("account", "industry", "segment", "won", "lost", "amount won", "amount lost")
                if c in a.columns]
        gone = self.lost_only.assign(**{"amount at stake": self.lost_only["amount_lost"].map(money)})
        gone_cols = [c for c in ("account", "industry", "segment", "lost", "amount at stake") if c in gone.columns]
        won_any = a[a["won"] > 0]
        c = self.contrasts
        shown = pd.DataFrame({"attribute": c["attribute"], "won deals": c["won"], "lost deals": c["lost"],
                              "different between won and lost?": [
                                  ("yes, higher in won deals" if up else "yes, higher in lost deals") if differs
                                  else "no clear difference" for differs, up in zip(c["differs"], c["won_higher"])]})
        found = c[c["differs"]]
        lead = ("Nothing separates their won deals from the lost ones beyond chance." if found.empty else
                "What separates their won deals from the lost ones: "
                + "; ".join(f"{r.attribute} (won {r.won}, lost {r.lost})" for r in found.itertuples()) + ".")
        return [Paragraph(f"{fmt.count(self.n_key)} key accounts ({self.how}); {fmt.count(len(a))} of them closed "
                          f"deals from {self.since} to the end of {self.period}. {lead}"),
                Table(shown.head(12), caption="Won vs lost deals of key accounts: share or median among won and lost "
                                              "deals"),
                Table(won_any[cols], caption=f"Key accounts that won a deal ({fmt.count(len(won_any))}), by amount won",
                      max_rows=max(len(won_any), 1)),
                Table(gone[gone_cols], caption=f"Key accounts that only lost ({fmt.count(len(gone))}): every one, "
                                               "with the amount of the lost deals at stake", max_rows=max(len(gone), 1))
                if len(gone) else Paragraph("No key account only lost deals in this time.")]

    @property
    def lost_only(self) -> pd.DataFrame:
        """The key accounts with lost deals and no won one, largest amount at stake first."""
        a = self.accounts
        return a[(a["won"] == 0) & (a["lost"] > 0)].sort_values(["amount_lost", "account_id"],
                                                                 ascending=[False, True])

    def methods(self) -> list:
        c = self.contrasts.head(12)
        return [Paragraph("Won vs lost deals of key accounts: Fisher's exact test for shares, Mann-Whitney test for "
                          "medians, Benjamini-Hochberg control of false discoveries at 5% over all of them (an "
                          "attribute differs when its q-value is below 0.05)."),
                Table(pd.DataFrame({"attribute": c["attribute"], "q-value": [fmt.p_value(x) for x in c["q_value"]]}),
                      caption="Won vs lost deals of key accounts: the tests")]


def contrasts(closed: pd.DataFrame, categorical, numeric, alpha: float = 0.05, currency: str = "") -> pd.DataFrame:
    """Won vs lost deals: share of each category value, median of each number (``amount`` in ``currency``);
    BH-controlled tests."""
    won = closed["outcome"].eq("won")
    rows = []
    for col in categorical:
        for value in sorted(closed[col].dropna().astype(str).unique()):
            has = closed[col].astype(str).eq(value)
            a, b = int((has & won).sum()), int((has & ~won).sum())
            p = fisher_exact([[a, int(won.sum()) - a], [b, int((~won).sum()) - b]])[1]
            rows.append({"attribute": f"{col} = {value}", "won": fmt.percent(a / max(int(won.sum()), 1), 0),
                         "lost": fmt.percent(b / max(int((~won).sum()), 1), 0), "p": p,
                         "won_higher": a / max(int(won.sum()), 1) > b / max(int((~won).sum()), 1)})
    for col in numeric:
        x, y = closed.loc[won, col].dropna(), closed.loc[~won, col].dropna()
        if len(x) and len(y):
            shown = (lambda v: fmt.money(v, currency)) if col == "amount" else (lambda v: fmt.number(v, 0))
            rows.append({"attribute": f"median {col.replace('_', ' ')}", "won": shown(x.median()),
                         "lost": shown(y.median()), "p": mannwhitneyu(x, y).pvalue,
                         "won_higher": bool(x.median() > y.median())})
    t = pd.DataFrame(rows, columns=["attribute", "won", "lost", "p", "won_higher"])
    reject, q = benjamini_hochberg(t["p"], alpha)
    t["q_value"], t["differs"] = q, reject
    return t.sort_values("q_value").reset_index(drop=True)


def key_account_ids(tables, o: pd.DataFrame) -> tuple[pd.Index, str]:
    """The key accounts and how they were chosen (tier ``key``, else the top tenth by deal amount)."""
    acc = tables.accounts
    if acc is not None and "tier" in acc.columns and acc["tier"].astype(str).str.lower().eq("key").any():
        return pd.Index(acc.loc[acc["tier"].astype(str).str.lower().eq("key"), "account_id"]), "tier: key"
    if "amount" not in o.columns or "account_id" not in o.columns:
        raise MissingData("has neither account tiers nor deal amounts, so key accounts cannot be told")
    total = o.groupby("account_id")["amount"].sum().sort_values(ascending=False)
    n = max(1, int(round(len(total) * KEY_SHARE)))
    return pd.Index(total.index[:n]), f"no tiers in the data: the largest {KEY_SHARE:.0%} of accounts by deal amount"


def key_accounts(tables, period, lookback_quarters: int = 4, start=None,
                 cutoff: pd.Timestamp | None = None) -> KeyAccounts:
    """Wins and losses of key accounts over the ``lookback_quarters`` ending with ``period`` (or from ``start``),
    closed before the cutoff."""
    cutoff = funnel.cutoff_of(tables, cutoff)
    o = deals(tables)
    o = o[o["created_at"] < cutoff]
    if "closed_at" not in o.columns:
        raise MissingData("has no 'closed_at' on opportunities, so deals cannot be placed in a period")
    ids, how = key_account_ids(tables, o)
    start = period.shift(1 - lookback_quarters) if start is None else start
    closed = o[o["outcome"].isin(["won", "lost"]) & (o["closed_at"] >= start.start) & (o["closed_at"] < period.end)
               & (o["closed_at"] < cutoff) & o["account_id"].isin(ids)].copy()
    closed["cycle_days"] = (closed["closed_at"] - closed["created_at"]) / DAY
    if tables.activities is not None and "lead_id" in closed.columns:
        closed["sales_touches"] = closed["opportunity_id"].map(followups.sales_touches(tables, closed)).fillna(0)
    won = closed["outcome"].eq("won")
    amount = closed["amount"] if "amount" in closed.columns else pd.Series(np.nan, index=closed.index)
    per = pd.DataFrame({"account_id": closed["account_id"], "won": won, "lost": ~won,
                        "amount_won": amount.where(won, 0).fillna(0)}).groupby("account_id").sum()
    per["amount_lost"] = amount.where(~won, 0).groupby(closed["account_id"]).sum(min_count=1).reindex(per.index)
    info = pd.DataFrame(index=per.index)
    for col, name in (("account_name", "account"), ("account_industry", "industry"), ("segment", "segment")):
        if col in closed.columns:
            info[name] = closed.groupby("account_id")[col].first()
    per = info.join(per).reset_index().sort_values(["amount_won", "won"], ascending=False)
    cats = [c for c in ("product", "source", "persona", "segment", "job_level") if c in closed.columns]
    nums = [c for c in ("cycle_days", "sales_touches", "amount") if c in closed.columns]
    currency = getattr(tables.config, "currency", "")
    return KeyAccounts(how, per.reset_index(drop=True), contrasts(closed, cats, nums, currency=currency), len(ids),
                       str(start), str(period), currency)
