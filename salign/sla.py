"""Step 4: both teams' service-level agreements measured for one period."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign import plotting, render
from salign.features import first_reached
from salign.stats import Duration, Rate, kaplan_meier

FOLLOW_UP_TYPES = ("call", "email", "meeting")


def handoffs(tables, period) -> pd.DataFrame:
    """MQLs handed to sales in ``period`` (first MQL), with hours to the first sales follow-up.

    ``hours`` is censored (``followed_up`` False) at the period end when no follow-up happened by then.
    """
    tables.require("leads", "stages", "activities")
    firsts = first_reached(tables.stages)
    mql = firsts["mql"].dropna()
    mql = mql[period.contains(mql)].rename("mql_at").to_frame()
    acts = tables.activities
    touch = acts[(acts["team"] == "sales") & acts["type"].isin(FOLLOW_UP_TYPES) & acts["lead_id"].isin(mql.index)]
    touch = touch.join(mql, on="lead_id")
    touch = touch[touch["at"] >= touch["mql_at"]]
    first_touch = touch.groupby("lead_id")["at"].min()
    mql["first_follow_up"] = first_touch.reindex(mql.index)
    mql["followed_up"] = mql["first_follow_up"].notna() & (mql["first_follow_up"] < period.end)
    end = mql["first_follow_up"].where(mql["followed_up"], period.end)
    mql["hours"] = (end - mql["mql_at"]).dt.total_seconds() / 3600
    owner = tables.leads.set_index("lead_id")["owner"] if "owner" in tables.leads.columns else None
    mql["owner"] = owner.reindex(mql.index) if owner is not None else np.nan
    return mql


@dataclass
class SLAScorecard(render.Result):
    delivered: int
    commitment: int
    follow_up: Rate
    follow_up_target: float
    max_hours: float
    time_to_follow_up: Duration
    period: str
    title: str = "Service-level agreements"

    def metrics(self) -> dict:
        return {"sales_ready_leads": self.delivered, "sales_ready_leads_commitment": self.commitment,
                "marketing_volume_met": self.delivered >= self.commitment,
                "follow_up_within_sla": self.follow_up.as_dict(),
                "follow_up_met": bool(self.follow_up.value is not None and self.follow_up.value >= self.follow_up_target),
                "hours_to_first_follow_up": self.time_to_follow_up.as_dict()}

    def headline(self) -> dict:
        return {"sales_ready_leads": self.delivered, "sales_ready_leads_commitment": self.commitment,
                "follow_up_within_sla": self.follow_up.as_dict()}

    def html_body(self) -> str:
        rows = pd.DataFrame([
            {"team": "marketing", "commitment": f"{self.commitment:,} sales-ready leads per quarter",
             "measured": f"{self.delivered:,}", "met": "yes" if self.delivered >= self.commitment else "no"},
            {"team": "sales", "commitment": f"{self.follow_up_target:.0%} followed up within {self.max_hours:g} h",
             "measured": str(self.follow_up), "met": "yes" if self.metrics()["follow_up_met"] else "no"},
        ])
        return render.table(rows) + f"<p>Hours from handoff to first follow-up: {render.esc(self.time_to_follow_up)}</p>"


def sla_scorecard(tables, period) -> SLAScorecard:
    """Marketing's volume and sales' follow-up speed against ``sla.yaml``."""
    sla = tables.definition("sla.yaml")
    h = handoffs(tables, period)
    max_h = sla.sales.max_hours_to_first_follow_up
    window_elapsed = h["mql_at"] + pd.Timedelta(hours=max_h) <= period.end
    due = h[window_elapsed]
    met = due["followed_up"] & (due["hours"] <= max_h)
    duration, _ = kaplan_meier(h["hours"], h["followed_up"])
    return SLAScorecard(len(h), sla.marketing.sales_ready_leads_per_quarter, Rate(int(met.sum()), len(due)),
                        sla.sales.follow_up_attainment_target, max_h, duration, str(period))


def follow_up_figure(tables, period):
    """Kaplan-Meier curve: share of the period's MQLs not yet followed up, by hours since handoff."""
    h = handoffs(tables, period)
    _, km = kaplan_meier(h["hours"], h["followed_up"])
    fig, ax = plotting.figure()
    if km is not None:
        sf = km.survival_function_.iloc[:, 0]
        ax.step(sf.index, sf.to_numpy(), where="post", color=plotting.COLORS["sales"])
    sla = tables.definition("sla.yaml")
    ax.axvline(sla.sales.max_hours_to_first_follow_up, color=plotting.COLORS["bad"], ls="--", label="SLA")
    ax.set_xlim(0, max(5 * sla.sales.max_hours_to_first_follow_up, 1))
    plotting.percent_axis(ax)
    ax.set_xlabel("hours since handoff")
    ax.set_ylabel("not yet followed up")
    ax.set_title(f"Time to first follow-up, MQLs of {period} (Kaplan-Meier)")
    ax.legend()
    return fig
