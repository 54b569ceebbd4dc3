"""The quarterly review's package functions against the planted truth of the embedded sample (data/sample)."""
import json

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from salign.common import periods
from salign.core import paths
from salign.report.html import result_html
from salign.review import changes, fixlist, funnel, handoff, sla, trend, winloss
from salign.workspace.load import load_workspace

TRUTH = json.loads((paths.SAMPLE_WORKSPACE / "truth.json").read_text())


@pytest.fixture(scope="module")
def sample():
    return load_workspace(paths.SAMPLE_WORKSPACE)


def quarter(tables, label):
    return periods.resolve(label, tables)


@pytest.mark.parametrize("label", TRUTH["quarters"])
def test_sla_measures_and_misses_match_the_truth_every_quarter(sample, label):
    s = sla.sla_scorecard(sample, quarter(sample, label))
    truth = TRUTH["sla_measures"][label]
    assert s.delivered == truth["sales_ready_leads"]
    assert (s.follow_up.k, s.follow_up.n) == (truth["followed_up_within_sla"], truth["follow_up_eligible"])
    assert round(s.min_fields.value, 4) == truth["min_fields_share"]
    assert s.misses == TRUTH["sla_misses"][label]


@pytest.mark.parametrize("label", TRUTH["quarters"])
def test_slow_reps_are_found_every_quarter_and_nobody_else(sample, label):
    s = sla.sla_scorecard(sample, quarter(sample, label))
    assert s.slow_reps == sorted(TRUTH["slow_reps"])
    assert s.metrics()["slow_reps"] == sorted(TRUTH["slow_reps"])


def test_rep_and_week_tables_add_up_to_the_team(sample):
    s = sla.sla_scorecard(sample, quarter(sample, "2026Q3"))
    assert s.by_rep["k"].sum() == s.follow_up.k and s.by_rep["n"].sum() == s.follow_up.n
    assert s.by_week["k"].sum() == s.follow_up.k and s.by_week["leads"].sum() == s.delivered
    # weeks start on Mondays in Europe/Berlin
    assert all(pd.Timestamp(w).weekday() == 0 for w in s.by_week["week"])


def test_rejected_leads_without_feedback_per_year_match_the_truth(sample):
    for year, labels in (("first_year", TRUTH["quarters"][:4]), ("second_year", TRUTH["quarters"][4:])):
        results = [handoff.rejections(sample, quarter(sample, q)) for q in labels]
        silent = sum(r.without_reason for r in results)
        n = sum(r.rejected.k for r in results)
        truth = TRUTH["rejections"][year]
        assert n == truth["n"]
        assert round(silent / n, 4) == truth["without_reason_share"]
        accepted = sum(r.acceptance.k for r in results)
        assert round(accepted / sum(r.acceptance.n for r in results), 4) == truth["acceptance_rate"]


def test_the_fix_list_reports_slow_reps_and_rejections_without_feedback(sample):
    p = quarter(sample, "2026Q3")
    results = {"scorecard": sla.sla_scorecard(sample, p), "rejections": handoff.rejections(sample, p),
               "stuck": handoff.stuck_leads(sample, p), "stages": funnel.mature_stage_conversion(sample, p),
               "deals": winloss.win_loss(sample, p)}
    items = fixlist.fix_list(results, p).items
    slow = items[items["kind"] == "slow_rep"]
    assert sorted(w.split()[-1] for w in slow["what"]) == sorted(TRUTH["slow_reps"])
    assert set(slow["owner"]) == {"sales"}
    silent = items[items["kind"] == "rejected_without_feedback"].iloc[0]
    assert silent["affected"] == results["rejections"].without_reason > 0
    assert "without a reason" in silent["evidence"] and silent["owner"] == "sales"
    assert list(items["rank"]) == list(range(1, len(items) + 1))


def test_the_fix_list_puts_a_missed_follow_up_sla_first(sample):
    p = quarter(sample, "2026Q2")  # the planted quarter where sales missed the follow-up SLA only
    items = fixlist.fix_list({"scorecard": sla.sla_scorecard(sample, p)}, p).items
    assert items.iloc[0]["kind"] == "sales_follow_up" and items.iloc[0]["owner"] == "sales"


def test_the_improving_trend_is_reported(sample):
    t = trend.trend(sample, quarter(sample, "2026Q3"))
    assert t.verdict == "improving"
    assert t.earlier == TRUTH["trend"]["first_year"] and t.recent == TRUTH["trend"]["second_year"]
    years = t.years.set_index("figure")
    assert set(years["direction"]) == {"better"}
    truth = TRUTH["trend"]["metrics"]
    for ours, theirs in (("follow_up_within_sla", "follow_up_attainment"),
                         ("rejections_without_reason", "rejections_without_reason_share")):
        for when, key in (("earlier", "first_year"), ("recent", "second_year")):
            assert round(years.loc[ours, when]["rate"], 4) == truth[theirs][key]
    # the funnel rule (a skipped sql counts as passed at the later stage) moves MQL -> SQL by a few leads only
    for when, key in (("earlier", "first_year"), ("recent", "second_year")):
        assert years.loc["mql_to_sql", when]["rate"] == pytest.approx(truth["mql_to_sql_90d_rate"][key], abs=0.005)
    # Kaplan-Meier (never followed up: censored) against the truth's median of the followed-up leads only
    assert years.loc["hours_to_first_follow_up", "recent"] < years.loc["hours_to_first_follow_up", "earlier"]


def test_funnel_rule_counts_skipped_and_reentered_stages(sample):
    a = funnel.stage_entries(sample).anomalies
    truth = TRUTH["anomalies"]
    assert a["reentered"]["mql"] == truth["mql_reentries"]
    assert a["skipped"]["sal"] == truth["sql_without_sal"]
    assert a["skipped"]["sql"] == truth["opportunity_without_sql"]


def test_key_accounts_over_the_whole_history_match_the_truth(sample):
    k = winloss.key_accounts(sample, quarter(sample, "2026Q3"), start=quarter(sample, "2024Q4").shift(-8))
    m = k.metrics()
    assert m["key_accounts"] == TRUTH["key_accounts"]["n"] and m["how"] == "tier: key"
    assert m["won"] == sorted(TRUTH["key_accounts"]["won"])
    assert m["lost_only"] == sorted(TRUTH["key_accounts"]["lost_only"])


def test_routing_per_year_matches_the_truth(sample):
    for year, labels in (("first_year", TRUTH["quarters"][:4]), ("second_year", TRUTH["quarters"][4:])):
        results = [handoff.routing(sample, quarter(sample, q)) for q in labels]
        n = sum(r.never_routed.n for r in results)
        truth = TRUTH["routing"][year]
        assert n == truth["n_mqls"]
        assert round(sum(r.never_routed.k for r in results) / n, 4) == truth["never_routed_share"]
        within = sum(r.in_time.k for r in results) / sum(r.in_time.n for r in results)
        assert round(within, 4) == truth["routed_within_limit_share"]


def test_rejection_reasons_never_show_a_contact(sample):
    for label in TRUTH["quarters"]:
        r = handoff.rejections(sample, quarter(sample, label))
        assert not r.reasons["reason"].str.contains("@").any()
        assert "@" not in result_html(r)


# --------------------------------------------------------------------------- Kaplan-Meier vs lifelines

def km_median(durations, observed):
    km = KaplanMeierFitter().fit(np.asarray(durations, float), event_observed=np.asarray(observed, bool))
    m = km.median_survival_time_
    return None if np.isinf(m) else float(m)


def test_follow_up_median_equals_lifelines(sample):
    s = sla.sla_scorecard(sample, quarter(sample, "2026Q3"))
    h = s.handoffs
    assert s.time_to_follow_up.median == pytest.approx(km_median(h["hours"], h["followed_up"]))
    assert s.time_to_follow_up.n == len(h) and s.time_to_follow_up.events == int(h["followed_up"].sum())
    for r in s.by_rep.itertuples():
        mine = h[h["rep"] == r.rep]
        expected = km_median(mine["hours"], mine["followed_up"])
        assert (r.median_hours is None or pd.isna(r.median_hours)) if expected is None else \
            r.median_hours == pytest.approx(expected)


def test_time_in_stage_and_sales_cycle_equal_lifelines(sample):
    p = quarter(sample, "2025Q3")
    t = funnel.time_in_stage(sample, p)
    entries = funnel.stage_entries(sample)
    for stage, d in t.durations.items():
        frame = funnel.stage_durations(entries, p, stage)
        assert d.median == (None if km_median(frame["days"], frame["observed"]) is None
                            else pytest.approx(km_median(frame["days"], frame["observed"])))
    c = winloss.sales_cycle(sample, p)
    f = winloss.cycle_frame(sample.opportunities, p.shift(-3).start, p.end, funnel.cutoff_of(sample))
    assert c.overall.median == pytest.approx(km_median(f["days"], f["observed"]))
    assert c.overall.n == len(f) and c.overall.events == int(f["observed"].sum())


def test_changes_compare_like_for_like(sample):
    p = quarter(sample, "2026Q3")
    c = changes.review_changes(sample, p)
    t = c.table.set_index("figure")
    # last quarter as it stood at its own end: the SLA measured with that cutoff
    prev = sla.sla_scorecard(sample, p.previous, cutoff=p.previous.end)
    assert t.loc["follow_up_within_sla", "previous"] == prev.follow_up.as_dict()
    assert t.loc["sales_ready_leads", "previous"] == prev.delivered
    assert c.biggest in changes.FIGURES
    head = c.headline()
    assert {"sales_ready_leads", "follow_up_within_sla", "mql_to_sql", "win_rate", "pipeline_created",
            "biggest_change"} <= set(head)
    for v in head.values():
        if isinstance(v, dict) and "value" in v:
            assert {"value", "previous", "change_significant", "higher_is_better"} <= set(v)
