"""How the study's rates and lifts read on its pages, through :mod:`salign.core.fmt`.

>>> from salign.common.stats import Rate
>>> rate(Rate(21, 50)), rate(Rate(0, 0)), times(1.4242), times(None)
('42.0% (21 of 50; 95% CI 29.4%-55.8%)', 'n/a (0 of 0)', '1.4×', 'n/a')
"""
from __future__ import annotations

import math

from salign.common.stats import Rate
from salign.core import fmt


def rate(r: Rate) -> str:
    """A rate with its count and 95% interval: ``42.0% (21 of 50; 95% CI 29.4%-55.8%)``."""
    return fmt.rate(r.k, r.n, *(r.interval or ()))


def times(x: float | None, digits: int = 1) -> str:
    """A lift over the base rate: ``1.4×``; ``n/a`` when there is none."""
    return fmt.NO_CASES if x is None or math.isnan(x) else f"{fmt.number(x, digits)}×"
