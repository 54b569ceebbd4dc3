"""The statistics we hold ourselves to: rates with Wilson intervals, FDR control, censored durations.

Thin wrappers over statsmodels and lifelines so every analysis reports the same way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from salign.core import fmt


@dataclass(frozen=True)
class Rate:
    """``k`` successes out of ``n`` with a 95% Wilson interval; 0/0 is "n/a", never 0%."""

    k: int
    n: int

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self.n:
            return None
        lo, hi = proportion_confint(self.k, self.n, alpha=0.05, method="wilson")
        p = self.k / self.n  # floating point can leave the bound a hair inside an estimate of 0 or 1
        return min(float(lo), p), max(float(hi), p)

    def __str__(self) -> str:
        return fmt.rate(self.k, self.n, *(self.interval or ()))

    def as_dict(self) -> dict:
        """JSON form for metrics files (rounded so reruns are byte-identical)."""
        iv = self.interval
        return {"k": int(self.k), "n": int(self.n),
                "rate": None if self.value is None else round(self.value, 6),
                "ci_low": None if iv is None else round(iv[0], 6),
                "ci_high": None if iv is None else round(iv[1], 6)}


def rates(k: pd.Series, n: pd.Series) -> pd.DataFrame:
    """Vectorised :class:`Rate`: columns k, n, rate, ci_low, ci_high (NaN where n == 0)."""
    k = k.astype(int)
    n = n.astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = proportion_confint(k, n.where(n > 0, 1), alpha=0.05, method="wilson")
    rate = (k / n).where(n > 0)
    out = pd.DataFrame({"k": k, "n": n, "rate": rate, "ci_low": np.fmin(lo, rate), "ci_high": np.fmax(hi, rate)})
    out.loc[n == 0, ["ci_low", "ci_high"]] = np.nan
    return out


def benjamini_hochberg(pvalues, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(reject, q-values) controlling the false discovery rate at ``alpha``."""
    p = np.asarray(pvalues, dtype=float)
    if p.size == 0:
        return np.zeros(0, bool), np.zeros(0)
    reject, q, _, _ = multipletests(p, alpha=alpha, method="fdr_bh")
    return reject, q


@dataclass(frozen=True)
class Duration:
    """Kaplan-Meier summary of a censored duration (e.g. hours to first follow-up)."""

    n: int
    events: int
    median: float | None
    median_ci: tuple[float | None, float | None]
    p90: float | None
    p90_ci: tuple[float | None, float | None]
    unit: str = "hours"

    def __str__(self) -> str:
        if not self.n:
            return "n/a (no cases)"

        f = fmt.days
        return (f"median {f(self.median)} {self.unit} (95% CI {f(self.median_ci[0])}-{f(self.median_ci[1])}), "
                f"p90 {f(self.p90)} (95% CI {f(self.p90_ci[0])}-{f(self.p90_ci[1])}); "
                f"{self.events:,} of {self.n:,} observed, {self.n - self.events:,} censored")

    def as_dict(self) -> dict:
        def r(x):
            return None if x is None else round(x, 4)

        return {"n": self.n, "events": self.events, "median": r(self.median),
                "median_ci": [r(x) for x in self.median_ci], "p90": r(self.p90),
                "p90_ci": [r(x) for x in self.p90_ci], "unit": self.unit}


def kaplan_meier(durations: pd.Series, observed: pd.Series, unit: str = "hours"):
    """Fit lifelines' Kaplan-Meier; return (:class:`Duration`, fitted estimator or None)."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import qth_survival_times

    d = pd.Series(durations, dtype=float).reset_index(drop=True)
    e = pd.Series(observed, dtype=bool).reset_index(drop=True)
    if d.empty:
        return Duration(0, 0, None, (None, None), None, (None, None), unit), None
    km = KaplanMeierFitter().fit(d.clip(lower=0), event_observed=e)

    def when(p: float, survival: pd.DataFrame) -> float | None:
        """Time by which a share ``p`` of cases had the event (None: not reached)."""
        t = float(qth_survival_times(1 - p, survival))
        return None if math.isinf(t) else t

    def q(p):
        return when(p, km.survival_function_)

    def q_ci(p):  # the lower survival band reaches 1-p first, giving the lower time bound
        band = km.confidence_interval_survival_function_
        return when(p, band.iloc[:, [0]]), when(p, band.iloc[:, [1]])

    return Duration(len(d), int(e.sum()), q(0.5), q_ci(0.5), q(0.9), q_ci(0.9), unit), km
