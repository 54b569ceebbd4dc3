"""Shared fixtures: a tiny hand-written workspace for fast unit tests, the embedded sample, and one review of each.

A whole review takes seconds, so the tests that only read a published report share one per session:
``tiny_reports`` (the tiny workspace, 2025Q4) and ``sample_reports`` (data/sample, 2026Q3). They are
read-only; a test that writes to a reports folder (a rerun, a planted fault) works on a copy
(``copy_reports``). Under pytest-xdist the files that read one shared review run on one worker
(``SHARED_REVIEW``), so each review is built once, and every other file is one unit of work.
"""
from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

from salign import cli
from salign.core import paths
from salign.workspace import lazy

REAL_DATA = paths.PROJECT_ROOT.parent / "shared" / "data" / "real"

TINY = {
    "workspace.yaml": """\
        name: Tiny test workspace
        timezone: Europe/Berlin
        fiscal_year_start_month: 1
        currency: EUR
        as_of: "2026-01-01"
        formats:
          delimiter: ","
          decimal: "."
          encoding: utf-8
          datetime_format: "%Y-%m-%dT%H:%M:%SZ"
          date_format: "%Y-%m-%d"
          null_values: [""]
        tables:
          accounts: accounts.csv
          leads: leads.csv
          stages: stages.csv
          activities: activities.csv
          opportunities: opportunities.csv
        """,
    "accounts.csv": """\
        account_id,name,industry,employees,annual_revenue,region,gross_margin,churned_at,tier
        A1,Alpha GmbH,software,500,20000000,EMEA,0.6,,key
        A2,Beta Ltd,retail,20,1000000,EMEA,0.1,2025-09-01,standard
        A3,Gamma Inc,software,1200,90000000,NA,0.5,,standard
        """,
    "leads.csv": """\
        lead_id,created_at,source,account_id,job_level,department,industry,employees,owner,email,phone,first_name,last_name
        L1,2025-10-02T09:00:00Z,event,A1,VP,Marketing,software,500,R1,ann.lee@alpha.test,+49 30 5550101,Ann,Lee
        L2,2025-10-05T10:00:00Z,paid_social,A2,Manager,Sales,retail,20,R2,bo.kim@beta.test,+44 20 5550102,Bo,Kim
        L3,2025-11-01T08:00:00Z,web,A3,Director,IT,software,1200,R1,cy.ray@gamma.test,+1 212 5550103,Cy,Ray
        L4,2025-11-20T08:00:00Z,web,,Manager,HR,education,,,dee.fox@nowhere.test,,Dee,Fox
        """,
    "stages.csv": """\
        lead_id,stage,at,team,actor,reason,opportunity_id
        L1,lead,2025-10-02T09:00:00Z,marketing,automation,,
        L1,mql,2025-10-03T09:00:00Z,marketing,automation,,
        L1,sal,2025-10-03T12:00:00Z,sales,R1,,
        L1,sql,2025-10-10T12:00:00Z,sales,R1,,
        L1,opportunity,2025-10-12T12:00:00Z,sales,R1,,O1
        L1,won,2025-12-01T12:00:00Z,sales,R1,,O1
        L2,lead,2025-10-05T10:00:00Z,marketing,automation,,
        L2,mql,2025-10-06T10:00:00Z,marketing,automation,,
        L2,rejected,2025-10-20T10:00:00Z,sales,R2,no budget,
        L3,lead,2025-11-01T08:00:00Z,marketing,automation,,
        L3,mql,2025-11-02T08:00:00Z,marketing,automation,,
        L3,sal,2025-11-02T09:00:00Z,sales,R1,,
        L3,sql,2025-11-05T09:00:00Z,sales,R1,,
        L3,opportunity,2025-11-06T09:00:00Z,sales,R1,,O2
        L3,won,2025-12-15T09:00:00Z,sales,R1,,O2
        L4,lead,2025-11-20T08:00:00Z,marketing,automation,,
        """,
    "activities.csv": """\
        activity_id,at,team,type,lead_id,account_id,content_id,actor
        X1,2025-10-02T10:00:00Z,marketing,content_download,L1,A1,,automation
        X2,2025-10-03T11:00:00Z,sales,call,L1,A1,,R1
        X3,2025-10-08T11:00:00Z,sales,email,L2,A2,,R2
        X4,2025-11-02T10:00:00Z,sales,call,L3,A3,,R1
        """,
    "opportunities.csv": """\
        opportunity_id,created_at,stage,outcome,account_id,lead_id,closed_at,amount,loss_reason,owner,product
        O1,2025-10-12T12:00:00Z,closed,won,A1,L1,2025-12-01T12:00:00Z,50000,,R1,Core
        O2,2025-11-06T09:00:00Z,closed,won,A3,L3,2025-12-15T09:00:00Z,120000,,R1,Core
        O3,2025-10-20T09:00:00Z,closed,won,A2,L2,2025-12-20T09:00:00Z,3000,,R2,Lite
        """,
    "definitions/sla.yaml": """\
        version: 1
        marketing:
          sales_ready_leads_per_quarter: 2
          min_fields_at_handoff: [job_level, employees]
        sales:
          max_hours_to_first_follow_up: 24
          feedback_days_on_rejected: 5
        """,
    "definitions/personas.marketing.yaml": """\
        version: 1
        team: marketing
        personas:
          - id: marketer
            name: Marketing leader
            rule: {field: department, in: [Marketing]}
        """,
    "definitions/personas.sales.yaml": """\
        version: 1
        team: sales
        personas:
          - id: big_company
            name: Big company
            rule: {field: employees, min: 1000}
        """,
}

#: a handoff.yaml routing through the queue ``sdr-inbox`` within 4 hours (dedented by write_workspace)
HANDOFF_QUEUE = """\
    version: 1
    routing: queue
    queue: sdr-inbox
    max_hours_to_route: 4
    """


def write_workspace(folder: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.fixture
def tiny_workspace(tmp_path) -> Path:
    """A complete, valid, hand-written workspace small enough to check by eye."""
    return write_workspace(tmp_path / "tiny", TINY)


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    """A private copy of data/sample that a test may modify."""
    dst = tmp_path / "sample"
    shutil.copytree(paths.SAMPLE_WORKSPACE, dst)
    return dst


@pytest.fixture(scope="session", autouse=True)
def _snapshot_cache(tmp_path_factory):
    """The tests' reviews and notebooks keep their workspace snapshots in a temporary cache, not the user's."""
    os.environ["SALIGN_CACHE"] = str(tmp_path_factory.mktemp("salign-cache"))


def copy_reports(reports: Path, to: Path) -> Path:
    """A private copy of a shared reports folder, for a test that writes to it."""
    return Path(shutil.copytree(reports, to, symlinks=True))


@pytest.fixture(scope="session")
def tiny_reports(tmp_path_factory) -> tuple[Path, Path]:
    """(workspace, reports folder): ``salign review`` of the tiny workspace, run once. Read-only.

    No ``--period``: the review picks the latest complete quarter, 2025Q4.
    """
    ws = write_workspace(tmp_path_factory.mktemp("tiny-ws") / "tiny", TINY)
    out = tmp_path_factory.mktemp("tiny-reports")
    assert cli.main(["review", "--workspace", str(ws), "--out", str(out)]) == 0
    assert (out / "2025Q4" / "metrics.json").exists()
    return ws, out


@pytest.fixture(scope="session")
def sample_reports(tmp_path_factory) -> Path:
    """The reports folder of ``salign review`` of data/sample for 2026Q3, run once. Read-only.

    Run with ``SALIGN_LAZY=activities``: a kernel that read the activities as a pandas frame would fail
    (the event-level work runs in the engine; see salign/workspace/lazy.py and tests/test_end_to_end.py).
    """
    out = tmp_path_factory.mktemp("sample-reports")
    before = os.environ.get(lazy.STRICT)
    os.environ[lazy.STRICT] = "activities"
    try:
        assert cli.main(["review", "--workspace", str(paths.SAMPLE_WORKSPACE), "--out", str(out),
                         "--period", "2026Q3"]) == 0
    finally:
        if before is None:
            os.environ.pop(lazy.STRICT)
        else:
            os.environ[lazy.STRICT] = before
    return out


#: test file -> the shared review (a fixture above) it reads
SHARED_REVIEW = {
    "tests/test_database.py": "sample_reports",
    "tests/test_end_to_end.py": "sample_reports",
    "tests/test_personas_notebook.py": "sample_reports",
    "tests/test_review_headline.py": "sample_reports",
    "tests/test_roundtrip_salesforce.py": "sample_reports",
    "tests/test_roundtrip_hubspot.py": "sample_reports",
    "tests/test_browser.py": "sample_reports",
    "tests/test_first_screen.py": "sample_reports",
    "tests/test_plain_words.py": "sample_reports",
    "tests/test_one_story.py": "sample_reports",
    "tests/test_one_number.py": "sample_reports",
    "tests/test_faults.py": "tiny_reports",
    "tests/test_review.py": "tiny_reports",
}


class ByFileAndSharedReview(LoadScopeScheduling):
    """pytest-xdist's units of work: one per file (module fixtures and a notebook's cells stay on one worker),
    except that the files reading one shared review form one unit, so the review is built once.

    (``--dist loadgroup`` with ``xdist_group`` marks would say the same, but with pytest 9.2 it silently
    distributes the tests one by one: pytest-xdist issue 1386.)
    """

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return SHARED_REVIEW.get(path, path)


def pytest_xdist_make_scheduler(config, log):
    """Under ``-n``, distribute work with :class:`ByFileAndSharedReview` (whatever ``--dist`` says)."""
    return ByFileAndSharedReview(config, log)


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip("../shared/data/real is not present (a user's clone does not have it)")
    return REAL_DATA


def pytest_collection_modifyitems(config, items):
    """A test that reads a shared review must be listed in SHARED_REVIEW, or the review is built twice."""
    unlisted = sorted({i.nodeid.split("::", 1)[0] for i in items
                       for name in ("sample_reports", "tiny_reports") if name in getattr(i, "fixturenames", ())
                       if SHARED_REVIEW.get(i.nodeid.split("::", 1)[0]) != name})
    if unlisted:
        raise pytest.UsageError(f"add these files to SHARED_REVIEW in tests/conftest.py: {', '.join(unlisted)}")
