import datetime as dt

import pandas as pd
import pytest

from salign.common.periods import PeriodError, Quarter, resolve
from salign.workspace.load import load_workspace


def test_calendar_quarter_in_workspace_time_zone():
    q = Quarter.parse("2026Q3", 1, "Europe/Berlin")
    assert q.start == pd.Timestamp("2026-06-30T22:00:00Z")  # midnight in Berlin, summer time
    assert q.end == pd.Timestamp("2026-09-30T22:00:00Z")
    assert str(q.previous) == "2026Q2" and str(q.year_ago) == "2025Q3" and str(q.shift(2)) == "2027Q1"


def test_fiscal_year_named_after_the_year_it_ends():
    q = Quarter.parse("2026Q1", 4, "UTC")
    assert q.start == pd.Timestamp("2025-04-01T00:00:00Z") and q.end == pd.Timestamp("2025-07-01T00:00:00Z")
    assert Quarter.containing(pd.Timestamp("2026-02-10T00:00:00Z"), 4, "UTC") == Quarter(2026, 4, 4, "UTC")
    assert Quarter.containing(pd.Timestamp("2025-04-01T00:00:00Z"), 4, "UTC") == Quarter(2026, 1, 4, "UTC")


def test_contains_is_half_open():
    q = Quarter.parse("2025Q4")
    s = pd.Series(pd.to_datetime(["2025-09-30T23:59:59Z", "2025-10-01T00:00:00Z", "2026-01-01T00:00:00Z"]))
    assert q.contains(s).tolist() == [False, True, False]


@pytest.mark.parametrize("text", ["2026-Q3", "2026q3", " 2026Q3 "])
def test_parse_accepts_spellings(text):
    assert str(Quarter.parse(text)) == "2026Q3"


@pytest.mark.parametrize("text", ["2026Q5", "Q3 2026", "last", ""])
def test_parse_rejects_nonsense(text):
    with pytest.raises(PeriodError):
        Quarter.parse(text)


def test_resolve_latest_previous_and_future(tiny_workspace):
    t = load_workspace(tiny_workspace)  # as_of 2026-01-01 (Berlin)
    assert str(resolve("latest", t)) == "2025Q4"
    assert str(resolve("previous", t, today=dt.date(2026, 5, 3))) == "2026Q1"
    with pytest.raises(PeriodError, match="after the data ends"):
        resolve("2026Q1", t)
