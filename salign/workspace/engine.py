"""Where the event-level work runs: one Ibis backend per workspace, and the canonical event tables in it.

The per-lead facts that read every stage event and activity (when each lead entered each stage, what it did
before a decision point, the first follow-up after a handover) are Ibis expressions
(:mod:`salign.common.events`). They run where the data is and only their results, one row per lead or fewer,
come back to pandas:

- **duckdb** (the default): in-process DuckDB. Over the typed snapshot's Parquet files when the tables came
  from one (:mod:`salign.workspace.snapshot`; nothing is read twice), else over the loaded pandas frames.
- **postgres**: the workspace's own PostgreSQL database (``database:`` in workspace.yaml), on its tables and
  queries, in a read-only session.
- **spark**: Apache Spark (``pyspark``), local mode unless ``SALIGN_SPARK_MASTER`` names a cluster, over the
  typed snapshot's Parquet files.

Which one a review uses (:func:`choose`): ``salign review --engine`` (the notebooks' ``engine`` parameter), else
``engine:`` in workspace.yaml, else postgres for a workspace whose event tables are in its database, else duckdb.
A kernel attaches it to the tables it opens (:func:`attach`, from :func:`salign.workspace.snapshot.open_snapshot`).

A review of a quarter reads the tables as they stood at its end (:func:`salign.common.periods.known_at`): the
pandas frames are cut, and the expressions apply the same cut (:func:`event_table`) to the backend's tables.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import psycopg
import sqlglot
from psycopg import sql as psql

from salign.core.problems import WorkspaceError
from salign.workspace import database
from salign.workspace.config import ENGINES as KINDS  # the engines an expression can run on
from salign.workspace.config import EVENT_TABLES

#: the tables the expressions read, and the columns they may use with their canonical type
EVENT_COLUMNS = {
    "leads": {"lead_id": dt.string, "created_at": dt.Timestamp(timezone="UTC")},
    "stages": {"lead_id": dt.string, "stage": dt.string, "at": dt.Timestamp(timezone="UTC"), "team": dt.string,
               "actor": dt.string},
    "activities": {"lead_id": dt.string, "at": dt.Timestamp(timezone="UTC"), "team": dt.string,
                   "type": dt.string, "actor": dt.string, "content_id": dt.string, "account_id": dt.string},
}
SPARK_MASTER = "SALIGN_SPARK_MASTER"


class EngineError(RuntimeError):
    """An engine that cannot be used for this workspace (named, with what to do)."""


@dataclass(eq=False)
class Engine:
    """An Ibis backend holding a workspace's event tables (canonical columns and types, before any cut-off).

    ``over_frames``: the backend reads the pandas frames of one tables object, already cut to its period.
    ``reads``: what it reads, in words (for lineage.json); ``queries``: how many results it has sent back.
    """

    kind: str
    con: object
    raw: dict = field(default_factory=dict)
    over_frames: bool = False
    reads: str = ""
    queries: int = 0

    def fetch(self, expr) -> pd.DataFrame:
        """The result of ``expr`` as pandas: times as nanosecond UTC, text as Python objects (None when empty)."""
        schema = expr.schema()
        if all(t.is_timestamp() or t.is_string() or t.is_integer() or t.is_floating() for t in schema.types):
            # through Arrow, column by column: Ibis' own to_pandas turns every column holding a null into a list of
            # Python objects first (seconds for a million times)
            out = expr.to_pyarrow().to_pandas()
        else:
            out = expr.to_pandas()
        self.queries += 1
        for col, typ in schema.items():
            if typ.is_timestamp():
                times = out[col]
                times = (times.dt.tz_convert("UTC") if isinstance(times.dtype, pd.DatetimeTZDtype)
                         else pd.to_datetime(times, utc=True))
                out[col] = times.astype("datetime64[ns, UTC]")
            elif typ.is_string():
                out[col] = out[col].astype(object).where(out[col].notna(), None)
            elif typ.is_integer():
                out[col] = out[col].astype("int64")
        return out


def _canonical(table, name: str):
    """``table`` with the columns of :data:`EVENT_COLUMNS` it has, cast to their canonical type."""
    want = EVENT_COLUMNS[name]
    cols = {c: (table[c] if table[c].type() == typ else table[c].cast(typ)) for c, typ in want.items()
            if c in table.columns}
    return table.select(**cols)


def _duckdb():
    """An in-process DuckDB whose session time zone is UTC (a day added to a time is 24 hours)."""
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    return con


def over_frames(frames: dict) -> Engine:
    """DuckDB in this process over pandas frames (no copy): ``{name: DataFrame or None}``."""
    con = _duckdb()
    raw = {}
    for name, frame in frames.items():
        if frame is None or name not in EVENT_COLUMNS:
            continue
        cols = [c for c in EVENT_COLUMNS[name] if c in frame.columns]
        con.con.register(name, frame[cols])
        raw[name] = _canonical(con.table(name), name)
    return Engine("duckdb", con, raw, over_frames=True, reads="the loaded tables (pandas frames)")


def over_parquet(kind: str, files: dict) -> Engine:
    """DuckDB or Spark over Parquet files: ``{name: path}`` (a typed snapshot's tables)."""
    if kind == "duckdb":
        con = _duckdb()
    elif kind == "spark":
        con = ibis.pyspark.connect(spark_session())
    else:
        raise EngineError(f"engine {kind!r} does not read Parquet files; use duckdb or spark")
    raw = {name: _canonical(con.read_parquet(str(path), table_name=f"salign_{name}"), name)
           for name, path in files.items() if name in EVENT_COLUMNS}
    return Engine(kind, con, raw, reads="the typed snapshot's Parquet files")


def in_database(connection, sources: dict, timezone: str = "UTC") -> Engine:
    """PostgreSQL on an open (read-only) psycopg ``connection``; ``sources``: ``{name: TableSource}`` of
    workspace.yaml (a table name or one SELECT).

    Each source is wrapped in one SELECT of its event columns with their canonical types (:func:`_typed_select`;
    its column types are read with ``LIMIT 0``: a read-only session cannot create the view Ibis would use). A
    ``timestamp`` column without a zone holds times local to ``timezone`` (``formats.timestamps_timezone``, as when
    the rows are loaded); the session's zone is UTC (a day added to a time is 24 hours)."""
    connection.execute("SET TimeZone = 'UTC'")
    con = ibis.postgres.from_connection(connection)
    raw = {}
    for name, src in sources.items():
        if name not in EVENT_COLUMNS:
            continue
        query, schema = _typed_select(connection, name, src, timezone)
        raw[name] = con.sql(query, schema=schema)
    return Engine("postgres", con, raw, reads="the workspace's database (read-only)")


def _typed_select(connection, name: str, src, timezone: str) -> tuple[str, ibis.Schema]:
    """The SELECT of table ``name``'s event columns from ``src`` (a table or the workspace's query), cast to
    :data:`EVENT_COLUMNS`' types, and its Ibis schema."""
    if src.table:
        origin = psql.SQL("SELECT * FROM {}").format(psql.Identifier(*src.table.split(".")))
    else:
        # the one SELECT loading checked (database.check_query), as sqlglot writes it: no ';', comments as /* */
        (statement,) = [q for q in sqlglot.parse(src.query, dialect="postgres") if isinstance(q, sqlglot.exp.Query)]
        origin = psql.SQL(statement.sql(dialect="postgres"))
    with connection.cursor() as cur:
        cur.execute(psql.SQL("SELECT * FROM ({}) AS salign_src LIMIT 0").format(origin))
        found = {d.name: connection.adapters.types.get(d.type_code) for d in cur.description}
    cols, schema = [], {}
    for col, typ in EVENT_COLUMNS[name].items():
        if col not in found:
            continue
        c = psql.Identifier(col)
        if typ.is_timestamp() and found[col] is not None and found[col].name == "timestamp":
            cols.append(psql.SQL("({} AT TIME ZONE {}) AS {}").format(c, psql.Literal(timezone), c))
        else:
            cols.append(psql.SQL("CAST({} AS {}) AS {}").format(
                c, psql.SQL("timestamptz" if typ.is_timestamp() else "text"), c))
        schema[col] = typ
    query = psql.SQL("SELECT {} FROM ({}) AS salign_src").format(psql.SQL(", ").join(cols), origin)
    return query.as_string(connection), ibis.schema(schema)


_SESSION = []


def spark_session():
    """The Spark session of this process (local mode, 2 threads, UTC, no UI), started on first use."""
    if not _SESSION:
        try:
            from pyspark.sql import SparkSession  # a JVM starts: only when Spark is asked for
        except ImportError:
            raise EngineError("engine spark needs pyspark (pip install pyspark) and a Java runtime") from None
        master = os.environ.get(SPARK_MASTER, "").strip() or "local[2]"
        builder = (SparkSession.builder.master(master).appName("salign")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", "4")
                   .config("spark.sql.legacy.parquet.nanosAsLong", "false"))
        # the JVM's own chatter (start-up notices, log lines) would land in the kernel's output and the review's
        # terminal: it starts with no stderr; its errors still reach Python as exceptions with their message
        saved = os.dup(2)
        try:
            with open(os.devnull, "wb") as quiet:
                os.dup2(quiet.fileno(), 2)
                session = builder.getOrCreate()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        session.sparkContext.setLogLevel("ERROR")
        _SESSION.append(session)
    return _SESSION[0]


def choose(config, override: str = "") -> str:
    """The engine of a workspace (``config``: its :class:`~salign.workspace.config.WorkspaceConfig`): ``override``
    (``salign review --engine``, the notebooks' ``engine`` parameter) when given, else ``engine:`` in
    workspace.yaml, else postgres when the workspace's event tables are in its database, else duckdb.

    :class:`EngineError` for an unknown name, or postgres for a workspace whose event tables are not all in its
    database."""
    kind = override or config.engine or ("postgres" if config.event_tables_in_database() else "duckdb")
    if kind not in KINDS:
        raise EngineError(f"engine {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "postgres" and not config.event_tables_in_database():
        why = ("has no 'database' section" if config.database is None else "reads its "
               + ", ".join(n for n, s in config.sources().items() if n in EVENT_TABLES and s.file is not None)
               + " table(s) from files")
        raise EngineError(f"engine postgres computes in the workspace's own database, and workspace {config.name!r} "
                          f"{why}; use duckdb or spark")
    return kind


def check(kind: str) -> None:
    """Fail early (:class:`EngineError`, saying what to install) when ``kind`` cannot run here; starts nothing."""
    if kind != "spark":
        return
    if importlib.util.find_spec("pyspark") is None:
        raise EngineError("engine spark needs pyspark (pip install 'salign[spark]') and a Java runtime (17 or newer)")
    java_home = os.environ.get("JAVA_HOME", "").strip()
    if not (java_home and Path(java_home, "bin", "java").exists()) and shutil.which("java") is None:
        raise EngineError("engine spark needs a Java runtime (17 or newer) and none was found (no java on PATH, "
                          "no JAVA_HOME): install one (on Debian: apt-get install openjdk-17-jre-headless, or "
                          "make java)")


def attach(tables, kind: str, snapshot: Path | None = None):
    """``tables`` with the engine ``kind`` attached (in place; returned): duckdb or spark over the Parquet files
    of the typed snapshot in folder ``snapshot``, postgres in the workspace's database (a read-only connection in
    one repeatable-read transaction: every expression of this kernel sees the same rows). duckdb without a
    snapshot stays over the frames (nothing to attach); spark without one is an :class:`EngineError`."""
    names = [n for n in EVENT_COLUMNS if getattr(tables, n) is not None]
    if kind == "postgres":
        tables.engine = in_database(_connect(tables), {n: s for n, s in tables.config.sources().items()
                                                       if n in names},
                                    timezone=tables.config.formats.timestamps_timezone)
    elif snapshot is not None:
        tables.engine = over_parquet(kind, files_of(snapshot, names))
    elif kind == "spark":
        raise EngineError("engine spark reads the typed snapshot's Parquet files, and these tables have none (the "
                          "snapshot cache is off, or the values cannot be written to Parquet exactly); run salign "
                          "review, or use duckdb")
    elif kind not in KINDS:
        raise EngineError(f"engine {kind!r} is not one of {', '.join(KINDS)}")
    return tables


def _connect(tables):
    """A read-only, repeatable-read connection to the database of ``tables`` (problems named, never a password)."""
    yaml_file = Path(tables.folder) / "workspace.yaml"
    url, problems = database.resolve_url(tables.config.database, yaml_file)
    if problems:
        raise WorkspaceError(problems, str(yaml_file))
    try:
        conn = database.connect(url)
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    except Exception as exc:  # psycopg raises OperationalError and friends; the message is scrubbed
        raise EngineError(f"engine postgres cannot connect read-only to {database.redact(url)}: "
                          + database._scrub(str(exc).strip(), url)) from None
    return conn



_ENGINES: dict[int, Engine] = {}


def engine_of(tables) -> Engine:
    """The engine of ``tables``: the one attached when they were loaded, else DuckDB over their frames
    (memoised per tables object)."""
    if tables.engine is not None:
        return tables.engine
    key = id(tables)
    if key not in _ENGINES:
        _ENGINES[key] = over_frames({n: getattr(tables, n) for n in EVENT_COLUMNS})
        weakref.finalize(tables, _ENGINES.pop, key, None)
    return _ENGINES[key]


def event_table(tables, name: str):
    """Table ``name`` of ``tables`` as an Ibis table of its engine, cut like the tables' frames (``until``):
    leads created before it, their stage events before it, activities before it (or undated)."""
    engine = engine_of(tables)
    if name not in engine.raw:
        return None
    t = engine.raw[name]
    when = tables.until
    if when is None or engine.over_frames:
        return t
    if name == "leads":
        return t.filter(t.created_at.isnull() | (t.created_at < when))
    if name == "activities":
        return t.filter(t.at.isnull() | (t.at < when))
    leads = event_table(tables, "leads")
    t = t.filter(t.at < when)
    return t.semi_join(leads, "lead_id") if leads is not None else t


def files_of(folder: Path, names) -> dict:
    """``{name: folder/name.parquet}`` for the event tables among ``names`` (a snapshot's tables)."""
    return {n: Path(folder) / f"{n}.parquet" for n in names if n in EVENT_COLUMNS}
