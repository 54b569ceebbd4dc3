"""The signable model: binned features, a regularised logistic regression, integer points, calibrated.

Every feature is cut into bins (:mod:`salign.scoring.bins`); an L2-regularised logistic
regression on the bin indicators gives each bin a weight; weights become whole points
(``points_to_double_odds`` points double the odds), shifted so each feature's lowest bin
scores 0; a bin no training lead fell in (a value never seen, a field never missing) earns 0.
A lead's score is the sum of its points, which a person can add up by hand. A logistic fit
of the outcome on the score, on the newest training leads, turns scores into probabilities
(base rates drift, so the newest leads set the level).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from salign.common.result import Paragraph, Result, Table
from salign.core import fmt
from salign.qualify.auc import AUC, auc_ci
from salign.qualify.features import NUMERIC
from salign.qualify.target import Split
from salign.scoring.bins import BinSpec, fit_spec
from salign.scoring.card import POINTS_TO_DOUBLE_ODDS, Scorecard

#: inverse regularisation strengths tried; the best on the newest training leads is kept
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
#: share of the training leads (the newest) that choose the regularisation and calibrate scores
VALIDATION_SHARE = 0.25
#: a feature whose points differ by less than this across its bins is left off the card
MIN_POINTS_RANGE = 2


def one_hot(codes: np.ndarray, specs: list[BinSpec]) -> sparse.csr_matrix:
    """Indicator matrix of the bins (one column per bin of every feature)."""
    sizes = np.array([s.n_bins for s in specs])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n, k = codes.shape
    cols = (codes + offsets).ravel()
    rows = np.repeat(np.arange(n), k)
    return sparse.csr_matrix((np.ones(n * k), (rows, cols)), shape=(n, int(sizes.sum())))


def validation_rows(n_train: int, y: np.ndarray, ordered: bool, random_state: int) -> np.ndarray:
    """Boolean mask of the training rows that validate: the newest share, or a stratified random share."""
    mask = np.zeros(n_train, dtype=bool)
    n_val = max(1, int(round(n_train * VALIDATION_SHARE)))
    if ordered:
        mask[n_train - n_val:] = True
    else:
        _, idx = train_test_split(np.arange(n_train), test_size=n_val, stratify=y, random_state=random_state)
        mask[idx] = True
    return mask


def fit(X: pd.DataFrame, kinds: dict[str, str], y: np.ndarray, ordered: bool, random_state: int = 0,
        points_to_double_odds: int = POINTS_TO_DOUBLE_ODDS) -> tuple[Scorecard, float]:
    """Fit a scorecard on training leads ``X`` (oldest first when ``ordered``) with outcome ``y``.

    Returns
    -------
    (Scorecard, float)
        The card and the regularisation strength ``C`` chosen on the newest training leads.
    """
    y = np.asarray(y)
    specs = [fit_spec(c, kinds[c], X[c]) for c in X.columns]
    specs = [s for s in specs if s.n_bins > 2]  # a numeric column without cuts, or text without a frequent level
    codes = np.column_stack([s.codes(X[s.field]) for s in specs])
    design = one_hot(codes, specs)
    val = validation_rows(len(y), y, ordered, random_state)

    def model(C):
        return LogisticRegression(C=C, max_iter=1000)

    with threadpool_limits(limits=1):  # BLAS threads stall on a busy 2-core machine (0.4 s becomes 2 s)
        aucs = [roc_auc_score(y[val], model(C).fit(design[~val], y[~val]).decision_function(design[val]))
                for C in C_GRID]
        best_c = C_GRID[int(np.argmax(np.round(aucs, 4)))]
        coef = model(best_c).fit(design, y).coef_.ravel()
    factor = points_to_double_odds / np.log(2)
    seen = np.asarray(design.sum(axis=0)).ravel() > 0
    kept_specs, points, start = [], [], 0
    for spec in specs:
        raw = coef[start:start + spec.n_bins] * factor
        used = seen[start:start + spec.n_bins]
        start += spec.n_bins
        pts = np.where(used, np.rint(raw - raw[used].min()), 0).astype(np.int32)  # unseen values earn nothing
        if pts.max() >= MIN_POINTS_RANGE:
            kept_specs.append(spec)
            points.append(pts)
    card = Scorecard(kept_specs, points, 0.0, 1.0, [], points_to_double_odds)
    matrix = card.points_matrix(card.codes(X))
    card.typical = [round(float(v), 1) for v in matrix.mean(axis=0)]
    score = matrix.sum(axis=1)
    with threadpool_limits(limits=1):
        calib = LogisticRegression(C=np.inf).fit(score[val].reshape(-1, 1).astype(float), y[val])
    card.intercept, card.slope = float(calib.intercept_[0]), float(calib.coef_[0, 0])
    return card, best_c


@dataclass
class ScorecardFit(Result):
    """The fitted scorecard and its figures on the holdout.

    Attributes
    ----------
    card : Scorecard
    C : float
        The regularisation strength chosen on the newest training leads.
    score, probability : numpy.ndarray
        Holdout scores and calibrated probabilities.
    auc : AUC
        Holdout AUC with its 95% interval.
    """

    card: Scorecard
    C: float
    score: np.ndarray
    probability: np.ndarray
    auc: AUC
    brier: float
    n_train: int
    split: Split
    title: str = "The scorecard"

    def metrics(self) -> dict:
        return {"auc_holdout": round(self.auc.value, 6), "auc": self.auc.as_dict(), "brier": round(self.brier, 6),
                "n_train": self.n_train, "n_test": self.auc.n,
                "cutoff": None if self.split.cutoff is None else self.split.cutoff.isoformat(),
                "split": self.split.kind, "C": self.C, "features": self.card.fields, "max_score": self.card.max_score,
                "points_to_double_odds": self.card.points_to_double_odds}

    def headline(self) -> dict:
        return {"qualification_model_auc": round(self.auc.value, 3)}

    def points_table(self) -> pd.DataFrame:
        """One row per group of bins with the same points: feature, values, points."""
        rows = []
        for spec, pts in zip(self.card.specs, self.card.points):
            labels = spec.labels()
            if spec.kind == NUMERIC:
                rows += [{"feature": spec.field, "value": lab, "points": int(p)} for lab, p in zip(labels, pts)]
                continue
            for p in sorted(set(pts.tolist()), reverse=True):
                rows.append({"feature": spec.field, "value": ", ".join(lab for lab, q in zip(labels, pts) if q == p),
                             "points": int(p)})
        return pd.DataFrame(rows)

    def blocks(self) -> list:
        c = self.card
        return [Paragraph(f"{len(c.specs)} features, whole points; {c.points_to_double_odds} points double the odds "
                          f"of success; scores run from 0 to {c.max_score}. Holdout AUC {self.auc} on "
                          f"{fmt.count(self.auc.n)} leads, Brier score {fmt.number(self.brier, 4)}. Probability of "
                          f"success = 1 / (1 + exp(-({fmt.number(c.intercept, 3)} + {fmt.number(c.slope, 4)} × "
                          f"score))), calibrated on the newest training leads."),
                Table(self.points_table(), max_rows=400)]


def fit_scorecard(data) -> ScorecardFit:
    """Fit the scorecard on the training leads of ``data`` and judge it on the holdout.

    Parameters
    ----------
    data : salign.qualify.dataset.Dataset
    """
    X, y, train = data.features, data.y, data.train
    card, C = fit(X[train], data.kinds, y[train], data.split.kind == "time", data.random_state)
    score = card.score(X[~train])
    prob = card.probability(score)
    return ScorecardFit(card, C, score, prob, auc_ci(y[~train], score), float(brier_score_loss(y[~train], prob)),
                        int(train.sum()), data.split)
