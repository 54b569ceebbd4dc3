"""Issue 13 item 4, one story across pages: the pages of one review agree with each other and with the data.

Expectations are recomputed here from the sample's CSV files with plain pandas, not with the code under test.
"""
from __future__ import annotations

import html
import json
import re

import pandas as pd
import pytest
import yaml

from salign.common import periods
from salign.core import fmt, paths
from salign.report.html import result_html
from salign.review import changes, winloss
from salign.workspace.load import load_workspace

WS = paths.SAMPLE_WORKSPACE
CONFIG = yaml.safe_load((WS / "workspace.yaml").read_text())
TZ = CONFIG["timezone"]


@pytest.fixture(scope="module")
def sample():
    return load_workspace(WS)


def _local(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col, utc=True).dt.tz_convert(TZ).dt.tz_localize(None)


def _lost_only_by_hand() -> dict[str, float]:
    """Key accounts (tier key) whose deals closed 2025Q4-2026Q3 (local time) were all lost: amount of those deals."""
    acc = pd.read_csv(WS / "accounts.csv", dtype=str)
    key = set(acc.loc[acc["tier"].str.lower() == "key", "account_id"])
    o = pd.read_csv(WS / "opportunities.csv", dtype={"account_id": str})
    closed_at, created_at = _local(o["closed_at"]), _local(o["created_at"])
    as_of = pd.Timestamp(CONFIG["as_of"])
    o = o[o["outcome"].isin(["won", "lost"]) & o["account_id"].isin(key) & (created_at < as_of)
          & (closed_at >= pd.Timestamp("2025-10-01")) & (closed_at < pd.Timestamp("2026-10-01"))]
    won = o.groupby("account_id")["outcome"].apply(lambda s: (s == "won").any())
    lost_only = won[~won].index
    return {a: round(float(o.loc[o["account_id"] == a, "amount"].sum()), 2) for a in sorted(lost_only)}


def test_every_key_account_that_only_lost_is_listed_with_the_amount_at_stake(sample):
    expected = _lost_only_by_hand()
    assert len(expected) > 25  # more than the old 25-row list could show
    k = winloss.key_accounts(sample, periods.resolve("2026Q3", sample))
    assert k.metrics()["lost_only_at_stake"] == expected
    page = result_html(k)
    for account, amount in expected.items():
        assert fmt.money(amount, "EUR") in page, account
    names = pd.read_csv(WS / "accounts.csv", dtype=str).set_index("account_id")["name"]
    table = html.unescape(page.split("only lost (", 1)[1])
    shown = [n for n in names[list(expected)] if n in table]
    assert len(shown) == len(expected)


def test_amounts_carry_the_workspace_currency(sample):
    """The pipeline created, recomputed from opportunities.csv, reads as EUR on the win/loss part and in the change
    table; key-account amounts too (test above)."""
    assert CONFIG["currency"] == "EUR"
    o = pd.read_csv(WS / "opportunities.csv")
    created = _local(o["created_at"])
    pipeline = o.loc[(created >= pd.Timestamp("2026-07-01")) & (created < pd.Timestamp("2026-10-01")), "amount"].sum()
    expected = f"EUR {pipeline:,.0f}"
    period = periods.resolve("2026Q3", sample)
    assert expected in html.unescape(result_html(winloss.win_loss(sample, period)))
    table = html.unescape(result_html(changes.review_changes(sample, period)))
    row = table.split("Pipeline created", 1)[1].split("</tr>", 1)[0]
    assert expected in row and row.count("EUR ") >= 2  # this quarter and the quarters it is compared with
