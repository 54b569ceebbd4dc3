"""Issue 14, load once: the typed columnar snapshot of a validated workspace (salign.workspace.snapshot).

Every expectation comes from the full load of the files (``load_workspace``, the path that does not touch a
snapshot) or from how a fixture was built: the snapshot must give back exactly the tables, dtypes, missing
values, warnings (with their lines), fingerprint and definitions that loading the files gives.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd
import pytest

from salign.core import paths
from salign.core.problems import WorkspaceError
from salign.runner import execute, notebook
from salign.workspace import snapshot
from salign.workspace.lazy import LazyFrame
from salign.workspace.load import load_workspace
from salign.workspace.schema import TABLES
from tests.conftest import TINY, write_workspace
from tests.test_database import ENV as DB_ENV
from tests.test_database import postgres_url, sample_in_db  # noqa: F401 (fixtures)

#: what a hostile or careless CRM user types into displayed fields
HOSTILE = ['=HYPERLINK("http://evil.example/C009","C009")', "+cmd|' /C calc'!A0", "<script>alert(1)</script>",
           "\u202egnp.exe", "\x07\x1b[31m", "x" * 100_000, "write to jo.doe@corp.example", "call +49 30 5550199",
           "", " ", "0", "1e5", "TRUE", "\u00e9t\u00e9 \u2013 \u65e5\u672c", "a,b;c\t\"d\"", "line\nbreak"]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A private cache for this test (``SALIGN_CACHE``); returns its snapshots folder."""
    monkeypatch.setenv(snapshot.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "snapshots"


@pytest.fixture
def hostile(tmp_path) -> Path:
    """The tiny workspace without a database, with hostile text in account names and stage reasons, leads in a
    Parquet file with typed extra columns (categorical, nullable integer and boolean, Berlin timestamps, pandas
    strings), an amount in another currency and one with none, and one activity after ``as_of`` (line 6)."""
    ws = write_workspace(tmp_path / "hostile", TINY)
    yaml = (ws / "workspace.yaml").read_text()
    (ws / "workspace.yaml").write_text(yaml.replace("leads: leads.csv", "leads: leads.parquet")
                                       .replace("currency: EUR\n", "currency: EUR\nexchange_rates: {USD: 0.9}\n"))
    accounts = pd.read_csv(ws / "accounts.csv", dtype=str, keep_default_na=False)
    accounts["name"] = HOSTILE[:3]
    accounts.to_csv(ws / "accounts.csv", index=False)
    stages = pd.read_csv(ws / "stages.csv", dtype=str, keep_default_na=False)
    stages["reason"] = HOSTILE
    stages.to_csv(ws / "stages.csv", index=False)
    leads = pd.read_csv(ws / "leads.csv", dtype=str, keep_default_na=False).replace("", None)
    leads["band"] = pd.Categorical(["b", None, "a", "b"], categories=["a", "b", "c"], ordered=True)
    leads["visits"] = pd.array([3, None, 0, 12], dtype="Int64")
    leads["opted_in"] = pd.array([True, None, False, True], dtype="boolean")
    leads["last_seen"] = pd.to_datetime(["2025-10-02T09:00:00Z", None, "2025-11-03T08:00:00Z",
                                         "2025-11-21T08:00:00Z"]).tz_convert("Europe/Berlin")
    leads["note"] = pd.array([HOSTILE[2], None, HOSTILE[0], HOSTILE[3]], dtype="string")
    leads.to_parquet(ws / "leads.parquet")
    (ws / "leads.csv").unlink()
    opportunities = pd.read_csv(ws / "opportunities.csv", dtype=str, keep_default_na=False)
    opportunities["currency"] = ["EUR", "USD", ""]
    opportunities.to_csv(ws / "opportunities.csv", index=False)
    with open(ws / "activities.csv", "a", encoding="utf-8") as fh:
        fh.write("X5,2026-03-01T10:00:00Z,sales,call,L3,A3,,R1\n")
    return ws


def assert_same_tables(got, want) -> None:
    """Every table equal (values, dtypes, index, column order), missing values of the same kind (None, NaN, NA:
    ``assert_frame_equal`` takes them for equal), and every other field of Tables equal."""
    for name in TABLES:
        a, b = getattr(want, name), getattr(got, name)
        assert (a is None) == (b is None), name
        if a is None:
            continue
        if isinstance(b, LazyFrame):  # left on disk: known without reading, then read exactly as loaded
            assert not b.loaded and len(b) == len(a) and list(b.columns) == list(a.columns), name
            assert b.dtypes.equals(a.dtypes), name
            b = b.frame()
        pd.testing.assert_frame_equal(b, a, check_exact=True, check_index_type=True, check_column_type=True, obj=name)
        assert isinstance(b.index, pd.RangeIndex), name
        for col in [c for c in a.columns if a[c].dtype == object]:
            assert list(map(type, b[col])) == list(map(type, a[col])), f"{name}.{col}"
    assert got.config == want.config and got.folder == want.folder and got.definitions == want.definitions
    assert got.fingerprint == want.fingerprint and got.missing == want.missing and got.warnings == want.warnings
    assert got.as_of == want.as_of and got.data_start == want.data_start


def test_the_sample_comes_back_from_its_snapshot_as_loaded(cache):
    want = load_workspace(paths.SAMPLE_WORKSPACE)
    first = snapshot.load(paths.SAMPLE_WORKSPACE)
    assert not first.hit and first.path == cache / first.key
    again = snapshot.load(paths.SAMPLE_WORKSPACE)
    assert again.hit and again.path == first.path
    for tables in (first.tables, again.tables, snapshot.open_snapshot(first.path, paths.SAMPLE_WORKSPACE)):
        assert_same_tables(tables, want)
    manifest = json.loads((first.path / "manifest.json").read_text())
    assert manifest["key"] == first.key == snapshot.inputs(paths.SAMPLE_WORKSPACE).key
    assert {n: m["rows"] for n, m in manifest["tables"].items()} == {n: len(getattr(want, n)) for n in manifest["order"]}


def test_a_hostile_workspace_keeps_every_dtype_missing_value_and_warning(hostile, cache):
    want = load_workspace(hostile)
    # what the fixture planted, read by the full load
    assert str(want.leads["band"].dtype) == "category" and want.leads["band"].cat.ordered
    assert str(want.leads["visits"].dtype) == "Int64" and str(want.leads["opted_in"].dtype) == "boolean"
    assert str(want.leads["last_seen"].dtype) == "datetime64[ns, Europe/Berlin]"
    assert want.opportunities["currency"].iloc[2] is pd.NA and want.opportunities["amount"].iloc[1] == 120000 * 0.9
    assert [(w.file, w.line, w.column) for w in want.warnings] == [(str(hostile / "activities.csv"), 6, "at")]
    assert list(want.stages["reason"].iloc[[0, 5, 8]]) == [HOSTILE[0], HOSTILE[5], None]
    first, again = snapshot.load(hostile), snapshot.load(hostile)
    assert first.path is not None and again.hit
    for tables in (first.tables, again.tables, snapshot.open_snapshot(first.path, hostile)):
        assert_same_tables(tables, want)


def test_future_rows_are_warned_against_today_when_no_as_of_is_declared(tmp_path, cache):
    ws = write_workspace(tmp_path / "ws", TINY)
    (ws / "workspace.yaml").write_text((ws / "workspace.yaml").read_text().replace('as_of: "2026-01-01"\n', ""))
    with open(ws / "activities.csv", "a", encoding="utf-8") as fh:
        fh.write("X5,2099-03-01T10:00:00Z,sales,call,L3,A3,,R1\n")
    snapshot.load(ws)
    got = snapshot.load(ws)
    assert got.hit and [(w.line, w.column, "today" in w.message) for w in got.tables.warnings] == [(6, "at", True)]
    assert_same_tables(got.tables, load_workspace(ws))


def test_the_key_follows_data_files_and_workspace_yaml_not_definitions(tiny_workspace, cache):
    ws = tiny_workspace
    base = snapshot.inputs(ws)
    assert base.fingerprint == load_workspace(ws).fingerprint and len(base.key) == 24
    (ws / "definitions" / "sla.yaml").write_text((ws / "definitions" / "sla.yaml").read_text() + "# edited\n")
    defs = snapshot.inputs(ws)
    assert defs.key == base.key and defs.fingerprint != base.fingerprint  # definitions: not the data snapshot
    (ws / "workspace.yaml").write_text((ws / "workspace.yaml").read_text() + "# edited\n")
    yaml = snapshot.inputs(ws)
    assert yaml.key != base.key
    (ws / "leads.csv").write_text((ws / "leads.csv").read_text().replace("Ann,Lee", "Anne,Lee"))
    data = snapshot.inputs(ws)
    assert len({base.key, yaml.key, data.key}) == 3


def test_an_edited_persona_definition_is_read_again_with_the_cached_tables(tiny_workspace, cache):
    snapshot.load(tiny_workspace)
    path = tiny_workspace / "definitions" / "personas.sales.yaml"
    path.write_text(path.read_text().replace("min: 1000", "min: 400"))
    got = snapshot.load(tiny_workspace)
    assert got.hit and got.tables.definition("personas.sales.yaml").personas[0].rule.min == 400
    assert got.tables.fingerprint == load_workspace(tiny_workspace).fingerprint
    path.write_text(path.read_text().replace("field: employees", "field: headcount"))
    with pytest.raises(WorkspaceError) as err:
        snapshot.load(tiny_workspace)
    assert err.value.problems[0].file == str(path) and err.value.problems[0].value == "headcount"


def test_the_cache_is_outside_the_workspace_private_atomic_and_bounded(tiny_workspace, cache):
    before = sorted(p.relative_to(tiny_workspace) for p in tiny_workspace.rglob("*"))
    keys = []
    for n in range(snapshot.KEEP + 2):
        with open(tiny_workspace / "leads.csv", "a", encoding="utf-8") as fh:
            fh.write(f"L{10 + n},2025-11-20T08:00:00Z,web,,Manager,HR,education,,,,,Ed,Fox\n")
        keys.append(snapshot.load(tiny_workspace).key)
    before = sorted(set(before) | {Path("leads.csv")})
    assert len(set(keys)) == snapshot.KEEP + 2
    assert sorted(p.name for p in cache.iterdir()) == sorted(keys[-snapshot.KEEP:])  # the newest, nothing unfinished
    assert (cache.stat().st_mode & 0o077) == 0 and all((cache / k).stat().st_mode & 0o077 == 0 for k in keys[-3:])
    assert sorted(p.relative_to(tiny_workspace) for p in tiny_workspace.rglob("*")) == before


def test_two_runs_writing_the_same_snapshot_at_once_leave_one_whole_snapshot(tiny_workspace, cache):
    loaded = snapshot.load(tiny_workspace, cache=False)
    start, paths_out, errors = threading.Barrier(4), [], []

    def run():
        start.wait()
        try:
            paths_out.append(snapshot.write(loaded, cache))
        except Exception as exc:  # noqa: BLE001 - any failure is the test's failure
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and set(paths_out) == {cache / loaded.key}
    assert [p.name for p in cache.iterdir()] == [loaded.key]
    assert_same_tables(snapshot.open_snapshot(cache / loaded.key, tiny_workspace), loaded.tables)


def test_a_damaged_snapshot_is_built_again(tiny_workspace, cache):
    first = snapshot.load(tiny_workspace)
    (first.path / "leads.parquet").write_bytes((first.path / "leads.parquet").read_bytes()[:100])
    again = snapshot.load(tiny_workspace)
    assert not again.hit and again.path == first.path
    assert_same_tables(again.tables, load_workspace(tiny_workspace))
    assert snapshot.load(tiny_workspace).hit


def test_a_kernel_refuses_a_snapshot_of_files_changed_since(tiny_workspace, cache, monkeypatch):
    first = snapshot.load(tiny_workspace)
    assert_same_tables(notebook.load_tables(str(tiny_workspace), str(first.path)), first.tables)
    with monkeypatch.context() as m:  # salign's code edited while the review ran: its kernels still check the data
        m.setattr(snapshot, "code_digest", lambda: "edited")
        assert snapshot.inputs(tiny_workspace).key != first.key
        assert_same_tables(notebook.load_tables(str(tiny_workspace), str(first.path)), first.tables)
    (tiny_workspace / "stages.csv").write_text((tiny_workspace / "stages.csv").read_text().replace("no budget", "x"))
    with pytest.raises(snapshot.SnapshotError, match="changed after it was validated"):
        notebook.load_tables(str(tiny_workspace), str(first.path))
    fresh = notebook.load_tables(str(tiny_workspace))  # JupyterLab: the cache, built again for the new files
    assert fresh.stages["reason"].iloc[8] == "x" and len(list(cache.iterdir())) == 2


def test_values_parquet_would_not_give_back_are_loaded_without_a_snapshot(tiny_workspace, cache):
    leads = pd.read_csv(tiny_workspace / "leads.csv", dtype=str, keep_default_na=False).replace("", None)
    leads["tags"] = [["a"], [], ["b", "c"], None]  # a list column: Parquet would return numpy arrays
    leads.to_parquet(tiny_workspace / "leads.parquet")
    yaml = tiny_workspace / "workspace.yaml"
    yaml.write_text(yaml.read_text().replace("leads: leads.csv", "leads: leads.parquet"))
    got = snapshot.load(tiny_workspace)
    assert got.path is None and (not cache.exists() or list(cache.iterdir()) == [])
    assert list(got.tables.leads["tags"].iloc[2]) == ["b", "c"]
    with pytest.raises(snapshot.Unsupported, match="column 'tags' of table 'leads'"):
        snapshot.write(got, cache)


def test_a_bad_workspace_stops_the_review_before_a_snapshot_or_a_kernel(tiny_workspace, cache, tmp_path):
    stages = tiny_workspace / "stages.csv"
    stages.write_text(stages.read_text().replace("2025-10-03T09:00:00Z", "2025-13-03T09:00:00Z"))
    with pytest.raises(WorkspaceError) as err:
        execute.review(tiny_workspace, "2025Q4", tmp_path / "out", progress=lambda m: None)
    assert (err.value.problems[0].file, err.value.problems[0].line) == (str(stages), 3)
    assert not (tmp_path / "out").exists() and not cache.exists()


def test_cache_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(snapshot.ENV, str(tmp_path / "c"))
    assert snapshot.snapshots_dir() == tmp_path / "c" / "snapshots"
    monkeypatch.setenv(snapshot.ENV, "off")
    assert snapshot.cache_dir() is None and snapshot.load(paths.SAMPLE_WORKSPACE).path is None
    monkeypatch.delenv(snapshot.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert snapshot.cache_dir() == tmp_path / "xdg" / "salign"


@pytest.mark.slow
def test_review_hands_one_snapshot_to_its_kernels_and_removes_a_private_one(tiny_workspace, monkeypatch, tmp_path):
    monkeypatch.setenv(snapshot.ENV, "off")  # no cache: the run writes a snapshot of its own under the reports
    out = tmp_path / "reports"
    execute.review(tiny_workspace, "2025Q4", out, notebooks=["01_personas"], progress=lambda m: None)
    executed = json.loads((out / ".internal" / "2025Q4" / "01_personas.ipynb").read_text())
    injected = "".join(next(c["source"] for c in executed["cells"]
                            if "injected-parameters" in c["metadata"].get("tags", [])))
    key = snapshot.inputs(tiny_workspace).key
    assert f'/{key}"' in injected and f'snapshot = "{out}/.snapshot-' in injected
    assert list(out.glob(".snapshot-*")) == []
    lineage = json.loads((out / "2025Q4" / "lineage.json").read_text())
    assert lineage["workspace"]["snapshot"] == key and "snapshot" not in lineage["parameters"]


def test_database_tables_are_snapshotted_for_a_run_not_cached(sample_in_db, cache, tmp_path,  # noqa: F811
                                                              monkeypatch):
    loaded = snapshot.load(sample_in_db)
    assert loaded.path is None and not loaded.hit and loaded.key and not cache.exists()
    assert_same_tables(loaded.tables, load_workspace(sample_in_db))
    there = snapshot.write(loaded, tmp_path / "run")
    monkeypatch.delenv(DB_ENV)  # the run's snapshot holds the tables: without the postgres engine, no connection
    assert_same_tables(snapshot.open_snapshot(there, sample_in_db, engine="duckdb"), loaded.tables)
