"""Every model and both teams' rules on the same holdout: AUC with interval, calibration, lift by decile.

Calibration (Brier score, reliability curve) is measured on the holdout, which for dated data
is the newest period: base rates drift, and a model is used on the leads after its training.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_curve

from salign.common import plotting
from salign.common.result import Paragraph, Result, Table
from salign.common.stats import rates
from salign.core import fmt
from salign.qualify import models
from salign.qualify.auc import AUC, AUC_IN_WORDS, auc_ci, auc_difference
from salign.qualify.scorecard import EVIDENCE, NEGLIGIBLE_AUC, REGRESSION
from salign.qualify.teams import TEAMS, RuleMeasure, measure, whose
from salign.workspace.tables import MissingData

#: display names of the models, in table order
NAMES = {"scorecard": "scorecard (the definition)", "gradient_boosting": "gradient boosting",
         "logistic_regression": "logistic regression (plain)", "naive_bayes": "naive Bayes (CRM-style baseline)"}
DECILES = 10
RELIABILITY_BINS = 10
#: a challenger that beats the scorecard's holdout AUC by more than this must be answered on the page
SIGN_MARGIN = NEGLIGIBLE_AUC
#: why each challenger, when it ranks the holdout better, is still not the model to sign
NOT_SIGNED = {
    "gradient_boosting": ("its score comes from hundreds of decision trees over combinations of features: no one "
                          "can add it up by hand, check a lead's score against the definition, or write it in "
                          "qualification.yaml, so it serves as a benchmark of what the data allow, not as a "
                          "definition two teams sign. A scorecard adds each feature's points on its own; where a "
                          "value matters only together with another (partners bring good large accounts, the web "
                          "good small ones), a field that combines the two, added to the leads, lets the card "
                          "learn it"),
    "logistic_regression": ("it weighs numbers on straight lines after standardising them and fills gaps with "
                            "medians, which a definition of whole points per range and value cannot state; "
                            "a scorecard is that model with its numbers cut into ranges"),
}


@dataclass
class ModelResult:
    """One model's holdout probabilities and figures."""

    key: str
    probability: np.ndarray
    auc: AUC
    brier: float
    lift: pd.DataFrame

    def as_dict(self) -> dict:
        return self.auc.as_dict() | {"brier": round(self.brier, 6),
                                     "top_decile_lift": round(float(self.lift["lift"].iloc[0]), 4)}


def lift_by_decile(y: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """Holdout leads in ten equal groups by score (best first): success rate with interval, lift, cumulative recall."""
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    group = np.empty(len(order), dtype=int)
    group[order] = np.arange(len(order)) * DECILES // len(order)
    frame = pd.DataFrame({"decile": group + 1, "y": np.asarray(y)})
    agg = frame.groupby("decile")["y"].agg(["sum", "size"])
    out = rates(agg["sum"], agg["size"]).reset_index()
    base = frame["y"].mean()
    out["lift"] = out["rate"] / base if base > 0 else np.nan
    out["cumulative_recall"] = agg["sum"].cumsum().to_numpy() / max(frame["y"].sum(), 1)
    return out


def reliability(y: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Mean predicted vs observed success rate in ten equal groups of predicted probability."""
    order = np.argsort(probability, kind="stable")
    group = np.empty(len(order), dtype=int)
    group[order] = np.arange(len(order)) * RELIABILITY_BINS // len(order)
    frame = pd.DataFrame({"g": group, "p": probability, "y": np.asarray(y)})
    agg = frame.groupby("g").agg(predicted=("p", "mean"), k=("y", "sum"), n=("y", "size"))
    return pd.concat([agg[["predicted"]], rates(agg["k"], agg["n"])], axis=1).reset_index(drop=True)


@dataclass
class Comparison(Result):
    """The scorecard, its challengers and the teams' rules on the same holdout leads."""

    models: list[ModelResult]
    y: np.ndarray
    period: str
    rules: list[RuleMeasure] = field(default_factory=list)
    points_from: str = REGRESSION
    title: str = "Models compared on the same holdout"
    figure_description = ("Three panels comparing the models on the holdout leads: ROC curves (the teams' rules as "
                          "points), observed success rate against predicted probability, and lift by decile of score.")

    @property
    def by_key(self) -> dict[str, ModelResult]:
        return {m.key: m for m in self.models}

    @property
    def best(self) -> ModelResult:
        return max(self.models, key=lambda m: (round(m.auc.value, 6), m.key == "scorecard"))

    @property
    def scorecard_gap(self) -> tuple[float, float, float]:
        """Scorecard AUC minus the best model's, with DeLong's paired 95% interval."""
        card, best = self.by_key["scorecard"], self.best
        if best is card:
            return 0.0, 0.0, 0.0
        return auc_difference(self.y, card.probability, best.probability)

    def verdict(self) -> str:
        """The scorecard against the best model in plain words; when a challenger wins by more than
        ``SIGN_MARGIN``, why the scorecard is still the model to sign."""
        d, lo, hi = self.scorecard_gap
        best = self.best
        if best.key == "scorecard":
            return "The scorecard is the most accurate model here."
        text = (f"The best model is {NAMES[best.key]}; the scorecard ranks a qualified lead first "
                f"{fmt.number(-100 * d, 1)} points less often (95% CI of the difference {100 * lo:+.1f} to "
                f"{100 * hi:+.1f} points).")
        if -d <= SIGN_MARGIN:
            return text + f" A difference of at most {fmt.number(100 * SIGN_MARGIN, 1)} points is too small to matter for signing."
        chance = ("The interval includes zero: on these holdout leads the difference may be chance. " if hi >= 0
                  else "The interval excludes zero: the difference is more than chance. ")
        return f"{text} {chance}Why the scorecard is still the model to sign: {self._not_signed(best.key)}."

    def _not_signed(self, key: str) -> str:
        if key != "naive_bayes":
            return NOT_SIGNED[key]
        if self.points_from == EVIDENCE:
            return ("naive Bayes' per-value counts are the scorecard's own points here (weights of evidence); "
                    "the card rounds them to whole points and leaves off the features whose points would differ by "
                    "less than 2, which is the price of a card a person can add up")
        return ("naive Bayes' per-value counts were tried as the scorecard's points (weights of evidence) and ranked "
                "the newest training leads less well than the logistic regression's points, so the card keeps the "
                "regression's; the holdout, newer still, disagrees. If the next quarter's "
                "newest leads agree with this holdout, the weights of evidence will be chosen")

    def methods(self) -> list:
        rows = [{"model": NAMES[m.key], "holdout AUC (95% CI)": str(m.auc), "Brier score": fmt.number(m.brier, 4)}
                for m in self.models]
        d, lo, hi = self.scorecard_gap
        return [Paragraph(f"{AUC_IN_WORDS} The difference between the scorecard and the best model is DeLong's paired "
                          f"test on the same holdout leads ({d:+.3f} AUC, 95% CI {lo:+.3f} to {hi:+.3f}); a difference "
                          f"of at most {SIGN_MARGIN} AUC is too small to matter for signing. The Brier score is the mean "
                          "squared error of a model's probabilities: lower means better calibrated. Success rates "
                          "carry Wilson 95% intervals."),
                Table(pd.DataFrame(rows), caption="Models on the holdout: AUC and Brier score")]

    def rule_rows(self) -> list[dict]:
        """Each team's rule on the holdout next to the scorecard flagging the same share of leads."""
        card = self.by_key["scorecard"].probability
        out = []
        for r in self.rules:
            k = int(r.flag.sum())
            top = np.zeros(len(card), dtype=bool)
            top[np.argsort(-card, kind="stable")[:k]] = True
            same = measure("scorecard", "top leads by score", top, self.y)
            out.append({"rule": r, "scorecard": same})
        return out

    def metrics(self) -> dict:
        d, lo, hi = self.scorecard_gap
        return {"models": {m.key: m.as_dict() for m in self.models}, "best": self.best.key,
                "scorecard_minus_best": {"difference": round(d, 4), "ci_low": round(lo, 4), "ci_high": round(hi, 4)},
                "rules_on_holdout": {row["rule"].team: row["rule"].as_dict() | {
                    "scorecard_at_same_share": row["scorecard"].as_dict()} for row in self.rule_rows()},
                "lift_by_decile": [{"decile": int(r.decile), "k": int(r.k), "n": int(r.n), "rate": round(r.rate, 6),
                                    "lift": round(r.lift, 4)} for r in self.by_key["scorecard"].lift.itertuples()],
                "period": self.period}

    def blocks(self) -> list:
        rows = [{"model": NAMES[m.key], "ranks a qualified lead above an unqualified one": m.auc.words,
                 "lift in the top 10%": fmt.times(m.lift["lift"].iloc[0])} for m in self.models]
        out = [Table(pd.DataFrame(rows), caption=f"{fmt.count(len(self.y))} holdout leads ({self.period})"),
               Paragraph(self.verdict())]
        if self.rules:
            out.append(Table(self._rules_table(), caption="Each team's rule on the holdout, and the scorecard "
                                                         "calling the same number of leads qualified"))
        lift = self.by_key["scorecard"].lift
        shown = pd.DataFrame({"decile (best first)": lift["decile"],
                              "success rate": [fmt.rate(*r) for r in
                                               lift[["k", "n", "ci_low", "ci_high"]].itertuples(index=False)],
                              "lift": [fmt.times(x, 2) for x in lift["lift"]],
                              "share of all successes so far": [fmt.percent(x, 0) for x in lift["cumulative_recall"]]})
        return out + [Table(shown, caption="Scorecard: lift by decile on the holdout")]

    def _rules_table(self) -> pd.DataFrame:
        rows = []
        for row in self.rule_rows():
            r, s = row["rule"], row["scorecard"]
            rows.append({"team rule": r.team, "leads called qualified": str(r.flagged),
                         "precision": str(r.precision), "recall": str(r.recall),
                         "scorecard, same number of leads: precision": str(s.precision),
                         "scorecard: recall": str(s.recall)})
        return pd.DataFrame(rows)

    def draw(self):
        fig, (roc, rel, lift) = plotting.figure(1, 3, size=(12.0, 4.0))
        for i, m in enumerate(self.models):
            fpr, tpr, _ = roc_curve(self.y, m.probability)
            roc.plot(fpr, tpr, color=plotting.CYCLE[i], label=f"{NAMES[m.key].split(' (')[0]} {m.auc.value:.3f}")
            curve = reliability(self.y, m.probability)
            rel.plot(curve["predicted"], curve["rate"], marker="o", ms=3, color=plotting.CYCLE[i])
            lift.plot(m.lift["decile"], m.lift["lift"], marker="o", ms=3, color=plotting.CYCLE[i])
        neg = max(int((self.y == 0).sum()), 1)
        for r in self.rules:
            fp = int((r.flag & (self.y == 0)).sum())
            roc.plot([fp / neg], [r.recall.value or 0], marker="s", ls="none", color=plotting.COLORS[r.team],
                     label=f"{whose(r.team).lower()} rule")
        roc.plot([0, 1], [0, 1], color=plotting.COLORS["muted"], ls="--")
        roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC on the holdout")
        roc.legend(loc="lower right", fontsize=8)
        top = max(float(np.nanmax(reliability(self.y, m.probability)["rate"])) for m in self.models)
        lim = min(1.0, max(top, max(float(m.probability.max()) for m in self.models)) * 1.05)
        rel.plot([0, lim], [0, lim], color=plotting.COLORS["muted"], ls="--")
        rel.set(xlabel="predicted probability", ylabel="observed success rate", title="Reliability",
                xlim=(0, lim), ylim=(0, lim))
        lift.axhline(1, color=plotting.COLORS["muted"], ls="--")
        lift.set(xlabel="decile of score (best first)", ylabel="lift over the base rate", title="Lift by decile")
        return fig


def compare_models(tables, data, fit) -> Comparison:
    """Fit the challengers on the training leads and judge every model and both teams' rules on the holdout.

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
        For the teams' rules (left out when the workspace has none).
    data : salign.qualify.dataset.Dataset
    fit : salign.qualify.scorecard.ScorecardFit
    """
    X, y, train = data.features, data.y, data.train
    yt = y[~train]
    probs = {"scorecard": fit.probability,
             "gradient_boosting": models.gradient_boosting(X, data.kinds, y, train, data.random_state),
             "logistic_regression": models.logistic_regression(X, data.kinds, y, train, data.random_state),
             "naive_bayes": models.naive_bayes(X, data.kinds, y, train)}
    results = [ModelResult(k, p, auc_ci(yt, p), float(brier_score_loss(yt, p)), lift_by_decile(yt, p))
               for k, p in probs.items()]
    rules = []
    holdout = data.facts[~train]
    for team in TEAMS:
        try:
            rule = tables.definition(f"qualification.{team}.yaml").rule
        except MissingData:
            continue
        if rule.fields() <= set(holdout.columns):
            rules.append(measure(team, rule.describe(), rule.evaluate(holdout).to_numpy(), yt))
    period = ("the newest leads, created from " + f"{data.split.cutoff:%Y-%m-%d}" if data.split.kind == "time"
              else "a stratified random holdout: the data have no usable dates")
    return Comparison(results, yt, period, rules, fit.points_from)

