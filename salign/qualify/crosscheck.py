"""The scorecard against the personas page: points that reward a warning sign, or penalise a best-customer mark.

The scorecard predicts whether a lead reaches the outcome stage; the personas page finds what marks a
best customer and what warns of a bad one. The two can disagree: a lead can be likely to become an
SQL and still turn into a bad customer. This check puts them side by side, in plain words, before
the teams sign:

- a *warning sign* (or *best-customer mark*) is a level the personas page found significant for
  the worst (best) customers, e.g. ``industry Manufacturing``;
- it applies to a scorecard feature when the feature is the same column;
- the leads holding it get, on average, some points for that feature; the card *rewards* it
  when that is at least half a point above a typical lead's points for the feature (the training
  average), and *penalises* it when at least half a point below.

The marks come from a function the notebook passes in (the personas room's ``markers_of``), so
this room does not import that one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.common.result import Paragraph, Result, Table
from salign.core import fmt
from salign.definitions.rules import RuleError
from salign.scoring.per_value import by_value

#: the outcome stage in words
STAGE_WORDS = {"mql": "MQL", "sal": "SAL", "sql": "SQL", "opportunity": "an opportunity", "won": "a won deal"}
#: how far (points) the average of a mark's leads must be from a typical lead's to count
MARGIN = 0.5


@dataclass
class PersonaCrossCheck(Result):
    """Scorecard points that contradict the personas page (see the module docstring).

    ``table``: one row per mark that applies to a feature on the card: ``feature``, ``level``, ``kind``
    (``warning`` or ``best``), ``customers``, ``in_group`` (of them worst or best), ``leads`` (holding it),
    ``points`` (their average points for the feature), ``typical``, ``bin`` (the bin most of them are
    in), ``bin_points`` and ``verdict`` (``rewards``, ``penalises`` or ``agrees``).
    """

    table: pd.DataFrame
    outcome: str
    title: str = "The scorecard against the personas page"

    @property
    def conflicts(self) -> pd.DataFrame:
        t = self.table
        return t[((t["kind"] == "warning") & (t["verdict"] == "rewards"))
                 | ((t["kind"] == "best") & (t["verdict"] == "penalises"))]

    def metrics(self) -> dict:
        c = self.conflicts

        def rows(kind):
            return [{"feature": r.feature, "level": r.level, "points": round(float(r.points), 2),
                     "typical": round(float(r.typical), 2), "bin": r.bin, "bin_points": int(r.bin_points)}
                    for r in c[c["kind"] == kind].itertuples()]
        return {"rewards_warning_signs": rows("warning"), "penalises_best_marks": rows("best"),
                "marks_checked": len(self.table)}

    def blocks(self) -> list:
        c = self.conflicts
        if self.table.empty:
            return [Paragraph("No mark of a best customer or warning sign the personas page found is a feature on "
                              "the scorecard, so the two pages cannot disagree here.")]
        warn, best = c[c["kind"] == "warning"], c[c["kind"] == "best"]
        said = [self._sentence(r) for r in c.itertuples()]
        head = (f"Checked against the {fmt.count(len(self.table))} marks of the personas page that are features on "
                f"the scorecard: ")
        if c.empty:
            head += ("no points reward a warning sign of a bad customer, and none penalise a mark of a best "
                     "customer.")
            return [Paragraph(head)]
        head += (f"{fmt.count(len(warn))} reward a warning sign of a bad customer and {fmt.count(len(best))} "
                 f"penalise a mark of a best customer. The scorecard predicts reaching {self.outcome}; the personas "
                 "page looks at which customers turn out valuable. A lead can be likely to reach "
                 f"{self.outcome} and still become a bad customer, so both teams should look at these points before "
                 "signing: keep them (the stage is what the definition is for), or drop the feature from the card.")
        shown = pd.DataFrame({
            "feature": c["feature"], "the personas page found": [self._found(r) for r in c.itertuples()],
            "the scorecard gives": [f"{fmt.number(r.points, 1)} points on average (bin {r.bin}: {int(r.bin_points)}"
                                    f"); a typical lead {fmt.number(r.typical, 1)}" for r in c.itertuples()],
            "conflict": ["rewards a warning sign" if k == "warning" else "penalises a best-customer mark"
                         for k in c["kind"]]})
        return [Paragraph(head), Paragraph(" ".join(said)),
                Table(shown, caption="Scorecard points that contradict the personas page", max_rows=max(len(c), 1))]

    @staticmethod
    def _found(r) -> str:
        group = "worst" if r.kind == "warning" else "best"
        what = "a warning sign" if r.kind == "warning" else "a mark of a best customer"
        return (f"{r.level}: {what} ({fmt.count(r.in_group)} of {fmt.count(r.customers)} customers with it are "
                f"among the {group})")

    @staticmethod
    def _sentence(r) -> str:
        if r.kind == "warning":
            return (f"{r.feature} {r.level} warns of a bad customer ({fmt.count(r.in_group)} of "
                    f"{fmt.count(r.customers)} such customers are among the worst), yet leads with it get "
                    f"{fmt.number(r.points, 1)} points for {r.feature}, more than a typical lead's "
                    f"{fmt.number(r.typical, 1)}.")
        return (f"{r.feature} {r.level} marks a best customer ({fmt.count(r.in_group)} of {fmt.count(r.customers)} "
                f"such customers are among the best), yet leads with it get {fmt.number(r.points, 1)} points for "
                f"{r.feature}, fewer than a typical lead's {fmt.number(r.typical, 1)}.")


def _holds(condition, facts: pd.DataFrame) -> np.ndarray:
    """Which leads meet a marker's condition; a condition on one text field is tested once per distinct value."""
    fields = condition.fields()
    if len(fields) != 1 or next(iter(fields)) not in facts.columns:
        return condition.evaluate(facts).fillna(False).to_numpy(bool)
    col = facts[next(iter(fields))]
    return by_value(col, lambda c: condition.evaluate(c.to_frame())).fillna(False).to_numpy(bool)


def against_personas(data, fit, markers_of, tables) -> PersonaCrossCheck:
    """Scorecard points of ``fit`` against the marks ``markers_of(tables)`` finds (a ``Markers`` result).

    ``data`` is the study's dataset (its ``facts`` are the leads scored); ``markers_of`` may raise
    :class:`~salign.workspace.tables.MissingData` (no customers to learn marks from), which skips the check.
    """
    marks = markers_of(tables).table
    card = fit.card
    facts = data.facts
    codes = card.codes(facts)
    rows = []
    for kind, outcome in (("warning", "worst"), ("best", "best")):
        if marks.empty:
            break
        found = marks[marks[f"{outcome}_significant"].astype(bool) & (marks[f"{outcome}_sign"] == "+")]
        for m in found.itertuples():
            if m.attribute not in card.fields:
                continue
            j = card.fields.index(m.attribute)
            try:
                holds = _holds(m.condition, facts)
            except (RuleError, KeyError):
                continue
            if not holds.any():
                continue
            pts = card.points[j][codes[holds, j]]
            common_bin = int(np.bincount(codes[holds, j]).argmax())
            typical = float(card.typical[j]) if card.typical else float(card.points[j][codes[:, j]].mean())
            diff = float(pts.mean()) - typical
            rows.append({"feature": m.attribute, "level": str(m.level), "kind": kind, "customers": int(m.n),
                         "in_group": int(getattr(m, f"{outcome}_k")), "leads": int(holds.sum()),
                         "points": float(pts.mean()), "typical": typical,
                         "bin": card.specs[j].labels()[common_bin], "bin_points": int(card.points[j][common_bin]),
                         "verdict": "rewards" if diff >= MARGIN else "penalises" if diff <= -MARGIN else "agrees"})
    table = pd.DataFrame(rows, columns=["feature", "level", "kind", "customers", "in_group", "leads", "points",
                                        "typical", "bin", "bin_points", "verdict"])
    stage = str(getattr(data, "outcome", ""))
    return PersonaCrossCheck(table, STAGE_WORDS.get(stage, stage or "the outcome stage"))
