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


def test_touched_stage_events_are_only_those_of_touching_leads_and_ties_go_journey_order(tables):
    ev = touches.touched_stage_events(tables, {"C1"}, _t("2025-02-20"), STAGE_OF)
    # C1 before 02-20: X4 (L3), X3 (L2); L1's events are not needed; L2's mql and sql at 02-01 tie: mql then sql
    assert list(zip(ev["lead_id"], ev["stage"])) == [("L2", "lead"), ("L2", "mql"), ("L2", "sql"), ("L3", "lead")]


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
