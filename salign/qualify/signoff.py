"""The formal definition: built from the study's results, written as ``qualification.yaml``, shown for sign-off."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from salign.common.result import Bullets, Code, Heading, Paragraph, Result, Strong, Table
from salign.core import fmt
from salign.definitions.qualification import (
    Calibration,
    Data,
    Disqualification,
    Evaluation,
    MinimumField,
    ModelFigure,
    Outcome,
    QualificationDefinition,
    RuleFigure,
    ScorecardSpec,
    Threshold,
)
from salign.qualify.compare import NAMES
from salign.qualify.teams import measure
from salign.scoring.card import features_from_card
from salign.scoring.score import Scorer

FILE = "qualification.yaml"
#: the blank lines of the signature table
SIGNATURE_BLANKS = {"name": "_" * 28, "date": "_" * 14, "signature": "_" * 20}


def _rule_figure(r) -> RuleFigure:
    return RuleFigure(precision=_r(r.precision.value), recall=_r(r.recall.value), share_flagged=_r(r.flagged.value))


def _r(x, digits: int = 4):
    return None if x is None else round(float(x), digits)


def build_definition(tables, data, fit, comparison, threshold, criteria) -> QualificationDefinition:
    """Assemble the definition; its ``qualified`` figures come from scoring the holdout with the definition itself."""
    previous = (tables.definitions or {}).get(FILE)
    card = fit.card
    cal = Calibration(intercept=round(card.intercept, 6), slope=round(card.slope, 6),
                      fitted_on="the newest quarter of training leads" if data.split.kind == "time"
                      else "a stratified quarter of the training leads")
    m = comparison.by_key
    split = data.split
    volume = float(threshold.row(threshold.chosen)["volume"])
    evaluation = Evaluation(
        split=split.kind, split_note=split.reason, training_leads=int(data.train.sum()),
        holdout_leads=int(data.test.sum()), holdout_from=None if split.cutoff is None else split.cutoff.date(),
        base_rate=_r(data.rate(data.test).value),
        scorecard=ModelFigure(auc=_r(fit.auc.value), auc_ci=[_r(fit.auc.low), _r(fit.auc.high)], brier=_r(fit.brier)),
        challengers={k: ModelFigure(auc=_r(v.auc.value), auc_ci=[_r(v.auc.low), _r(v.auc.high)], brier=_r(v.brier))
                     for k, v in m.items() if k != "scorecard"},
        team_rules={r.team: _rule_figure(r) for r in comparison.rules},
        qualified=RuleFigure(precision=None, recall=None, share_flagged=0.0),
        sales_ready_per_quarter=round(volume, 1))
    definition = QualificationDefinition(
        version=previous.version + 1 if previous is not None else 1,
        outcome=Outcome(stage=data.outcome, window_days=data.window_days),
        scorecard=ScorecardSpec(points_to_double_odds=card.points_to_double_odds, features=features_from_card(card),
                                calibration=cal),
        threshold=Threshold(score=threshold.chosen, nurture_score=threshold.nurture, why=threshold.why()),
        minimum_information=[MinimumField(field=r.field, why=r.why) for r in criteria.required],
        disqualify=[Disqualification(rule=s.rule, why=s.why) for s in criteria.segments],
        evaluation=evaluation,
        data=Data(workspace=str(tables.config.name), fingerprint=data.fingerprint,
                  as_of=data.as_of.tz_convert(tables.config.timezone).date(),
                  leads=len(data.facts), excluded_as_leaks=data.leakage.excluded))
    holdout = data.facts[data.test]
    qualified = Scorer(definition).score(holdout)["qualified"].to_numpy()
    final = measure("definition", "qualified", qualified, data.y[data.test])
    return definition.model_copy(update={"evaluation": evaluation.model_copy(
        update={"qualified": _rule_figure(final)})})


@dataclass
class SignOff(Result):
    """The one-page definition for sign-off, and where its YAML was written."""

    definition: QualificationDefinition
    path: Path
    title: str = "Definition for sign-off"

    def metrics(self) -> dict:
        d = self.definition
        q = d.evaluation.qualified
        return {"file": self.path.name, "version": d.version, "threshold": d.threshold.score,
                "features": len(d.scorecard.features), "minimum_information": [m.field for m in d.minimum_information],
                "disqualify": [x.rule.describe() for x in d.disqualify],
                "qualified_on_holdout": {"precision": q.precision, "recall": q.recall, "share": q.share_flagged}}

    def blocks(self) -> list:
        d = self.definition
        return [Paragraph(Strong(d.name), f", version {d.version}; data as of {d.data.as_of:%Y-%m-%d}, fingerprint "
                                          f"{d.data.fingerprint}; file ", Code(self.path.name), "."),
                self._rule(),
                Paragraph(d.threshold.why),
                Heading("Minimum information before handoff"),
                Bullets([(Strong(m.field), f": {m.why}") for m in d.minimum_information] or ["none"]),
                Heading("Disqualified whatever the score"),
                Bullets([(Strong(x.rule.describe()), f": {x.why}") for x in d.disqualify]
                        or ["none found in the data"]),
                self._evidence(),
                Table(self._models()),
                Table(self._points(), caption="Points (add one line per feature)", max_rows=400),
                Heading("Signed off by"),
                Table(pd.DataFrame([{"team": team, **SIGNATURE_BLANKS} for team in ("Marketing", "Sales")]))]

    def _rule(self) -> Paragraph:
        """When a lead is sales-ready."""
        d = self.definition
        top = sum(max(b.points for b in f.bins) for f in d.scorecard.features)
        return Paragraph(Strong("A lead is sales-ready when"), " (1) its score is at least ",
                         Strong(f"{d.threshold.score} points"), f" (of {top} possible), (2) it carries the minimum "
                         "information below and (3) no disqualification rule applies. The score predicts whether a "
                         "lead reaches ", Strong(d.outcome.stage), " within ", Strong(f"{d.outcome.window_days} days"),
                         " of its creation.")

    def _evidence(self) -> Paragraph:
        """What the definition does on the holdout leads."""
        ev = self.definition.evaluation
        q = ev.qualified
        return Paragraph(Strong("Evidence"), f" ({ev.split_note}): the definition calls "
                         f"{fmt.percent(q.share_flagged, 0)} of holdout leads sales-ready; "
                         f"{fmt.percent(q.precision, 0)} of those succeeded (base rate {fmt.percent(ev.base_rate, 0)}) "
                         f"and they are {fmt.percent(q.recall, 0)} of all holdout successes.")

    def _models(self) -> pd.DataFrame:
        """The scorecard's holdout AUC next to its challengers'."""
        ev = self.definition.evaluation
        return pd.DataFrame([{"model": NAMES["scorecard"], "holdout AUC": _auc(ev.scorecard)}]
                            + [{"model": NAMES[k], "holdout AUC": _auc(v)} for k, v in ev.challengers.items()])

    def _points(self) -> pd.DataFrame:
        """The scorecard: one row per bin of every feature."""
        return pd.DataFrame([{"feature": f.field, "value": _bin_text(b), "points": b.points}
                             for f in self.definition.scorecard.features for b in f.bins])


def _bin_text(b) -> str:
    if b.in_ is not None:
        return ", ".join(b.in_)
    if b.other:
        return "any other value"
    if b.missing:
        return "missing"
    lo = "" if b.from_ is None else f"from {fmt.cut(b.from_, 6)}"
    hi = "" if b.below is None else f"below {fmt.cut(b.below, 6)}"
    return " ".join(x for x in (lo, hi) if x)


def _auc(m: ModelFigure) -> str:
    return f"{fmt.number(m.auc, 3)} (95% CI {fmt.number(m.auc_ci[0], 3)}-{fmt.number(m.auc_ci[1], 3)})"


def write_definition(tables, data, fit, comparison, threshold, criteria, out_dir) -> SignOff:
    """Build the definition and write ``qualification.yaml`` into ``out_dir`` (atomically).

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
    data, fit, comparison, threshold, criteria
        The study's results (:mod:`salign.qualify`).
    out_dir : path
        The run's output folder (``ctx.out``); the published report carries the file.
    """
    definition = build_definition(tables, data, fit, comparison, threshold, criteria)
    text = definition.to_yaml()
    path = Path(out_dir) / FILE
    tmp = path.with_name(f".{FILE}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return SignOff(definition, path)

