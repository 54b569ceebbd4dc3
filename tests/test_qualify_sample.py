"""The qualification study on the embedded sample, against its planted truth (truth.json, truth_leads.csv)."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from salign import qualify
from salign.core import paths
from salign.report.html import result_html
from salign.scoring.score import Scorer
from salign.workspace.load import load_workspace

SAMPLE = paths.SAMPLE_WORKSPACE


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((SAMPLE / "truth.json").read_text())


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tables = load_workspace(SAMPLE)
    data = qualify.prepare(tables)
    fit = qualify.fit_scorecard(data)
    rules = qualify.team_rules(tables, data)
    comparison = qualify.compare_models(tables, data, fit)
    threshold = qualify.choose_threshold(tables, data, fit)
    criteria = qualify.find_criteria(tables, data)
    signoff = qualify.write_definition(tables, data, fit, comparison, threshold, criteria,
                                       tmp_path_factory.mktemp("out"))
    return dict(tables=tables, data=data, fit=fit, rules=rules, comparison=comparison, threshold=threshold,
                signoff=signoff)


def test_the_planted_leak_is_named_and_excluded(study, truth):
    data = study["data"]
    for col in truth["leak_columns"]:
        assert col in data.leakage.excluded and col not in data.features.columns
        rules = dict(data.leakage.flagged[col])
        assert "auc" in rules and "timestamp" in rules
        assert truth["leak_timestamps"][col] in rules["timestamp"]
        assert data.leakage.auc[col] == pytest.approx(truth["leak_auc"], abs=0.02)
    assert "lead_quality" in study["signoff"].definition.data.excluded_as_leaks
    assert "lead_quality" in result_html(study["data"].leakage)


def test_features_are_known_at_the_decision_point(study):
    data = study["data"]
    assert data.split.kind == "time"
    assert data.facts.loc[data.test, "created_at"].min() >= data.facts.loc[data.train, "created_at"].max()
    assert {"n_content_download", "n_event", "job_level", "employees", "source"} <= set(data.features.columns)
    assert not {"email", "phone", "first_name", "last_name", "lead_quality_set_at"} & set(data.features.columns)


def test_scorecard_reaches_97_percent_of_the_best_achievable_auc(study):
    data, fit = study["data"], study["fit"]
    truth_leads = pd.read_csv(SAMPLE / "truth_leads.csv").set_index("lead_id")
    holdout = data.facts.loc[data.test, "lead_id"]
    # the planted sql_90d, under the funnel's one rule for "reached" (issue 12): a lead the sample moves
    # straight to an opportunity (or a win) within 90 days reached sql too
    created = pd.to_datetime(pd.read_csv(SAMPLE / "leads.csv", usecols=["lead_id", "created_at"])
                             .set_index("lead_id")["created_at"], utc=True)
    st = pd.read_csv(SAMPLE / "stages.csv", usecols=["lead_id", "stage", "at"])
    later = pd.to_datetime(st[st["stage"].isin(["opportunity", "won"])].groupby("lead_id")["at"].min(), utc=True)
    reached = truth_leads["sql_90d"].astype(bool) | (later.reindex(created.index) <= created + pd.Timedelta(days=90))
    assert (reached.loc[holdout].to_numpy() == data.y[data.test]).all()
    assert (truth_leads.loc[holdout, "sql_90d"].to_numpy() != data.y[data.test]).sum() == 6  # of the 23 such leads
    best = roc_auc_score(data.y[data.test], truth_leads.loc[holdout, "p_sql"].to_numpy())
    assert fit.auc.value >= 0.97 * best, (fit.auc.value, best)
    assert fit.auc.low < fit.auc.value < fit.auc.high


def test_probabilities_are_calibrated_on_the_newest_leads(study):
    fit, data = study["fit"], study["data"]
    assert fit.probability.mean() == pytest.approx(data.y[data.test].mean(), abs=0.02)
    assert fit.brier < study["comparison"].by_key["naive_bayes"].brier


def test_each_team_rule_is_measured_and_the_better_one_named_with_the_reason(study, truth):
    rules = study["rules"]
    by_team = {r.team: r for r in rules.rules}
    for team, planted in truth["qualification_rules"].items():  # truth counts every lead; we count mature ones
        for ours, theirs in ((by_team[team].precision, "precision"), (by_team[team].recall, "recall"),
                             (by_team[team].flagged, "share_flagged")):
            lo, hi = ours.interval
            assert lo <= planted[theirs] <= hi, (team, theirs, str(ours), planted[theirs])
    base = truth["sql_model"]["base_rate"]

    def balanced(t):  # from the planted figures alone
        p = truth["qualification_rules"][t]
        false_pos = p["share_flagged"] * (1 - p["precision"]) / (1 - base)
        return (p["recall"] + 1 - false_pos) / 2

    expected = max(("marketing", "sales"), key=balanced)
    assert rules.better == expected
    verdict = rules.verdict()
    assert verdict.count("rule is the better screen") == 1
    assert f"{expected.capitalize()}'s rule is the better screen" in verdict and "because" in verdict
    assert "more precise" in verdict and "too narrow" in verdict  # sales' rule: high precision, low recall
    assert rules.metrics()["better"] == expected


def test_all_models_are_compared_on_the_same_holdout(study):
    c = study["comparison"]
    assert set(c.by_key) == {"scorecard", "gradient_boosting", "logistic_regression", "naive_bayes"}
    n = int(study["data"].test.sum())
    assert all(m.auc.n == n and len(m.lift) == 10 for m in c.models)
    assert {r.team for r in c.rules} == {"marketing", "sales"}
    for row in c.rule_rows():  # at the same number of leads the scorecard is at least as precise as each rule
        assert row["scorecard"].precision.value >= row["rule"].precision.value - 0.01


def test_threshold_meets_marketing_volume_and_the_definition_scores_as_evaluated(study):
    t, data, signoff = study["threshold"], study["data"], study["signoff"]
    assert t.row(t.chosen)["volume"] >= t.commitment == 840
    definition = signoff.definition
    holdout = data.facts[data.test]
    scored = Scorer(definition).score(holdout)
    assert (scored["score"].to_numpy() == study["fit"].score).all()
    q = definition.evaluation.qualified
    assert q.share_flagged == pytest.approx(scored["qualified"].mean(), abs=1e-4)
    assert q.precision > definition.evaluation.base_rate * 2
    assert definition.evaluation.scorecard.auc == pytest.approx(study["fit"].auc.value, abs=1e-4)
    assert definition.data.as_of.isoformat() == "2026-10-01"
