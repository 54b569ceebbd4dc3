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

A review of a quarter reads the tables as they stood at its end (:func:`salign.common.periods.known_at`): the
pandas frames are cut, and the expressions apply the same cut (:func:`event_table`) to the backend's tables.
"""
from __future__ import annotations

import os
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

#: the engines an expression can run on
KINDS = ("duckdb", "postgres", "spark")
#: the tables the expressions read, and the columns they may use with their canonical type
EVENT_COLUMNS = {
    "leads": {"lead_id": dt.string, "created_at": dt.Timestamp(timezone="UTC")},
    "stages": {"lead_id": dt.string, "stage": dt.string, "at": dt.Timestamp(timezone="UTC"), "team": dt.string,
               "actor": dt.string},
    "activities": {"lead_id": dt.string, "at": dt.Timestamp(timezone="UTC"), "team": dt.string,
                   "type": dt.string, "actor": dt.string, "content_id": dt.string},
}
SPARK_MASTER = "SALIGN_SPARK_MASTER"


class EngineError(RuntimeError):
    """An engine that cannot be used for this workspace (named, with what to do)."""


@dataclass(eq=False)
class Engine:
    """An Ibis backend holding a workspace's event tables (canonical columns and types, before any cut-off).

    ``over_frames``: the backend reads the pandas frames of one tables object, already cut to its period.
    """

    kind: str
    con: object
    raw: dict = field(default_factory=dict)
    over_frames: bool = False

    def fetch(self, expr) -> pd.DataFrame:
        """The result of ``expr`` as pandas: times as nanosecond UTC, text as Python objects (None when empty)."""
        out = expr.to_pandas()
        for col, typ in expr.schema().items():
            if typ.is_timestamp():
                out[col] = pd.to_datetime(out[col], utc=True).astype("datetime64[ns, UTC]")
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
    return Engine("duckdb", con, raw, over_frames=True)


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
    return Engine(kind, con, raw)


def in_database(connection, sources: dict) -> Engine:
    """PostgreSQL on an open (read-only) psycopg ``connection``; ``sources``: ``{name: TableSource}`` of
    workspace.yaml (a table name or one SELECT)."""
    connection.execute("SET TimeZone = 'UTC'")
    con = ibis.postgres.from_connection(connection)
    raw = {}
    for name, src in sources.items():
        if name not in EVENT_COLUMNS:
            continue
        if src.table:
            *schema, table = src.table.split(".")
            t = con.table(table, database=schema[0] if schema else None)
        else:
            t = con.sql(src.query)
        raw[name] = _canonical(t, name)
    return Engine("postgres", con, raw)


_SESSION = []


def spark_session():
    """The Spark session of this process (local mode, 2 threads, UTC, no UI), started on first use."""
    if not _SESSION:
        try:
            from pyspark.sql import SparkSession  # a JVM starts: only when Spark is asked for
        except ImportError:
            raise EngineError("engine spark needs pyspark (pip install pyspark) and a Java runtime") from None
        master = os.environ.get(SPARK_MASTER, "local[2]")
        _SESSION.append(SparkSession.builder.master(master).appName("salign")
                        .config("spark.sql.session.timeZone", "UTC")
                        .config("spark.ui.enabled", "false")
                        .config("spark.sql.shuffle.partitions", "4")
                        .config("spark.sql.legacy.parquet.nanosAsLong", "false")
                        .getOrCreate())
    return _SESSION[0]


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
