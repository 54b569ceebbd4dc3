"""Step 7: win/loss of deals closed in the period."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from salign import plotting, render
from salign.stats import Rate, rates


@dataclass
class WinLoss(render.Result):
    overall: Rate
    by: pd.DataFrame
    dimension: str
    period: str
    title: str = "Win/loss of deals closed in the period"

    def metrics(self) -> dict:
        return {"win_rate": self.overall.as_dict()}

    def headline(self) -> dict:
        return {"win_rate": self.overall.as_dict()}

    def html_body(self) -> str:
        b = self.by
        shown = pd.DataFrame({self.dimension: b[self.dimension],
                              "win rate": [render.rate_cell(*r) for r in zip(b["k"], b["n"], b["ci_low"], b["ci_high"])]})
        return f"<p>Win rate in {self.period}: {render.esc(self.overall)}.</p>" + render.table(shown)

    def figure(self):
        b = self.by.sort_values("rate")
        fig, ax = plotting.figure()
        ax.barh(b[self.dimension].astype(str), b["rate"], color=plotting.COLORS["sales"],
                xerr=[b["rate"] - b["ci_low"], b["ci_high"] - b["rate"]], capsize=3)
        plotting.percent_axis(ax, "x")
        ax.set_title(f"Win rate by {self.dimension}, deals closed in {self.period} (95% CI)")
        return fig


def win_loss(tables, period, by: str = "product") -> WinLoss:
    """Win rate of opportunities closed (won or lost) in ``period``, overall and by ``by``."""
    tables.require("opportunities")
    o = tables.opportunities
    if "closed_at" not in o.columns:
        from salign.tables import MissingData

        raise MissingData("has no 'closed_at' on opportunities, so deals cannot be placed in a period")
    closed = o[o["outcome"].isin(["won", "lost"]) & period.contains(o["closed_at"])]
    dim = by if by in closed.columns else "outcome"
    won = closed["outcome"].eq("won")
    g = won.groupby(closed[dim].fillna("(unknown)")).agg(["sum", "size"])
    table = rates(g["sum"], g["size"]).rename_axis(dim).reset_index()
    return WinLoss(Rate(int(won.sum()), len(closed)), table, dim, str(period))
