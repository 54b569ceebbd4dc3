"""One qualification study's data: outcome, decision-time features, leakage check and holdout, built once."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.common.facts import MARKETING_WINDOW_DAYS
from salign.common.result import Paragraph, Result, Strong, Table
from salign.common.stats import Rate
from salign.core import fmt
from salign.qualify import leakage
from salign.qualify.features import Candidates, candidates
from salign.qualify.target import Split, holdout_split, outcome_setting, outcomes

HOLDOUT_SHARE = 0.25


@dataclass
class Dataset(Result):
    """Mature leads with their outcome, typed features, the leakage check and the train/holdout split.

    Attributes
    ----------
    facts : pandas.DataFrame
        The outcome frame (oldest lead first), see :func:`salign.qualify.target.outcomes`.
    cands : Candidates
        Every candidate feature; ``features`` drops the leaking ones.
    leakage : LeakageReport
    split : Split
    """

    facts: pd.DataFrame
    cands: Candidates
    leakage: leakage.LeakageReport
    split: Split
    outcome: str
    window_days: int
    fingerprint: str
    as_of: pd.Timestamp
    random_state: int = 0
    title: str = "What is predicted, and how it is judged"
    #: where the outcome stage comes from (workspace.yaml, the parameter or the data), in plain words
    outcome_reason: str = ""

    @property
    def y(self) -> np.ndarray:
        return self.facts["y"].to_numpy()

    @property
    def features(self) -> pd.DataFrame:
        """Decision-time features without the leaking columns."""
        return self.cands.frame.drop(columns=self.leakage.excluded)

    @property
    def kinds(self) -> dict[str, str]:
        return {c: k for c, k in self.cands.kinds.items() if c not in self.leakage.flagged}

    @property
    def train(self) -> np.ndarray:
        return self.split.train

    @property
    def test(self) -> np.ndarray:
        return self.split.test

    @property
    def outcome_text(self) -> str:
        return f"reached {self.outcome} within {self.window_days} days of creation"

    def rate(self, mask: np.ndarray | None = None) -> Rate:
        y = self.y if mask is None else self.y[mask]
        return Rate(int(y.sum()), len(y))

    def metrics(self) -> dict:
        return {"outcome": self.outcome, "window_days": self.window_days, "n_leads": len(self.facts),
                "base_rate": self.rate().as_dict(), "base_rate_train": self.rate(self.train).as_dict(),
                "base_rate_holdout": self.rate(self.test).as_dict(), "split": self.split.as_dict(),
                "features": sorted(self.kinds), "not_features": dict(sorted(self.cands.dropped.items()))}

    def blocks(self) -> list:
        dropped = pd.DataFrame([{"column": c, "why it is not a feature": why} for c, why in
                                sorted(self.cands.dropped.items())])
        out = [Paragraph("Success means the lead ", Strong(self.outcome_text),
                         f". {fmt.count(len(self.facts))} leads are old enough for their outcome to be known; "
                         f"{str(self.rate())} succeeded."),
               *([Paragraph(f"The outcome stage is {self.outcome}: {self.outcome_reason}. A lead reached "
                            f"{self.outcome} when it has an event at {self.outcome} or any later funnel stage, "
                            "the rule the quarterly review's funnel uses.")] if self.outcome_reason else []),
               Paragraph(f"Holdout: {self.split.reason}. Success rate in training {str(self.rate(self.train))}, "
                         f"in the holdout {str(self.rate(self.test))}."),
               Paragraph(f"Features are what was known at the decision point (the first MQL, or "
                         f"{MARKETING_WINDOW_DAYS} days after creation for leads never MQL'd): the lead's attributes, "
                         f"its persona and counts of its marketing activities before that point. "
                         f"{fmt.count(len(self.kinds))} candidate features remain after the leakage check.")]
        return out + ([Table(dropped, caption="Columns that are not features")] if len(dropped) else [])


def prepare(tables, outcome: str | None = None, window_days: int = 90, random_state: int = 0,
            exclude_columns: str = "", holdout_share: float = HOLDOUT_SHARE) -> Dataset:
    """Build the study's data: outcome, candidate features, holdout split and leakage check.

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
    outcome, window_days
        Success is reaching stage ``outcome`` within ``window_days`` of creation; no ``outcome`` (None or "")
        takes workspace.yaml's ``outcome:``, else the furthest of sql, opportunity, won the data records.
    random_state : int
        Seed of every random step.
    exclude_columns : str
        Comma-separated columns the analyst declares as known only after the outcome.
    holdout_share : float
        Share of (the newest) leads held out for evaluation.
    """
    setting = outcome_setting(tables, outcome)
    outcome = setting.stage
    facts = outcomes(tables, outcome, window_days)
    cands = candidates(facts, tables)
    y = facts["y"].to_numpy()
    split = holdout_split(facts["created_at"], y, holdout_share, random_state)
    declared = tuple(c.strip() for c in exclude_columns.split(",") if c.strip())
    unknown = [c for c in declared if c not in cands.kinds and c not in cands.dropped]
    if unknown:
        raise ValueError(f"exclude_columns names {', '.join(unknown)}, which the leads do not have; "
                         f"candidates: {', '.join(sorted(cands.kinds))}")
    report = leakage.check_workspace(tables, cands, y, split.train, facts["decided_at"], declared)
    return Dataset(facts, cands, report, split, outcome, window_days, tables.fingerprint, tables.as_of, random_state,
                   outcome_reason=setting.reason)


def leakage_report(data: Dataset) -> leakage.LeakageReport:
    """The leakage check of a prepared study (a section of its own in the notebook)."""
    return data.leakage
