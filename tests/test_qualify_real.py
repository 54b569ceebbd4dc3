"""The qualification study on real third-party leads (X Education, through the committed mapping)."""
from __future__ import annotations

import json

import papermill
import pytest
import yaml

from salign import qualify
from salign.core import paths
from salign.imports import import_mapping
from salign.report.html import result_html
from salign.workspace.load import load_workspace

MAPPING = paths.PROJECT_ROOT / "data" / "mappings" / "x_education.yaml"
#: columns sales fills in after the lead is worked (data dictionary: "current status", "intuition of the
#: employee who has been assigned", "last activity")
POST_OUTCOME = {"tags", "lead_quality", "last_activity", "last_notable_activity"}
#: columns the data dictionary says are assigned to the lead by the sales team ("a lead level assigned to each
#: customer based on their profile", "an index and score assigned to each customer based on their activity and
#: their profile"): the committed mapping declares them recorded: after_contact
SALES_ASSIGNED = {"lead_profile", "asymmetrique_activity_index", "asymmetrique_profile_index",
                  "asymmetrique_activity_score", "asymmetrique_profile_score"}


@pytest.fixture(scope="module")
def xed(real_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("xed") / "ws"
    import_mapping(MAPPING, folder)
    tables = load_workspace(folder)
    data = qualify.prepare(tables)
    fit = qualify.fit_scorecard(data)
    return dict(folder=folder, tables=tables, data=data, fit=fit,
                comparison=qualify.compare_models(tables, data, fit))


@pytest.mark.real_data
def test_post_outcome_columns_are_flagged_and_excluded(xed):
    leakage = xed["data"].leakage
    assert POST_OUTCOME <= set(leakage.excluded)
    assert set(leakage.excluded) == POST_OUTCOME | SALES_ASSIGNED  # nothing a lead states about itself is thrown away
    assert all(dict(leakage.flagged[c]).keys() == {"recorded"} for c in SALES_ASSIGNED)
    assert {"tags", "lead_quality"} | SALES_ASSIGNED == set(xed["tables"].config.after_contact("leads"))
    assert "auc" in dict(leakage.flagged["tags"])  # Tags alone: holdout AUC above 0.9
    assert all("name" in dict(leakage.flagged[c]) for c in POST_OUTCOME)
    assert not POST_OUTCOME & set(xed["data"].features.columns)


@pytest.mark.real_data
def test_without_dates_the_holdout_is_stratified_and_the_report_says_so(xed):
    data = xed["data"]
    assert data.split.kind == "stratified" and data.split.cutoff is None
    assert "only 1 distinct creation day" in data.split.reason
    assert "stratified random" in result_html(data)


@pytest.mark.real_data
def test_scorecard_is_within_001_auc_of_the_best_model(xed):
    c = xed["comparison"]
    aucs = {m.key: m.auc.value for m in c.models}
    assert set(aucs) == {"scorecard", "gradient_boosting", "logistic_regression", "naive_bayes"}
    assert aucs["scorecard"] >= max(aucs.values()) - 0.01, aucs
    assert aucs["scorecard"] > 0.85  # the leaks are gone, yet real signal remains
    # with the sales-assigned fields in, the scorecard reached 0.903; without them about 0.87 (every model lower)
    assert all(a < 0.885 for a in aucs.values()), aucs
    assert all(m.auc.n == int(xed["data"].test.sum()) for m in c.models)


@pytest.mark.real_data
@pytest.mark.slow
def test_notebook_runs_on_the_import_and_skips_what_the_workspace_lacks(xed, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    papermill.execute_notebook(str(paths.NOTEBOOKS_DIR / "03_qualification.ipynb"), str(out / "03.ipynb"),
                               parameters={"workspace": str(xed["folder"]), "output_dir": str(out)},
                               kernel_name="python3", progress_bar=False, cwd=str(paths.PROJECT_ROOT))
    metrics = json.loads((out / "03_qualification.metrics.json").read_text())
    sections = metrics["sections"]
    assert set(sections["leakage"]["excluded"]) == POST_OUTCOME | SALES_ASSIGNED
    assert sections["compare"]["models"]["scorecard"]["auc"] == pytest.approx(
        xed["comparison"].by_key["scorecard"].auc.value, abs=1e-4)
    # no team persona files; no accounts, so no persona marks to hold the scorecard against.
    # No sla.yaml is not a skip: the threshold falls back to its default
    assert set(metrics["skipped"]) == {"team_rules", "persona_cross_check"}
    assert sections["threshold"]["chosen_by"] == "youden" and sections["threshold"]["commitment_per_quarter"] is None
    written = yaml.safe_load((out / "qualification.yaml").read_text())
    assert set(written["data"]["excluded_as_leaks"]) == POST_OUTCOME | SALES_ASSIGNED
