"""A scorecard as used: bins, whole points per bin and the score-to-probability calibration (numpy only).

Fitting lives in :mod:`salign.qualify.scorecard`; reading and writing the signed file in
:mod:`salign.qualify.definition`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.qualify.bins import BinSpec

#: points that double the odds of the outcome
POINTS_TO_DOUBLE_ODDS = 10


@dataclass
class Scorecard:
    """Points per bin of each feature and the score-to-probability calibration.

    Attributes
    ----------
    specs : list of BinSpec
        The bins of each feature on the card.
    points : list of numpy.ndarray
        Whole points for every bin of the matching spec (the lowest bin of a feature scores 0).
    intercept, slope : float
        Calibration: probability = 1 / (1 + exp(-(intercept + slope * score))).
    typical : list of float
        Each feature's average points over the training leads: the reference a lead's reasons are measured from.
    points_to_double_odds : int
        The scale of the points.
    """

    specs: list[BinSpec]
    points: list[np.ndarray]
    intercept: float
    slope: float
    typical: list[float]
    points_to_double_odds: int = POINTS_TO_DOUBLE_ODDS

    @property
    def fields(self) -> list[str]:
        return [s.field for s in self.specs]

    def feature_codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Bin numbers, one row per feature and one column per lead; an absent column is missing."""
        out = np.empty((len(self.specs), len(frame)), dtype=np.int32)
        for j, spec in enumerate(self.specs):
            out[j] = spec.codes(frame[spec.field]) if spec.field in frame.columns else spec.missing_bin
        return out

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Bin number of every lead (rows) for every feature (columns)."""
        return self.feature_codes(frame).T

    def points_matrix(self, codes: np.ndarray) -> np.ndarray:
        """Points of every lead (rows) for every feature (columns), from :meth:`codes`."""
        out = np.empty(codes.shape[::-1], dtype=np.int32)
        for j, pts in enumerate(self.points):
            out[j] = pts[codes[:, j]]
        return out.T

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """Each lead's score: the sum of its points."""
        return self.points_matrix(self.codes(frame)).sum(axis=1)

    def probability(self, score: np.ndarray) -> np.ndarray:
        """Calibrated probability of the outcome for a score."""
        return 1.0 / (1.0 + np.exp(-(self.intercept + self.slope * np.asarray(score, dtype=float))))

    @property
    def max_score(self) -> int:
        return int(sum(int(p.max()) for p in self.points))
