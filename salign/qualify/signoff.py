"""The formal definition: built from the study's results, written as ``qualification.yaml``, shown for sign-off.

The page lists every column the study considered, with its AUC on its own and when its value is
recorded, so the teams sign the feature list and its exclusions too. When the workspace already
holds a definition (``definitions/qualification.yaml``), the proposal is its next version: a
signed version's exclusions hold (the leakage check keeps them out), and every difference from it
(features added or removed, points, threshold, minimum information, disqualification rules,
exclusions, new columns) is spelled out on the page.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from salign.common.result import Bullets, Code, Heading, Paragraph, Result, Strong, Table
from salign.core import fmt
from salign.definitions.qualification import (
    Calibration,
    Candidate,
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
from salign.qualify.auc import AUC_IN_WORDS, ranks
from salign.qualify.compare import NAMES
from salign.qualify.leakage import RECORDED
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


def candidates(data) -> list[Candidate]:
    """Every column the study considered: its AUC on its own, when it is recorded, why it is excluded."""
    leak = data.leakage
    return [Candidate(field=c, auc=_r(leak.auc.get(c)) if np.isfinite(leak.auc.get(c, np.nan)) else None,
                      leads_with_value=leak.known.get(c, 0), recorded=leak.recorded.get(c, "not_declared"),
                      excluded="; ".join(text for _, text in leak.flagged[c]) if c in leak.flagged else None)
            for c in sorted(data.cands.kinds)]


@dataclass(frozen=True)
class Change:
    """One difference between the definition in the workspace and the proposal, in plain words."""

    kind: str
    text: str


def _names(xs) -> str:
    return ", ".join(sorted(xs))


def differences(before: QualificationDefinition, after: QualificationDefinition) -> list[Change]:
    """What the proposal ``after`` changes in ``before`` (the workspace's definition), in plain words.

    Kinds: outcome, features_added, features_removed, points, threshold, nurture, minimum_added,
    minimum_removed, disqualify_added, disqualify_removed, excluded_added, excluded_removed,
    columns_added, columns_gone.
    """
    v = f"version {before.version}"
    out = []
    if before.outcome != after.outcome:
        out.append(Change("outcome", f"Success: reaching {before.outcome.stage} within {before.outcome.window_days} "
                                     f"days in {v}; reaching {after.outcome.stage} within "
                                     f"{after.outcome.window_days} days proposed."))
    old = {f.field: f for f in before.scorecard.features}
    new = {f.field: f for f in after.scorecard.features}
    if set(new) - set(old):
        out.append(Change("features_added", f"Added to the scorecard: {_names(set(new) - set(old))}."))
    if set(old) - set(new):
        out.append(Change("features_removed", f"Taken off the scorecard: {_names(set(old) - set(new))}."))
    refit = [f for f in set(old) & set(new) if (old[f].kind, old[f].bins) != (new[f].kind, new[f].bins)]
    if refit:
        out.append(Change("points", f"Bins or points changed (re-fitted on the newer data) for {len(refit)} "
                                    f"feature{'s' if len(refit) != 1 else ''} on both: {_names(refit)}."))
    if before.threshold.score != after.threshold.score:
        out.append(Change("threshold", f"Threshold: {before.threshold.score} points in {v}, "
                                       f"{after.threshold.score} points proposed."))
    if before.threshold.nurture_score != after.threshold.nurture_score:
        out.append(Change("nurture", f"Nurture band: from {before.threshold.nurture_score} points in {v}, from "
                                     f"{after.threshold.nurture_score} points proposed."))
    for kind, label, items in (
            ("minimum", "required before handoff", lambda d: {m.field for m in d.minimum_information}),
            ("disqualify", "a disqualification rule", lambda d: {x.rule.describe() for x in d.disqualify})):
        added, removed = items(after) - items(before), items(before) - items(after)
        if added:
            out.append(Change(f"{kind}_added", f"Now {label}: {'; '.join(sorted(added))}."))
        if removed:
            out.append(Change(f"{kind}_removed", f"No longer {label}: {'; '.join(sorted(removed))}."))
    ex_before, ex_after = set(before.data.excluded_as_leaks), set(after.data.excluded_as_leaks)
    if ex_after - ex_before:
        out.append(Change("excluded_added", f"Newly excluded from every model: {_names(ex_after - ex_before)}."))
    if ex_before - ex_after:
        out.append(Change("excluded_removed", f"No longer excluded: {_names(ex_before - ex_after)}."))
    if before.data.candidates:  # a definition that lists the columns it considered
        listed = {c.field for c in before.data.candidates}
        now = {c.field for c in after.data.candidates}
        if now - listed:
            out.append(Change("columns_added", f"Columns considered that {v} does not list: {_names(now - listed)}."))
        if listed - now:
            out.append(Change("columns_gone", f"Columns {v} lists that the data no longer has as candidates: "
                                              f"{_names(listed - now)}."))
    return out


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
        sales_ready_per_quarter=round(volume, 1) if np.isfinite(volume) else None)
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
                  leads=len(data.facts), excluded_as_leaks=data.leakage.all_excluded,
                  candidates=candidates(data)))
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
    #: the definition the workspace already holds (definitions/qualification.yaml), if any
    previous: QualificationDefinition | None = None
    title: str = "Definition for sign-off"

    @property
    def changes(self) -> list[Change]:
        """What the proposal changes in the workspace's definition (empty without one)."""
        return [] if self.previous is None else differences(self.previous, self.definition)

    def metrics(self) -> dict:
        d = self.definition
        q = d.evaluation.qualified
        out = {"file": self.path.name, "version": d.version, "threshold": d.threshold.score,
               "features": len(d.scorecard.features), "minimum_information": [m.field for m in d.minimum_information],
               "disqualify": [x.rule.describe() for x in d.disqualify],
               "qualified_on_holdout": {"precision": q.precision, "recall": q.recall, "share": q.share_flagged}}
        if self.previous is not None:  # (absent for a first version, so those metrics stay as they were)
            out["changes"] = {"from_version": self.previous.version, "signed": self.previous.signed,
                              "kinds": [c.kind for c in self.changes]}
        return out

    def methods(self) -> list:
        ev = self.definition.evaluation
        rows = ([{"model": NAMES["scorecard"], "holdout AUC": _auc_number(ev.scorecard)}]
                + [{"model": NAMES[k], "holdout AUC": _auc_number(v)} for k, v in ev.challengers.items()])
        return [Paragraph(AUC_IN_WORDS + " Each column considered is listed in qualification.yaml with its holdout AUC "
                          "on its own."), Table(pd.DataFrame(rows), caption="Models on the holdout: AUC")]

    def blocks(self) -> list:
        d = self.definition
        return [Paragraph(Strong(d.name), f", version {d.version}; data as of {d.data.as_of:%Y-%m-%d}, fingerprint "
                                          f"{d.data.fingerprint}; file ", Code(self.path.name), "."),
                *self._changes(),
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
                Heading("Columns considered as features"),
                Paragraph("Every column the study considered, with how often it alone ranks a qualified lead above an "
                          "unqualified one (50% is a coin toss) and when its value is "
                          "recorded (workspace.yaml's recorded: before_contact or after_contact). Signing signs "
                          "this list: an excluded column stays out of every later version until a newly signed "
                          "definition lifts it."),
                Table(self._candidates(), max_rows=400),
                Heading("Signed off by"),
                Table(pd.DataFrame([{"team": team, **SIGNATURE_BLANKS} for team in ("Marketing", "Sales")]))]

    def _changes(self) -> list:
        """The differences from the workspace's definition (nothing without one)."""
        if self.previous is None:
            return []
        p = self.previous
        head = Heading(f"Changes from the {'signed ' if p.signed else ''}version {p.version}"
                       + ("" if p.signed else " in the workspace (not signed)"))
        if not self.changes:
            return [head, Paragraph(f"None: the proposal keeps version {p.version}'s features, points, threshold, "
                                    "minimum information, disqualification rules and exclusions; only its "
                                    "evaluation figures are new.")]
        note = (f" The columns version {p.version} excluded ({', '.join(p.data.excluded_as_leaks)}) stay excluded."
                if p.signed and p.data.excluded_as_leaks else "")
        return [head, Paragraph(f"Version {p.version} stays in force until both teams sign this proposal; it "
                                f"differs in {len(self.changes)} way{'s' if len(self.changes) != 1 else ''}.{note}"),
                Bullets([c.text for c in self.changes])]

    def _candidates(self) -> pd.DataFrame:
        """The considered columns, strongest on its own first."""
        d = self.definition
        rows = sorted(d.data.candidates, key=lambda c: (-(c.auc if c.auc is not None else -1.0), c.field))
        n = d.evaluation.holdout_leads
        return pd.DataFrame([{"column": c.field,
                              "on its own, ranks a qualified lead first (holdout leads with a value)":
                                  "n/a" if c.auc is None else f"{ranks(c.auc)} ({fmt.count(c.leads_with_value)}"
                                                              f" of {fmt.count(n)})",
                              "recorded": RECORDED[None if c.recorded == "not_declared" else c.recorded],
                              "in the model": "excluded: " + c.excluded if c.excluded else "candidate"}
                             for c in rows])

    def _rule(self) -> Paragraph:
        """When a lead is sales-ready."""
        d = self.definition
        top = sum(max(b.points for b in f.bins) for f in d.scorecard.features)
        return Paragraph(Strong("A lead is sales-ready when"), " (1) its score is at least ",
                         Strong(f"{d.threshold.score} points"), f" (of {top} possible), (2) it carries the minimum "
                         "information below and (3) no disqualification rule applies. The score predicts whether a "
                         "lead reaches ", Strong(d.outcome.stage), " within ", Strong(f"{d.outcome.window_days} days"),
                         " of its creation.", self._in_force())

    def _in_force(self) -> str:
        """Which definition the quarterly review counts sales-ready leads with, while this one is a proposal."""
        p = self.previous
        if p is not None and p.signed:
            return (f" This is a proposal: until both teams sign it, the quarterly review counts sales-ready leads "
                    f"with the signed version {p.version} in definitions/qualification.yaml.")
        return (" This is a proposal: until both teams sign it and it is in definitions/qualification.yaml, the "
                "quarterly review counts every lead's first MQL (marketing's handoff) as a sales-ready lead, so its "
                "count differs from the volume this threshold would give.")

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
        col = "ranks a qualified lead above an unqualified one (holdout)"
        return pd.DataFrame([{"model": NAMES["scorecard"], col: _auc(ev.scorecard)}]
                            + [{"model": NAMES[k], col: _auc(v)} for k, v in ev.challengers.items()])

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
    """A model's holdout AUC in words: ``78% of the time (95% CI 76%-80%)``."""
    return f"{ranks(m.auc)} of the time (95% CI {ranks(m.auc_ci[0])}-{ranks(m.auc_ci[1])})"


def _auc_number(m: ModelFigure) -> str:
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
    return SignOff(definition, path, (tables.definitions or {}).get(FILE))

