"""Sales follow-ups and assignments per lead (salign.common.followups), run by the engine on hand-built tables.

Every expectation below is read off the fixture by hand (the comments say which rows make it).
"""
import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from salign.common import followups, periods
from salign.review import handoff, sla
from salign.review.sla import HOUR
from salign.workspace.engine import over_parquet
from salign.workspace.load import load_workspace
from salign.workspace.tables import Tables
from tests.conftest import HANDOFF_QUEUE, TINY, write_workspace

T = pd.Timestamp
CUTOFF = T("2025-12-31T23:00:00Z")  # the tiny workspace's as_of: midnight of 2026-01-01 in Berlin

STAGES = [("L1", "lead", "2025-10-02T09:00:00Z"), ("L1", "mql", "2025-10-03T09:00:00Z"),
          ("L1", "recycled", "2025-10-20T09:00:00Z"), ("L1", "mql", "2025-11-10T09:00:00Z"),
          ("L2", "lead", "2025-10-05T10:00:00Z"), ("L2", "mql", "2025-10-06T10:00:00Z"),
          ("L3", "lead", "2025-11-01T08:00:00Z"), ("L3", "mql", "2025-11-02T08:00:00Z"),
          ("L4", "lead", "2025-11-20T08:00:00Z"),
          ("L5", "lead", "2025-11-05T08:00:00Z"), ("L5", "mql", "2025-11-06T08:00:00Z"),
          ("L6", "lead", "2025-10-09T08:00:00Z"), ("L6", "mql", "2025-10-10T08:00:00Z"),
          ("L6", "recycled", "2025-10-20T08:00:00Z"), ("L6", "mql", "2025-11-15T08:00:00Z")]
ACTIVITIES = """\
X01,2025-10-03T08:59:59Z,sales,call,L1,A1,,R1
X02,2025-10-03T09:00:00Z,sales,email,L1,A1,,R1
X03,2025-10-03T09:00:00Z,marketing,call,L1,A1,,automation
X04,2025-10-03T09:30:00Z,sales,assignment,L1,A1,,sdr-inbox
X05,2025-10-03T10:00:00Z,sales,assignment,L1,A1,,R2
X06,2025-10-03T10:00:00Z,sales,assignment,L1,A1,,R1
X07,2025-11-11T09:00:00Z,sales,assignment,L1,A1,,R3
X08,2025-10-06T10:30:00Z,marketing,call,L2,A2,,automation
X09,2025-10-06T11:00:00Z,sales,assignment,L2,A2,,queue
X10,2025-10-06T11:00:00Z,sales,assignment,L2,A2,,
X11,2025-10-07T09:00:00Z,sales,assignment,L2,A2,,R2
X12,2025-12-01T09:00:00Z,sales,assignment,L2,A2,,R2
X13,2025-12-31T22:59:59Z,sales,meeting,L2,A2,,R2
X14,2025-11-02T09:00:00Z,sales,assignment,L3,A3,,R1
X15,2025-11-02T09:00:00Z,sales,assignment,L3,A3,,sdr-inbox
X16,2025-11-02T09:00:00Z,sales,call,L3,A3,,R1
X17,2025-10-01T09:00:00Z,sales,assignment,L4,,,R3
X18,2025-11-05T09:00:00Z,sales,assignment,L5,,,R1
X19,2025-11-06T10:00:00Z,sales,assignment,L5,,,sdr-inbox
X20,2025-10-10T10:00:00Z,sales,assignment,L6,,,R1
"""
# the leads of TINY with other owners: L1 R3 (assigned only on 2025-11-11), L2 R2 (assigned 2025-10-07 and
# again 2025-12-01), L3 none, L4 R3 (assigned to R3 on 2025-10-01, before it was created), L5 none, L6 R1
LEADS = """\
lead_id,created_at,source,account_id,job_level,department,employees,owner
L1,2025-10-02T09:00:00Z,event,A1,VP,Marketing,500,R3
L2,2025-10-05T10:00:00Z,paid_social,A2,Manager,Sales,20,R2
L3,2025-11-01T08:00:00Z,web,A3,Director,IT,1200,
L4,2025-11-20T08:00:00Z,web,,Manager,HR,,R3
L5,2025-11-05T08:00:00Z,web,,Manager,HR,,
L6,2025-10-09T08:00:00Z,web,,Manager,HR,,R1
"""
HANDOFF = HANDOFF_QUEUE


@pytest.fixture
def tables(tmp_path):
    files = dict(TINY)
    files["stages.csv"] = "lead_id,stage,at,team,actor,reason,opportunity_id\n" + "".join(
        f"{lead},{stage},{at},sales,R1,,\n" for lead, stage, at in STAGES)
    files["activities.csv"] = "activity_id,at,team,type,lead_id,account_id,content_id,actor\n" + ACTIVITIES
    files["leads.csv"] = LEADS
    files["definitions/handoff.yaml"] = HANDOFF
    return load_workspace(write_workspace(tmp_path / "f", files))


QUEUES = ("queue", "sdr-inbox")


def test_after_first_mql(tables):
    f = followups.after_mql(tables, CUTOFF, QUEUES)
    assert list(f.index) == ["L1", "L2", "L3", "L5", "L6"]  # L4: no MQL
    assert list(f.columns) == list(followups.AFTER_MQL)
    assert (f.dtypes.iloc[:4] == "datetime64[ns, UTC]").all()
    # L1: X01 is a second before the MQL; X02 comes exactly at it (counts); X03 is marketing's
    assert f.at["L1", "mql_at"] == T("2025-10-03T09:00:00Z")
    assert f.at["L1", "first_follow_up"] == T("2025-10-03T09:00:00Z")
    # L1 went to the queue first (X04), then to R2 and R1 at the same time (X05, X06): R1, the smaller name
    assert f.at["L1", "first_assigned"] == T("2025-10-03T09:30:00Z")
    assert f.at["L1", "routed_at"] == T("2025-10-03T10:00:00Z")
    assert f.at["L1", "first_rep"] == "R1"
    # L2: its only sales touch X13 is an hour and a second before midnight UTC, a second before the cutoff; queue actors (the literal and an empty one)
    # are no rep; R2 on 2025-10-07
    assert f.at["L2", "first_follow_up"] == T("2025-12-31T22:59:59Z")
    assert f.at["L2", "first_assigned"] == T("2025-10-06T11:00:00Z")
    assert f.at["L2", "routed_at"] == T("2025-10-07T09:00:00Z") and f.at["L2", "first_rep"] == "R2"
    # L3: the queue and R1 at the same time
    assert f.at["L3", "first_assigned"] == f.at["L3", "routed_at"] == T("2025-11-02T09:00:00Z")
    # L5: R1 the day before its MQL (X18) does not count, the queue after it (X19) does; nothing else
    assert f.at["L5", "first_assigned"] == T("2025-11-06T10:00:00Z")
    assert pd.isna(f.at["L5", "routed_at"]) and f.at["L5", "first_rep"] is None
    assert pd.isna(f.at["L5", "first_follow_up"])


def test_after_mql_cutoff_period_and_last_mql(tables):
    # a cutoff at X13's time leaves it out (strictly before), and L2 without follow-up
    early = followups.after_mql(tables, T("2025-12-31T22:59:59Z"), QUEUES)
    assert pd.isna(early.at["L2", "first_follow_up"])
    # only the first MQLs in November: L3, L5 (L1's and L6's first MQLs are in October; their second ones do not
    # count)
    nov = followups.after_mql(tables, CUTOFF, QUEUES, start=T("2025-11-01T00:00:00Z"), end=T("2025-12-01T00:00:00Z"))
    assert list(nov.index) == ["L3", "L5"]
    # the last MQL: L1's of 2025-11-10, after which only R3 was assigned (X07), with no follow-up
    last = followups.after_mql(tables, CUTOFF, QUEUES, which="last")
    assert last.at["L1", "mql_at"] == T("2025-11-10T09:00:00Z")
    assert last.at["L1", "routed_at"] == T("2025-11-11T09:00:00Z") and last.at["L1", "first_rep"] == "R3"
    assert pd.isna(last.at["L1", "first_follow_up"])
    # with R1 counted as a queue, L3 has no rep and L1's first rep is R2 (X05)
    as_queue = followups.after_mql(tables, CUTOFF, QUEUES + ("R1",))
    assert as_queue.at["L1", "first_rep"] == "R2" and as_queue.at["L3", "first_rep"] is None
    assert pd.isna(as_queue.at["L3", "routed_at"])


def test_handoffs_and_routing_read_the_follow_ups(tables):
    q = periods.resolve("2025Q4", tables)
    h = sla.handoffs(tables, q)
    # rep: the owner (L1 R3, L2 R2, L6 R1), else the first rep assigned (L3: R1), else nobody (L5)
    assert h["rep"].to_dict() == {"L1": "R3", "L2": "R2", "L3": "R1", "L5": "(unassigned)", "L6": "R1"}
    assert h.at["L1", "hours"] == 0.0 and h.at["L2", "hours"] == (T("2025-12-31T22:59:59Z") - T("2025-10-06T10:00:00Z")) / HOUR
    assert h["followed_up"].to_dict() == {"L1": True, "L2": True, "L3": True, "L5": False, "L6": False}
    r = handoff.routing(tables, q)
    # first assignment: L1 the queue (X04 before X05/X06), L2 the queue (X09/X10), L3 a rep (X14 ties X15),
    # L5 the queue (X19), L6 a rep (X20)
    assert r.first_to == {"a rep": 2, "the queue": 3, "nobody": 0}
    # reached a rep within 4 h: L1 (1 h), L3 (1 h), L6 (2 h); not L2 (23 h) nor L5 (never)
    assert (r.in_time.k, r.in_time.n) == (3, 5) and (r.never_routed.k, r.never_routed.n) == (1, 5)


def test_stuck_leads_look_after_the_last_mql(tables):
    # L5 had only the queue after its MQL; L6 had R1 after its first MQL but nobody after its last one;
    # L1 had R3 after its last MQL (X07): not stuck
    s = handoff.stuck_leads(tables, periods.resolve("2025Q4", tables))
    assert s.stuck == 2
    # waiting since 2025-11-06 08:00 (L5) and 2025-11-15 08:00 (L6) until 2025-12-31 23:00
    assert sorted(s.waiting_days) == [46.625, 55.625]


def test_sales_touches_count_up_to_the_close(tables):
    deals = pd.DataFrame({"opportunity_id": ["O1", "O2", "O3", "O4"], "lead_id": ["L1", "L1", None, "L4"],
                          "closed_at": [T("2025-10-03T09:00:00Z"), T("2025-12-01T00:00:00Z"),
                                        T("2025-12-01T00:00:00Z"), T("2025-09-01T00:00:00Z")]})
    n = followups.sales_touches(tables, deals)
    # O1: X01 and X02 (at the close itself); O2: L1's six sales rows X01, X02, X04-X07; O3 has no lead;
    # O4's lead has only X17, after that deal closed
    assert n.to_dict() == {"O1": 2, "O2": 6}


def test_owner_assigned_after_the_cut_is_blank(tables):
    when = T("2025-11-02T23:00:00Z")  # midnight of 2025-11-03 in Berlin
    pairs = followups.assigned_from(tables, when)
    # first assignments at or after it: L1 to R3 (X07), L5 to R1 and the queue (X18, X19); not L2 to R2 (first
    # on 2025-10-07, X11, again on 2025-12-01)
    assert list(map(tuple, pairs.to_numpy())) == [("L1", "R3"), ("L5", "R1"), ("L5", "sdr-inbox")]
    cut = periods.known_at(tables, when)
    # L1's owner R3 was assigned later: blank; L2's R2 and L6's R1 stay; L4 and L5 (created later) are gone
    owners = cut.leads.set_index("lead_id")["owner"]
    assert list(owners.index) == ["L1", "L2", "L3", "L6"]
    assert owners.isna().to_dict() == {"L1": True, "L2": False, "L3": True, "L6": False}
    assert owners["L2"] == "R2" and owners["L6"] == "R1"


def test_undated_activities_count_nowhere():
    """Frames cut by known_at keep undated activities; they are no follow-up, assignment or touch."""
    leads = pd.DataFrame({"lead_id": ["L1"], "created_at": [T("2025-10-01T00:00:00Z")], "owner": ["R1"]})
    stages = pd.DataFrame({"lead_id": ["L1"], "stage": ["mql"], "at": [T("2025-10-02T00:00:00Z")],
                           "team": ["marketing"], "actor": [None]})
    acts = pd.DataFrame({"lead_id": ["L1", "L1"], "at": pd.to_datetime([None, "2025-10-03T00:00:00Z"], utc=True),
                         "team": ["sales", "sales"], "type": ["call", "assignment"], "actor": ["R1", "R1"],
                         "content_id": [None, None]})
    t = Tables(config=None, folder=Path("."), leads=leads, stages=stages, activities=acts)
    f = followups.after_mql(t, CUTOFF)
    assert pd.isna(f.at["L1", "first_follow_up"]) and f.at["L1", "first_rep"] == "R1"
    acts.loc[1, "at"] = pd.NaT
    t = Tables(config=None, folder=Path("."), leads=leads, stages=stages, activities=acts)
    assert followups.assigned_from(t, T("2025-01-01T00:00:00Z")).empty
    deals = pd.DataFrame({"opportunity_id": ["O1"], "lead_id": ["L1"], "closed_at": [CUTOFF]})
    assert followups.sales_touches(t, deals).empty
    # no activities at all: the lead's MQL, nothing after it
    none = followups.after_mql(Tables(config=None, folder=Path("."), leads=leads, stages=stages), CUTOFF)
    assert none.at["L1", "mql_at"] == T("2025-10-02T00:00:00Z") and none.iloc[0, 1:].isna().all()
    assert (none.dtypes.iloc[:4] == "datetime64[ns, UTC]").all()


# --------------------------------------------------------------------------- issue 14: one query, many cutoffs

def test_earlier_cutoffs_and_periods_are_read_off_one_query(tables):
    engine = followups.engine_of(tables)
    before = engine.queries
    # first asked at an earlier cutoff, 2025-10-03 09:45: the engine computes every lead at the tables' as_of
    # once, and this cutoff is read off it
    early = followups.after_mql(tables, T("2025-10-03T09:45:00Z"), QUEUES)
    # only L1's first MQL (2025-10-03 09:00) is before it; its follow-up X02 (09:00) and the queue (X04, 09:30)
    # are before the cutoff; its rep assignments X05/X06 (10:00) are not: no rep, no routing yet
    assert list(early.index) == ["L1"]
    assert early.at["L1", "first_follow_up"] == T("2025-10-03T09:00:00Z")
    assert early.at["L1", "first_assigned"] == T("2025-10-03T09:30:00Z")
    assert pd.isna(early.at["L1", "routed_at"]) and early.at["L1", "first_rep"] is None
    assert (early.dtypes.iloc[:4] == "datetime64[ns, UTC]").all()
    # 2025-12-31 22:59:59 (X13's time, excluded) and all of October: L1, L2, L6's first MQLs; L2 not followed up
    october = followups.after_mql(tables, T("2025-12-31T22:59:59Z"), QUEUES, start=T("2025-10-01T00:00:00Z"),
                                  end=T("2025-11-01T00:00:00Z"))
    assert list(october.index) == ["L1", "L2", "L6"]
    assert pd.isna(october.at["L2", "first_follow_up"]) and october.at["L2", "first_rep"] == "R2"
    # the tables' own cutoff: as test_after_first_mql reads it
    own = followups.after_mql(tables, CUTOFF, QUEUES)
    assert own.at["L2", "first_follow_up"] == T("2025-12-31T22:59:59Z") and own.at["L1", "first_rep"] == "R1"
    assert engine.queries - before == 1
    # what a caller does to a result does not reach the next one
    own.loc["L1", "first_rep"] = "changed"
    assert followups.after_mql(tables, CUTOFF, QUEUES).at["L1", "first_rep"] == "R1"
    # other queues are another query; a cutoff after as_of too (nothing is read off an earlier one)
    assert followups.after_mql(tables, CUTOFF, QUEUES + ("R1",)).at["L1", "first_rep"] == "R2"
    later = followups.after_mql(tables, T("2026-02-01T00:00:00Z"), QUEUES)
    assert later.at["L2", "first_follow_up"] == T("2025-12-31T22:59:59Z")
    assert engine.queries - before == 3


def test_quarter_handoffs_at_a_lagged_cutoff(tables):
    """The change table's last quarter, measured at its own end on the full tables: read off the memo."""
    q = periods.resolve("2025Q4", tables)
    h = sla.handoffs(tables, q, T("2025-11-06T09:00:00Z"))
    # first MQLs before 2025-11-06 09:00: L1, L2, L3, L5 (08:00), L6; L2's meeting X13 comes later: not followed up
    assert list(h.index) == ["L1", "L2", "L3", "L5", "L6"]
    assert h["followed_up"].to_dict() == {"L1": True, "L2": False, "L3": True, "L5": False, "L6": False}
    assert h.at["L2", "hours"] == (T("2025-11-06T09:00:00Z") - T("2025-10-06T10:00:00Z")) / HOUR
    # rep: owners L1 R3, L2 R2, L6 R1; L3 was assigned R1 (X14); L5's R1 (X18) came before its MQL
    assert h["rep"].to_dict() == {"L1": "R3", "L2": "R2", "L3": "R1", "L5": "(unassigned)", "L6": "R1"}


def frames_tables(stages, acts=None):
    """Tables of plain frames (no workspace): leads M1..M6 created 2025-10-01, the given stage rows."""
    ids = sorted({s[0] for s in stages})
    leads = pd.DataFrame({"lead_id": ids, "created_at": [T("2025-10-01T00:00:00Z")] * len(ids),
                          "source": ["web"] * len(ids)})
    st = pd.DataFrame(stages, columns=["lead_id", "stage", "at"]).assign(
        at=lambda f: pd.to_datetime(f["at"], utc=True), team="sales", actor="R1")
    a = None
    if acts is not None:
        a = pd.DataFrame(acts, columns=["lead_id", "at", "type", "actor"]).assign(
            at=lambda f: pd.to_datetime(f["at"], utc=True), team="sales", content_id=None)
    return Tables(config=None, folder=Path("."), leads=leads, stages=st, activities=a)


def test_unanswered_leads_look_after_their_last_mql():
    t = frames_tables(
        [("M1", "mql", "2025-10-02T00:00:00Z"), ("M1", "sal", "2025-10-03T00:00:00Z"),  # moved on: answered
         ("M2", "mql", "2025-10-02T00:00:00Z"),  # only the queue after it: waiting
         ("M3", "mql", "2025-10-05T00:00:00Z"),  # a rep only before it: waiting
         ("M4", "mql", "2025-10-02T00:00:00Z"), ("M4", "sal", "2025-10-03T00:00:00Z"),
         ("M4", "mql", "2025-10-10T00:00:00Z"),  # the sal was before its last MQL: waiting since 2025-10-10
         ("M5", "mql", "2025-10-02T00:00:00Z"),  # a rep at the very time of its MQL: answered
         ("M6", "mql", "2025-10-02T00:00:00Z"), ("M6", "sal", "2025-12-01T00:00:00Z")],  # moved after the cutoff
        [("M2", "2025-10-02T01:00:00Z", "assignment", "queue"), ("M3", "2025-10-04T00:00:00Z", "assignment", "R1"),
         ("M4", "2025-10-04T00:00:00Z", "assignment", "R2"), ("M5", "2025-10-02T00:00:00Z", "assignment", "R2"),
         ("M2", "2025-10-03T00:00:00Z", "call", "R1")])  # a call is no assignment to a rep
    waiting = followups.unanswered(t, T("2025-11-01T00:00:00Z"), QUEUES)
    assert waiting.to_dict() == {"M2": T("2025-10-02T00:00:00Z"), "M3": T("2025-10-05T00:00:00Z"),
                                 "M4": T("2025-10-10T00:00:00Z"), "M6": T("2025-10-02T00:00:00Z")}
    # without activities: every lead not moved on
    none = followups.unanswered(frames_tables([("M1", "mql", "2025-10-02T00:00:00Z"),
                                               ("M1", "sal", "2025-10-03T00:00:00Z"),
                                               ("M2", "mql", "2025-10-02T00:00:00Z")]), T("2025-11-01T00:00:00Z"))
    assert list(none.index) == ["M2"]


class Quarter:
    """2025Q4 in UTC (what stuck_leads reads of a period)."""
    start, end = T("2025-10-01T00:00:00Z"), T("2026-01-01T00:00:00Z")

    def contains(self, times):
        return (times >= self.start) & (times < self.end)


def test_timed_out_reads_the_previous_event_in_table_order_at_equal_times():
    t = frames_tables(
        [("M1", "sal", "2025-10-02T00:00:00Z"), ("M1", "mql", "2025-10-02T00:00:00Z"),  # mql last at that time
         ("M1", "recycled", "2025-10-09T00:00:00Z"),  # straight after the mql: timed out
         ("M2", "mql", "2025-10-02T00:00:00Z"), ("M2", "sal", "2025-10-02T00:00:00Z"),
         ("M2", "recycled", "2025-10-09T00:00:00Z"),  # after the sal (table order at equal times): decided
         ("M3", "recycled", "2025-10-09T00:00:00Z"), ("M3", "mql", "2025-10-01T00:00:00Z"),  # rows out of order
         ("M4", "mql", "2025-09-01T00:00:00Z"), ("M4", "recycled", "2025-09-02T00:00:00Z"),  # before the quarter
         ("M5", "mql", "2025-12-30T00:00:00Z"), ("M5", "recycled", "2026-01-02T00:00:00Z")])  # after the cutoff
    assert handoff.timed_out(t, Quarter(), T("2026-01-01T00:00:00Z")) == 2  # M1 and M3


def test_decisions_count_days_from_the_first_mql_before_the_cutoff():
    t = frames_tables(
        [("M1", "mql", "2025-09-20T00:00:00Z"), ("M1", "mql", "2025-10-01T00:00:00Z"),
         ("M1", "rejected", "2025-10-05T12:00:00Z"),  # 15.5 days after its first MQL, in September
         ("M2", "sal", "2025-10-03T00:00:00Z"),  # no MQL at all: days unknown
         ("M3", "mql", "2025-12-31T00:00:00Z"), ("M3", "sal", "2025-12-31T06:00:00Z"),  # a quarter of a day
         ("M4", "mql", "2025-12-30T00:00:00Z"), ("M4", "sal", "2026-01-02T00:00:00Z")])  # decided after the cutoff
    t.stages["reason"] = [None, None, " no budget ", None, None, None, None, None]
    t = dataclasses.replace(t, config=SimpleNamespace(timezone="UTC"))  # what decisions reads of the workspace
    d = sla.decisions(t, Quarter(), T("2026-01-01T00:00:00Z"))
    assert list(d["lead_id"]) == ["M1", "M2", "M3"] and list(d["stage"]) == ["rejected", "sal", "sal"]
    assert d["days_from_mql"].tolist()[0] == 15.5 and pd.isna(d["days_from_mql"].tolist()[1])
    assert d["days_from_mql"].tolist()[2] == 0.25
    assert d["has_reason"].tolist() == [True, False, False]
    assert list(d.index) == [2, 3, 5]  # the stage table's rows


def test_fetch_returns_times_in_utc_nanoseconds_and_text_with_none():
    t = frames_tables([("M1", "mql", "2025-10-02T00:00:00Z"), ("M2", "lead", "2025-10-02T00:00:00Z")])
    st = followups.event_table(t, "stages")
    expr = st.group_by("lead_id").aggregate(mql=st.at.min(where=st.stage == "mql"),
                                            actor=st.actor.max(where=st.stage == "mql"), n=st.count())
    out = followups.engine_of(t).fetch(expr).set_index("lead_id").sort_index()
    assert str(out["mql"].dtype) == "datetime64[ns, UTC]" and pd.isna(out.at["M2", "mql"])
    assert out.at["M1", "mql"] == T("2025-10-02T00:00:00Z")
    assert out["actor"].tolist() == ["R1", None] and out["n"].dtype == "int64"


def test_tables_known_at_an_earlier_moment_read_off_the_uncut_ones(tables, tmp_path):
    """known_at keeps the engine: the cut tables' follow-ups come off the uncut tables' query, their leads only."""
    # M1 created 2025-10-01, MQL 2025-10-20, assigned to R1 on 2025-10-21; M2 created only on 2025-11-10 but with an
    # MQL on 2025-10-20 (before its creation), assigned to R2 on 2025-10-21; M3 MQL 2025-11-05, after the cut
    leads = pd.DataFrame({"lead_id": ["M1", "M2", "M3"], "created_at": pd.to_datetime(
        ["2025-10-01T00:00:00Z", "2025-11-10T00:00:00Z", "2025-10-01T00:00:00Z"], utc=True), "owner": [None] * 3})
    stages = pd.DataFrame({"lead_id": ["M1", "M2", "M3"], "stage": ["mql"] * 3, "at": pd.to_datetime(
        ["2025-10-20T00:00:00Z", "2025-10-20T00:00:00Z", "2025-11-05T00:00:00Z"], utc=True),
        "team": ["marketing"] * 3, "actor": [None] * 3})
    acts = pd.DataFrame({"lead_id": ["M1", "M2", "M3"], "at": pd.to_datetime(
        ["2025-10-21T00:00:00Z", "2025-10-21T00:00:00Z", "2025-11-06T00:00:00Z"], utc=True),
        "team": ["sales"] * 3, "type": ["assignment"] * 3, "actor": ["R1", "R2", "R1"], "content_id": [None] * 3})
    files = {}
    for name, frame in (("leads", leads), ("stages", stages), ("activities", acts)):
        files[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(files[name])
    uncut = Tables(config=tables.config, folder=tmp_path, leads=leads, stages=stages, activities=acts,
                   engine=over_parquet("duckdb", files))
    engine = uncut.engine
    full = followups.after_mql(uncut, CUTOFF, QUEUES)
    assert list(full.index) == ["M1", "M2", "M3"] and engine.queries == 1
    when = T("2025-10-31T23:00:00Z")  # midnight of 2025-11-01 in Berlin
    cut = periods.known_at(uncut, when)
    assert cut.engine is engine
    before = engine.queries
    known = followups.after_mql(cut, when, QUEUES)
    # M2 was created after the cut (gone with its stage events), M3's MQL is after it
    assert list(known.index) == ["M1"] and engine.queries == before
    assert known.at["M1", "routed_at"] == T("2025-10-21T00:00:00Z") and known.at["M1", "first_rep"] == "R1"
    # the same as the cut tables measured by an engine of their own (over their frames)
    alone = followups.after_mql(dataclasses.replace(cut, engine=None), when, QUEUES)
    pd.testing.assert_frame_equal(known, alone)
    # a past quarter's review: the cut tables compute theirs (the uncut ones never did); cut again, earlier (its
    # previous quarter), off that query: M1 only, as of 2025-10-20 12:00 (its MQL, not yet its rep)
    fresh = over_parquet("duckdb", files)
    past = periods.known_at(dataclasses.replace(uncut, engine=fresh), when)
    assert list(followups.after_mql(past, when, QUEUES).index) == ["M1"]
    again = periods.known_at(past, T("2025-10-20T22:00:00Z"))
    before = fresh.queries  # (known_at asks which owners were assigned later)
    earlier = followups.after_mql(again, T("2025-10-20T12:00:00Z"), QUEUES)
    assert list(earlier.index) == ["M1"] and pd.isna(earlier.at["M1", "routed_at"]) and fresh.queries == before
