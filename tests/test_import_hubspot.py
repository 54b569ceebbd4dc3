"""HubSpot exports: lifecycle dates become stages, deals become opportunities, no personal data imported."""
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from salign import cli
from salign.core.problems import WorkspaceError
from salign.imports import import_hubspot

FIXTURE = Path(__file__).parent / "fixtures" / "hubspot"
SETTINGS = FIXTURE / "settings.yaml"


def test_hubspot_import(tmp_path):
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in FIXTURE.iterdir()}
    tables, report = import_hubspot(FIXTURE, tmp_path / "ws", settings=SETTINGS)
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in FIXTURE.iterdir()}
    st = tables.stages[tables.stages["lead_id"] == "501"].set_index("stage")["at"]
    assert list(st.index) == ["lead", "mql", "sql", "opportunity", "won"]
    assert st["mql"] == pd.Timestamp("2025-01-12T09:00Z")  # 10:00 Berlin
    leads = tables.leads.set_index("lead_id")
    assert leads.loc["503", "source"] == "unknown" and leads.loc["504", "account_id"] == "101"
    assert not {"email", "first_name", "last_name"} & set(tables.leads.columns)
    assert not tables.leads.astype(str).apply(lambda c: c.str.contains("@")).any().any()
    opp = tables.opportunities.set_index("opportunity_id")
    assert opp.loc["9003", "amount"] == pytest.approx(3000 * 1.17)  # GBP at the declared rate
    assert opp.loc["9003", "amount_original"] == 3000 and opp.loc["9003", "currency"] == "EUR"
    assert opp.loc["9002", "outcome"] == "open" and pd.isna(opp.loc["9002", "closed_at"])
    data = json.loads((tmp_path / "ws" / "import_report.json").read_text())
    assert data["files"]["contacts"]["personal_columns_not_imported"] == 3
    for t in data["tables"].values():
        assert t["rows_in"] == t["loaded"] + t["quarantined"] + sum(t["dropped"].values())


def test_mixed_currencies_without_rates_refuse_the_import(tmp_path, capsys):
    settings = tmp_path / "settings.yaml"
    settings.write_text(SETTINGS.read_text().replace("  exchange_rates: {GBP: 1.17}\n", ""))
    with pytest.raises(WorkspaceError) as err:
        import_hubspot(FIXTURE, tmp_path / "ws", settings=settings)
    p = next(p for p in err.value.problems if p.rule == "mixed-currency")
    assert p.column == "Deal currency code" and p.value == "GBP" and p.line == 4 and p.file.endswith("deals.csv")
    assert not (tmp_path / "ws" / "workspace.yaml").exists()  # no workspace (a failed import leaves its report only)
    assert cli.main(["import", "hubspot", str(FIXTURE), "--settings", str(settings), "--out",
                     str(tmp_path / "ws")]) == cli.EXIT_INVALID_INPUT
    assert "mixed-currency" in capsys.readouterr().err


PORTAL = Path(__file__).parent / "fixtures" / "hubspot_portal"


def test_a_portals_own_properties_lost_deals_and_odd_histories(tmp_path):
    """tests/fixtures/hubspot_portal: a Berlin portal with a "Lead Source" dropdown, custom properties, a lost deal,
    a contact who became a customer before an opportunity and one created in the hour clocks go back; contacts with
    both "Associated Company IDs (Primary)" and "Associated Company IDs"; companies.csv with a byte-order mark;
    calls.csv (a call with two contacts, one with none)."""
    tables, report = import_hubspot(PORTAL, tmp_path / "ws", settings=PORTAL / "settings.yaml")
    leads = tables.leads.set_index("lead_id")
    assert leads["source"].to_dict() == {"601": "partner", "602": "paid_social", "603": "web", "605": "unknown"}
    assert leads.loc["601", "campaign"] == "spring" and leads.loc["601", "job_level"] == "VP"
    assert leads.loc["601", "account_id"] == "201"  # the primary company, though "Associated Company IDs" lists 202 first
    assert tables.accounts["account_id"].tolist() == ["201", "202"]  # companies.csv starts with a byte-order mark
    assert pd.Timestamp(leads.loc["601", "lead_quality_set_at"]) == pd.Timestamp("2025-03-10T13:30Z")  # 14:30 CET
    st = tables.stages
    lost = st[st["stage"] == "lost"]
    assert len(lost) == 1 and lost.iloc[0]["lead_id"] == "602" and lost.iloc[0]["opportunity_id"] == "7002"
    assert lost.iloc[0]["at"] == pd.Timestamp("2025-05-02T15:15Z") and lost.iloc[0]["actor"] == "Rep Two"
    # 603 "became a customer" (10 Mar) before "an opportunity" (20 Mar): that won event alone is set aside
    assert set(st.loc[st["lead_id"] == "603", "stage"]) == {"lead", "mql", "sql", "opportunity"}
    assert "604" not in leads.index  # 2025-10-26 02:30 Berlin happened twice
    opp = tables.opportunities.set_index("opportunity_id")
    assert opp["stage"].to_dict() == {"7001": "closed", "7002": "closed", "7003": "discovery", "7004": "closed"}
    assert opp.loc["7001", "product"] == "Suite"
    rules = {(q["line"], q["rule"]) for q in report.quarantine}
    assert (5, "bad-datetime") in rules and (4, "stage-order") in rules
    data = json.loads((tmp_path / "ws" / "import_report.json").read_text())
    assert data["tables"]["stages"]["dropped"]["a lost deal without an associated contact has no lead to date"] == 1
    assert any("first date of each lifecycle stage" in n for n in data["notes"])
    assert any("no marketing activities" in n for n in data["notes"])
    calls = tables.activities.set_index("activity_id")  # calls.csv: HubSpot's export of calls; no emails/meetings
    assert calls["type"].tolist() == ["call"] * 3 and set(calls["team"]) == {"sales"}
    assert calls["lead_id"].tolist()[:2] == ["601", "602"] and pd.isna(calls.loc["8003", "lead_id"])
    assert calls.loc["8001", "at"] == pd.Timestamp("2025-03-04T08:30Z") and calls.loc["8002", "actor"] == "Rep Two"
    config = (tmp_path / "ws" / "workspace.yaml").read_text()  # state at export time: never a feature or a marker
    assert "recorded:\n  leads:\n    lead_status: after_contact\n    lifecycle_stage: after_contact\n" in config
    for t in data["tables"].values():
        assert t["rows_in"] == t["loaded"] + t["quarantined"] + sum(t["dropped"].values())
