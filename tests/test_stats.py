import math

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from salign.common.stats import Rate, benjamini_hochberg, kaplan_meier, rates


def test_wilson_interval_known_values():
    lo, hi = Rate(3, 10).interval
    assert lo == pytest.approx(0.10779, abs=1e-4) and hi == pytest.approx(0.60322, abs=1e-4)


def test_zero_over_zero_is_na_not_zero():
    r = Rate(0, 0)
    assert r.value is None and r.interval is None and str(r).startswith("n/a")
    assert r.as_dict()["rate"] is None
    assert np.isnan(rates(pd.Series([0]), pd.Series([0]))["rate"].iloc[0])


def test_vectorised_rates_match_scalar():
    t = rates(pd.Series([1, 5, 0]), pd.Series([4, 5, 7]))
    for row, (k, n) in zip(t.itertuples(), [(1, 4), (5, 5), (0, 7)]):
        assert (row.ci_low, row.ci_high) == pytest.approx(Rate(k, n).interval)


def test_benjamini_hochberg_matches_hand_computation():
    reject, q = benjamini_hochberg([0.01, 0.04, 0.03, 0.20])
    assert q.tolist() == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert reject.tolist() == [True, False, False, False]


def test_kaplan_meier_equals_lifelines_and_keeps_censored():
    rng = np.random.default_rng(1)
    d = pd.Series(rng.exponential(10, 300))
    e = pd.Series(rng.random(300) < 0.7)
    summary, _ = kaplan_meier(d, e)
    ref = KaplanMeierFitter().fit(d, e)
    assert summary.median == pytest.approx(ref.median_survival_time_)
    assert summary.n == 300 and summary.events == int(e.sum())
    assert summary.median_ci[0] <= summary.median <= summary.median_ci[1]


def test_kaplan_meier_not_reached_when_mostly_censored():
    summary, _ = kaplan_meier(pd.Series([1.0, 2, 3, 4, 5]), pd.Series([True, False, False, False, False]))
    assert summary.median is None and "not reached" in str(summary)


def test_interval_always_contains_the_estimate_at_the_edges():
    for k, n in [(0, 7), (7, 7), (3, 3), (0, 1000), (1000, 1000)]:
        lo, hi = Rate(k, n).interval
        assert lo <= k / n <= hi
    t = rates(pd.Series([7, 0, 3000]), pd.Series([7, 9, 3000]))
    assert ((t["ci_low"] <= t["rate"]) & (t["rate"] <= t["ci_high"])).all()


def km_by_hand(durations, observed, z=1.959963984540054):
    """Plain-Python Kaplan-Meier with the exponential Greenwood ("log-log") 95% band, as lifelines documents it.

    Returns ``[(t, S(t), lower band, upper band)]`` at each event time (no ties in the tests' data).
    """
    rows, surv, greenwood, at_risk = [], 1.0, 0.0, len(durations)
    for t, event in sorted(zip(durations, observed)):
        if event:
            surv *= (at_risk - 1) / at_risk
            greenwood += 1 / (at_risk * (at_risk - 1)) if at_risk > 1 else math.inf
            if surv > 0:
                c, half = math.log(-math.log(surv)), z * math.sqrt(greenwood) / -math.log(surv)
                rows.append((t, surv, math.exp(-math.exp(c + half)), math.exp(-math.exp(c - half))))
            else:
                rows.append((t, 0.0, 0.0, 0.0))
        at_risk -= 1
    return rows


def first_time_at_or_below(times, curve, level):
    return next((t for t, s in zip(times, curve) if s <= level), None)


def test_median_p90_and_their_intervals_on_a_hand_computed_case():
    # 12 cases at 1..12 hours, censored at 3 and 8. By hand: S = 11/12, 10/12, (3 censored), x8/9, x7/8, x6/7,
    # x5/6 = 0.463 at 7 (the median), (8 censored), x3/4, x2/3 = 0.2315 at 10, x1/2 = 0.1157 at 11, 0 at 12 (p90).
    durations = list(range(1, 13))
    observed = [t not in (3, 8) for t in durations]
    rows = km_by_hand(durations, observed)
    times, surv, lower, upper = (list(col) for col in zip(*rows))
    assert surv[times.index(7)] == pytest.approx(0.4630, abs=1e-4)
    assert surv[times.index(11)] == pytest.approx(0.1157, abs=1e-4)
    summary, _ = kaplan_meier(pd.Series(durations, dtype=float), pd.Series(observed))
    for p, estimate, interval in ((0.5, summary.median, summary.median_ci), (0.9, summary.p90, summary.p90_ci)):
        assert estimate == first_time_at_or_below(times, surv, 1 - p)
        # the lower band reaches 1 - p first: the lower time bound
        assert interval == (first_time_at_or_below(times, lower, 1 - p), first_time_at_or_below(times, upper, 1 - p))
    assert (summary.median, summary.median_ci) == (7, (2, 11))
    assert (summary.p90, summary.p90_ci) == (12, (9, 12))
