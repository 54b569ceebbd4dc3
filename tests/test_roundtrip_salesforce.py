"""Round trip: ``salign sample --export salesforce`` -> ``salign import salesforce`` -> ``salign review``.

The export is written the way a Salesforce org's Data Loader export looks (see
``salign/sample/export/salesforce.py``): 18-character ids, date-only CloseDate and ConvertedDate, field
history tracked only from 2025-01-01, a report export with footers beside the files, ``--None--``
placeholders, users and queues behind the owner ids, the history in no particular order.

The review of the imported workspace must give the sample's own figures, and every figure that differs
must be explained:

- **history tracked from 2025-01-01** (import report note "LeadHistory.csv begins on 2025-01-01"): the
  lead status changes before that day are not in the export. Expected figures: a review of the sample with
  exactly those events removed (built here from data/sample with plain CSV filtering, not by the export);
- **record ids**: the org's 18-character ids stand where the sample's ids stood (each differing value is the
  sample's value with its ids mapped, checked with the importer's own checksum);
- **the workspace fingerprint**: a different workspace.

Expected counts come from data/sample itself, not from the importer.
"""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from salign import cli
from salign.core import paths
from salign.imports import ids

pytestmark = pytest.mark.slow

HISTORY_FROM = pd.Timestamp("2025-01-01", tz="Europe/Berlin")  # the export's field history tracking start
STATUS_STAGES = ("mql", "sal", "sql", "rejected", "recycled", "disqualified")  # what LeadHistory carries
PREFIX = {"L": "00Q", "A": "001", "O": "006", "X": "00T"}
SAMPLE_ID = re.compile(r"\b([LAOX])(\d{5,7})\b")


def sf_id(sample_id: str) -> str:
    """The org's id of a sample id (``L000123`` -> ``00Q000000000123`` + checksum), by the importer's checksum."""
    m = SAMPLE_ID.fullmatch(sample_id)
    return ids.to18(PREFIX[m.group(1)] + m.group(2).zfill(12))


def map_ids(value):
    """``value`` with every sample id in it replaced by the org's id."""
    if isinstance(value, str):
        return SAMPLE_ID.sub(lambda m: sf_id(m.group(0)), value)
    if isinstance(value, list):
        return [map_ids(v) for v in value]
    if isinstance(value, dict):
        return {map_ids(k): map_ids(v) for k, v in value.items()}
    return value


def flat(tree, prefix=()):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from flat(v, prefix + (str(k),))
    else:
        yield "/".join(prefix), tree


def metrics(reports: Path) -> dict:
    return dict(flat(json.loads((reports / "2026Q3" / "metrics.json").read_text())))


def review(workspace: Path, out: Path) -> dict:
    assert cli.main(["review", "--workspace", str(workspace), "--out", str(out), "--period", "2026Q3"]) == 0
    return metrics(out)


@pytest.fixture(scope="module")
def sample():
    s = paths.SAMPLE_WORKSPACE
    return {t: pd.read_csv(s / f"{t}.csv", dtype=str, keep_default_na=False) for t in
            ("leads", "stages", "opportunities", "activities", "accounts")}


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    base = tmp_path_factory.mktemp("sf-roundtrip")
    export, ws = base / "export", base / "ws"
    assert cli.main(["sample", "--export", "salesforce", "--out", str(export)]) == 0
    ws.mkdir()  # what a user adds by hand, kept by the import: the definitions and the content inventory
    shutil.copytree(paths.SAMPLE_WORKSPACE / "definitions", ws / "definitions")
    shutil.copyfile(paths.SAMPLE_WORKSPACE / "content.csv", ws / "content.csv")
    assert cli.main(["import", "salesforce", str(export), "--settings", str(export / "settings.yaml"),
                     "--out", str(ws)]) == 0
    report = json.loads((ws / "import_report.json").read_text())
    return export, ws, report, review(ws, base / "reports")


@pytest.fixture(scope="module")
def without_early_history(tmp_path_factory, sample):
    """The sample with the lead status changes before HISTORY_FROM removed, and its review."""
    base = tmp_path_factory.mktemp("sf-reference")
    ws = Path(shutil.copytree(paths.SAMPLE_WORKSPACE, base / "ws"))
    st = sample["stages"]
    lost = st["stage"].isin(STATUS_STAGES) & (pd.to_datetime(st["at"], utc=True) < HISTORY_FROM)
    st[~lost].to_csv(ws / "stages.csv", index=False)
    return int(lost.sum()), review(ws, base / "reports")


def test_export_looks_like_data_loader(roundtrip):
    export, ws, report, _ = roundtrip
    names = sorted(p.name for p in export.iterdir())
    assert names == ["Account.csv", "Lead.csv", "LeadHistory.csv", "Lead_report.csv", "Opportunity.csv",
                     "OpportunityHistory.csv", "Task.csv", "User.csv", "settings.yaml"]
    lead = pd.read_csv(export / "Lead.csv", dtype=str)
    opp = pd.read_csv(export / "Opportunity.csv", dtype=str)
    for frame, cols in ((lead, ["Id", "ConvertedOpportunityId", "OwnerId"]), (opp, ["Id", "AccountId"])):
        for col in cols:
            fixed, shape, checksum, extended = ids.reconcile(frame[col].dropna())
            assert not shape.any() and not checksum.any() and extended == 0, col  # valid 18-character ids
    assert opp["CloseDate"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()  # a date, no time
    assert lead["CreatedDate"].str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z").all()
    hist = pd.read_csv(export / "LeadHistory.csv", dtype=str)
    assert pd.to_datetime(hist["CreatedDate"], utc=True).min() >= HISTORY_FROM
    assert not pd.to_datetime(hist["CreatedDate"], utc=True).is_monotonic_increasing  # no particular order
    assert (lead["OwnerId"].str[:3] == "00G").sum() > 0  # unassigned leads belong to a queue
    assert open(export / "Lead_report.csv", encoding="utf-8").read().rstrip().endswith("All rights reserved.\"")


def test_import_report_accounts_for_the_export(roundtrip, sample):
    export, ws, report, _ = roundtrip
    leads, st, opps = sample["leads"], sample["stages"], sample["opportunities"]
    for name, t in report["tables"].items():
        assert t["quarantined"] == 0 and t["rows_in"] == t["loaded"] + sum(t["dropped"].values()), name
    assert report["tables"]["leads"]["rows_out"] == len(leads)
    assert report["tables"]["opportunities"]["rows_out"] == len(opps)
    repairs = {(r["table"], r["column"], r["rule"]): r["count"] for r in report["repairs"]}
    # conversions: after the history start the leadConverted entry dates them, before it the opportunity
    conv = pd.to_datetime(st.loc[st["stage"] == "opportunity", "at"], utc=True)
    assert repairs[("Lead", "ConvertedDate", "time-from-history")] == int((conv >= HISTORY_FROM).sum())
    assert repairs[("Lead", "ConvertedDate", "time-from-opportunity")] == int((conv < HISTORY_FROM).sum())
    # every closed deal is closed at its OpportunityHistory time; none closed the day it was created
    closed = opps["outcome"].isin(["won", "lost"])
    assert repairs[("Opportunity", "CloseDate", "time-from-history")] == int(closed.sum())
    assert ("Opportunity", "CloseDate", "same-day-close") not in repairs
    assert repairs[("Lead", "OwnerId", "queue-owner")] == int((leads["owner"] == "").sum())
    # '--None--' for every 7th missing region and persona (the export's construction), made missing and counted
    placeholders = report["files"]["Lead"]["placeholders"]
    assert placeholders == {field: {"--None--": math.ceil(int((leads[col] == "").sum()) / 7)}
                            for field, col in (("Marketing_Persona__c", "marketing_persona"),
                                               ("Lead_Quality__c", "lead_quality"))}
    at = pd.to_datetime(st["at"], utc=True)
    first = at[st["stage"].isin(STATUS_STAGES + ("opportunity",)) & (at >= HISTORY_FROM)].min()  # first entry
    before = int((pd.to_datetime(leads["created_at"], utc=True) < first).sum())
    notes = report["notes"]
    assert any(n.startswith("LeadHistory.csv begins on 2025-01-01") and f"{before:,} leads were created before"
               in n for n in notes)
    assert any(n.startswith("Lead_report.csv was not read") for n in notes)
    assert any(n.startswith("content.csv was kept") for n in notes)
    lost = st["stage"].isin(STATUS_STAGES) & (pd.to_datetime(st["at"], utc=True) < HISTORY_FROM)
    assert report["tables"]["stages"]["rows_out"] == len(st) - int(lost.sum())


def test_review_gives_the_samples_figures_but_what_the_report_explains(roundtrip, without_early_history,
                                                                      sample_reports):
    _, _, report, got = roundtrip
    n_lost, expected = without_early_history
    # figures keyed by a record (the key accounts lost, by account id) carry the org's ids in their path
    own = {map_ids(k): v for k, v in metrics(sample_reports).items()}
    expected = {map_ids(k): v for k, v in expected.items()}
    assert set(got) == set(own) == set(expected)
    fingerprint = {k for k in own if k.endswith("workspace_fingerprint")}
    differ = {k for k in own if got[k] != own[k]} - fingerprint
    history = {k for k in own if expected[k] != own[k]} - fingerprint
    ids_only = {k for k in differ - history if got[k] == map_ids(own[k])}
    # every difference is explained: history tracked from 2025-01-01 (a note of the report), or ids
    assert differ == history | ids_only, sorted(differ - history - ids_only)[:10]
    assert ids_only  # e.g. the key accounts, listed by id
    for k in history:  # and the explanation accounts for the value itself, not only for the key
        assert got[k] == map_ids(expected[k]), k
    assert any(n.startswith("LeadHistory.csv begins on 2025-01-01") for n in report["notes"])
    assert n_lost > 0 and history  # the history start does change figures (the trend's 2024Q4, the model...)
    # figures of the period under review that the history start cannot touch are the sample's own
    for k in ("notebooks/04_quarterly_review/sections/win_loss/win_rate/k",
              "notebooks/04_quarterly_review/sections/win_loss/pipeline_created",
              "notebooks/01_personas/headline/customers"):
        assert got[k] == own[k], k
