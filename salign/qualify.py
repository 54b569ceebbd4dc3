"""Step 3: what really identifies a qualified lead; both teams' rules measured against outcomes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from salign import plotting, render
from salign.features import lead_facts
from salign.stats import Rate
from salign.tables import MissingData

CATEGORICAL = ("source", "job_level", "department", "industry", "region")
MIN_TRAIN = 200


def outcomes(tables, outcome: str = "sql", window_days: int = 90) -> pd.DataFrame:
    """Lead facts plus ``y``: reached ``outcome`` within ``window_days`` of creation.

    Leads whose window has not yet closed at the data cut-off are dropped (their outcome is unknown).
    """
    facts = lead_facts(tables)
    window = pd.Timedelta(days=window_days)
    mature = facts["created_at"] + window <= tables.as_of
    facts = facts[mature].copy()
    facts["y"] = (facts[f"at_{outcome}"].notna() & (facts[f"at_{outcome}"] <= facts["created_at"] + window)).astype(int)
    return facts


@dataclass
class RuleComparison(render.Result):
    table: pd.DataFrame
    outcome: str
    title: str = "Each team's current definition of a qualified lead"

    def metrics(self) -> dict:
        return {r.team: {"precision": r.precision.as_dict(), "recall": r.recall.as_dict()} for r in self.table.itertuples()}

    def html_body(self) -> str:
        t = self.table
        shown = pd.DataFrame({"team": t["team"], "rule": t["rule"], "leads called qualified": t["flagged"].map("{:,}".format),
                              f"precision (reached {self.outcome})": t["precision"].map(str),
                              "recall": t["recall"].map(str)})
        return render.table(shown)


def team_rules(tables, outcome: str = "sql", window_days: int = 90) -> RuleComparison:
    """Precision and recall of ``qualification.marketing.yaml`` and ``qualification.sales.yaml``."""
    facts = outcomes(tables, outcome, window_days)
    rows = []
    for team in ("marketing", "sales"):
        rule = tables.definition(f"qualification.{team}.yaml")
        flag = rule.rule.evaluate(facts)
        y = facts["y"].astype(bool)
        rows.append({"team": team, "rule": rule.rule.describe(), "flagged": int(flag.sum()),
                     "precision": Rate(int((flag & y).sum()), int(flag.sum())),
                     "recall": Rate(int((flag & y).sum()), int(y.sum()))})
    return RuleComparison(pd.DataFrame(rows), outcome)


@dataclass
class ModelFit(render.Result):
    auc: float
    n_train: int
    n_test: int
    test_positive_rate: float
    cutoff: pd.Timestamp
    fpr: np.ndarray
    tpr: np.ndarray
    title: str = "Qualification model on a time-ordered holdout"

    def metrics(self) -> dict:
        return {"auc_holdout": round(self.auc, 6), "n_train": self.n_train, "n_test": self.n_test,
                "cutoff": self.cutoff.isoformat()}

    def headline(self) -> dict:
        return {"qualification_model_auc": round(self.auc, 3)}

    def html_body(self) -> str:
        return (f"<p>Trained on {self.n_train:,} leads created before {self.cutoff:%Y-%m-%d}, evaluated on the "
                f"{self.n_test:,} newer ones ({self.test_positive_rate:.1%} positive): AUC {self.auc:.3f}.</p>")

    def figure(self):
        fig, ax = plotting.figure(size=(5.0, 4.2))
        ax.plot(self.fpr, self.tpr, color=plotting.COLORS["common"], label=f"model (AUC {self.auc:.3f})")
        ax.plot([0, 1], [0, 1], color=plotting.COLORS["muted"], ls="--", label="chance")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title("ROC on the newest leads")
        ax.legend(loc="lower right")
        return fig


def fit_model(tables, outcome: str = "sql", window_days: int = 90, holdout_share: float = 0.25,
              random_state: int = 0) -> ModelFit:
    """Logistic regression on attributes known at the decision point; the newest leads are the holdout."""
    facts = outcomes(tables, outcome, window_days).sort_values("created_at", kind="stable")
    cats = [c for c in CATEGORICAL if c in facts.columns]
    nums = [c for c in facts.columns if c.startswith("n_")] + (["employees"] if "employees" in facts.columns else [])
    X = facts[cats + nums].copy()
    X[cats] = X[cats].fillna("(missing)").astype(str)
    if "employees" in nums:
        X["employees"] = np.log1p(X["employees"].astype(float).fillna(X["employees"].median()))
    y = facts["y"].to_numpy()
    split = int(len(facts) * (1 - holdout_share))
    if split < MIN_TRAIN or len(set(y[:split])) < 2 or len(set(y[split:])) < 2:
        raise MissingData(f"has {len(facts):,} leads with a known outcome ({int(y.sum()):,} reached {outcome}); "
                          f"a model needs at least {MIN_TRAIN} for training and both outcomes in training and holdout")
    pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20), cats),
                             ("num", StandardScaler(), nums)])
    model = make_pipeline(pre, LogisticRegression(max_iter=1000, C=1.0, random_state=random_state))
    model.fit(X.iloc[:split], y[:split])
    p = model.predict_proba(X.iloc[split:])[:, 1]
    fpr, tpr, _ = roc_curve(y[split:], p)
    return ModelFit(float(roc_auc_score(y[split:], p)), split, len(facts) - split, float(y[split:].mean()),
                    facts["created_at"].iloc[split], fpr, tpr)
