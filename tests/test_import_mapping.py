"""The mapping engine's features on a small export (tests/fixtures/bad_inputs/_valid_mapping)."""
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from salign.core.problems import WorkspaceError
from salign.imports import import_mapping

BASE = Path(__file__).parent / "fixtures" / "bad_inputs" / "_valid_mapping"


@pytest.fixture
def export(tmp_path) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(BASE, folder)
    return folder


def test_parquet_source(export, tmp_path):
    people = pd.read_csv(export / "people.csv", dtype=str, keep_default_na=False).replace("", None)
    people.to_parquet(export / "people.parquet")
    (export / "people.csv").unlink()
    mapping = export / "mapping.yaml"
    mapping.write_text(mapping.read_text().replace("people.csv", "people.parquet"))
    tables, report = import_mapping(mapping, tmp_path / "ws")
    assert len(tables.leads) == 3 and report.files["people"]["placeholders"] == {"Job Title": {"--None--": 1}}


def test_source_override_and_reimport_keeps_definitions(export, tmp_path):
    mapping = tmp_path / "elsewhere" / "mapping.yaml"
    mapping.parent.mkdir()
    shutil.copy(export / "mapping.yaml", mapping)
    with pytest.raises(WorkspaceError):  # the mapping's folder holds no export
        import_mapping(mapping, tmp_path / "ws")
    import_mapping(mapping, tmp_path / "ws", source=export)
    (tmp_path / "ws" / "definitions").mkdir()
    (tmp_path / "ws" / "definitions" / "sla.yaml").write_text(
        "version: 1\nmarketing:\n  sales_ready_leads_per_quarter: 2\n  min_fields_at_handoff: [source]\n"
        "sales:\n  max_hours_to_first_follow_up: 24\n  feedback_days_on_rejected: 5\n")
    tables, _ = import_mapping(mapping, tmp_path / "ws", source=export)
    assert "sla.yaml" in tables.definitions


def test_a_hand_made_workspace_is_never_overwritten(export, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "workspace.yaml").write_text("name: mine\n")
    with pytest.raises(WorkspaceError) as err:
        import_mapping(export / "mapping.yaml", ws)
    assert err.value.problems[0].rule == "out-exists" and (ws / "workspace.yaml").read_text() == "name: mine\n"


def test_template_other_scale_and_missing_when(export, tmp_path):
    mapping = export / "mapping.yaml"
    text = mapping.read_text().replace("""      source: Lead Source
""", """      source:
        from: Lead Source
        values: {Web: web}
        other: offline
      campaign: {template: "{Lead Source}/{Company}"}
      employees: {from: Headcount, scale: 1000, missing_when: {field: Headcount, eq: 0}}
""")
    mapping.write_text(text)
    people = export / "people.csv"
    lines = people.read_text().splitlines()
    people.write_text("\n".join([lines[0] + ",Headcount"] + [line + f",{h}" for line, h in zip(lines[1:], ("2.5", "0", "1"))])
                      + "\n")
    tables, report = import_mapping(mapping, tmp_path / "ws")
    leads = tables.leads.set_index("lead_id")
    assert leads["source"].to_dict() == {"P1": "web", "P2": "offline", "P3": "web"}
    assert leads.loc["P1", "campaign"] == "Web/Alpha GmbH"
    assert leads.loc["P1", "employees"] == 2500 and pd.isna(leads.loc["P2", "employees"])
    data = json.loads((tmp_path / "ws" / "import_report.json").read_text())
    counts = {}
    for r in data["repairs"]:
        counts[(r["column"], r["rule"])] = counts.get((r["column"], r["rule"]), 0) + r["count"]
    assert counts[("employees", "made-missing")] == 1 and counts[("source", "value-map")] == 3  # Web x2, Event
