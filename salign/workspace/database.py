"""A SQL database (PostgreSQL) as the source of a workspace's tables.

``workspace.yaml`` names the database and, per table, a table or a query::

    database:
      url_env: SALIGN_DATABASE_URL      # the URL is read from this environment variable (the default)
    tables:
      leads: {table: crm.leads}
      stages: {query: "select lead_id, stage, changed_at as at from crm.lead_history"}

The database is only ever read, by three layers: a ``query`` must be exactly one SELECT
(parsed with sqlglot; writes, ``SELECT INTO``, row locks and functions with effects outside
the transaction are refused before connecting), it is sent alone with the extended protocol
(which cannot carry a second statement), and every transaction is ``READ ONLY`` (the
session's ``default_transaction_read_only`` is on too). docs/bring-your-own-data.md tells
users to connect as a role that may only read. Each table is read ordered by its key (or
``order_by``) so a run is reproducible, and its columns are typed with the same rules as
files. A password never appears in a message, a log or a report: URLs and the driver's
messages are shown with the password replaced, and a URL with a password in
``workspace.yaml`` is refused.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import os
import re
from pathlib import Path

import pandas as pd

from salign.core.problems import Problem
from salign.workspace.config import Formats
from salign.workspace.files import type_frame
from salign.workspace.schema import TABLES


class _Later:
    """A third-party module imported on its first use. The driver and the SQL parser take a tenth of a second to
    import and only a workspace that names a database needs them, so ``salign validate`` of files never does."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


psycopg = _Later("psycopg")
sql = _Later("psycopg.sql")
sqlglot = _Later("sqlglot")
exp = _Later("sqlglot.expressions")


def conninfo_to_dict(url: str) -> dict:
    """:func:`psycopg.conninfo.conninfo_to_dict`."""
    return importlib.import_module("psycopg.conninfo").conninfo_to_dict(url)

CONNECT_TIMEOUT = 10  # seconds
EXCERPT = 80  # characters of a refused query shown in its problem
# sqlglot logs the text of a statement it cannot parse fully; the refusal says what is wrong, masked.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

@functools.cache
def forbidden() -> tuple:
    """What a query may not contain although it is one SELECT: writes (``WITH d AS (DELETE ...)``,
    ``SELECT INTO``), row locks, and statements of their own (sqlglot's node classes)."""
    return (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Into, exp.Lock, exp.Create, exp.Drop,
            exp.Alter, exp.Command, exp.Copy, exp.Set, exp.Transaction, exp.Commit, exp.Rollback)
#: Functions whose effect a READ ONLY transaction does not stop (other sessions, settings, files, locks).
FORBIDDEN_FUNCTIONS = frozenset({
    "set_config", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_notify", "pg_advisory_lock", "pg_advisory_xact_lock",
    "pg_advisory_lock_shared", "pg_try_advisory_lock", "pg_read_file", "pg_read_binary_file", "pg_ls_dir",
    "pg_stat_file", "lo_import", "lo_export", "dblink", "dblink_exec", "dblink_connect", "query_to_xml",
    "pg_switch_wal", "pg_create_restore_point", "pg_promote", "txid_current", "pg_current_xact_id",
})

_USERINFO = re.compile(r"((?:^|[\s\"'(=])(?:[a-z][a-z0-9+.-]*://)?[^\s:/?#@\"']*:)[^\s/?#\"']*@", re.I)
_PASSWORD_KEY = re.compile(r"(password\s*=\s*)('[^']*'|[^\s&\"]+)", re.I)


def redact(text: str) -> str:
    """``text`` with every password (``user:pw@host``, ``password=pw``) replaced by ``***``; never raises."""
    return _PASSWORD_KEY.sub(r"\1***", _USERINFO.sub(r"\1***@", text))


def _password(url: str) -> str | None:
    """The password a connection string holds (URL or key=value form), if it can be read."""
    try:
        pw = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        pw = None
    if pw:
        return str(pw)
    m = _USERINFO.search(url) or _PASSWORD_KEY.search(url)
    if m is None:
        return None
    if m.re is _PASSWORD_KEY:
        return m.group(2).strip("'") or None
    return url[m.end(1):m.end() - 1] or None


def _scrub(text: str, url: str) -> str:
    """``text`` (e.g. the driver's message) with ``url`` shown redacted and its password nowhere."""
    pw = _password(url)
    text = redact(text.replace(url, redact(url)))
    return text.replace(pw, "***") if pw else text


def _url_problem(url: str) -> str | None:
    """Why ``url`` is no connection string libpq can use (port not a number, an unclosed ``[``), or None."""
    try:
        port = conninfo_to_dict(url).get("port")
    except psycopg.Error as exc:
        return _scrub(str(exc).strip(), url)
    bad = [p for p in str(port or "").split(",") if p and not p.isdigit()]
    return f"the port {bad[0]!r} is not a number" if bad else None


def resolve_url(database, yaml_file: Path) -> tuple[str | None, list[Problem]]:
    """The database URL from workspace.yaml or the environment; problems (never showing a password) if it
    is absent, holds a password in workspace.yaml, or is no URL libpq can use."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database.url_env):
        return None, [Problem(str(yaml_file), "database-url", "url_env names the environment variable that holds "
                              "the URL (such as SALIGN_DATABASE_URL), not the URL itself", column="database.url_env")]
    if database.url is not None:
        if _password(database.url):
            return None, [Problem(str(yaml_file), "password-in-url", "workspace.yaml must not hold a database "
                                  f"password; put the URL in the environment variable {database.url_env} or the "
                                  "password in ~/.pgpass", column="database.url")]
        url, where = database.url, "database.url"
    else:
        url, where = os.environ.get(database.url_env), f"the environment variable {database.url_env}"
    if not url:
        return None, [Problem(str(yaml_file), "database-url", f"set the environment variable {database.url_env} to "
                              "the database URL (postgresql://user@host:port/dbname)", column="database.url_env")]
    wrong = _url_problem(url)
    if wrong:
        return None, [Problem(str(yaml_file), "database-url", f"{where} is no database URL libpq can read: {wrong} "
                              f"({redact(url)}; expected postgresql://user@host:port/dbname)")]
    return url, []


def connect(url: str) -> psycopg.Connection:
    """A read-only connection (raises ``psycopg.Error``; its message may name the password: scrub it).

    Every transaction is ``BEGIN READ ONLY`` and the session's default is read-only too; as each
    query is one SELECT sent alone (:func:`_fetch`), no text of the workspace can end the transaction.
    """
    conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, options="-c default_transaction_read_only=on")
    conn.read_only = True
    return conn


def check_query(query: str) -> str | None:
    """Why ``query`` is not exactly one read-only SELECT statement (PostgreSQL, parsed by sqlglot), or None."""
    try:
        statements = [s for s in sqlglot.parse(query, dialect="postgres") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        where = exc.errors[0] if getattr(exc, "errors", None) else {}
        at = f" (line {where['line']}, column {where['col']})" if "line" in where else ""
        return f"is not one SELECT statement salign can read{at}"
    if len(statements) != 1:
        return f"holds {len(statements)} statements; give exactly one SELECT"
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        return f"is a {statement.key.upper()} statement; give exactly one SELECT"
    for node in statement.walk():
        if isinstance(node, forbidden()):
            return f"contains {node.key.upper()}, which a read-only SELECT may not"
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in FORBIDDEN_FUNCTIONS:
                return f"calls {name}(), which a read-only SELECT may not"
    return None


def _excerpt(query: str) -> str:
    """The first characters of ``query`` on one line, passwords masked."""
    text = redact(" ".join(query.split()))
    return text if len(text) <= EXCERPT else text[:EXCERPT - 3] + "..."


def read_tables(config, sources: dict, yaml_file: Path) -> tuple[dict, dict, bytes, list[Problem]]:
    """Read the database tables of a workspace.

    Returns
    -------
    frames, labels, digest, problems
        Typed frames (index = row number in key order), the label naming each table in
        problems (redacted URL plus table or query), a digest of the rows (for the
        workspace fingerprint) and every problem found.
    """
    problems = [Problem(str(yaml_file), "database-query", f"the query for table '{name}' {why}",
                        column=f"tables.{name}.query", value=_excerpt(src.query))
                for name, src in sources.items() if src.query is not None and (why := check_query(src.query))]
    url, url_problems = resolve_url(config.database, yaml_file)
    problems += url_problems
    if url is None or problems:
        return {}, {}, b"", problems
    shown = redact(url)
    try:
        conn = connect(url)
    except Exception as exc:  # psycopg raises OperationalError and friends; the message is scrubbed
        return {}, {}, b"", [Problem(shown, "database-connect", "cannot connect read-only: "
                                     + _scrub(str(exc).strip(), url))]
    formats = Formats(timestamps_timezone=config.formats.timestamps_timezone)  # database values are typed, not text
    frames, labels, h = {}, {}, hashlib.sha256()
    with conn:
        for name, src in sources.items():
            labels[name] = f"{shown} {'table ' + src.table if src.table else 'query for ' + name}"
            try:
                frame = _fetch(conn, name, src)
            except Exception as exc:
                conn.rollback()
                problems.append(Problem(labels[name], "database-read", _scrub(str(exc).strip(), url)))
                continue
            frame, typed = type_frame(frame, TABLES[name], formats, labels[name])
            problems += typed
            frames[name] = frame
            h.update(name.encode() + "\x00".join(map(str, frame.columns)).encode())
            h.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return frames, labels, h.digest(), problems


#: PostgreSQL type oids of timestamps with a time zone (returned as ISO text in UTC, see :func:`_fetch`).
TIMESTAMPTZ = 1184


@functools.cache
def _as_text() -> type:
    """A psycopg loader of every value as the server writes it (the text a CSV export holds), typed later like a
    file's (made on first use, as psycopg is imported then)."""

    class AsText(importlib.import_module("psycopg.adapt").Loader):
        def load(self, data) -> str:
            return bytes(data).decode("utf-8")

    return AsText


def _fetch(conn, name: str, src) -> pd.DataFrame:
    """The rows of one table or query in key order, as the server's text; timestamps with a time zone
    become UTC times, everything else is typed like a file.

    The query was checked to be one SELECT (:func:`check_query`); it is sent alone with the extended
    protocol (``prepare=True``), which refuses a second statement whatever the text holds, inside the
    connection's READ ONLY transaction.
    """
    base = (sql.SQL("SELECT * FROM {}").format(sql.Identifier(*src.table.split("."))) if src.table
            else sql.SQL("SELECT * FROM (\n{}\n) AS q").format(sql.SQL(src.query)))
    with conn.cursor() as cur:
        for setting in ("SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'", "SET IntervalStyle = 'iso_8601'"):
            cur.execute(setting)
        cur.execute(base + sql.SQL(" LIMIT 0"), prepare=True)
        columns = [d.name for d in cur.description]
        zoned = [d.name for d in cur.description if d.type_code == TIMESTAMPTZ]
        order = src.order_by or [k for k in TABLES[name].key if k in columns]
        unknown = [c for c in order if c not in columns]
        if unknown:
            raise LookupError(f"order_by names {', '.join(unknown)}, which the result does not have")
        for d in cur.description:
            cur.adapters.register_loader(d.type_code, _as_text())
        query = base + (sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(map(sql.Identifier, order))) if order
                        else sql.SQL(""))
        rows = cur.execute(query, prepare=True).fetchall()
    frame = pd.DataFrame(rows, columns=range(len(columns)), dtype=object)
    frame.columns = columns  # the header as the database names the columns (even duplicates stay visible)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    for i, col in enumerate(columns):
        values = frame.iloc[:, i].where(frame.iloc[:, i].fillna("") != "", None)  # empty text is missing, as in files
        frame.isetitem(i, pd.to_datetime(values, format="ISO8601", utc=True) if col in zoned else values)
    return frame
