"""The formal definition: built from the study's results, written as ``qualification.yaml``, shown for sign-off."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from salign.common import render
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
class SignOff(render.Result):
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

    def html_body(self) -> str:
        d = self.definition
        ev = d.evaluation
        top = sum(max(b.points for b in f.bins) for f in d.scorecard.features)
        rows = []
        for f in d.scorecard.features:
            for b in f.bins:
                rows.append({"feature": f.field, "value": _bin_text(b), "points": b.points})
        card = pd.DataFrame(rows)
        models = pd.DataFrame([{"model": NAMES["scorecard"], "holdout AUC": _auc(ev.scorecard)}]
                              + [{"model": NAMES[k], "holdout AUC": _auc(v)} for k, v in ev.challengers.items()])
        q = ev.qualified
        minimum = "".join(f"<li><strong>{render.esc(m.field)}</strong>: {render.esc(m.why)}</li>"
                          for m in d.minimum_information) or "<li>none</li>"
        disq = "".join(f"<li><strong>{render.esc(x.rule.describe())}</strong>: {render.esc(x.why)}</li>"
                       for x in d.disqualify) or "<li>none found in the data</li>"
        sign = "".join(f"<tr><th>{team}</th><td>Name: ____________________________</td>"
                       f"<td>Date: ______________</td><td>Signature: ____________________</td></tr>"
                       for team in ("Marketing", "Sales"))
        return (f"<div class='salign-signoff'>"
                f"<p><strong>{render.esc(d.name)}</strong>, version {d.version}; data as of {d.data.as_of:%Y-%m-%d}, "
                f"fingerprint {render.esc(d.data.fingerprint)}; file <code>{render.esc(self.path.name)}</code>.</p>"
                f"<p><strong>A lead is sales-ready when</strong> (1) its score is at least <strong>{d.threshold.score} "
                f"points</strong> (of {top} possible), (2) it carries the minimum information below and (3) no "
                f"disqualification rule applies. The score predicts whether a lead reaches "
                f"<strong>{d.outcome.stage}</strong> within <strong>{d.outcome.window_days} days</strong> of its "
                f"creation.</p>"
                f"<p>{render.esc(d.threshold.why)}</p>"
                f"<p><strong>Minimum information before handoff</strong></p><ul>{minimum}</ul>"
                f"<p><strong>Disqualified whatever the score</strong></p><ul>{disq}</ul>"
                f"<p><strong>Evidence</strong> ({render.esc(ev.split_note)}): the definition calls "
                f"{_pct(q.share_flagged)} of holdout leads sales-ready; {_pct(q.precision)} of those succeeded "
                f"(base rate {_pct(ev.base_rate)}) and they are {_pct(q.recall)} of all holdout successes.</p>"
                + render.table(models)
                + render.table(card, caption="Points (add one line per feature)", max_rows=400)
                + f"<p><strong>Signed off by</strong></p><table class='salign-table'>{sign}</table></div>")


def _bin_text(b) -> str:
    if b.in_ is not None:
        return ", ".join(b.in_)
    if b.other:
        return "any other value"
    if b.missing:
        return "missing"
    lo = "" if b.from_ is None else f"from {b.from_:,g}"
    hi = "" if b.below is None else f"below {b.below:,g}"
    return " ".join(x for x in (lo, hi) if x)


def _auc(m: ModelFigure) -> str:
    return f"{m.auc:.3f} (95% CI {m.auc_ci[0]:.3f}-{m.auc_ci[1]:.3f})"


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:.0%}"


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

