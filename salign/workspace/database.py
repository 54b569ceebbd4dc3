"""A SQL database (PostgreSQL) as the source of a workspace's tables.

``workspace.yaml`` names the database and, per table, a table or a query::

    database:
      url_env: SALIGN_DATABASE_URL      # the URL is read from this environment variable (the default)
    tables:
      leads: {table: crm.leads}
      stages: {query: "select lead_id, stage, changed_at as at from crm.lead_history"}

salign connects read-only (every transaction is ``READ ONLY`` and the session's
``default_transaction_read_only`` is on), reads each table ordered by its key (or
``order_by``) so a run is reproducible, and types the columns with the same rules as
files. A password never appears in a message, a log or a report: URLs are shown with
the password replaced, and a URL with a password in ``workspace.yaml`` is refused.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from salign.core.problems import Problem
from salign.workspace.config import Formats
from salign.workspace.files import type_frame
from salign.workspace.schema import TABLES

CONNECT_TIMEOUT = 10  # seconds


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (URL and key=value forms)."""
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.hostname or ""
        user = parts.username or ""
        netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
        url = urlunsplit(parts._replace(netloc=netloc))
    return re.sub(r"(password\s*=\s*)('[^']*'|[^\s&]+)", r"\1***", url, flags=re.I)


def _password(url: str) -> str | None:
    pw = urlsplit(url).password
    if pw:
        return pw
    m = re.search(r"password\s*=\s*('[^']*'|[^\s&]+)", url, flags=re.I)
    return m.group(1).strip("'") if m else None


def _scrub(text: str, url: str) -> str:
    pw = _password(url)
    text = text.replace(url, redact(url))
    return text.replace(pw, "***") if pw else text


def resolve_url(database, yaml_file: Path) -> tuple[str | None, list[Problem]]:
    """The database URL from workspace.yaml or the environment; problems if it is absent or holds a password."""
    if database.url is not None:
        if _password(database.url):
            return None, [Problem(str(yaml_file), "password-in-url", "workspace.yaml must not hold a database "
                                  f"password; put the URL in the environment variable {database.url_env} or the "
                                  "password in ~/.pgpass", column="database.url")]
        return database.url, []
    url = os.environ.get(database.url_env)
    if not url:
        return None, [Problem(str(yaml_file), "database-url", f"set the environment variable {database.url_env} to "
                              "the database URL (postgresql://user@host:port/dbname)", column="database.url_env")]
    return url, []


def connect(url: str):
    """A read-only connection (raises ``psycopg.Error``; its message may name the host, never the password)."""
    import psycopg

    conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, options="-c default_transaction_read_only=on")
    conn.read_only = True
    return conn


def read_tables(config, sources: dict, yaml_file: Path) -> tuple[dict, dict, bytes, list[Problem]]:
    """Read the database tables of a workspace.

    Returns
    -------
    frames, labels, digest, problems
        Typed frames (index = row number in key order), the label naming each table in
        problems (redacted URL plus table or query), a digest of the rows (for the
        workspace fingerprint) and every problem found.
    """
    url, problems = resolve_url(config.database, yaml_file)
    if url is None:
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


def _fetch(conn, name: str, src) -> pd.DataFrame:
    """The rows of one table or query in key order, as text (``COPY ... TO STDOUT``, CSV) parsed by pandas;
    timestamps with a time zone become UTC times, everything else is typed like a file."""
    import io

    from psycopg import sql

    base = (sql.SQL("SELECT * FROM {}").format(sql.Identifier(*src.table.split("."))) if src.table
            else sql.SQL("SELECT * FROM ({}) AS q").format(sql.SQL(src.query)))
    with conn.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'")
        cur.execute(base + sql.SQL(" LIMIT 0"))
        columns = [d.name for d in cur.description]
        zoned = [d.name for d in cur.description if d.type_code == TIMESTAMPTZ]
        order = src.order_by or [k for k in TABLES[name].key if k in columns]
        unknown = [c for c in order if c not in columns]
        if unknown:
            raise LookupError(f"order_by names {', '.join(unknown)}, which the result does not have")
        query = base + (sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(map(sql.Identifier, order))) if order
                        else sql.SQL(""))
        buf = io.BytesIO()
        with cur.copy(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(query)) as copy:
            for block in copy:
                buf.write(block)
    buf.seek(0)
    frame = pd.read_csv(buf, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    frame.columns = columns  # the header as the database names the columns (even duplicates stay visible)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    for col in frame.columns:
        if col in zoned:
            frame[col] = pd.to_datetime(frame[col], format="ISO8601", utc=True)
        else:
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame
