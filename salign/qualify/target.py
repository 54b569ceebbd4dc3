"""The outcome a qualification model predicts, and the holdout that judges it.

The outcome is "the lead reached ``outcome`` within ``window_days`` of its creation", with the funnel's one
rule for "reached" (:func:`salign.common.facts.passed`: an event at the stage or any later funnel stage), so
the study and the quarterly review count the same leads. The stage comes from :func:`outcome_setting`:
the notebook parameter when given, else ``outcome:`` in workspace.yaml, else the furthest of sql, opportunity
and won that the data records. The
holdout is the newest leads (time-ordered), because a model is used on leads newer than the
ones it learned from; only data without usable creation dates falls back to a stratified
random split, and the split says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from salign.common.facts import OutcomeSetting, lead_facts
from salign.common.facts import outcome_setting as _setting
from salign.workspace.config import OUTCOME_STAGES
from salign.workspace.tables import MissingData

#: stages a lead can be qualified for
OUTCOMES = OUTCOME_STAGES
#: fewer distinct creation days than this and dates cannot order a holdout
MIN_CREATION_DAYS = 8
#: fewest leads to train on, and fewest of each outcome in training and holdout
MIN_TRAIN = 200
MIN_CLASS = 10


def outcome_setting(tables, outcome: str | None = None) -> OutcomeSetting:
    """The stage success means reaching: ``outcome`` if given, else workspace.yaml's, else the data's default.

    Raises
    ------
    ValueError
        ``outcome`` is not one of :data:`OUTCOMES`.
    MissingData
        Nothing sets an outcome and the data records none of sql, opportunity and won.
    """
    if outcome and outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}; got {outcome!r}")
    setting = _setting(tables, outcome or None)
    if setting.stage is None:
        raise MissingData(f"has no outcome to predict: {setting.reason}")
    return setting


def outcomes(tables, outcome: str | None = "sql", window_days: int = 90) -> pd.DataFrame:
    """Lead facts (see :func:`salign.common.facts.lead_facts`) plus ``y``: reached ``outcome`` within ``window_days``.

    Leads whose window has not closed at the data cut-off are dropped (their outcome is unknown).
    The frame is sorted by creation time (stable), so position is age.

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
        Needs the leads and stages tables.
    outcome : {"sql", "opportunity", "won"} or None
        The stage that counts as success; None (or "") takes :func:`outcome_setting`'s.
    window_days : int
        Days after creation within which the stage must be reached.

    Returns
    -------
    pandas.DataFrame
        One row per mature lead, with ``y`` (0/1) and ``outcome_at`` (when the outcome was reached, NaT if not).
    """
    outcome = outcome_setting(tables, outcome).stage
    facts = lead_facts(tables)
    window = pd.Timedelta(days=window_days)
    # the mature leads, oldest first (stable), taken in one copy of the wide frame (a million leads: one, not three)
    mature = np.flatnonzero((facts["created_at"] + window <= tables.as_of).to_numpy())
    order = mature[facts["created_at"].iloc[mature].argsort(kind="stable").to_numpy()]
    facts = facts.take(order)
    facts.index = pd.RangeIndex(len(facts))
    reached = facts[f"at_{outcome}"]
    hit = reached.notna() & (reached <= facts["created_at"] + window)
    facts["y"] = hit.astype(int)
    facts["outcome_at"] = reached.where(hit)
    return facts


@dataclass(frozen=True)
class Split:
    """Which leads train a model and which judge it.

    Attributes
    ----------
    train : numpy.ndarray
        Boolean mask over the rows of the outcome frame; the holdout is ``~train``.
    kind : {"time", "stratified"}
        A time-ordered holdout (the newest leads) or a stratified random one.
    reason : str
        In plain words, how the split was made and why.
    cutoff : pandas.Timestamp or None
        Creation time of the oldest holdout lead (time-ordered splits only).
    """

    train: np.ndarray
    kind: str
    reason: str
    cutoff: pd.Timestamp | None

    @property
    def test(self) -> np.ndarray:
        return ~self.train

    def as_dict(self) -> dict:
        return {"kind": self.kind, "n_train": int(self.train.sum()), "n_holdout": int(self.test.sum()),
                "cutoff": None if self.cutoff is None else self.cutoff.isoformat(), "reason": self.reason}


def holdout_split(created_at: pd.Series, y: np.ndarray, holdout_share: float = 0.25,
                  random_state: int = 0) -> Split:
    """The newest ``holdout_share`` of leads as holdout; stratified random only when dates cannot order leads.

    Parameters
    ----------
    created_at : pandas.Series
        Creation times, sorted ascending (as :func:`outcomes` returns them).
    y : numpy.ndarray
        The 0/1 outcome.
    holdout_share : float
        Share of leads held out.
    random_state : int
        Seed of the stratified fallback.

    Raises
    ------
    MissingData
        Too few leads, or too few of either outcome, for an honest evaluation.
    """
    y = np.asarray(y)
    n = len(y)
    days = created_at.dt.normalize().nunique()
    n_test = int(round(n * holdout_share))
    if n - n_test < MIN_TRAIN or min(int(y.sum()), int(n - y.sum())) < 2 * MIN_CLASS:
        raise MissingData(f"has {n:,} leads with a known outcome ({int(y.sum()):,} reached it); a model needs at "
                          f"least {MIN_TRAIN} for training and {MIN_CLASS} of each outcome in training and holdout")
    train = np.ones(n, dtype=bool)
    if days >= MIN_CREATION_DAYS:
        train[n - n_test:] = False
        cutoff = created_at.iloc[n - n_test]
        split = Split(train, "time", f"time-ordered: trained on the {n - n_test:,} leads created before "
                                     f"{cutoff:%Y-%m-%d}, judged on the {n_test:,} newer ones", cutoff)
    else:
        _, test_idx = train_test_split(np.arange(n), test_size=n_test, stratify=y, random_state=random_state)
        train[test_idx] = False
        split = Split(train, "stratified", f"stratified random ({holdout_share:.0%} held out, seed {random_state}): "
                                           f"the leads carry only {days} distinct creation "
                                           f"{'day' if days == 1 else 'days'}, so no time-ordered holdout is "
                                           f"possible; a random split flatters flexible models", None)
    for part, mask in (("training", split.train), ("holdout", split.test)):
        k = int(y[mask].sum())
        if min(k, int(mask.sum()) - k) < MIN_CLASS:
            raise MissingData(f"has only {k:,} leads reaching the outcome among {int(mask.sum()):,} {part} leads; "
                              f"an evaluation needs at least {MIN_CLASS} of each outcome")
    return split
