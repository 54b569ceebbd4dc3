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
    assert not (tmp_path / "ws").exists()
    assert cli.main(["import", "hubspot", str(FIXTURE), "--settings", str(settings), "--out",
                     str(tmp_path / "ws")]) == cli.EXIT_INVALID_INPUT
    assert "mixed-currency" in capsys.readouterr().err
