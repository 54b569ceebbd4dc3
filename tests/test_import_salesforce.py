"""Salesforce exports: report labels, footers, 15/18-character ids, history-derived stage dates."""
import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from salign import cli
from salign.core.problems import WorkspaceError
from salign.imports import ids, import_salesforce

FIXTURE = Path(__file__).parent / "fixtures" / "salesforce"
SETTINGS = FIXTURE / "settings.yaml"


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_checksum_matches_salesforce_documentation():
    assert ids.to18("001A0000006Vm9r") == "001A0000006Vm9rIAC"  # the example in Salesforce's docs
    assert ids.to18("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"
    fixed, shape, checksum, extended = ids.reconcile(pd.Series(["001A0000006Vm9r", "001A0000006VM9RIAC",
                                                                "1.23E+14", None]))
    assert fixed.tolist() == ["001A0000006Vm9rIAC", None, None, None]
    assert checksum.tolist() == [False, True, False, False] and shape.tolist() == [False, False, True, False]
    assert extended == 1


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    before = _digest(FIXTURE)
    out = tmp_path_factory.mktemp("sf") / "ws"
    tables, report = import_salesforce(FIXTURE, out, settings=SETTINGS)
    assert _digest(FIXTURE) == before  # inputs never modified
    return tables, report, out


def test_counts_balance_and_footers_are_stripped(imported):
    tables, report, out = imported
    data = json.loads((out / "import_report.json").read_text())
    assert data["files"]["Lead"]["footer_lines"] == 3 and data["files"]["Lead"]["report_labels"] == 10
    for name, t in data["tables"].items():
        assert t["rows_in"] == t["loaded"] + t["quarantined"] + sum(t["dropped"].values()), name
    assert data["tables"]["leads"] == {"source": "Lead + Contact", "rows_in": 7, "loaded": 6, "quarantined": 0,
                                       "dropped": {"contact converted from a lead that Lead.csv already holds": 1},
                                       "rows_out": 6}


def test_ids_are_reconciled_across_report_and_api_exports(imported):
    tables, report, out = imported
    assert tables.leads["lead_id"].str.len().eq(18).all()
    lead = ids.to18("00Q5e00000AbCdE")
    opp = tables.opportunities.set_index("opportunity_id")
    assert opp.loc[ids.to18("0065e00000LmNoP"), "lead_id"] == lead  # 15-char report id meets 18-char API id
    q = pd.read_csv(out / "quarantine.csv", dtype=str)
    row = q[q["rule"] == "id-checksum"].iloc[0]
    assert row["file"].endswith("Opportunity.csv") and row["line"] == "4" and row["value"] == "0065e00000LmNoRAAA"
    task = tables.activities.set_index("activity_id").loc[ids.to18("00T5e00000Tk002"), "lead_id"]
    assert task == lead  # a task on the converted contact belongs to the lead


def test_stage_dates_come_from_history(imported):
    tables, report, out = imported
    lead = ids.to18("00Q5e00000AbCdE")
    st = tables.stages[tables.stages["lead_id"] == lead].set_index("stage")["at"]
    assert st["lead"] == pd.Timestamp("2025-01-15T14:30Z")  # 9:30 AM New York, from the report export
    assert st["sal"] == pd.Timestamp("2025-01-16T14:00Z")  # LeadHistory: Working - Contacted
    assert st["sql"] == pd.Timestamp("2025-01-20T14:30Z")  # conversion time from LeadHistory, not the date
    assert st["won"] == pd.Timestamp("2025-03-10T12:00Z")  # OpportunityHistory: Closed Won
    same_day = tables.stages[tables.stages["lead_id"] == ids.to18("00Q5e00000AbCdJ")].set_index("stage")["at"]
    assert same_day["sql"] == same_day["lead"]  # a date-only conversion on the creation day is not before creation
    assert tables.stages.loc[tables.stages["lead_id"] == ids.to18("00Q5e00000AbCdH"), "stage"].tolist() == [
        "lead", "disqualified"]
    open_deal = tables.opportunities.set_index("opportunity_id").loc[ids.to18("0065e00000LmNoQ")]
    assert open_deal["outcome"] == "open" and pd.isna(open_deal["closed_at"])


def test_cli_salesforce(tmp_path, capsys):
    assert cli.main(["import", "salesforce", str(FIXTURE), "--settings", str(SETTINGS), "--out",
                     str(tmp_path / "ws")]) == 0
    assert "footer lines" in capsys.readouterr().out


def test_missing_columns_are_named(tmp_path):
    folder = tmp_path / "sf"
    shutil.copytree(FIXTURE, folder)
    hist = folder / "LeadHistory.csv"
    hist.write_text(hist.read_text().replace("LeadId,Field,", "LeadId,FieldName,"))
    with pytest.raises(WorkspaceError) as err:
        import_salesforce(folder, tmp_path / "ws", settings=SETTINGS)
    assert any(p.rule == "required-column" and p.column == "Field" and p.file.endswith("LeadHistory.csv")
               for p in err.value.problems)
    assert not (tmp_path / "ws").exists()
