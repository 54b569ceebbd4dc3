"""A table left in its Parquet file (salign/workspace/lazy.py): known without reading, read once when asked."""
import pandas as pd
import pytest

from salign.workspace import lazy
from salign.workspace.lazy import LazyFrame, LazyRead

T = pd.Timestamp


@pytest.fixture
def table(tmp_path):
    frame = pd.DataFrame({"activity_id": ["X1", "X2", "X3", "X4"],
                          "at": [T("2026-01-01", tz="UTC"), pd.NaT, T("2026-03-31 23:59:59", tz="UTC"),
                                 T("2026-04-01", tz="UTC")],
                          "type": ["web_visit", "call", "email", "call"]})
    path = tmp_path / "activities.parquet"
    frame.to_parquet(path)
    reads = []

    def read(p, columns=None):
        reads.append(columns)
        return pd.read_parquet(p, columns=columns)
    return frame, LazyFrame(path, read), reads


def test_columns_dtypes_and_length_are_known_without_reading(table):
    frame, lf, reads = table
    assert list(lf.columns) == ["activity_id", "at", "type"]
    assert str(lf.dtypes["at"]) == "datetime64[ns, UTC]"
    assert len(lf) == 4
    assert not lf.loaded and reads == []


def test_one_column_is_read_alone_and_anything_else_reads_the_frame_once(table):
    frame, lf, reads = table
    assert lf["type"].tolist() == ["web_visit", "call", "email", "call"]
    assert reads == [["type"]] and not lf.loaded
    assert lf.groupby("type").size().to_dict() == {"call": 2, "email": 1, "web_visit": 1}
    assert lf[lf["type"] == "call"]["activity_id"].tolist() == ["X2", "X4"]
    assert reads == [["type"], None] and lf.loaded
    pd.testing.assert_frame_equal(lf.frame(), frame)


def test_a_cut_keeps_undated_rows_and_those_before_the_moment(table):
    frame, lf, reads = table
    cut = lf.until(T("2026-04-01", tz="UTC"))
    assert len(cut) == 3 and reads == [["at"]]  # X1, X2 (undated), X3; X4 is at the moment itself: only `at` read
    assert cut.frame()["activity_id"].tolist() == ["X1", "X2", "X3"]
    assert cut.frame().index.tolist() == [0, 1, 2]  # the row positions of the uncut table
    assert len(lf.until(T("2026-02-01", tz="UTC")).until(T("2026-04-01", tz="UTC"))) == 2  # the earlier cut holds
    fresh = lf.until(T("2026-04-01", tz="UTC"))
    assert fresh["activity_id"].tolist() == ["X1", "X2", "X3"] and not fresh.loaded  # one column of the cut
    assert fresh["type"].index.tolist() == [0, 1, 2]


def test_strict_mode_refuses_to_read(table, monkeypatch):
    frame, lf, reads = table
    monkeypatch.setenv(lazy.STRICT, "strict")
    assert len(lf) == 4  # still known without reading
    assert lf["type"].tolist()[:1] == ["web_visit"]  # one column: cheap, allowed
    with pytest.raises(LazyRead, match="activities.parquet"):
        lf[lf["type"] == "call"]
    assert reads == [["type"], ["type"]]


def test_a_cut_can_also_keep_only_some_leads(tmp_path):
    stages = pd.DataFrame({"lead_id": ["L1", "L2", "L1", "L3"], "stage": ["lead", "lead", "mql", "lead"],
                           "at": [T("2026-01-01", tz="UTC"), T("2026-01-02", tz="UTC"), T("2026-05-01", tz="UTC"),
                                  T("2026-01-03", tz="UTC")]})
    path = tmp_path / "stages.parquet"
    stages.to_parquet(path)
    lf = LazyFrame(path, lambda p, columns=None: pd.read_parquet(p, columns=columns))
    cut = lf.until(T("2026-04-01", tz="UTC"), among=("lead_id", pd.Series(["L1", "L3"])))
    assert len(cut) == 2 and cut["stage"].tolist() == ["lead", "lead"] and cut["stage"].index.tolist() == [0, 3]
    assert cut.frame()["lead_id"].tolist() == ["L1", "L3"]


def test_naming_a_table_forbids_reading_only_that_one(table, monkeypatch):
    frame, lf, reads = table
    monkeypatch.setenv(lazy.STRICT, "stages,activities")
    with pytest.raises(LazyRead):
        lf.until(T("2026-04-01", tz="UTC")).frame()
    monkeypatch.setenv(lazy.STRICT, "stages")
    assert len(lf.frame()) == 4  # activities may be read
