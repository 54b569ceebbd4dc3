"""Each team's current definition of a qualified lead, measured against the outcomes, and which is better.

A rule calls a lead qualified or not. Its precision (share of flagged leads that succeeded),
recall (share of successful leads it flagged) and lift (precision over the base rate) say what
it gets right; its balanced accuracy (mean of recall and specificity, the AUC of a yes/no
score) compares the two rules on one scale that does not depend on how many leads each flags,
with DeLong's paired interval for the difference.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from salign.common.result import Paragraph, Result, Strong, Table
from salign.common.stats import Rate
from salign.core import fmt
from salign.qualify.auc import auc_difference
from salign.workspace.tables import MissingData

TEAMS = ("marketing", "sales")


@dataclass
class RuleMeasure:
    """One rule's flags and figures on a set of leads."""

    team: str
    rule: str
    flag: np.ndarray
    precision: Rate
    recall: Rate
    flagged: Rate
    lift: float | None
    balanced_accuracy: float

    def as_dict(self) -> dict:
        return {"rule": self.rule, "precision": self.precision.as_dict(), "recall": self.recall.as_dict(),
                "share_flagged": self.flagged.as_dict(), "lift": _r(self.lift),
                "balanced_accuracy": _r(self.balanced_accuracy)}


def measure(team: str, rule: str, flag: np.ndarray, y: np.ndarray) -> RuleMeasure:
    """Precision, recall, share flagged, lift and balanced accuracy of boolean ``flag`` against outcome ``y``."""
    flag, y = np.asarray(flag, bool), np.asarray(y, bool)
    hits = int((flag & y).sum())
    precision = Rate(hits, int(flag.sum()))
    recall = Rate(hits, int(y.sum()))
    base = y.mean() if len(y) else 0.0
    lift = precision.value / base if precision.value is not None and base > 0 else None
    specificity = float((~flag & ~y).sum() / max(int((~y).sum()), 1))
    balanced = ((recall.value or 0.0) + specificity) / 2
    return RuleMeasure(team, rule, flag, precision, recall, Rate(int(flag.sum()), len(flag)), lift, balanced)


@dataclass
class RuleComparison(Result):
    """Both teams' rules on the same leads, their agreement, and the verdict."""

    rules: list[RuleMeasure]
    base: Rate
    outcome: str
    kappa: float
    both: int
    only: dict[str, int]
    neither: int
    difference: tuple[float, float, float]
    title: str = "Each team's current definition of a qualified lead"

    @property
    def better(self) -> str | None:
        """The team whose rule has the higher balanced accuracy, if the interval of the difference excludes 0."""
        d, lo, hi = self.difference
        if lo <= 0 <= hi:
            return None
        return self.rules[0].team if d > 0 else self.rules[1].team

    def verdict(self) -> str:
        m, s = self.rules
        d, lo, hi = self.difference
        first = {r.team: r for r in self.rules}
        lines = []
        for r in self.rules:
            if r.flagged.k in (0, r.flagged.n):
                lines.append(_matches_all_or_none(r))
                continue
            lines.append(f"{whose(r.team)} rule calls {fmt.percent(r.flagged.value, 0)} of leads qualified; "
                         f"{fmt.percent(r.precision.value or 0, 0)} of those {self.outcome_phrase} "
                         f"({fmt.times(r.lift)} the base rate of {fmt.percent(self.base.value, 0)}) and it finds "
                         f"{fmt.percent(r.recall.value or 0, 0)} of all leads that did.")
        if self.better is None:
            lines.append(f"Neither rule is clearly better: balanced accuracy {fmt.number(m.balanced_accuracy, 3)} vs "
                         f"{fmt.number(s.balanced_accuracy, 3)} (difference {d:+.3f}, 95% CI {lo:+.3f} to {hi:+.3f}).")
        else:
            win = first[self.better]
            lose = s if win is m else m
            lines.append(f"{whose(win.team)} rule is the better screen: balanced accuracy "
                         f"{fmt.number(win.balanced_accuracy, 3)} against {fmt.number(lose.balanced_accuracy, 3)} "
                         f"(difference {fmt.number(abs(d), 3)}, 95% CI {fmt.number(min(abs(lo), abs(hi)), 3)} to "
                         f"{fmt.number(max(abs(lo), abs(hi)), 3)}), because {_why(win, lose)}.")
        return " ".join(lines)

    @property
    def outcome_phrase(self) -> str:
        return f"reached {self.outcome}"

    def metrics(self) -> dict:
        d, lo, hi = self.difference
        out = {r.team: r.as_dict() for r in self.rules}
        out["agreement"] = {"both": self.both, "only_" + self.rules[0].team: self.only[self.rules[0].team],
                            "only_" + self.rules[1].team: self.only[self.rules[1].team], "neither": self.neither,
                            "cohen_kappa": _r(self.kappa)}
        out["balanced_accuracy_difference"] = {"difference": _r(d), "ci_low": _r(lo), "ci_high": _r(hi),
                                               "of": f"{self.rules[0].team} minus {self.rules[1].team}"}
        out["better"] = self.better
        return out

    def blocks(self) -> list:
        shown = pd.DataFrame({
            "team": [r.team for r in self.rules], "rule": [r.rule for r in self.rules],
            "leads called qualified": [str(r.flagged) for r in self.rules],
            f"precision ({self.outcome_phrase})": [str(r.precision) for r in self.rules],
            "recall": [str(r.recall) for r in self.rules],
            "lift": [fmt.times(r.lift) for r in self.rules],
            "balanced accuracy": [fmt.number(r.balanced_accuracy, 3) for r in self.rules]})
        return [Table(shown, caption=f"Measured on all {fmt.count(self.base.n)} leads whose outcome is known "
                                     f"(base rate {str(self.base)})"),
                Paragraph(f"The rules agree on {fmt.count(self.both + self.neither)} of {fmt.count(self.base.n)} "
                          f"leads: both call {fmt.count(self.both)} "
                          f"qualified, only marketing's {fmt.count(self.only['marketing'])}, only sales' "
                          f"{fmt.count(self.only['sales'])}."),
                Paragraph(Strong(self.verdict()))]

    def methods(self) -> list:
        return [Paragraph(f"Agreement of the two rules beyond chance: Cohen's kappa {fmt.number(self.kappa, 2)} (1 is "
                          "full agreement, 0 no more than chance). Balanced accuracy is the mean of recall and "
                          "specificity (the AUC of a yes/no rule). Shares carry Wilson 95% intervals.")]


def team_rules(tables, data) -> RuleComparison:
    """Measure ``qualification.marketing.yaml`` and ``qualification.sales.yaml`` on every lead of ``data``.

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
        For the two definitions files.
    data : salign.qualify.dataset.Dataset
        The leads with their outcome.
    """
    y = data.y
    measures = []
    for team in TEAMS:
        rule = tables.definition(f"qualification.{team}.yaml").rule
        missing = sorted(rule.fields() - set(data.facts.columns))
        if missing:
            raise MissingData(f"has no {', '.join(missing)} for {team}'s qualification rule")
        measures.append(measure(team, rule.describe(), rule.evaluate(data.facts).to_numpy(), y))
    m, s = (r.flag for r in measures)
    kappa = float(cohen_kappa_score(m, s)) if len(set(m)) > 1 or len(set(s)) > 1 else float("nan")
    return RuleComparison(measures, data.rate(), data.outcome, kappa, int((m & s).sum()),
                          {"marketing": int((m & ~s).sum()), "sales": int((~m & s).sum())}, int((~m & ~s).sum()),
                          auc_difference(y, m.astype(float), s.astype(float)))


def _matches_all_or_none(r: RuleMeasure) -> str:
    """The finding for a rule that calls no lead (or every lead) qualified: it tells nothing, check it."""
    which = "no lead" if r.flagged.k == 0 else "every lead"
    return (f"{whose(r.team)} rule ({r.rule}) calls {which} of the {fmt.count(r.flagged.n)} qualified, so it "
            f"separates nothing: check its fields and thresholds in definitions/qualification.{r.team}.yaml.")


def _why(win: RuleMeasure, lose: RuleMeasure) -> str:
    """Why the rule with the higher balanced accuracy wins, in words."""
    def pct(r: Rate) -> str:
        return fmt.percent(r.value, 0)

    if lose.flagged.k in (0, lose.flagged.n):
        return f"{whose(lose.team).lower()} rule separates nothing"
    recall = f"it finds {pct(win.recall)} of the leads that succeed, against {pct(lose.recall)}"
    if (win.precision.value or 0) >= (lose.precision.value or 0):
        return recall + f", and is at least as precise ({pct(win.precision)} against {pct(lose.precision)})"
    if (win.recall.value or 0) > (lose.recall.value or 0):
        return (recall + f"; {whose(lose.team).lower()} rule is more precise ({pct(lose.precision)} against "
                f"{pct(win.precision)}) but too narrow to be the definition")
    return (f"it wrongly flags fewer of the leads that do not succeed; {whose(lose.team).lower()} rule finds more "
            f"({pct(lose.recall)} against {pct(win.recall)}) but too loosely to be the definition")


def whose(team: str) -> str:
    """Marketing's, Sales'."""
    return team.capitalize() + ("'" if team.endswith("s") else "'s")


def _r(x) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)
