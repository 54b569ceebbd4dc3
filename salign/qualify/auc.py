"""AUC with a 95% interval (DeLong), and the paired difference of two models' AUCs on the same leads.

DeLong, DeLong & Clarke-Pearson (1988), in the fast midrank form of Sun & Xu (2014):
the AUC's variance comes from each positive's and each negative's placement among the
other class, so no resampling is needed and the same leads give the same interval.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, rankdata

Z95 = float(norm.ppf(0.975))


@dataclass(frozen=True)
class AUC:
    """An AUC with its 95% interval, on ``n`` leads of which ``positives`` reached the outcome."""

    value: float
    low: float
    high: float
    n: int
    positives: int

    def __str__(self) -> str:
        return f"{self.value:.3f} (95% CI {self.low:.3f}-{self.high:.3f})"

    @property
    def words(self) -> str:
        """The AUC as a reader takes it: ``78% of the time (95% CI 76%-80%)``, how often the model ranks a
        qualified lead above an unqualified one."""
        return f"{ranks(self.value)} of the time (95% CI {ranks(self.low)}-{ranks(self.high)})"

    def as_dict(self) -> dict:
        return {"auc": round(self.value, 4), "ci_low": round(self.low, 4), "ci_high": round(self.high, 4),
                "n": self.n, "positives": self.positives}


def ranks(value: float | None) -> str:
    """An AUC in plain words, as a share: how often a qualified lead is ranked above an unqualified one (``78%``;
    50% is a coin toss, 100% perfect)."""
    return "n/a" if value is None or not np.isfinite(value) else f"{100 * value:.0f}%"


#: an AUC explained, for the methods part of a page
AUC_IN_WORDS = ("A model's (or a column's) AUC is how often it ranks a qualified lead above an unqualified one, "
                "over every such pair of holdout leads: 0.5 is a coin toss, 1 perfect; the pages give it as a share "
                "(0.784: 78% of the time). Its 95% interval is DeLong's.")


def _placements(scores: np.ndarray, y: np.ndarray):
    """AUCs and the placement components (V10 per positive, V01 per negative) for each row of ``scores``."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    both = np.hstack([pos, neg])
    r_all = rankdata(both, axis=1)
    r_pos = rankdata(pos, axis=1)
    r_neg = rankdata(neg, axis=1)
    v10 = (r_all[:, :m] - r_pos) / n
    v01 = 1.0 - (r_all[:, m:] - r_neg) / m
    auc = v10.mean(axis=1)
    return auc, v10, v01


def _covariance(v10: np.ndarray, v01: np.ndarray) -> np.ndarray:
    s10 = np.atleast_2d(np.cov(v10))
    s01 = np.atleast_2d(np.cov(v01))
    return s10 / v10.shape[1] + s01 / v01.shape[1]


def auc_ci(y, score) -> AUC:
    """AUC of ``score`` for the 0/1 outcome ``y`` with DeLong's 95% interval (clipped to [0, 1])."""
    y = np.asarray(y).astype(int)
    s = np.asarray(score, dtype=float)[None, :]
    auc, v10, v01 = _placements(s, y)
    se = float(np.sqrt(max(_covariance(v10, v01)[0, 0], 0.0)))
    a = float(auc[0])
    return AUC(a, max(0.0, a - Z95 * se), min(1.0, a + Z95 * se), len(y), int(y.sum()))


def auc_difference(y, score_a, score_b) -> tuple[float, float, float]:
    """AUC(a) - AUC(b) on the same leads, with DeLong's paired 95% interval: (difference, low, high)."""
    y = np.asarray(y).astype(int)
    s = np.vstack([np.asarray(score_a, dtype=float), np.asarray(score_b, dtype=float)])
    auc, v10, v01 = _placements(s, y)
    cov = _covariance(v10, v01)
    d = float(auc[0] - auc[1])
    se = float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)))
    return d, d - Z95 * se, d + Z95 * se
