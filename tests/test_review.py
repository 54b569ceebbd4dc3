"""End to end: `salign review` executes the notebooks and publishes, or fails without damage."""
import json
import shutil
from pathlib import Path

import pytest

from salign import cli
from salign.common.pii import pii_values
from salign.report import safety
from salign.workspace.load import load_workspace
from tests.conftest import copy_reports

pytestmark = pytest.mark.slow


def test_report_layout(tiny_reports):
    _, out = tiny_reports
    period = out / "2025Q4"
    names = {p.name for p in period.iterdir()}
    assert {"index.html", "01_personas.html", "02_content_audit.html", "03_qualification.html",
            "04_quarterly_review.html", "metrics.json", "lineage.json"} <= names
    assert (out / "index.html").exists() and "2025Q4/index.html" in (out / "index.html").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]


def test_metrics_equal_hand_computed_values(tiny_reports):
    _, out = tiny_reports
    m = json.loads((out / "2025Q4" / "metrics.json").read_text())["notebooks"]
    # three accounts with won deals; A2 churned -> worst; value = amount x margin
    cv = m["01_personas"]["sections"]["customer_value"]
    assert cv["customers"] == 3 and cv["worst"] == 1 and cv["value_total"] == pytest.approx(50000 * .6 + 120000 * .5 + 3000 * .1)
    review = m["04_quarterly_review"]["sections"]
    # MQLs in 2025Q4: L1, L2, L3; commitment 2
    assert review["sla_scorecard"]["sales_ready_leads"] == 3 and review["sla_scorecard"]["marketing_volume_met"] is True
    # follow-ups: L1 after 2 h, L2 after 48 h, L3 after 2 h -> 2 of 3 within 24 h
    assert review["sla_scorecard"]["follow_up_within_sla"]["k"] == 2
    assert review["sla_scorecard"]["follow_up_within_sla"]["n"] == 3
    assert review["win_loss"]["win_rate"] == {"k": 3, "n": 3, "rate": 1.0, "ci_low": pytest.approx(0.4385, abs=1e-3),
                                              "ci_high": 1.0}
    # leads created in Q4: L1..L4; L1 and L3 reached sql within 90 days
    assert review["cohort_funnel"]["sql"] == {"k": 2, "n": 4, "rate": 0.5}
    assert "content" in m["02_content_audit"]["skipped"]["content_matrix"]


def test_pages_have_no_code_and_no_pii(tiny_reports):
    ws, out = tiny_reports
    pii = pii_values(load_workspace(ws))
    for page in (out / "2025Q4").glob("*.html"):
        html = page.read_text()
        assert safety.check_page(page.name, html, pii) == []
        assert "notebook.start" not in html and "import " not in safety.visible_text(html)
        assert "<img" in html or page.name in ("index.html", "02_content_audit.html", "03_qualification.html")
        assert "notebooks/" not in html, "executed notebooks are internal"


def test_skipped_section_is_explained_on_the_overview(tiny_reports):
    _, out = tiny_reports
    overview = (out / "2025Q4" / "index.html").read_text()
    assert "What was skipped and why" in overview and "content" in overview


def test_a_rule_on_a_missing_field_is_refused_before_the_run(tiny_reports, tmp_path, capsys):
    ws = Path(shutil.copytree(tiny_reports[0], tmp_path / "ws"))  # this test changes both: copies
    out = copy_reports(tiny_reports[1], tmp_path / "reports")
    before = {p: p.read_bytes() for p in (out / "2025Q4").rglob("*") if p.is_file()}
    # a persona rule on a field the data lacks: validation names file and line, nothing runs (a failed run that
    # keeps the previous report: tests/test_faults.py)
    p = ws / "definitions" / "personas.sales.yaml"
    p.write_text(p.read_text().replace("field: employees", "field: headcount"))
    assert cli.main(["review", "--workspace", str(ws), "--out", str(out), "--period", "2025Q4"]) == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "personas.sales.yaml:6" in err and "headcount" in err and not (out / ".failed").exists()
    after = {p: p.read_bytes() for p in (out / "2025Q4").rglob("*") if p.is_file()}
    assert before == after


def test_bad_period_fails_before_any_work(tiny_reports, tmp_path, capsys):
    ws, _ = tiny_reports
    out = tmp_path / "r"
    assert cli.main(["review", "--workspace", str(ws), "--out", str(out), "--period", "2027Q5"]) == cli.EXIT_USAGE
    assert "2027Q5" in capsys.readouterr().err and not out.exists()


def test_misspelled_parameter_is_caught_before_execution():
    from salign.runner.execute import check_parameters
    from salign.runner.params import ParameterError

    with pytest.raises(ParameterError, match="no parameter.*perid"):
        check_parameters("01_personas", {"perid": "2026Q3"})
    with pytest.raises(ParameterError, match="best_share"):
        check_parameters("01_personas", {"best_share": "lots"})


def test_executed_notebooks_are_kept_out_of_the_shared_folder(tiny_reports):
    _, out = tiny_reports
    assert not (out / "2025Q4" / "notebooks").exists()
    assert {p.name for p in (out / ".internal" / "2025Q4").iterdir()} == {
        "01_personas.ipynb", "02_content_audit.ipynb", "03_qualification.ipynb", "04_quarterly_review.ipynb"}

