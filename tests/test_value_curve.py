"""The cumulative value curve never passes 100% (issue 13 leftovers, item 1).

Customer value (won revenue x margin, minus churn penalties) can be negative. A share of the *net* total then rises
above 100% and comes back down (the sample's curve peaked near 113%). The page now draws the cumulative share of the
*positive* value over the customers whose value is positive (it ends at exactly 100%) and says separately how many
customers have a negative value and what they sum to. Expectations are computed by hand from the fixtures'
construction, and for the sample from its CSVs with plain pandas.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402

from salign import personas  # noqa: E402
from salign.core import paths  # noqa: E402
from salign.personas.value import CustomerValue  # noqa: E402
from salign.report.html import result_html  # noqa: E402
from salign.workspace.load import load_workspace  # noqa: E402


def hand_made(values: list[float]) -> CustomerValue:
    n = len(values)
    c = pd.DataFrame({"account_id": [f"A{i:02d}" for i in range(n)], "value": values,
                      "best": [i == 0 for i in range(n)], "worst": [i == n - 1 for i in range(n)]})
    return CustomerValue(c, 0.2, 0.2, currency="EUR", revenue_currency="EUR")


def curve(result: CustomerValue):
    """The right-hand panel's curve as drawn: (x, y) of its first line, and the panel's x label."""
    fig = result.draw()
    try:
        ax2 = fig.axes[1]
        line = ax2.lines[0]
        return list(line.get_xdata()), list(line.get_ydata()), ax2.get_xlabel(), ax2.get_title()
    finally:
        plt.close(fig)


def text(result: CustomerValue) -> str:
    return " ".join(BeautifulSoup(result_html(result), "html.parser").get_text(" ").split())


def test_negative_values_keep_the_curve_at_or_below_100_percent():
    # positive 100 + 50 + 30 + 20 = 200; negative -10 - 40 = -50; net 150 (a net-share curve would peak at 133%)
    r = hand_made([100, 50, 30, -10, 20, -40])
    x, y, xlabel, title = curve(r)
    assert y == pytest.approx([100 / 200, 150 / 200, 180 / 200, 200 / 200])
    assert max(y) <= 1.0 and y[-1] == 1.0
    assert x == pytest.approx([1 / 6, 2 / 6, 3 / 6, 4 / 6])  # share of all 6 customers; the 2 negatives not on it
    assert "positive value" in title
    assert "2 with a negative value (EUR -50 in all)" in xlabel
    m = r.metrics()
    assert (m["negative_value"], m["negative_value_total"], m["positive_value_total"], m["value_total"]) == \
        (2, -50, 200, 150)
    assert m["top_decile_positive_value_share"] == 0.5  # the top decile is 1 customer: 100 of the positive 200
    said = text(r)
    assert "2 have a negative value (EUR -50 in all)" in said
    assert ("the top decile (1 customers) holds 50.0% of the positive value, EUR 200 from the 4 customers whose "
            "value is positive; the 2 with a negative value take EUR 50 off it, for a total value of EUR 150") in said


def test_a_net_negative_total_still_draws_a_curve_that_ends_at_100_percent():
    r = hand_made([10, 5, -100])  # net -85: the old curve was not drawn at all
    x, y, xlabel, _ = curve(r)
    assert y == pytest.approx([10 / 15, 1.0]) and max(y) <= 1.0
    assert r.metrics()["top_decile_positive_value_share"] == pytest.approx(10 / 15)
    assert "1 with a negative value (EUR -100 in all)" in xlabel
    assert "1 have a negative value (EUR -100 in all)" in text(r)


def test_no_negative_value_says_so_and_adds_no_note():
    r = hand_made([30, 20, 10])
    _, y, xlabel, _ = curve(r)
    assert y == pytest.approx([0.5, 50 / 60, 1.0])
    assert "negative" not in xlabel
    assert "none has a negative value" in text(r)


def hand_sample() -> pd.Series:
    """The sample's customer values by hand: won revenue (summed won amounts) x the account's gross margin (1 where
    the margin is unknown), the default value definition, from the CSVs."""
    o = pd.read_csv(paths.SAMPLE_WORKSPACE / "opportunities.csv", usecols=["outcome", "account_id", "amount"])
    a = pd.read_csv(paths.SAMPLE_WORKSPACE / "accounts.csv", usecols=["account_id", "gross_margin"])
    revenue = o[o["outcome"] == "won"].groupby("account_id")["amount"].sum()
    return revenue * a.set_index("account_id")["gross_margin"].reindex(revenue.index).fillna(1.0)


def test_the_sample_curve_stays_at_or_below_100_percent_and_the_negatives_are_told():
    v = hand_sample()
    neg = v[v < 0]
    assert len(neg) > 0  # the sample has customers with a negative value (the case of the issue)
    assert v[v > 0].sum() / v.sum() > 1.05  # the old net-share curve passed 100% on it
    r = personas.customer_value(load_workspace(paths.SAMPLE_WORKSPACE))
    x, y, xlabel, _ = curve(r)
    assert max(y) <= 1.0 and y[-1] == 1.0
    assert len(y) == int((v > 0).sum()) and x[-1] == pytest.approx((v > 0).sum() / len(v))
    m = r.metrics()
    assert m["negative_value"] == len(neg) and m["negative_value_total"] == pytest.approx(neg.sum(), abs=0.01)
    said = text(r)
    total = f"EUR {round(neg.sum()):,}"
    assert f"{len(neg)} have a negative value ({total} in all)" in said
    assert f"{len(neg)} with a negative value ({total} in all)" in xlabel
