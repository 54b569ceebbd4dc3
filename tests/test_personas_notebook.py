"""01_personas run the way an analyst runs it: papermill on a workspace, edit the common set, rerun; and on the
Maven CRM export imported through its committed mapping."""
import json

import papermill
import pytest
import yaml

from salign import cli
from salign.core import paths
from salign.core.strictyaml import load_model
from salign.definitions.models import PersonaSet

pytestmark = pytest.mark.slow
NOTEBOOK = paths.NOTEBOOKS_DIR / "01_personas.ipynb"


def run_notebook(workspace, out) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(NOTEBOOK), str(out / "01_personas.ipynb"), kernel_name="python3",
                               parameters={"workspace": str(workspace), "output_dir": str(out)},
                               progress_bar=False, cwd=str(paths.PROJECT_ROOT))
    return json.loads((out / "01_personas.metrics.json").read_text())["sections"]


def test_analyst_loop_adopt_edit_rerun(sample_reports, sample_copy, tmp_path):
    # the first run is the one in the session's review of the sample (conftest.sample_reports)
    first = json.loads((sample_reports / "2026Q3" / "metrics.json").read_text())["notebooks"]["01_personas"]["sections"]
    assert "personas.common.yaml" in first["adopted_set"]["skipped"]
    proposed = sample_reports / "2026Q3" / "personas.common.yaml"
    doc = yaml.safe_load(proposed.read_text())
    # the analyst adopts the proposal but drops its last persona
    dropped = doc["personas"].pop()
    (sample_copy / "definitions" / "personas.common.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    second = run_notebook(sample_copy, tmp_path / "second")
    mine = second["adopted_set"]
    proposal = second["common_set"]["personas"]
    assert set(mine) == {p["id"] for p in doc["personas"]} | {"unassigned"}
    assert mine["unassigned"]["customers"] == proposal["unassigned"]["customers"] + dropped["evidence"]["customers"]
    for p in doc["personas"]:
        assert mine[p["id"]]["customers"] == proposal[p["id"]]["customers"]
    assert second["customer_value"] == first["customer_value"]


@pytest.mark.real_data
def test_maven_crm_runs_through_the_notebook(real_data, tmp_path):
    ws = tmp_path / "maven"
    assert cli.main(["import", "--mapping", str(paths.PROJECT_ROOT / "data/mappings/maven_crm.yaml"),
                     "--source", str(real_data / "maven_crm"), "--out", str(ws)]) == 0
    m = run_notebook(ws, tmp_path / "out")
    cv = m["customer_value"]
    assert cv["customers"] == 85 and cv["value_definition"] == "won_revenue x gross_margin"
    assert cv["filled"] == {"gross_margin": 85} and cv["churned"] == 0  # no margin, no churn in the export
    assert (cv["best"], cv["worst"]) == (17, 17)
    marks = {(r["attribute"], r["level"]) for r in m["markers"]["marks"]}
    warnings = {(r["attribute"], r["level"]) for r in m["markers"]["warnings"]}
    # what the export says: the best accounts are the biggest companies by revenue, the worst the smallest
    assert ("annual_revenue", "2,000,000,000 or more") in marks
    assert ("annual_revenue", "under 500,000,000") in warnings
    assert not any(a == "industry" for a, _ in marks | warnings)
    assert "personas.marketing.yaml" in m["team_personas"]["skipped"]
    assert m["segments"]["features"] == ["annual_revenue"]
    common = load_model(PersonaSet, tmp_path / "out" / "personas.common.yaml")
    assert common.personas and all(p.rule.fields() == {"annual_revenue"} for p in common.personas)

