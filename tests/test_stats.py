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
