"""Quarterly review building blocks on small workspaces: the funnel rule, the handoff loop, changes, fix list."""
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.proportion import proportions_ztest

from salign.common import periods
from salign.common.result import Skipped
from salign.common.stats import Rate
from salign.personas.markers import markers
from salign.qualify.auc import auc_difference
from salign.qualify.teams import RuleComparison, measure
from salign.report.html import result_html
from salign.review import changes, fixlist, funnel, handoff, sla, trend, winloss
from salign.workspace.load import load_workspace
from salign.workspace.tables import MissingData
from tests.conftest import HANDOFF_QUEUE, TINY, write_workspace

HANDOFF = HANDOFF_QUEUE


@pytest.fixture
def tiny(tmp_path):
    files = dict(TINY)
    files["definitions/handoff.yaml"] = HANDOFF
    return load_workspace(write_workspace(tmp_path / "tiny", files))


def q(tables, label):
    return periods.resolve(label, tables)


def history(tmp_path, rows, activities=""):
    """The tiny workspace with its stage history replaced by ``rows`` (lead_id, stage, at)."""
    files = dict(TINY)
    files["stages.csv"] = "lead_id,stage,at,team,actor,reason,opportunity_id\n" + "".join(
        f"{lead},{stage},{at},sales,R1,,\n" for lead, stage, at in rows)
    files["definitions/handoff.yaml"] = HANDOFF
    if activities:
        files["activities.csv"] = "activity_id,at,team,type,lead_id,account_id,content_id,actor\n" + activities
    return load_workspace(write_workspace(tmp_path / "h", files))


# --------------------------------------------------------------------------- the funnel rule

def test_skipped_stage_counts_as_passed_at_the_later_stage(tmp_path):
    t = history(tmp_path, [("L1", "lead", "2025-10-02T09:00:00Z"), ("L1", "mql", "2025-10-03T09:00:00Z"),
                           ("L1", "opportunity", "2025-10-10T09:00:00Z")])
    e = funnel.stage_entries(t)
    at = e.at.loc["L1"]
    assert at["sal"] == at["sql"] == at["opportunity"] == pd.Timestamp("2025-10-10T09:00:00Z")
    assert e.anomalies["skipped"] == {"mql": 0, "sal": 1, "sql": 1, "opportunity": 0}
    d = funnel.stage_durations(e, q(t, "2025Q4"), "sal")
    assert d.loc["L1", "days"] == 0 and d.loc["L1", "observed"]


def test_reentered_stage_counts_once_at_its_first_entry(tmp_path):
    t = history(tmp_path, [("L1", "lead", "2025-10-02T09:00:00Z"), ("L1", "mql", "2025-10-03T09:00:00Z"),
                           ("L1", "recycled", "2025-10-20T09:00:00Z"), ("L1", "mql", "2025-11-20T09:00:00Z"),
                           ("L1", "sal", "2025-11-21T09:00:00Z")])
    e = funnel.stage_entries(t)
    assert e.at.loc["L1", "mql"] == pd.Timestamp("2025-10-03T09:00:00Z")
    assert e.anomalies["reentered"]["mql"] == 1
    # it left the mql stage when it was recycled (the first exit after its entry)
    assert e.left["mql"].loc["L1"] == pd.Timestamp("2025-10-20T09:00:00Z")


def test_cohort_conversion_marks_immature_cohorts_and_labels_flow_ratios(tiny):
    # as_of is 2026-01-01: leads of 2025Q4 have not all had 90 days
    c = funnel.stage_conversion(tiny, q(tiny, "2025Q4"), 90)
    m = c.metrics()["conversion"]
    assert m["mql_to_sal"]["k"] == 2 and m["mql_to_sal"]["n"] == 3 and m["mql_to_sal"]["immature"]
    assert m["opportunity_to_won"] == {**Rate(2, 2).as_dict(), "mature": 0, "immature": True, "flow_ratio": 1.0}
    page = result_html(c)
    assert "immature" in page and "flow ratio (not a conversion rate)" in page
    assert m["sal_to_sql"]["mature"] == 0
    short = funnel.stage_conversion(tiny, q(tiny, "2025Q4"), 20).metrics()["conversion"]
    assert short["mql_to_sal"]["mature"] == 3 and not short["mql_to_sal"]["immature"]


def test_cumulative_funnel_keeps_the_lead_cohort_keys(tiny):
    f = funnel.cohort_funnel(tiny, q(tiny, "2025Q4"), 90).metrics()
    assert f["lead"] == {"k": 4, "n": 4, "rate": 1.0} and f["sql"] == {"k": 2, "n": 4, "rate": 0.5}
    assert f["won"] == {"k": 2, "n": 4, "rate": 0.5}


def test_an_earlier_cutoff_ignores_later_events(tiny):
    p = q(tiny, "2025Q4")
    f = funnel.cohort_funnel(tiny, p, 90, cutoff=pd.Timestamp("2025-11-01T00:00:00Z")).metrics()
    assert f["lead"]["n"] == 2 and f["won"]["k"] == 0 and f["opportunity"]["k"] == 1


def test_deal_conversion_uses_the_opportunities_table_only(tiny):
    d = funnel.deal_conversion(tiny, q(tiny, "2025Q4"), 90).metrics()
    assert d["opportunities"] == 3 and d["won"]["k"] == 3 and d["still open"]["k"] == 0


# --------------------------------------------------------------------------- SLA and handoff loop

def test_scorecard_on_the_tiny_workspace(tiny):
    s = sla.sla_scorecard(tiny, q(tiny, "2025Q4"))
    assert (s.follow_up.k, s.follow_up.n) == (2, 3)
    assert (s.acceptance.k, s.acceptance.n) == (2, 3)
    # L2 was rejected 14 days after its MQL, with a reason
    assert (s.feedback_in_time.k, s.feedback_in_time.n) == (0, 1) and (s.with_reason.k, s.with_reason.n) == (1, 1)
    assert s.min_fields.k == 3  # job_level and employees present on L1..L3
    assert s.misses == ["sales_follow_up"]
    m = s.metrics()
    assert m["by_rep"]["R2"]["within_sla"]["k"] == 0 and m["slow_reps"] == []  # too few leads to call anyone slow


def test_routing_rejections_and_stuck_leads_on_a_small_history(tmp_path):
    rows = [("L1", "lead", "2025-10-02T09:00:00Z"), ("L1", "mql", "2025-10-03T09:00:00Z"),
            ("L2", "lead", "2025-10-05T10:00:00Z"), ("L2", "mql", "2025-10-06T10:00:00Z"),
            ("L2", "rejected", "2025-10-07T10:00:00Z"),
            ("L3", "lead", "2025-11-01T08:00:00Z"), ("L3", "mql", "2025-11-02T08:00:00Z")]
    acts = ("X1,2025-10-03T10:00:00Z,sales,assignment,L1,,,R1\n"
            "X2,2025-10-06T10:05:00Z,sales,assignment,L2,,,sdr-inbox\n"
            "X3,2025-10-06T20:00:00Z,sales,assignment,L2,,,R2\n"
            "X4,2025-11-02T08:05:00Z,sales,assignment,L3,,,queue\n")
    t = history(tmp_path, rows, acts)
    p = q(t, "2025Q4")
    r = handoff.routing(t, p)
    assert r.first_to == {"a rep": 1, "the queue": 2, "nobody": 0}
    assert (r.in_time.k, r.in_time.n) == (1, 3) and (r.never_routed.k, r.never_routed.n) == (1, 3)
    assert r.hours_to_route.events == 2
    rej = handoff.rejections(t, p)
    assert rej.without_reason == 1 and (rej.rejected.k, rej.rejected.n) == (1, 1)
    assert rej.metrics()["reasons"] == {handoff.NO_REASON: 1}
    stuck = handoff.stuck_leads(t, p)
    assert stuck.stuck == 1  # L3: in the queue since November, nobody took it; L1 has a rep, L2 was rejected


def test_recycled_leads_are_followed_to_what_became_of_them(tmp_path):
    rows = [("L1", "lead", "2025-10-02T09:00:00Z"), ("L1", "mql", "2025-10-03T09:00:00Z"),
            ("L1", "rejected", "2025-10-04T09:00:00Z"),
            ("L1", "recycled", "2025-10-10T09:00:00Z"), ("L1", "mql", "2025-11-10T09:00:00Z"),
            ("L1", "sql", "2025-11-20T09:00:00Z"),
            ("L2", "lead", "2025-10-05T10:00:00Z"), ("L2", "mql", "2025-10-06T10:00:00Z"),
            ("L2", "recycled", "2025-10-08T10:00:00Z")]
    t = history(tmp_path, rows)
    r = handoff.recycling(t, q(t, "2025Q4")).metrics()
    assert r[handoff.NO_REASON]["recycled"] == 2
    assert r[handoff.NO_REASON]["mql"]["k"] == 1 and r[handoff.NO_REASON]["sql"]["k"] == 1
    assert r[handoff.NO_REASON]["won"]["k"] == 0
    assert handoff.stuck_leads(t, q(t, "2025Q4")).timed_out == 1  # L2 went back to nurture straight from MQL


def test_reasons_lose_their_contacts():
    cleaned = handoff.clean_reason(pd.Series(["asked to contact ann.lee@alpha.test instead", "call +49 30 5550101",
                                              None, "  ", "no budget"]))
    assert list(cleaned) == ["asked to contact [contact] instead", "call [contact]", handoff.NO_REASON,
                             handoff.NO_REASON, "no budget"]


# --------------------------------------------------------------------------- win/loss

def test_win_loss_breakdowns_and_key_accounts_on_the_tiny_workspace(tiny):
    p = q(tiny, "2025Q4")
    w = winloss.win_loss(tiny, p)
    m = w.metrics()
    assert m["win_rate"]["k"] == 3 and m["pipeline_created"] == 173000
    assert set(m["by"]) == {"segment", "source", "product", "rep"}  # no persona: tiny has no persona column
    assert m["by"]["product"]["Core"]["k"] == 2 and m["by"]["segment"]["SMB"]["n"] == 1
    k = winloss.key_accounts(tiny, p).metrics()
    assert k["how"] == "tier: key" and k["won"] == ["A1"]


def test_sales_cycle_censors_open_deals(tmp_path):
    files = dict(TINY)
    files["opportunities.csv"] = TINY["opportunities.csv"].replace(
        "O3,2025-10-20T09:00:00Z,closed,won,A2,L2,2025-12-20T09:00:00Z,3000,,R2,Lite",
        "O3,2025-10-20T09:00:00Z,open,open,A2,L2,,3000,,R2,Lite")
    t = load_workspace(write_workspace(tmp_path / "t", files))
    c = winloss.sales_cycle(t, q(t, "2025Q4"))
    assert c.overall.n == 3 and c.overall.events == 2


# --------------------------------------------------------------------------- changes

def test_rates_use_fisher_when_counts_are_small_and_the_z_test_otherwise():
    small = changes.compare(changes.Figure("win_rate", Rate(3, 4)), changes.Figure("win_rate", Rate(1, 5)))
    assert small == ("Fisher's exact test", pytest.approx(fisher_exact([[3, 1], [1, 4]])[1]))
    big = changes.compare(changes.Figure("win_rate", Rate(300, 400)), changes.Figure("win_rate", Rate(250, 400)))
    assert big == ("two-proportion z-test", pytest.approx(proportions_ztest([300, 250], [400, 400])[1]))
    assert changes.compare(changes.Figure("win_rate", Rate(0, 0)), changes.Figure("win_rate", Rate(1, 2)))[1] is None


def test_amounts_and_counts_are_tested():
    a = changes.Figure("pipeline_created", 300.0, np.array([100.0, 200.0]))
    b = changes.Figure("pipeline_created", 100.0, np.array([100.0]))
    name, p = changes.compare(a, b)
    assert name == "compound Poisson z-test" and 0 < p < 1
    assert changes.compare(changes.Figure("sales_ready_leads", 50), changes.Figure("sales_ready_leads", 50))[1] == \
        pytest.approx(1.0)


def test_comparison_quarters_are_measured_the_same_time_after_their_end(tiny):
    p = q(tiny, "2025Q4")
    lag = pd.Timedelta(days=3)
    assert changes.lagged_cutoff(p, p.previous, p.end + lag) == p.previous.end + lag
    c = changes.review_changes(tiny, p)
    assert c.table.set_index("figure").loc["win_rate", "previous"] is None  # 2025Q3 is before the data


# --------------------------------------------------------------------------- fix list and monitoring

def test_fix_list_needs_at_least_one_result():
    with pytest.raises(MissingData, match="all skipped"):
        fixlist.fix_list({"scorecard": Skipped("sla", "no sla.yaml")}, "2025Q4")


def test_fix_list_ranks_commitments_before_failures(tiny):
    p = q(tiny, "2025Q4")
    items = fixlist.fix_list({"scorecard": sla.sla_scorecard(tiny, p), "rejections": handoff.rejections(tiny, p),
                              "stuck": Skipped("stuck", "why")}, p)
    assert list(items.items["kind"]) == ["sales_follow_up"]  # L2's rejection has a reason
    assert items.not_considered == ["stuck"]
    assert json.dumps(items.metrics())


def test_monitoring_says_when_no_definition_is_signed(tiny):
    from salign.review import monitoring

    with pytest.raises(MissingData, match="no signed qualification definition"):
        monitoring.qualification_monitor(tiny, q(tiny, "2025Q4"))


@pytest.fixture
def sample_from_mid_2026q2(sample_copy):
    """The sample with every lead created before 2026-05-15 (and its events and deals) dropped."""
    cut = pd.Timestamp("2026-05-15T00:00:00Z")
    leads = pd.read_csv(sample_copy / "leads.csv", dtype=str)
    keep = leads[pd.to_datetime(leads["created_at"]) >= cut]
    keep.to_csv(sample_copy / "leads.csv", index=False)
    for name, when in (("stages", "at"), ("activities", "at"), ("opportunities", "created_at")):
        frame = pd.read_csv(sample_copy / f"{name}.csv", dtype=str, keep_default_na=False)
        ok = frame["lead_id"].isin(keep["lead_id"]) & (pd.to_datetime(frame[when], errors="coerce") >= cut)
        frame[ok | (frame["lead_id"].eq("") & (name == "activities"))].to_csv(sample_copy / f"{name}.csv", index=False)
    return load_workspace(sample_copy)


def test_a_quarter_only_partly_in_the_data_is_not_compared(sample_from_mid_2026q2):
    """History starting inside 2026Q2: 2026Q3 is not compared with the partial 2026Q2 (was '+410; significant')."""
    t = sample_from_mid_2026q2
    q = periods.resolve("2026Q3", t)
    assert str(periods.first_complete(t)) == "2026Q3"
    c = changes.review_changes(t, q)
    srl = c.comparison("sales_ready_leads")
    assert srl["change_significant"] is False and srl["previous"] is None
    assert c.table["previous_test"].str.startswith("none (2026Q2, which is only partly in the data").all()
    assert c.partial == {"previous": "2026Q2, which is only partly in the data (it starts 2026-05-15)"}
    assert "Not compared with 2026Q2, which is only partly in the data (it starts 2026-05-15)" in result_html(c)
    with pytest.raises(periods.PeriodError, match="before the data starts"):
        periods.resolve("2026Q1", t)


def test_a_team_rule_that_matches_no_lead_is_a_finding_not_figures():
    """A rule that calls no lead qualified is named as such (was: '0% of those reached won (n/a the base rate)')."""
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.3
    m, s = (y | (rng.random(400) < 0.1)).astype(float), np.zeros(400)
    rules = [measure("marketing", "source is web", m, y), measure("sales", "employees >= 100,000,000", s, y)]
    c = RuleComparison(rules, Rate(int(y.sum()), 400), "won", float("nan"), 0, {"marketing": 0, "sales": 0}, 0,
                       auc_difference(y, m, s))
    text = c.verdict()
    assert ("Sales' rule (employees >= 100,000,000) calls no lead of the 400 qualified, so it separates nothing: "
            "check its fields and thresholds in definitions/qualification.sales.yaml.") in text
    assert "n/a the base rate" not in text and "against n/a" not in text
    assert "because sales' rule separates nothing" in text


def test_markers_of_a_single_customer_are_a_skipped_section():
    """1 lead with 1 won deal: no attribute level to test is MissingData (a skipped section), not KeyError."""
    customers = pd.DataFrame({"account_id": ["A1"], "industry": ["software"], "employees": [500], "best": [True],
                              "worst": [False], "won_revenue": [1000.0]})
    value = SimpleNamespace(customers=customers, definition=SimpleNamespace(terms=[]), kinds={})
    with pytest.raises(MissingData, match=r"no attribute level to test \(only one valued customer\)"):
        markers(value)


def test_the_trend_starts_at_the_first_complete_quarter(sample_from_mid_2026q2):
    """The partial 2026Q2 is no point of the trend (it would read as a dip: a fraction of a quarter's leads)."""
    t = sample_from_mid_2026q2
    assert list(trend.trend(t, periods.Quarter.parse("2026Q3", 1, "Europe/Berlin")).quarters["quarter"]) == ["2026Q3"]
