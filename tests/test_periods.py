import datetime as dt

import pandas as pd
import pytest

from salign import cli
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
    assert str(resolve("previous", t, today=dt.date(2026, 1, 3))) == "2025Q4"
    with pytest.raises(PeriodError, match="after the data ends"):
        resolve("2026Q1", t)
    with pytest.raises(PeriodError, match="after the data ends"):  # cron on stale data: no empty report
        resolve("previous", t, today=dt.date(2026, 5, 3))


def test_period_before_the_data_is_refused_with_the_span(tiny_workspace):
    t = load_workspace(tiny_workspace)  # leads from 2025-10-02
    with pytest.raises(PeriodError, match=r"1990Q1 is before the data starts: the data covers 2025-10-02 to "
                                          r"2025-12-31 \(quarters 2025Q4 to 2025Q4\)"):
        resolve("1990Q1", t)
    with pytest.raises(PeriodError, match="before the data starts"):
        resolve("2025Q3", t)


def test_latest_follows_leads_and_stages_not_a_scheduled_task(tiny_workspace):
    """A task scheduled for 2099 neither moves the default as_of nor makes 'latest' 2099Q1; validate lists it."""
    text = (tiny_workspace / "workspace.yaml").read_text().replace('as_of: "2026-01-01"\n', "")
    (tiny_workspace / "workspace.yaml").write_text(text)
    with open(tiny_workspace / "activities.csv", "a") as fh:
        fh.write("X9,2099-06-01T10:00:00Z,sales,call,L1,A1,,R1\n")
    t = load_workspace(tiny_workspace)
    assert t.as_of == pd.Timestamp("2025-12-15T23:00:00Z")  # midnight (Berlin) after the last stage event
    with pytest.raises(PeriodError, match="2025Q3 is before the data starts: .* no complete quarter"):
        resolve("latest", t)  # the tiny data covers part of 2025Q4 only (was: 2099Q1)
    [w] = t.warnings
    assert (w.rule, w.column, w.line, w.value) == ("future-date", "at", 6, "2099-06-01T10:00:00+00:00")
    assert "today" in w.message and "ignores" in w.message


def test_future_rows_after_a_declared_as_of_are_warnings(tiny_workspace, capsys):
    with open(tiny_workspace / "activities.csv", "a") as fh:
        fh.write("X9,2026-02-01T10:00:00Z,sales,call,L1,A1,,R1\n")
    t = load_workspace(tiny_workspace)
    assert str(resolve("latest", t)) == "2025Q4"
    assert [(w.file.endswith("activities.csv"), w.line, "as_of, 2026-01-01" in w.message) for w in t.warnings] == [
        (True, 6, True)]
    assert cli.main(["validate", "--workspace", str(tiny_workspace)]) == 0  # listed, not blocking
    out = capsys.readouterr().out
    assert "warning: " in out and "activities.csv:6, column 'at'" in out and "(1 warning above)" in out


def test_a_deals_only_workspace_takes_its_span_from_the_deals(tiny_workspace):
    text = (tiny_workspace / "workspace.yaml").read_text()
    (tiny_workspace / "workspace.yaml").write_text(text.replace("  leads: leads.csv\n", "")
                                                   .replace("  stages: stages.csv\n", ""))
    t = load_workspace(tiny_workspace)
    assert str(resolve("latest", t)) == "2025Q4"
    with pytest.raises(PeriodError, match="before the data starts: the data covers 2025-10-12 to 2025-12-31"):
        resolve("2025Q3", t)
