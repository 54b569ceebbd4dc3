"""Maven CRM (real, third-party) through the committed mapping and 04_quarterly_review for 2017Q2..2017Q4.

The export has accounts and opportunities only: win/loss, the sales cycle and opportunity -> won
conversion must appear; every section that needs leads, stages or SLA definitions must say why it was skipped.
"""
import json

import papermill
import pytest

from salign import cli
from salign.core import paths

pytestmark = [pytest.mark.slow, pytest.mark.real_data]

QUARTERS = ("2017Q2", "2017Q3", "2017Q4")


@pytest.fixture(scope="module")
def maven(real_data, tmp_path_factory):
    ws = tmp_path_factory.mktemp("maven") / "ws"
    assert cli.main(["import", "--mapping", str(paths.PROJECT_ROOT / "data" / "mappings" / "maven_crm.yaml"),
                     "--out", str(ws)]) == 0
    runs = {}
    for label in QUARTERS:
        out = tmp_path_factory.mktemp(label)
        papermill.execute_notebook(str(paths.NOTEBOOKS_DIR / "04_quarterly_review.ipynb"), str(out / "run.ipynb"),
                                   parameters={"workspace": str(ws), "period": label, "output_dir": str(out)},
                                   kernel_name="python3", progress_bar=False, cwd=str(paths.PROJECT_ROOT))
        runs[label] = json.loads((out / "04_quarterly_review.metrics.json").read_text())
    return runs


@pytest.mark.parametrize("label", QUARTERS)
def test_win_loss_cycle_and_stage_conversion_appear(maven, label):
    m = maven[label]
    assert m["period"] == label
    s = m["sections"]
    win = s["win_loss"]["win_rate"]
    assert win["n"] > 1000 and 0.4 < win["rate"] < 0.8
    assert {"product", "rep", "segment"} <= set(s["win_loss"]["by"])
    assert s["sales_cycle"]["days_to_close"]["median"] > 0
    assert s["sales_cycle"]["days_to_close"]["events"] < s["sales_cycle"]["days_to_close"]["n"]  # open deals censored
    conv = s["deal_conversion"]
    assert conv["opportunities"] > 1000 and conv["won"]["k"] + conv["lost"]["k"] + conv["still open"]["k"] == \
        conv["opportunities"]
    assert s["key_accounts"]["how"].startswith("no tiers")
    assert m["headline"]["win_rate"]["value"] == win


@pytest.mark.parametrize("label", QUARTERS)
def test_sections_without_data_say_why(maven, label):
    skipped = maven[label]["skipped"]
    assert "sla.yaml" in skipped["sla_scorecard"] and "handoff.yaml" in skipped["routing"]
    assert "'stages' table" in skipped["stage_conversion"] and "'leads' table" in skipped["cohort_funnel"]
    assert "qualification" in skipped["qualification_monitor"]
    assert "win_loss" not in skipped and "sales_cycle" not in skipped and "deal_conversion" not in skipped
    # amounts exist only for won deals, so the pipeline created is unknown and not shown as a figure
    assert "pipeline_created" in maven[label]["sections"]["changes"]["not_measured"]
    assert "pipeline_created" not in maven[label]["headline"]


def test_the_latest_quarter_is_an_immature_cohort(maven):
    assert maven["2017Q4"]["sections"]["deal_conversion"]["immature"] is True
    # a quarter's review reads the data as it stood at the quarter's end: its own deals had no 90 days yet;
    # followed up with the later data (shown apart), 2017Q2's deals are mature
    assert maven["2017Q2"]["sections"]["deal_conversion"]["immature"] is True
    assert maven["2017Q2"]["sections"]["deal_conversion_followed_up"]["immature"] is False
