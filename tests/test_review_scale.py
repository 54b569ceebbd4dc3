"""Issue 14 (a million leads): the review compares quarters without a pass over the event history per quarter.

- the funnel at an earlier cutoff (last quarter and a year earlier, read like for like) is read off the entries at
  the tables' own cutoff: no second engine query, the same figures;
- the trend reads every quarter's handoffs and decisions in one pass and reads each quarter off them as it stood
  at its own cutoff.

Expectations are worked out by hand from the fixtures below.
"""
import dataclasses

import pandas as pd
import pytest

from salign.common import facts, periods
from salign.review import changes, funnel, sla, trend
from salign.workspace.engine import engine_of, over_parquet
from salign.workspace.load import load_workspace
from salign.workspace.schema import FUNNEL
from tests.conftest import TINY, write_workspace

T = pd.Timestamp
NAT = pd.NaT

#: lead_id, stage, at. Leads (TINY): L1 created 2025-10-02T09, L2 2025-10-05T10, L3 2025-11-01T08, L4 2025-11-20T08
ROWS = [
    ("L1", "lead", "2025-10-02T09:00:00Z"), ("L1", "mql", "2025-10-03T09:00:00Z"),
    ("L1", "sal", "2025-11-20T09:00:00Z"), ("L1", "sql", "2025-11-25T09:00:00Z"),
    # L2's first lead event comes after the earlier cutoff: there, its lead stage falls back to its creation
    ("L2", "lead", "2025-11-16T09:00:00Z"),
    # L3 skips sal and sql on its way to an opportunity half an hour before the earlier cutoff
    ("L3", "lead", "2025-11-01T08:00:00Z"), ("L3", "mql", "2025-11-10T09:00:00Z"),
    ("L3", "opportunity", "2025-11-14T22:30:00Z"), ("L3", "mql", "2025-11-20T09:00:00Z"),
    ("L3", "won", "2025-12-01T09:00:00Z"),
    ("L4", "lead", "2025-11-20T08:00:00Z"),
]
#: midnight of 2025-11-15 in Berlin (the workspace's zone), in UTC
EARLIER = T("2025-11-14T23:00:00Z")


@pytest.fixture
def history(tmp_path):
    files = dict(TINY)
    files["stages.csv"] = "lead_id,stage,at,team,actor,reason,opportunity_id\n" + "".join(
        f"{lead},{stage},{at},sales,R1,,\n" for lead, stage, at in ROWS)
    return load_workspace(write_workspace(tmp_path / "h", files))


#: the funnel at EARLIER, worked out by hand from ROWS
AT_EARLIER = pd.DataFrame({
    "lead": [T("2025-10-02T09:00:00Z"), T("2025-10-05T10:00:00Z"), T("2025-11-01T08:00:00Z")],
    "mql": [T("2025-10-03T09:00:00Z"), NAT, T("2025-11-10T09:00:00Z")],
    "sal": [NAT, NAT, T("2025-11-14T22:30:00Z")],
    "sql": [NAT, NAT, T("2025-11-14T22:30:00Z")],
    "opportunity": [NAT, NAT, T("2025-11-14T22:30:00Z")],
    "won": [NAT, NAT, NAT],
}, index=pd.Index(["L1", "L2", "L3"], name="lead_id")).apply(pd.to_datetime, utc=True)[list(FUNNEL)]


def test_funnel_at_an_earlier_cutoff_is_read_off_the_later_one_without_a_query(history):
    t = history
    own = funnel.stage_entries(t)  # the tables' own cutoff, 2026-01-01: one engine query
    engine = engine_of(t)
    asked = engine.queries
    e = funnel.stage_entries(t, EARLIER)
    assert engine.queries == asked  # read off, not queried

    pd.testing.assert_frame_equal(e.at, AT_EARLIER)
    # at the tables' own cutoff, L2's lead stage is its lead event and L4 is in
    assert own.at.loc["L2", "lead"] == T("2025-11-16T09:00:00Z")
    assert own.at.loc["L1", "sal"] == T("2025-11-20T09:00:00Z") and "L4" in own.at.index

    # what the later entries do not determine is computed when asked for (one query), as of the earlier cutoff
    assert e.anomalies["skipped"] == {"mql": 0, "sal": 1, "sql": 1, "opportunity": 0}
    assert e.anomalies["reentered"]["mql"] == 0  # L3's second MQL comes after the earlier cutoff
    assert own.anomalies["reentered"]["mql"] == 1
    assert engine.queries == asked + 1
    assert e.left["mql"].loc["L3"] == T("2025-11-14T22:30:00Z")  # left MQL for its opportunity
    assert pd.isna(e.left["mql"].loc["L1"])  # still an MQL then: its sal came later
    assert own.left["mql"].loc["L1"] == T("2025-11-20T09:00:00Z")


def test_cohort_conversion_at_an_earlier_cutoff(history):
    t = history
    q4 = periods.resolve("2025Q4", t)
    r = funnel.cohort_rates(funnel.stage_entries(t, EARLIER), q4, "mql", "sql", 90)
    # MQLs by then: L1 (no sql by then) and L3 (sql passed at its opportunity): 1 of 2, neither mature
    assert (int(r["k"].iloc[0]), int(r["n"].iloc[0]), int(r["mature"].iloc[0])) == (1, 2, 0)
    r = funnel.cohort_rates(funnel.stage_entries(t), q4, "mql", "sql", 90)
    assert (int(r["k"].iloc[0]), int(r["n"].iloc[0])) == (2, 2)  # by 2026-01-01 L1 reached sql too


def test_tables_known_at_an_earlier_moment_read_their_funnel_off_the_uncut_ones(history, tmp_path):
    """Last quarter's fix list reads the tables as they stood (known_at): their funnel comes off the uncut tables'
    entries of the same engine, and what those do not determine (anomalies) only when asked for."""
    files = {}
    for name in ("leads", "stages", "activities"):
        files[name] = tmp_path / f"{name}.parquet"
        getattr(history, name).to_parquet(files[name])
    uncut = dataclasses.replace(history, engine=over_parquet("duckdb", files))
    engine = uncut.engine
    funnel.stage_entries(uncut)  # the uncut tables' own cutoff: one query
    cut = periods.known_at(uncut, EARLIER)
    assert cut.engine is engine and "L4" not in set(cut.leads["lead_id"])
    facts.recorded_stages(cut)  # the stages the cut records: its own query
    asked = engine.queries
    e = funnel.stage_entries(cut)
    assert engine.queries == asked  # read off, not queried
    # as at the earlier cutoff in test_funnel_at_an_earlier_cutoff_is_read_off_the_later_one_without_a_query
    pd.testing.assert_frame_equal(e.at, AT_EARLIER)
    # before the cut only lead, MQL (L1, L3) and opportunity (L3) events happened: the stages the cut records
    assert e.stages == ("lead", "mql", "opportunity")
    q4 = periods.resolve("2025Q4", cut)
    conversion = funnel.stage_conversion(cut, q4, 90)
    assert engine.queries == asked  # the table needs no anomalies
    # MQL -> opportunity: of L1 and L3 (MQLs in Q4), L3 reached an opportunity by then
    assert conversion.rate("mql").k == 1 and conversion.rate("mql").n == 2
    assert conversion.anomalies["skipped"] == {"mql": 0, "sal": 1, "sql": 1, "opportunity": 0}
    assert conversion.anomalies["reentered"]["mql"] == 0  # L3's second MQL comes after the cut
    assert engine.queries == asked + 1  # counted by the engine on the cut when asked for


Q3 = periods.Quarter(2025, 3)  # UTC: 2025-07-01 to 2025-10-01
C = T("2025-09-15T00:00:00Z")  # a cutoff inside the quarter


def test_handoffs_of_a_quarter_are_read_off_the_span():
    handed = pd.DataFrame({
        "mql_at": [T("2025-06-30T00:00:00Z"), T("2025-07-05T00:00:00Z"), T("2025-08-01T00:00:00Z"),
                   T("2025-09-01T00:00:00Z"), T("2025-09-20T00:00:00Z")],
        "first_follow_up": [T("2025-07-01T00:00:00Z"), T("2025-07-06T00:00:00Z"), T("2025-09-20T00:00:00Z"), NAT,
                            T("2025-09-21T00:00:00Z")],
    }, index=pd.Index(["D", "A", "B", "E", "C"], name="lead_id"))
    h = trend.handoffs_at(handed, Q3, C)
    # D: handed over before the quarter; C: after the cutoff. A followed up in a day; B's follow-up came after the
    # cutoff, so it waits 45 days (1080 h) there; E never: 14 days (336 h)
    assert list(h.index) == ["A", "B", "E"]
    assert list(h["followed_up"]) == [True, False, False]
    assert list(h["hours"]) == [24.0, 1080.0, 336.0]
    assert h["first_follow_up"].isna().tolist() == [False, True, True]


def test_decisions_of_a_quarter_are_read_off_the_span():
    decided = pd.DataFrame({"stage": ["sal", "rejected", "rejected", "sal"],
                            "at": [T("2025-06-30T12:00:00Z"), T("2025-07-02T00:00:00Z"), T("2025-09-16T00:00:00Z"),
                                   T("2025-09-14T23:59:00Z")],
                            "has_reason": [True, False, True, True]})
    d = trend.decisions_at(decided, Q3, C)
    assert list(d.index) == [1, 3]  # the one before the quarter and the one after the cutoff are out


def test_trend_quarters_read_off_the_span_match_each_quarter_measured_alone(history):
    """The trend's per-quarter figures are those of :func:`sla.handoffs` and :func:`sla.decisions` run quarter by
    quarter at each lagged cutoff (what the trend did before it read them in one pass)."""
    t = history
    period = periods.resolve("2025Q4", t)
    cutoff = funnel.cutoff_of(t)
    span = trend.Span(periods.Quarter(2025, 3, 1, t.config.timezone).start, period.end)
    handed, decided = sla.handoffs(t, span, cutoff), sla.decisions(t, span, cutoff)
    for q, c in ((period, cutoff), (period.previous, funnel.cutoff_of(t, changes.lagged_cutoff(period, period.previous,
                                                                                             cutoff)))):
        alone = sla.handoffs(t, q, c)
        pd.testing.assert_frame_equal(trend.handoffs_at(handed, q, c), alone[list(trend.handoffs_at(handed, q, c))])
        pd.testing.assert_frame_equal(trend.decisions_at(decided, q, c).drop(columns="days_from_mql"),
                                      sla.decisions(t, q, c).drop(columns="days_from_mql"))
    # the tiny workspace's 2025Q4 handoffs: L1 and L3 had their first MQL in the quarter
    assert list(trend.handoffs_at(handed, period, cutoff).index) == ["L1", "L3"]
