"""Applying a signed qualification definition: bins, points, probability, band and reasons (numpy and pandas only)."""
from salign.scoring.score import BANDS, Scorer, score_leads

__all__ = ["BANDS", "Scorer", "score_leads"]
