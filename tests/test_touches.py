"""Content touches and per-account activity counts as engine expressions (salign/common/touches.py), on small
hand-built tables: every expectation is counted by hand from the rows below, on DuckDB over the frames and over
Parquet files with a cut-off (the path a review's snapshot takes)."""
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from salign.common import touches
from salign.common.periods import Quarter
from salign.content import touches as content_touches_module
from salign.content.journey import STAGE_OF
from salign.personas.profiles import _behaviour
from salign.workspace import engine
from salign.workspace.tables import MissingData, Tables


def _t(text):
    return pd.Timestamp(text, tz="UTC")


def _times(*texts):
    return pd.to_datetime(list(texts), utc=True, format="ISO8601").astype("datetime64[ns, UTC]")


def _frames():
    leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "created_at": _times("2025-01-01", "2025-01-01", "2025-01-01"),
                          "account_id": ["A1", "A1", "A2"]})
    # L2 has an mql and an sql event at the same moment, written sql first: the stage furthest along counts
    stages = pd.DataFrame({
        "lead_id": ["L1", "L1", "L2", "L2", "L2", "L3"],
        "stage": ["lead", "mql", "lead", "sql", "mql", "lead"],
        "at": _times("2025-01-01", "2025-03-01", "2025-01-01", "2025-02-01", "2025-02-01", "2025-01-01"),
        "team": ["marketing"] * 6})
    # file order is not time order; X7 is after the period (2025Q2 ends 2025-07-01); X5 has no lead;
    # X6 uses an asset the inventory does not know; X8 has no content
    acts = pd.DataFrame({
        "activity_id": [f"X{i}" for i in range(1, 10)],
        "at": _times("2025-04-10", "2025-02-15", "2025-02-01", "2025-01-05", "2025-05-01", "2025-05-02",
                     "2025-08-01", "2025-05-03", "2025-06-30 23:59:59"),
        "team": ["marketing", "sales", "sales", "marketing", "marketing", "sales", "sales", "sales", "marketing"],
        "type": ["download", "email", "email", "download", "web_visit", "email", "email", "call", "download"],
        "lead_id": ["L1", "L1", "L2", "L3", None, "L3", "L1", "L3", "L2"],
        "account_id": ["A1", "A1", "A1", "A2", "A2", "A2", "A1", None, "A1"],
        "content_id": ["C1", "C2", "C1", "C1", "C2", "C9", "C1", None, "C2"]})
    return {"leads": leads, "stages": stages, "activities": acts}


def _over_frames():
    return Tables(config=None, folder=Path("."), **_frames())


def _over_parquet(tmp_path, until=None):
    """The same tables, read by DuckDB from Parquet files; ``until`` cuts them like a quarter's review."""
    frames = _frames()
    files = {}
    for name, frame in frames.items():
        files[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(files[name])
    if until is not None:  # the pandas frames cut as known_at cuts them; the engine applies the same cut itself
        frames["activities"] = frames["activities"][frames["activities"]["at"] < until]
        frames["stages"] = frames["stages"][frames["stages"]["at"] < until]
    tables = Tables(config=None, folder=tmp_path, until=until, **frames)
    tables.engine = engine.over_parquet("duckdb", files)
    return tables


@pytest.fixture(params=["frames", "parquet"])
def tables(request, tmp_path):
    return _over_frames() if request.param == "frames" else _over_parquet(tmp_path)


Q2 = Quarter(2025, 2)


def test_content_touches_are_the_known_assets_before_the_end_in_time_order(tables):
    got = touches.content_touches(tables, {"C1", "C2"}, Q2.end)
    # X4 (01-05), X3 (02-01), X2 (02-15), X1 (04-10), X5 (05-01, no lead), X9 (06-30); not X6 (C9), X7 (after), X8
    assert list(got["content_id"]) == ["C1", "C1", "C2", "C1", "C2", "C2"]
    assert list(got["lead_id"]) == ["L3", "L2", "L1", "L1", None, "L2"]
    assert list(got["team"]) == ["marketing", "sales", "sales", "marketing", "marketing", "marketing"]
    assert list(got["at"]) == [_t("2025-01-05"), _t("2025-02-01"), _t("2025-02-15"), _t("2025-04-10"),
                               _t("2025-05-01"), _t("2025-06-30 23:59:59")]
    assert str(got["at"].dtype) == "datetime64[ns, UTC]" and got["lead_id"].dtype == object
    assert got["lead_id"].iloc[4] is None and list(got.index) == list(range(6))
    assert touches.content_touches(tables, set(), Q2.end).empty


def test_buying_stage_of_each_touch(tables):
    inventory = SimpleNamespace(assets=pd.DataFrame({"content_id": ["C1", "C2"]}))
    choice = SimpleNamespace(leads=None)
    got = content_touches_module.content_touches(tables, inventory, choice, Q2, 2)
    # L3 at 01-05: lead -> awareness; L2 at 02-01: mql and sql that moment, the furthest (sql) -> decision;
    # L1 at 02-15: lead -> awareness; L1 at 04-10: mql (03-01) -> consideration; X5: no lead; L2 at 06-30: decision
    assert list(got["buying_stage"]) == ["awareness", "decision", "awareness", "consideration", "no lead", "decision"]
    assert list(got["quarter"]) == ["2025Q1", "2025Q1", "2025Q1", "2025Q2", "2025Q2", "2025Q2"]
    assert list(got["persona_label"]) == ["unknown"] * 4 + ["no lead", "unknown"]


def test_content_touches_need_a_content_id_column():
    frames = _frames()
    frames["activities"] = frames["activities"].drop(columns="content_id")
    tables = Tables(config=None, folder=Path("."), **frames)
    inventory = SimpleNamespace(assets=pd.DataFrame({"content_id": ["C1"]}))
    with pytest.raises(MissingData, match="content_id"):
        content_touches_module.content_touches(tables, inventory, SimpleNamespace(leads=None), Q2, 1)
    assert "content_id" not in touches.activity_columns(tables)


def test_uses_per_asset_in_a_quarter(tables):
    got = touches.uses_per_asset(tables, Q2.start, Q2.end)
    # in 2025Q2: X1 C1, X5 C2, X6 C9, X9 C2 (X8 has no content, X7 is in Q3)
    assert got.to_dict() == {"C1": 1, "C2": 2, "C9": 1} and got.dtype == "int64"


def test_account_type_counts_before_each_time(tables):
    won_at = pd.Series(_times("2025-03-01", "2025-05-02", "2025-01-01"), index=["A1", "A2", "A3"])
    got = touches.account_type_counts(tables, won_at)
    # A1 before 03-01: X2 email, X3 email; A2 before 05-02: X4 download, X5 web_visit (X6 is at 05-02: not before)
    assert got.to_dict(orient="index") == {"A1": {"download": 0, "email": 2, "web_visit": 0},
                                           "A2": {"download": 1, "email": 0, "web_visit": 1}}
    assert list(got.columns) == ["download", "email", "web_visit"]
    assert touches.account_type_counts(tables, won_at.iloc[2:]).empty   # A3 has no activity


def test_account_type_counts_the_same_on_postgres_path(tables):
    """PostgreSQL cannot take the accounts' times as a table: the engine narrows, pandas cuts; same counts."""
    e = engine.engine_of(tables)
    tables.engine = engine.Engine("postgres", e.con, e.raw, over_frames=e.over_frames)
    won_at = pd.Series(_times("2025-03-01", "2025-05-02"), index=["A1", "A2"])
    got = touches.account_type_counts(tables, won_at)
    assert got.to_dict(orient="index") == {"A1": {"download": 0, "email": 2, "web_visit": 0},
                                           "A2": {"download": 1, "email": 0, "web_visit": 1}}


def test_profile_behaviour_counts_touches_before_the_first_win(tables):
    tables.opportunities = pd.DataFrame({"opportunity_id": ["O1"], "outcome": ["won"], "account_id": ["A1"],
                                         "created_at": _times("2025-01-20"), "closed_at": _times("2025-03-01")})
    won_at = pd.Series(_times("2025-03-01"), index=pd.Index(["A1"], name="account_id"))
    out = _behaviour(tables, won_at, pd.DataFrame(index=pd.Index([], name="account_id")))
    # A1's activities before 03-01: X2 and X3, both e-mails; two leads of A1 created before the win
    assert out.loc["A1", "touches_email"] == 2 and list(out.filter(like="touches_").columns) == ["touches_email"]
    assert out.loc["A1", "contacts"] == 2


def test_the_engine_cut_applies_to_touches(tmp_path):
    tables = _over_parquet(tmp_path, until=_t("2025-04-01"))
    got = touches.content_touches(tables, {"C1", "C2"}, Q2.end)
    assert list(got["at"]) == [_t("2025-01-05"), _t("2025-02-01"), _t("2025-02-15")]   # nothing from April on
    assert touches.uses_per_asset(tables, Q2.start, Q2.end).empty


# 2025Q1 is split at 02-01 to check the edges: before it -1, from it (inclusive) 0, from Q2's start 1
EDGES = [_t("2025-02-01"), Q2.start, Q2.end]
ENTRY = {"awareness": ("lead",), "consideration": ("mql", "sal"), "decision": ("sql", "opportunity")}


def test_staged_touches_give_each_touch_the_stage_furthest_along_at_its_time(tables):
    got = touches.staged_touches(tables, {"C1", "C2"}, Q2.end, STAGE_OF)
    # the rows of content_touches; L2's mql and sql at 02-01 tie with its touch X3 at 02-01: the event counts, and
    # the furthest (sql) wins; X5 has no lead
    assert list(got["lead_id"]) == ["L3", "L2", "L1", "L1", None, "L2"]
    assert list(got["stage"]) == ["awareness", "decision", "awareness", "consideration", None, "decision"]
    # a touch before any event of its lead has no stage: before 02-01 only L3's lead event and X4 count
    raw = {s: s for s in STAGE_OF}
    early = touches.staged_touches(tables, {"C1"}, _t("2025-02-01 00:00:01"), raw)
    assert list(zip(early["lead_id"], early["stage"])) == [("L3", "lead"), ("L2", "sql")]


def test_use_counts_per_asset_team_and_span(tables):
    got = touches.use_counts(tables, {"C1", "C2"}, Q2.end, EDGES)
    rows = {(r.content_id, r.team, r.period): (r.n, r.last) for r in got.itertuples()}
    # X4 C1 mkt 01-05 (-1); X3 C1 sales 02-01 (0, on the edge); X2 C2 sales 02-15 (0); X1 C1 mkt 04-10 (1);
    # X5 and X9 C2 mkt 05-01 and 06-30 (1)
    assert rows == {("C1", "marketing", -1): (1, _t("2025-01-05")), ("C1", "sales", 0): (1, _t("2025-02-01")),
                    ("C2", "sales", 0): (1, _t("2025-02-15")), ("C1", "marketing", 1): (1, _t("2025-04-10")),
                    ("C2", "marketing", 1): (2, _t("2025-06-30 23:59:59"))}
    assert got["n"].dtype == "int64" and got["period"].dtype == "int64"


def _as_postgres(tables):
    """The same engine, taken for PostgreSQL: the lead groups are then named in pandas instead of joined."""
    e = engine.engine_of(tables)
    tables.engine = engine.Engine("postgres", e.con, e.raw, over_frames=e.over_frames)
    return tables


@pytest.mark.parametrize("path", ["engine", "postgres"])
def test_stage_use_counts_per_lead_group_span_team_and_stage(tables, path):
    tables = _as_postgres(tables) if path == "postgres" else tables
    groups = pd.Series(["g1", "g1"], index=["L1", "L2"])  # L3 is in no group
    got = touches.stage_use_counts(tables, {"C1", "C2"}, Q2.end, EDGES, STAGE_OF, groups)
    rows = sorted((r.group or "-", r.has_lead, r.period, r.team, r.stage or "-", r.n) for r in got.itertuples())
    assert rows == [("-", False, 1, "marketing", "-", 1),              # X5: no lead
                    ("-", True, -1, "marketing", "awareness", 1),      # X4 (L3)
                    ("g1", True, 0, "sales", "awareness", 1),          # X2 (L1)
                    ("g1", True, 0, "sales", "decision", 1),           # X3 (L2)
                    ("g1", True, 1, "marketing", "consideration", 1),  # X1 (L1), after its mql on 03-01
                    ("g1", True, 1, "marketing", "decision", 1)]       # X9 (L2)
    # L1 and L2 in one group: their two Q2 marketing touches at two stages stay apart; all in one stage they add up
    merged = touches.stage_use_counts(tables, {"C1", "C2"}, Q2.end, EDGES, {"lead": "any", "mql": "any", "sql": "any"},
                                      groups)
    assert {(r.group, r.period, r.team): r.n for r in merged.itertuples() if r.group} == {
        ("g1", 0, "sales"): 2, ("g1", 1, "marketing"): 2}


def test_stage_use_counts_without_groups(tables):
    got = touches.stage_use_counts(tables, {"C1", "C2"}, Q2.end, EDGES, STAGE_OF)
    assert got["group"].isna().all() and got["n"].sum() == 6 and int(got["has_lead"].sum()) == 5


def test_entry_times_are_the_first_event_among_each_group_of_stages(tables):
    got = touches.entry_times(tables, ENTRY)
    assert list(got.index) == ["L1", "L2", "L3"] and list(got.columns) == list(ENTRY)
    assert list(got.loc["L1"]) == [_t("2025-01-01"), _t("2025-03-01"), pd.NaT]
    assert list(got.loc["L2"]) == [_t("2025-01-01"), _t("2025-02-01"), _t("2025-02-01")]
    assert got.loc["L3"].isna().tolist() == [False, True, True]


@pytest.mark.parametrize("window_days, entered_before, expected", [
    # X4: L3 used C1 4 days after entering awareness; X3: L2 used C1 at the moment it entered decision;
    # X2 (L1, awareness, 45 days in) and X1 (L1, consideration, 40 days in) are outside 30 days.
    # Converted: L3 never moves on; L2 at decision has no win; L1 entered consideration (03-01) 59 days after
    # awareness (01-01): within 60 days, not within 50
    (30, Q2.end, {("awareness", "C1", False), ("decision", "C1", False)}),
    (50, Q2.end, {("awareness", "C1", False), ("decision", "C1", False), ("awareness", "C2", False),
                  ("consideration", "C1", False)}),
    (60, Q2.end, {("awareness", "C1", False), ("decision", "C1", False), ("awareness", "C2", True),
                  ("consideration", "C1", False)}),
    (45, Q2.end, {("awareness", "C1", False), ("decision", "C1", False), ("consideration", "C1", False)}),  # 45: out
    # only leads that entered the stage before 02-01: L2's decision (02-01) and L1's consideration (03-01) are not
    (50, _t("2025-02-01"), {("awareness", "C1", False), ("awareness", "C2", False)}),
])
@pytest.mark.parametrize("path", ["engine", "postgres"])
def test_uses_after_entry_are_early_uses_at_each_stage(tables, window_days, entered_before, expected, path):
    tables = _as_postgres(tables) if path == "postgres" else tables
    entry = {**ENTRY, "won": ("won",)}
    got = touches.uses_after_entry(tables, {"C1", "C2"}, Q2.end, STAGE_OF, entry, window_days, entered_before)
    assert set(zip(got["stage"], got["content_id"], got["converted"])) == expected and len(got) == len(expected)
    assert (got["n"] == 1).all() and got["group"].isna().all()


@pytest.mark.parametrize("path", ["engine", "postgres"])
def test_uses_after_entry_counts_leads_per_group(tables, path):
    tables = _as_postgres(tables) if path == "postgres" else tables
    groups = pd.Series(["g", "g"], index=["L1", "L3"])
    got = touches.uses_after_entry(tables, {"C1", "C2"}, Q2.end, STAGE_OF, ENTRY, 365, Q2.end, groups)
    rows = {(r.stage, r.content_id, r.group, r.converted): r.n for r in got.itertuples()}
    # within a year: L3 (g) C1 and L1 (g) C2 and C1 at awareness, L1 converts (03-01), L3 does not; L1 C1 at
    # consideration (no decision event); L2 (no group) C1 at decision, and C2 (X9, 06-30) at decision
    assert rows == {("awareness", "C1", "g", False): 1, ("awareness", "C2", "g", True): 1,
                    ("consideration", "C1", "g", False): 1, ("decision", "C1", None, False): 1,
                    ("decision", "C2", None, False): 1}
