"""Step 1: customers ranked by value, best vs worst, and each team's personas measured against them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign import plotting, render
from salign.stats import rates


def customer_profiles(tables) -> pd.DataFrame:
    """One row per customer (account with a won deal): account attributes, value components, first lead's attributes."""
    tables.require("accounts", "opportunities")
    opps = tables.opportunities
    won = opps[opps["outcome"] == "won"]
    if "amount" not in won.columns:
        won = won.assign(amount=np.nan)
    money = won.groupby("account_id").agg(won_revenue=("amount", "sum"), won_deals=("opportunity_id", "size"))
    acc = tables.accounts.set_index("account_id")
    prof = acc.join(money, how="inner")
    if tables.leads is not None and "account_id" in tables.leads.columns:
        first = (tables.leads.dropna(subset=["account_id"]).sort_values("created_at")
                 .drop_duplicates("account_id").set_index("account_id"))
        lead_cols = [c for c in ("source", "job_level", "department", "job_title") if c in first.columns]
        prof = prof.join(first[lead_cols])
    return prof.reset_index().rename(columns={"index": "account_id"})


@dataclass
class CustomerValue(render.Result):
    """Customers with their value and best/worst flags."""

    customers: pd.DataFrame
    best_share: float
    worst_share: float
    title: str = "Customers ranked by value"

    def metrics(self) -> dict:
        c = self.customers
        top = c.nlargest(max(1, len(c) // 10), "value")["value"].sum()
        total = c["value"].sum()
        return {"customers": len(c), "best": int(c["best"].sum()), "worst": int(c["worst"].sum()),
                "value_total": round(float(total), 2),
                "top_decile_value_share": round(float(top / total), 6) if total > 0 else None}

    def headline(self) -> dict:
        return {"customers": int(len(self.customers))}

    def html_body(self) -> str:
        m = self.metrics()
        head = (f"<p>{m['customers']:,} customers; best {m['best']:,} (top {self.best_share:.0%} by value), "
                f"worst {m['worst']:,} (bottom {self.worst_share:.0%}, plus churned). "
                f"The top decile holds {render.percent(m['top_decile_value_share'])} of all value.</p>")
        cols = [c for c in ("account_id", "industry", "employees", "won_revenue", "gross_margin", "value", "best", "worst")
                if c in self.customers.columns]
        return head + render.table(self.customers.sort_values("value", ascending=False)[cols].round(3), max_rows=10)

    def figure(self):
        """Sorted customer value with the best and worst groups coloured."""
        c = self.customers.sort_values("value", ascending=False).reset_index(drop=True)
        fig, ax = plotting.figure()
        colors = np.where(c["best"], plotting.COLORS["good"], np.where(c["worst"], plotting.COLORS["bad"],
                                                                      plotting.COLORS["muted"]))
        ax.bar(c.index, c["value"], color=colors, width=1.0)
        ax.set_title("Customer value, highest first (green: best, red: worst)")
        ax.set_xlabel("customers ranked by value")
        ax.set_ylabel("value")
        return fig


def customer_value(tables, best_share: float = 0.2, worst_share: float = 0.2) -> CustomerValue:
    """Rank customers by value = won revenue x gross margin (won revenue alone if margin is unknown).

    Churned customers count as worst whatever their value.
    """
    prof = customer_profiles(tables)
    margin = prof["gross_margin"].fillna(1.0) if "gross_margin" in prof.columns else 1.0
    prof["value"] = prof["won_revenue"].fillna(0) * margin
    rank = prof["value"].rank(pct=True, method="first")
    churned = prof["churned_at"].notna() if "churned_at" in prof.columns else False
    prof["best"] = (rank > 1 - best_share) & ~churned
    prof["worst"] = (rank <= worst_share) | churned
    return CustomerValue(prof, best_share, worst_share)


@dataclass
class TeamPersonas(render.Result):
    """Each team's personas applied to the customers: coverage, value, best and worst shares."""

    summary: pd.DataFrame
    title: str = "Both teams' personas against the customers"

    def metrics(self) -> dict:
        return {f"{r.team}.{r.persona}": {"customers": int(r.customers), "best": int(r.best), "worst": int(r.worst)}
                for r in self.summary.itertuples()}

    def html_body(self) -> str:
        s = self.summary.copy()
        s["best share"] = [render.rate_cell(k, n, lo, hi) for k, n, lo, hi in
                           zip(s["best"], s["customers"], s["best_lo"], s["best_hi"])]
        s["worst share"] = [render.rate_cell(k, n, lo, hi) for k, n, lo, hi in
                            zip(s["worst"], s["customers"], s["worst_lo"], s["worst_hi"])]
        return render.table(s[["team", "persona", "customers", "value_share", "best share", "worst share"]]
                            .assign(value_share=s["value_share"].map(render.percent)))

    def figure(self):
        s = self.summary
        fig, ax = plotting.figure()
        y = np.arange(len(s))
        ax.barh(y - 0.2, s["best"] / s["customers"].clip(lower=1), height=0.4, color=plotting.COLORS["good"], label="best")
        ax.barh(y + 0.2, s["worst"] / s["customers"].clip(lower=1), height=0.4, color=plotting.COLORS["bad"], label="worst")
        ax.set_yticks(y, [f"{t}: {p}" for t, p in zip(s["team"], s["persona"])])
        plotting.percent_axis(ax, "x")
        ax.set_title("Share of best and worst customers in each persona")
        ax.legend()
        return fig


def team_personas(tables, value: CustomerValue) -> TeamPersonas:
    """Apply ``personas.marketing.yaml`` and ``personas.sales.yaml`` to the valued customers."""
    c = value.customers
    rows = []
    for team in ("marketing", "sales"):
        pset = tables.definition(f"personas.{team}.yaml")
        member = pset.assign(c)
        for pid in member.columns:
            m = member[pid]
            rows.append({"team": team, "persona": pid, "customers": int(m.sum()), "best": int((m & c["best"]).sum()),
                         "worst": int((m & c["worst"]).sum()),
                         "value_share": float(c.loc[m, "value"].sum() / c["value"].sum()) if c["value"].sum() else np.nan})
    s = pd.DataFrame(rows)
    b, w = rates(s["best"], s["customers"]), rates(s["worst"], s["customers"])
    s["best_lo"], s["best_hi"], s["worst_lo"], s["worst_hi"] = b["ci_low"], b["ci_high"], w["ci_low"], w["ci_high"]
    return TeamPersonas(s)
