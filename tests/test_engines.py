"""Where the event-level facts run (issue 14, part 3): DuckDB over the typed snapshot's Parquet files, Spark over
the same files, PostgreSQL in the workspace's own database. Whatever the engine, the facts and every figure of
the sample review are those of DuckDB over the pandas frames (the path before engines could be chosen).

The expectations come from elsewhere: the per-lead facts of DuckDB over the frames (a different backend over
different inputs: the cut pandas frames, not the uncut files plus a cut in SQL), and the metrics.json of the
review on the default engine. ``make test`` runs these (marked ``warehouse``); Spark needs a Java runtime
(``make java``) and PostgreSQL comes from ``make postgres`` (tests/test_database.py's fixtures).
"""
import dataclasses
import json
import os
import shutil
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_database import ENV, _without_source, db_workspace, load_files_into, postgres_url  # noqa: F401

from salign import cli
from salign.common import events, periods
from salign.core import paths
from salign.core.problems import WorkspaceError
from salign.runner import params
from salign.runner.execute import review
from salign.runner.notebook import load_tables
from salign.workspace import config as config_mod
from salign.workspace import database, engine, load_workspace, snapshot
from salign.workspace.lazy import LazyFrame

pytestmark = pytest.mark.warehouse

PERIOD = "2026Q3"
#: a quarter whose review cuts the data (the sample goes on after it)
EARLIER = "2026Q2"
#: each review's wall time (seconds), printed at the end of the module (``pytest -s``)
TIMES: dict[str, float] = {}


def _java() -> None:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("engine spark needs a Java runtime: run make java (make test does)")


# --- the facts, engine by engine ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_snapshot(tmp_path_factory):
    """The typed snapshot of data/sample, in a cache of this module's own."""
    loaded = snapshot.load(paths.SAMPLE_WORKSPACE, cache=tmp_path_factory.mktemp("cache"))
    assert loaded.path is not None
    return loaded.path


@pytest.fixture(scope="module")
def sample_in_postgres(postgres_url, tmp_path_factory):  # noqa: F811 - the fixture of tests/test_database.py
    """data/sample loaded into a throwaway PostgreSQL (schema ``engines``), as a workspace reading it there."""
    names = load_files_into(postgres_url, paths.SAMPLE_WORKSPACE, "engines")
    os.environ[ENV] = postgres_url
    yield db_workspace(tmp_path_factory.mktemp("pg") / "ws", paths.SAMPLE_WORKSPACE, "engines", names)
    os.environ.pop(ENV, None)


@pytest.fixture(scope="module")
def postgres_snapshot(sample_in_postgres, tmp_path_factory):
    """The typed snapshot of the database workspace (salign review writes one per run; here, once)."""
    loaded = snapshot.load(sample_in_postgres, cache=False)
    return snapshot.write(loaded, tmp_path_factory.mktemp("pg-snapshot"), keep=1), sample_in_postgres


def _opened(kind, sample_snapshot, postgres_snapshot_request):
    if kind == "postgres":
        there, ws = postgres_snapshot_request.getfixturevalue("postgres_snapshot")
    else:
        if kind == "spark":
            _java()
        there, ws = sample_snapshot, paths.SAMPLE_WORKSPACE
    return snapshot.open_snapshot(there, ws, engine=kind)


def _facts(tables, cutoff) -> dict:
    """Every function of salign.common.events, on ``tables``."""
    return {"first_entries": events.first_entries(tables),
            "first_entries_before": events.first_entries(tables, cutoff - pd.Timedelta(days=45)),
            "stage_counts": events.stage_counts(tables),
            "funnel_entries": events.funnel_entries(tables, cutoff),
            "marketing_counts": events.marketing_counts(tables, 90)}


def _assert_facts_equal(tables, cutoff) -> None:
    on_frames = dataclasses.replace(tables, engine=None)  # DuckDB over these (cut) pandas frames
    assert engine.engine_of(on_frames).over_frames
    got, want = _facts(tables, cutoff), _facts(on_frames, cutoff)
    for name in want:
        assert len(want[name]) > 0, name  # the sample has facts of every kind: an empty frame proves nothing
        pd.testing.assert_frame_equal(got[name], want[name], obj=name)


@pytest.mark.parametrize("kind", ["duckdb", pytest.param("spark", marks=pytest.mark.slow), "postgres"])
def test_each_engine_gives_the_facts_of_duckdb_over_the_frames(kind, sample_snapshot, request):
    tables = _opened(kind, sample_snapshot, request)
    attached = engine.engine_of(tables)
    assert attached is tables.engine and attached.kind == kind and not attached.over_frames
    # all the data (no cut), then the quarter before the sample's last (its data goes on after it): the engine's
    # uncut tables cut in SQL (until) against the pandas frames cut by periods.known_at
    _assert_facts_equal(tables, tables.as_of)
    cutoff = periods.cutoff(periods.resolve(EARLIER, tables), tables)
    cut = periods.known_at(tables, cutoff)
    assert cut.until == cutoff and cut.engine is attached and len(cut.leads) < len(tables.leads)
    _assert_facts_equal(cut, cutoff)
    assert attached.queries >= 12  # the facts above came from this engine


def test_postgres_reads_queries_and_local_times(postgres_url):  # noqa: F811
    """A ``query:`` source, and ``timestamp`` columns without a zone (local to ``formats.timestamps_timezone``,
    here +05:30 all year): the facts in the database are those of the sample's files, the same instants."""
    import psycopg

    load_files_into(postgres_url, paths.SAMPLE_WORKSPACE, "naive")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for table, col in (("leads", "created_at"), ("stages", "at"), ("activities", "at")):
            conn.execute(f"ALTER TABLE naive.{table} ALTER COLUMN {col} TYPE timestamp "
                         f"USING {col} AT TIME ZONE 'Asia/Kolkata'")
    sources = {"leads": config_mod.TableSource(table="naive.leads"),
               "stages": config_mod.TableSource(query="select * from naive.stages where stage is not null -- all"),
               "activities": config_mod.TableSource(table="naive.activities")}
    tables = load_workspace(paths.SAMPLE_WORKSPACE)
    with database.connect(postgres_url) as conn:
        tables.engine = engine.in_database(conn, sources, timezone="Asia/Kolkata")
        _assert_facts_equal(tables, tables.as_of)


def test_the_snapshot_writes_microseconds_and_gives_back_nanoseconds(sample_snapshot):
    """Spark refuses Parquet's TIMESTAMP(NANOS): the snapshot stores microseconds, the frames are as loaded."""
    for name in ("leads", "stages", "activities", "opportunities"):
        schema = pq.read_schema(sample_snapshot / f"{name}.parquet")
        times = [f for f in schema if str(f.type).startswith("timestamp")]
        assert times and all(str(f.type) == "timestamp[us, tz=UTC]" for f in times), name
    opened = snapshot.open_snapshot(sample_snapshot, paths.SAMPLE_WORKSPACE, engine="duckdb")
    loaded = load_workspace(paths.SAMPLE_WORKSPACE)
    assert str(opened.stages["at"].dtype) == "datetime64[ns, UTC]"  # one column, read alone
    for name in ("accounts", "leads", "stages", "activities", "opportunities", "content"):
        got = getattr(opened, name)
        got = got.frame() if isinstance(got, LazyFrame) else got  # the event tables stay on disk until read
        pd.testing.assert_frame_equal(got, getattr(loaded, name), obj=name)


def test_a_time_finer_than_a_microsecond_is_not_snapshotted(tiny_workspace, tmp_path):
    loaded = snapshot.load(tiny_workspace, cache=False)
    loaded.tables.stages.loc[0, "at"] += pd.Timedelta(nanoseconds=1)
    with pytest.raises(snapshot.Unsupported, match="finer than a microsecond"):
        snapshot.write(loaded, tmp_path)


def test_without_a_snapshot_duckdb_reads_the_frames_and_spark_is_refused(tiny_workspace, monkeypatch):
    monkeypatch.setenv("SALIGN_CACHE", "off")
    tables = load_tables(str(tiny_workspace), "", "duckdb")
    assert tables.engine is None and engine.engine_of(tables).over_frames
    with pytest.raises(engine.EngineError, match="engine spark reads the typed snapshot"):
        load_tables(str(tiny_workspace), "", "spark")


# --- choosing the engine --------------------------------------------------------------------------------------
def _config(**extra):
    base = {"name": "x", "tables": {"leads": "leads.csv", "stages": "stages.csv"}}
    return config_mod.WorkspaceConfig.model_validate(base | extra)


DB = {"database": {"url_env": "X"}, "tables": {"leads": {"table": "crm.leads"}, "stages": {"query": "select 1"},
                                               "accounts": "accounts.csv"}}


@pytest.mark.parametrize("extra, override, expected", [
    ({}, "", "duckdb"),                                 # files: in process
    (DB, "", "postgres"),                               # event tables in a database: there
    (DB | {"engine": "duckdb"}, "", "duckdb"),          # workspace.yaml says otherwise
    ({"engine": "spark"}, "", "spark"),
    ({"engine": "spark"}, "duckdb", "duckdb"),          # the CLI / notebook parameter wins
    (DB | {"engine": "spark"}, "postgres", "postgres"),
])
def test_the_engine_is_the_parameter_else_workspace_yaml_else_the_default(extra, override, expected):
    assert engine.choose(_config(**extra), override) == expected


def test_postgres_needs_the_event_tables_in_the_database():
    with pytest.raises(engine.EngineError, match="has no 'database' section"):
        engine.choose(_config(), "postgres")
    half = _config(database={"url_env": "X"}, tables={"leads": {"table": "crm.leads"}, "stages": "stages.csv"})
    assert engine.choose(half) == "duckdb"  # a database, but stages are a file: the default stays in process
    with pytest.raises(engine.EngineError, match="reads its stages table"):
        engine.choose(half, "postgres")


@pytest.mark.parametrize("value, says", [
    ("bigquery", "engine must be one of duckdb, postgres, spark"),
    ("postgres", "has no 'database' section"),
])
def test_a_bad_engine_in_workspace_yaml_is_named_with_its_line(tiny_workspace, capsys, value, says):
    yaml_file = tiny_workspace / "workspace.yaml"
    text = yaml_file.read_text() + f"engine: {value}\n"
    yaml_file.write_text(text)
    line = len(text.splitlines())
    with pytest.raises(WorkspaceError) as err:
        load_workspace(tiny_workspace)
    (p,) = err.value.problems
    assert p.file == str(yaml_file) and p.line == line and p.column == "engine" and p.value == value
    assert says in p.message
    assert cli.main(["validate", "--workspace", str(tiny_workspace)]) == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "workspace.yaml" in err and f":{line}" in err and value in err


def test_the_cli_refuses_an_engine_the_workspace_cannot_use(tiny_workspace, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["review", "--workspace", str(tiny_workspace), "--out", str(out), "--engine", "postgres"]) \
        == cli.EXIT_USAGE
    assert "engine postgres computes in the workspace's own database" in capsys.readouterr().err
    assert not out.exists()  # nothing written
    with pytest.raises(SystemExit):
        cli.main(["review", "--engine", "bigquery"])
    assert "invalid choice: 'bigquery'" in capsys.readouterr().err


def test_the_engine_is_declared_once():
    assert cli.ENGINES == engine.KINDS == config_mod.ENGINES
    assert tuple(engine.EVENT_COLUMNS) == config_mod.EVENT_TABLES
    assert cli._parser().parse_args(["review"]).engine == params.CommonParams.model_fields["engine"].default == ""
    for kind in ("", *engine.KINDS):
        assert params.validate("04_quarterly_review", engine=kind).engine == kind
    with pytest.raises(params.ParameterError, match="engine"):
        params.validate("04_quarterly_review", engine="bigquery")


# --- the sample review, engine by engine --------------------------------------------------------------------------
def _review(name, tmp_path_factory, workspace=paths.SAMPLE_WORKSPACE, **kwargs):
    out = tmp_path_factory.mktemp(f"review-{name}")
    t0 = time.perf_counter()
    published = review(workspace=workspace, period=PERIOD, out=out, progress=lambda m: None, **kwargs)
    TIMES[name] = round(time.perf_counter() - t0, 1)
    return published


@pytest.fixture(scope="module")
def default_review(tmp_path_factory):
    return _review("default (duckdb)", tmp_path_factory)


def _lineage_engines(published) -> dict:
    return json.loads((published / "lineage.json").read_text())["engine"]


def _check_ran(published, kind: str, reads: str) -> None:
    """lineage.json says, per notebook, what its kernel's engine was and that it computed facts."""
    ran = _lineage_engines(published)
    assert sorted(ran) == ["01_personas", "02_content_audit", "03_qualification", "04_quarterly_review"]
    assert {r["engine"] for r in ran.values()} == {kind} and {r["reads"] for r in ran.values()} == {reads}
    assert all(r["queries"] > 0 for r in ran.values())
    assert json.loads((published / "lineage.json").read_text())["parameters"]["engine"] == kind
    assert not list(published.glob("*.engine.json"))  # the kernels' notes are not part of the report


@pytest.mark.slow
def test_the_default_review_runs_duckdb_over_the_snapshot(default_review):
    _check_ran(default_review, "duckdb", "the typed snapshot's Parquet files")


@pytest.mark.slow
def test_the_review_on_spark_equals_the_default_byte_for_byte(default_review, tmp_path_factory):
    _java()
    on_spark = _review("spark", tmp_path_factory, engine="spark")
    _check_ran(on_spark, "spark", "the typed snapshot's Parquet files")
    assert (on_spark / "metrics.json").read_bytes() == (default_review / "metrics.json").read_bytes()


@pytest.mark.slow
def test_the_review_in_postgres_equals_the_default_but_for_the_source(default_review, sample_in_postgres,
                                                                      tmp_path_factory):
    in_db = _review("postgres", tmp_path_factory, workspace=sample_in_postgres)  # the default of a database
    _check_ran(in_db, "postgres", "the workspace's database (read-only)")
    files, db = (json.loads((d / "metrics.json").read_text()) for d in (default_review, in_db))
    differ = sorted(_differences(files, db))
    # only what names the source differs: the workspace fingerprints (file bytes vs database rows); every figure
    # is the same (the sample has no signed definition, whose hash would embed the fingerprint too)
    assert differ == ["notebooks.01_personas.workspace_fingerprint", "notebooks.02_content_audit.workspace_fingerprint",
                      "notebooks.03_qualification.workspace_fingerprint",
                      "notebooks.04_quarterly_review.workspace_fingerprint", "workspace_fingerprint"]
    assert _without_source(files) == _without_source(db)


def _differences(a, b, at=""):
    """The dotted paths where two JSON documents differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from _differences(a.get(k), b.get(k), f"{at}.{k}" if at else k)
    elif a != b:
        yield at


def teardown_module(module):
    if TIMES:
        print("\nsample review wall time per engine (s):", json.dumps(TIMES))

