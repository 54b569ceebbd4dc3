"""The PostgreSQL source against a real server started for this test run.

``make postgres`` installs Debian's PostgreSQL when it is absent (apt-get, as root) and
starts a throwaway cluster on a Unix socket in a temporary folder; this module loads
data/sample into it, reads it back read-only, and checks that the review on the
database gives exactly the metrics of the review on the files. The module is skipped
only when PostgreSQL is absent and cannot be installed (not root); CI runs as root.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

import pandas as pd
import pytest
import yaml

from salign.core import paths
from salign.core.problems import WorkspaceError
from salign.runner.execute import review
from salign.workspace import database, load_workspace
from salign.workspace.schema import TABLES

ENV = "SALIGN_TEST_DATABASE_URL"
SQL_TYPES = {"id": "text", "text": "text", "category": "text", "int": "bigint", "number": "double precision",
             "datetime": "timestamptz"}


@pytest.fixture(scope="module")
def postgres_url():
    folder = tempfile.mkdtemp(prefix="salign-pg-")
    done = subprocess.run(["make", "-s", "-C", str(paths.PROJECT_ROOT), "postgres", f"PG_DIR={folder}"],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        if "needs root" in done.stderr:
            pytest.skip(f"PostgreSQL cannot be installed here: {done.stderr.strip()}")
        pytest.fail(f"make postgres failed:\n{done.stderr}")
    yield done.stdout.strip().splitlines()[-1]
    subprocess.run(["make", "-s", "-C", str(paths.PROJECT_ROOT), "postgres-stop", f"PG_DIR={folder}"],
                   capture_output=True, timeout=120)


def load_files_into(url: str, folder, schema: str) -> list[str]:
    """Copy a file workspace's tables into ``schema`` (typed columns); return the table names."""
    import psycopg
    from psycopg import sql

    config = yaml.safe_load((folder / "workspace.yaml").read_text())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {s} CASCADE; CREATE SCHEMA {s}").format(s=sql.Identifier(schema)))
        for name, rel in config["tables"].items():
            header = pd.read_csv(folder / rel, nrows=0).columns
            cols = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(SQL_TYPES[TABLES[name].column(c).kind]
                                                                      if TABLES[name].column(c) else "text"))
                    for c in header]
            table = sql.Identifier(schema, name)
            conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, sql.SQL(", ").join(cols)))
            with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv, HEADER true)").format(table)) as cp:
                cp.write((folder / rel).read_bytes())
    return list(config["tables"])


def db_workspace(target, source_folder, schema: str, names) -> object:
    """A workspace folder whose tables live in the database (URL from the environment)."""
    target.mkdir(parents=True)
    if (source_folder / "definitions").is_dir():
        shutil.copytree(source_folder / "definitions", target / "definitions")
    config = yaml.safe_load((source_folder / "workspace.yaml").read_text())
    config["database"] = {"url_env": ENV}
    config["tables"] = {n: {"table": f"{schema}.{n}"} for n in names}
    config.pop("formats", None)  # typed columns need no text formats
    (target / "workspace.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return target


@pytest.fixture(scope="module")
def sample_in_db(postgres_url, tmp_path_factory):
    names = load_files_into(postgres_url, paths.SAMPLE_WORKSPACE, "sample")
    os.environ[ENV] = postgres_url
    yield db_workspace(tmp_path_factory.mktemp("db") / "ws", paths.SAMPLE_WORKSPACE, "sample", names)
    os.environ.pop(ENV, None)


def test_tables_read_from_the_database_equal_the_files(sample_in_db):
    files, db = load_workspace(paths.SAMPLE_WORKSPACE), load_workspace(sample_in_db)
    for name in TABLES:
        a, b = getattr(files, name), getattr(db, name)
        assert (a is None) == (b is None), name
        if a is None:
            continue
        key = list(TABLES[name].key)
        a = a.sort_values(key, kind="stable").reset_index(drop=True)
        b = b.sort_values(key, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)
    assert db.as_of == files.as_of and len(db.fingerprint) == 16


@pytest.mark.slow
def test_review_on_the_database_equals_review_on_the_files(sample_reports, sample_in_db, tmp_path):
    on_db = review(workspace=sample_in_db, out=tmp_path / "db", progress=lambda m: None)
    assert on_db.name == "2026Q3"  # the latest period, the one the shared review of the files is of
    on_files = sample_reports / "2026Q3"
    metrics_files = _without_source(json.loads((on_files / "metrics.json").read_text()))
    metrics_db = _without_source(json.loads((on_db / "metrics.json").read_text()))
    assert metrics_files["notebooks"] and metrics_db == metrics_files
    for artifact in ("qualification.yaml", "personas.common.yaml"):
        same = [re.sub(r"fingerprint: \w+", "fingerprint: -", (d / artifact).read_text()) for d in (on_files, on_db)]
        assert same[0] == same[1], artifact


def _without_source(metrics: dict) -> dict:
    """Metrics minus what names the data source: every workspace fingerprint (file bytes vs database rows)
    and the hash of the signed definition file if one is given, which embeds it (the files are compared
    separately)."""
    text = re.sub(r'"workspace_fingerprint": "\w+"', '"workspace_fingerprint": "-"', json.dumps(metrics))
    out = json.loads(text)
    out["notebooks"].get("03_qualification", {}).get("sections", {}).get("definition", {}).pop("sha256", None)
    return out


def test_the_connection_is_read_only(postgres_url):
    import psycopg

    with database.connect(postgres_url) as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE public.should_not_exist (a int)")


def test_bad_rows_in_the_database_are_named(postgres_url, tmp_path):
    import psycopg

    names = load_files_into(postgres_url, FIXTURE_WS, "broken")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE broken.opportunities SET amount = -5 WHERE opportunity_id = 'O2'")
    os.environ[ENV] = postgres_url
    try:
        ws = db_workspace(tmp_path / "ws", FIXTURE_WS, "broken", names)
        with pytest.raises(WorkspaceError) as err:
            load_workspace(ws)
    finally:
        os.environ.pop(ENV, None)
    p = next(p for p in err.value.problems if p.rule == "minimum")
    assert p.file.endswith("table broken.opportunities") and p.column == "amount" and p.line == 2 and p.value == "-5"


def test_a_query_can_be_a_table(postgres_url, tmp_path):
    names = load_files_into(postgres_url, FIXTURE_WS, "q")
    ws = db_workspace(tmp_path / "ws", FIXTURE_WS, "q", names)
    config = yaml.safe_load((ws / "workspace.yaml").read_text())
    config["database"] = {"url": postgres_url}  # no password in it: allowed
    config["tables"]["leads"] = {"query": "select l.*, a.name as account_name from q.leads l "
                                          "join q.accounts a using (account_id) where l.source = 'web'"}
    config["tables"].pop("stages")
    config["tables"].pop("opportunities")
    (ws / "workspace.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    tables = load_workspace(ws)
    assert tables.leads["lead_id"].tolist() == ["L2"] and tables.leads["account_name"].tolist() == ["Beta Ltd"]
    assert tables.stages is None


def test_passwords_are_never_shown(tmp_path, monkeypatch):
    secret = "s3cr3t-pa55"
    url = f"postgresql://salign:{secret}@/postgres?host={tmp_path}/nowhere&port=5"
    assert secret not in database.redact(url) and "***" in database.redact(url)
    assert secret not in database.redact(f"host=x dbname=y password={secret}")
    ws = db_workspace(tmp_path / "ws", FIXTURE_WS, "s", ["accounts"])
    monkeypatch.setenv(ENV, url)
    with pytest.raises(WorkspaceError) as err:  # cannot connect: the message names the place, not the password
        load_workspace(ws)
    assert any(p.rule == "database-connect" for p in err.value.problems) and secret not in str(err.value)
    config = yaml.safe_load((ws / "workspace.yaml").read_text())
    config["database"] = {"url": url}
    (ws / "workspace.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(WorkspaceError) as err:  # a password in workspace.yaml is refused, and not echoed
        load_workspace(ws)
    assert [p.rule for p in err.value.problems] == ["password-in-url"] and secret not in str(err.value)


FIXTURE_WS = paths.PROJECT_ROOT / "tests" / "fixtures" / "bad_inputs" / "_valid"


# --- hostile input (issue 15): the database stays untouched, no password is ever shown --------------------

#: Queries that try to write, end the READ ONLY transaction or act outside it; the parser refuses each.
HOSTILE = [
    "select * from crm.stages) AS q; COMMIT; BEGIN READ WRITE; DELETE FROM crm.canary; COMMIT; "
    "SELECT * FROM (select * from crm.stages",
    "select * from crm.stages; delete from crm.canary",
    "select * from crm.stages; commit; delete from crm.canary",
    "rollback; begin read write; delete from crm.canary; commit",
    "select * from crm.stages /* ; */; delete from crm.canary -- ",
    "with d as (delete from crm.canary returning *) select * from crm.stages",
    "select * into crm.stolen from crm.canary",
    "do $$ begin delete from crm.canary; end $$",
    "copy crm.canary from stdin",
    "call crm.wipe()",
    "delete from crm.canary",
    "select * from crm.stages for update",
    "select set_config('default_transaction_read_only', 'off', false), * from crm.stages",
    "select pg_terminate_backend(pid), * from crm.stages, pg_stat_activity",
    "select lo_import('/etc/hostname'), * from crm.stages",
]
#: One SELECT the parser lets through that still tries to write: only the database can stop it.
WRITES_THROUGH_A_FUNCTION = "select crm.wipe_fn(), * from crm.stages"

#: The SQL the docs give for the read-only role, with the docs' database name.
DOCS = paths.PROJECT_ROOT / "docs" / "bring-your-own-data.md"


@pytest.mark.parametrize("query", HOSTILE)
def test_the_parser_refuses_every_hostile_query(query):
    assert database.check_query(query) is not None
    assert database.check_query("select l.*, 1 as x from crm.leads l union all select * from crm.leads") is None


def role_sql_from_the_docs() -> str:
    """The ```sql block of the docs that creates the read-only role."""
    block = re.search(r"```sql\n(.*?CREATE ROLE salign_reader.*?)```", DOCS.read_text(), re.S)
    assert block, "docs/bring-your-own-data.md shows the SQL creating the read-only role"
    return block.group(1)


@pytest.fixture(scope="module")
def hostile_db(postgres_url, tmp_path_factory):
    """Schema crm (the valid fixture's tables, a canary, a procedure and a function that delete the canary),
    the read-only role the docs describe, a workspace reading as that role, and an open admin session
    whose backend a query might try to terminate."""
    import psycopg

    names = load_files_into(postgres_url, FIXTURE_WS, "crm")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE crm.canary AS SELECT generate_series(1, 5) AS n")
        conn.execute("CREATE PROCEDURE crm.wipe() LANGUAGE sql AS $$ DELETE FROM crm.canary $$")
        conn.execute("CREATE FUNCTION crm.wipe_fn() RETURNS int LANGUAGE sql AS "
                     "$$ DELETE FROM crm.canary RETURNING 0 $$")
        conn.execute("DROP ROLE IF EXISTS salign_reader")
        conn.execute(role_sql_from_the_docs().replace("DATABASE crm", "DATABASE postgres"))
        # the reader may call the helpers, so that only the READ ONLY transaction stops them
        conn.execute("GRANT EXECUTE ON FUNCTION crm.wipe_fn() TO salign_reader")
    ws = db_workspace(tmp_path_factory.mktemp("hostile") / "ws", FIXTURE_WS, "crm", names)
    admin = psycopg.connect(postgres_url, autocommit=True)
    yield ws, postgres_url.replace("//salign@", "//salign_reader@"), admin
    admin.close()


def canary_state(url: str) -> tuple:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT count(*) FROM crm.canary").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'crm'").fetchone()[0]
    return rows, tables


def load_with_stages_query(ws, query: str, monkeypatch):
    config = yaml.safe_load((ws / "workspace.yaml").read_text())
    config["tables"]["stages"] = {"query": query}
    (ws / "workspace.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        load_workspace(ws)
    except WorkspaceError as err:
        return err.problems
    return []


@pytest.mark.parametrize("parser", ["on", "off"])
def test_no_workspace_query_writes_to_the_database(hostile_db, parser, monkeypatch, postgres_url):
    """Both layers on their own: the parser refuses every hostile query before connecting; with the parser
    off, the extended protocol, the READ ONLY transaction and the read-only role still stop every one."""
    ws, reader_url, admin = hostile_db
    monkeypatch.setenv(ENV, reader_url)
    if parser == "off":
        monkeypatch.setattr(database, "check_query", lambda q: None)
    before = canary_state(postgres_url)
    assert before[0] == 5
    for query in HOSTILE + [WRITES_THROUGH_A_FUNCTION]:
        problems = load_with_stages_query(ws, query, monkeypatch)
        refused = [p for p in problems if p.rule == "database-query"]
        if parser == "on" and query != WRITES_THROUGH_A_FUNCTION:
            assert refused and refused[0].column == "tables.stages.query" and "workspace.yaml" in refused[0].file
        elif "set_config" not in query:  # the database refuses it
            assert not refused and any(p.rule == "database-read" for p in problems), query
        # set_config may change the session's default; every transaction still begins READ ONLY
        assert canary_state(postgres_url) == before, query
        assert not admin.closed and admin.execute("SELECT 1").fetchone() == (1,), query


def test_a_refused_query_is_named_and_masked(tmp_path, monkeypatch):
    ws = db_workspace(tmp_path / "ws", FIXTURE_WS, "crm", ["accounts"])
    monkeypatch.setenv(ENV, "postgresql://reader@127.0.0.1:1/crm")
    query = "select * from dblink('host=db user=x password=Pw-s3cret', 'delete from t') as t(a int)"
    problems = load_with_stages_query(ws, query, monkeypatch)
    (p,) = problems
    assert p.rule == "database-query" and p.file.endswith("workspace.yaml") and "'stages'" in p.message
    assert "dblink()" in p.message and p.value.startswith("select * from dblink(") and "Pw-s3cret" not in str(p)


SECRET = "Pw-s3cret"


@pytest.mark.parametrize("database_yaml, url", [
    (f"'postgresql://reader:{SECRET}@db/crm'", None),  # a string instead of a mapping
    (f"{{url_env: 'postgresql://reader:{SECRET}@db/crm'}}", None),  # the URL where the variable name goes
    ("{}", f"reader:{SECRET}@127.0.0.1:1/crm"),  # not a URL: libpq's message quotes it
    ("{}", f"postgresql://reader:{SECRET}@127.0.0.1:1/crm"),  # nothing listens there
    ("{}", f"postgresql://reader:{SECRET}@127.0.0.1:abc/crm"),  # a port that is no number
    ("{}", f"postgresql://reader:{SECRET}@[127.0.0.1/crm"),  # an unclosed [
    ("{}", f"host=127.0.0.1 port=1 user=reader password={SECRET}"),
])
def test_validate_never_prints_the_password(database_yaml, url, tmp_path, monkeypatch, capsys):
    from salign import cli

    ws = db_workspace(tmp_path / "ws", FIXTURE_WS, "crm", ["accounts"])
    config = yaml.safe_load((ws / "workspace.yaml").read_text())
    config.pop("database")
    (ws / "workspace.yaml").write_text(yaml.safe_dump(config) + f"database: {database_yaml}\n")
    monkeypatch.delenv(ENV, raising=False)
    if url is not None:
        monkeypatch.setenv("SALIGN_DATABASE_URL", url)
    assert cli.main(["validate", "--workspace", str(ws)]) == cli.EXIT_INVALID_INPUT
    out = capsys.readouterr()
    shown = out.out + out.err
    assert SECRET not in shown and ("[database-" in shown or "[password-in-url]" in shown)


@pytest.mark.xfail(strict=True, reason="not done: a PostgreSQL `timestamp` column (no time zone) is reported as "
                   "bad-datetime on loading, although docs/bring-your-own-data.md says it is read as local to "
                   "formats.timestamps_timezone (workspace/database.py, files.type_frame); the engine reads it right")
def test_a_timestamp_column_without_a_zone_loads_as_local_time(postgres_url, tmp_path):
    import psycopg

    names = load_files_into(postgres_url, FIXTURE_WS, "naive_load")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE naive_load.leads ALTER COLUMN created_at TYPE timestamp "
                     "USING created_at AT TIME ZONE 'Asia/Kolkata'")
    ws = db_workspace(tmp_path / "ws", FIXTURE_WS, "naive_load", names)
    config = yaml.safe_load((ws / "workspace.yaml").read_text())
    config["database"] = {"url": postgres_url}
    config["formats"] = {"timestamps_timezone": "Asia/Kolkata"}
    (ws / "workspace.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    got = load_workspace(ws).leads.set_index("lead_id")["created_at"]
    want = load_workspace(FIXTURE_WS).leads.set_index("lead_id")["created_at"]
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index())  # the same instants
