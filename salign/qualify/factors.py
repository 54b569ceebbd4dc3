"""What drives the score: each feature's weight across the holdout leads, and one lead's points explained."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.common import plotting
from salign.common.result import Paragraph, Result, Table
from salign.core import fmt
from salign.scoring.score import Reasons

#: the explained lead sits at this quantile of the holdout scores (a lead in the top decile)
SAMPLE_QUANTILE = 0.9


@dataclass
class Factors(Result):
    """Global: how much each feature moves scores; local: one holdout lead's points, feature by feature."""

    global_: pd.DataFrame
    lead: pd.DataFrame
    lead_id: str
    lead_score: int
    lead_probability: float
    reasons: list[str]
    title: str = "What drives the score"
    figure_description = ("Horizontal bars, largest at the top: how much each scorecard feature's points vary across "
                          "the holdout leads (standard deviation).")

    def metrics(self) -> dict:
        return {"global": [{"feature": r.feature, "spread": round(float(r.spread), 4), "range": int(r.range)}
                           for r in self.global_.itertuples()],
                "sample_lead": {"lead_id": self.lead_id, "score": self.lead_score,
                                "probability": round(self.lead_probability, 4), "reasons": self.reasons}}

    def blocks(self) -> list:
        g = self.global_
        shown = pd.DataFrame({"feature": g["feature"],
                              "spread of its points (SD)": [fmt.number(x, 1) for x in g["spread"]],
                              "points from-to": [f"0-{r}" for r in g["range"]], "best values": g["best"],
                              "worst values": g["worst"]})
        lead = self.lead.assign(points=self.lead["points"].map(str),
                                **{"vs typical lead": self.lead["vs typical lead"].map("{:+.1f}".format)})
        return [Table(shown, caption="Features by how much they move the score of holdout leads"),
                Paragraph(f"One holdout lead explained (lead {self.lead_id}, in the top tenth by score): "
                          f"{self.lead_score} points, probability {fmt.percent(self.lead_probability, 0)}. "
                          f"Top reasons: {'; '.join(self.reasons)}."),
                Table(lead)]

    def draw(self):
        g = self.global_.iloc[::-1]
        fig, ax = plotting.figure(size=(7.0, max(2.5, 0.32 * len(g) + 1)))
        ax.barh(g["feature"], g["spread"], color=plotting.COLORS["common"])
        ax.set(xlabel="spread of the feature's points across holdout leads (standard deviation)",
               title="What drives the score")
        return fig


def top_factors(data, fit) -> Factors:
    """Global factors and one explained lead, on the holdout leads.

    Parameters
    ----------
    data : salign.qualify.dataset.Dataset
    fit : salign.qualify.scorecard.ScorecardFit
    """
    card = fit.card
    X = data.features[data.test]
    codes = card.codes(X)
    points = card.points_matrix(codes)
    rows = []
    for j, (spec, pts) in enumerate(zip(card.specs, card.points)):
        labels = spec.labels()
        rows.append({"feature": spec.field, "spread": float(points[:, j].std()), "range": int(pts.max()),
                     "best": ", ".join(lab for lab, p in zip(labels, pts) if p == pts.max()),
                     "worst": ", ".join(lab for lab, p in zip(labels, pts) if p == pts.min())})
    global_ = pd.DataFrame(rows).sort_values(["spread", "feature"], ascending=[False, True]).reset_index(drop=True)
    score = points.sum(axis=1)
    target = np.quantile(score, SAMPLE_QUANTILE, method="lower")
    i = int(np.flatnonzero(score == target)[0])
    lead = pd.DataFrame([{"feature": spec.field, "value": _value(X[spec.field].iloc[i]),
                          "bin": spec.labels()[codes[i, j]], "points": int(points[i, j]),
                          "vs typical lead": float(points[i, j]) - card.typical[j]}
                         for j, spec in enumerate(card.specs)])
    reasons = Reasons(card)(codes[i:i + 1])[0]
    lead_id = str(data.facts.loc[data.test, "lead_id"].iloc[i])
    return Factors(global_, lead, lead_id, int(score[i]), float(card.probability(score[i])), reasons)


def _value(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "(missing)"
    return f"{v:,.0f}" if isinstance(v, float) and v.is_integer() else str(v)
