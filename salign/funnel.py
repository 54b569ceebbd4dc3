"""Step 6: one shared funnel from lead to won, cohort-based."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from salign import plotting, render
from salign.features import lead_facts
from salign.stats import Rate, rates

FUNNEL = ("lead", "mql", "sal", "sql", "opportunity", "won")


@dataclass
class Funnel(render.Result):
    """Share of the period's new leads that reached each stage within the window."""

    table: pd.DataFrame
    period: str
    window_days: int
    title: str = "The shared funnel"

    def metrics(self) -> dict:
        return {r.stage: {"k": int(r.k), "n": int(r.n), "rate": None if pd.isna(r.rate) else round(float(r.rate), 6)}
                for r in self.table.itertuples()}

    def headline(self) -> dict:
        row = self.table.set_index("stage").loc["sql"]
        return {"leads_reaching_sql": Rate(int(row.k), int(row.n)).as_dict()}

    def html_body(self) -> str:
        t = self.table
        shown = pd.DataFrame({"stage": t["stage"], "leads reaching it": t["k"].map("{:,}".format),
                              f"share of {self.period} leads": [render.rate_cell(*r) for r in
                                                                 zip(t["k"], t["n"], t["ci_low"], t["ci_high"])]})
        return (f"<p>Cohort: leads created in {self.period}, followed for {self.window_days} days.</p>"
                + render.table(shown))

    def figure(self):
        t = self.table
        fig, ax = plotting.figure()
        ax.bar(t["stage"], t["rate"], color=plotting.COLORS["common"])
        ax.errorbar(t["stage"], t["rate"], yerr=[t["rate"] - t["ci_low"], t["ci_high"] - t["rate"]], fmt="none",
                    color=plotting.COLORS["ink"], capsize=3)
        plotting.percent_axis(ax)
        ax.set_title(f"Leads created in {self.period} reaching each stage within {self.window_days} days")
        return fig


def cohort_funnel(tables, period, window_days: int = 90) -> Funnel:
    """Cohort funnel: leads created in ``period``, each followed ``window_days`` from creation."""
    facts = lead_facts(tables)
    cohort = facts[period.contains(facts["created_at"])]
    limit = cohort["created_at"] + pd.Timedelta(days=window_days)
    rows = []
    for stage in FUNNEL:
        reached = cohort[f"at_{stage}"].notna() & (cohort[f"at_{stage}"] <= limit) if stage != "lead" else \
            pd.Series(True, index=cohort.index)
        rows.append({"stage": stage, "k": int(reached.sum()), "n": len(cohort)})
    t = pd.DataFrame(rows)
    t[["rate", "ci_low", "ci_high"]] = rates(t["k"], t["n"])[["rate", "ci_low", "ci_high"]]
    return Funnel(t, str(period), window_days)
