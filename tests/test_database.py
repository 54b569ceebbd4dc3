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
