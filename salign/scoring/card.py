"""A scorecard as used: bins, whole points per bin and the score-to-probability calibration (numpy only).

Fitting lives in :mod:`salign.qualify.scorecard`; reading and writing the signed file in
:mod:`salign.definitions.qualification`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.definitions.qualification import Bin, Feature, QualificationDefinition
from salign.scoring.bins import BinSpec

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

    @classmethod
    def from_definition(cls, definition: QualificationDefinition) -> "Scorecard":
        """The scorecard of a signed definition as arrays, for vectorised scoring."""
        specs, points = [], []
        for f in definition.scorecard.features:
            if f.kind == "numeric":
                ranges = [b for b in f.bins if b.shape == "range"]
                specs.append(BinSpec(f.field, f.kind, edges=tuple(b.from_ for b in ranges[1:])))
                pts = [b.points for b in ranges] + [next(b.points for b in f.bins if b.missing)]
            else:
                levels = [(v, b.points) for b in f.bins if b.in_ for v in b.in_]
                specs.append(BinSpec(f.field, f.kind, levels=tuple(v for v, _ in levels)))
                pts = ([p for _, p in levels] + [next(b.points for b in f.bins if b.other)]
                       + [next(b.points for b in f.bins if b.missing)])
            points.append(np.asarray(pts, dtype=np.int32))
        cal = definition.scorecard.calibration
        return cls(specs, points, cal.intercept, cal.slope, [f.typical_points for f in definition.scorecard.features],
                         definition.scorecard.points_to_double_odds)


def features_from_card(card: Scorecard) -> list[Feature]:
    """The card's features in the file's form (category levels with equal points share a bin)."""
    out = []
    for spec, pts, typical in zip(card.specs, card.points, card.typical):
        pts = [int(p) for p in pts]
        if spec.kind == "numeric":
            bounds = [None, *spec.edges, None]
            bins = [Bin(points=p, from_=lo, below=hi) for p, lo, hi in zip(pts[:-1], bounds[:-1], bounds[1:])]
        else:
            groups: dict[int, list[str]] = {}
            for level, p in zip(spec.levels, pts[:-2]):
                groups.setdefault(p, []).append(level)
            bins = [Bin(points=p, in_=levels) for p, levels in sorted(groups.items(), reverse=True)]
            bins.append(Bin(points=pts[-2], other=True))
        bins.append(Bin(points=pts[-1], missing=True))
        out.append(Feature(field=spec.field, kind=spec.kind, typical_points=float(typical), bins=bins))
    return out
