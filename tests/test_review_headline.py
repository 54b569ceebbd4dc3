"""Every figure of 04_quarterly_review's metrics (headline and change table) recomputed independently with DuckDB SQL.

The metrics are the notebook's part of the session's one review of the embedded sample
(conftest.sample_reports). The recomputation reads the raw CSV files, cuts quarters with zoneinfo
and tests changes with formulas written here (chi-square for rates, the Poisson score statistic,
the compound Poisson z, a hand-written Benjamini-Hochberg).
"""
import datetime as dt
import json
import math
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pytest
import yaml
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from scipy.stats import chi2_contingency, fisher_exact, norm

from salign.core import paths

pytestmark = pytest.mark.slow

WS = paths.SAMPLE_WORKSPACE
TZ = ZoneInfo("Europe/Berlin")
FIELDS = yaml.safe_load((WS / "definitions" / "sla.yaml").read_text())
HANDOFF = yaml.safe_load((WS / "definitions" / "handoff.yaml").read_text())
WINDOW = 90


@pytest.fixture(scope="module")
def metrics(sample_reports):
    return json.loads((sample_reports / "2026Q3" / "metrics.json").read_text())["notebooks"]["04_quarterly_review"]


def utc(year, month):
    """Local midnight on the first of a month, as naive UTC."""
    return dt.datetime(year, month, 1, tzinfo=TZ).astimezone(dt.timezone.utc).replace(tzinfo=None)


# (start, end) of the quarters, and each one's cutoff: its end plus (as_of - end of 2026Q3) = its end
QUARTERS = {"2026Q3": (utc(2026, 7), utc(2026, 10)), "2026Q2": (utc(2026, 4), utc(2026, 7)),
            "2025Q3": (utc(2025, 7), utc(2025, 10))}


@pytest.fixture(scope="module")
def db():
    con = duckdb.connect()
    for name in ("leads", "stages", "activities", "opportunities"):
        con.execute(f"CREATE TABLE raw_{name} AS SELECT * FROM read_csv('{WS / (name + '.csv')}', all_varchar=true)")
    ts = "CAST(replace(\"{0}\", 'Z', '') AS TIMESTAMP) AS {1}"
    con.execute(f"CREATE TABLE stages AS SELECT lead_id, stage, reason, actor, {ts.format('at', 't')} FROM raw_stages")
    con.execute(f"CREATE TABLE acts AS SELECT lead_id, team, type, actor, {ts.format('at', 't')} FROM raw_activities")
    con.execute(f"""CREATE TABLE opps AS SELECT outcome, CAST(amount AS DOUBLE) amount,
                    {ts.format('created_at', 'created_at')}, {ts.format('closed_at', 'closed_at')} FROM raw_opportunities""")
    con.execute("CREATE TABLE leads AS SELECT * FROM raw_leads")
    return con


def figures(con, start, end):
    """Every figure of the change table for one quarter, cutoff = its end (the review runs on the as_of day)."""
    cut = end
    p = {"s": start, "e": end, "c": cut}
    max_h = FIELDS["sales"]["max_hours_to_first_follow_up"]
    complete = " AND ".join(f"l.{f} IS NOT NULL AND trim(l.{f}) <> ''" for f in FIELDS["marketing"]["min_fields_at_handoff"])
    srl = f"""
        WITH srl AS (SELECT lead_id, min(t) mql FROM stages WHERE stage = 'mql' AND t < $c GROUP BY 1
                     HAVING min(t) >= $s AND min(t) < $e),
        fu AS (SELECT s.lead_id, min(a.t) fu FROM srl s JOIN acts a ON a.lead_id = s.lead_id
               WHERE a.team = 'sales' AND a.type IN ('call', 'email', 'meeting') AND a.t >= s.mql AND a.t < $c
               GROUP BY 1),
        rt AS (SELECT s.lead_id, min(a.t) rt FROM srl s JOIN acts a ON a.lead_id = s.lead_id
               WHERE a.type = 'assignment' AND a.actor IS NOT NULL AND a.actor NOT IN ('queue', '{HANDOFF['queue']}')
               AND a.t >= s.mql AND a.t < $c GROUP BY 1)"""
    row = con.execute(srl + f"""
        SELECT count(*),
               count(*) FILTER (WHERE s.mql + INTERVAL {max_h} HOUR <= $c),
               count(*) FILTER (WHERE s.mql + INTERVAL {max_h} HOUR <= $c AND fu.fu <= s.mql + INTERVAL {max_h} HOUR),
               count(*) FILTER (WHERE {complete}),
               count(*) FILTER (WHERE s.mql + INTERVAL {HANDOFF['max_hours_to_route']} HOUR <= $c),
               count(*) FILTER (WHERE s.mql + INTERVAL {HANDOFF['max_hours_to_route']} HOUR <= $c
                                AND rt.rt <= s.mql + INTERVAL {HANDOFF['max_hours_to_route']} HOUR)
        FROM srl s LEFT JOIN fu USING (lead_id) LEFT JOIN rt USING (lead_id) JOIN leads l USING (lead_id)""", p).fetchone()
    delivered, due, met, full, route_due, routed = row
    hours = con.execute(srl + """
        SELECT epoch(coalesce(fu.fu, $c) - s.mql) / 3600, fu.fu IS NOT NULL
        FROM srl s LEFT JOIN fu USING (lead_id)""", p).fetchall()
    d = np.array([h for h, _ in hours], float)
    e = np.array([o for _, o in hours], bool)
    km = KaplanMeierFitter().fit(d, e).median_survival_time_
    dec = con.execute("""
        WITH m AS (SELECT lead_id, min(t) mql FROM stages WHERE stage = 'mql' AND t < $c GROUP BY 1)
        SELECT count(*) FILTER (WHERE stage = 'sal'), count(*),
               count(*) FILTER (WHERE stage = 'rejected' AND reason IS NOT NULL AND trim(reason) <> ''),
               count(*) FILTER (WHERE stage = 'rejected')
        FROM stages LEFT JOIN m USING (lead_id)
        WHERE stage IN ('sal', 'rejected') AND t >= $s AND t < $e AND t < $c""", p).fetchone()
    conv = con.execute(f"""
        WITH e AS (SELECT lead_id,
                          min(t) FILTER (WHERE stage IN ('mql', 'sal', 'sql', 'opportunity', 'won')) m,
                          min(t) FILTER (WHERE stage IN ('sql', 'opportunity', 'won')) q
                   FROM stages WHERE t < $c GROUP BY 1)
        SELECT count(*) FILTER (WHERE q IS NOT NULL AND q <= m + INTERVAL {WINDOW} DAY), count(*)
        FROM e WHERE m >= $s AND m < $e""", p).fetchone()
    win = con.execute("""SELECT count(*) FILTER (WHERE outcome = 'won'), count(*) FROM opps
                         WHERE outcome IN ('won', 'lost') AND closed_at >= $s AND closed_at < $e AND closed_at < $c""", p).fetchone()
    amounts = np.array([a for (a,) in con.execute("""SELECT coalesce(amount, 0) FROM opps
                        WHERE created_at >= $s AND created_at < $e AND created_at < $c""", p).fetchall()], float)
    return {"sales_ready_leads": ("count", delivered), "min_fields_at_handoff": ("rate", (full, delivered)),
            "acceptance_by_sales": ("rate", (dec[0], dec[1])), "follow_up_within_sla": ("rate", (met, due)),
            "hours_to_first_follow_up": ("duration", (None if math.isinf(km) else km, d, e)),
            "rejections_with_reason": ("rate", (dec[2], dec[3])), "routed_within_limit": ("rate", (routed, route_due)),
            "mql_to_sql": ("rate", conv), "win_rate": ("rate", win),
            "pipeline_created": ("amount", (float(amounts.sum()), amounts))}


def p_value(kind, now, before):
    if kind == "rate":
        (k1, n1), (k0, n0) = now, before
        table = np.array([[k1, n1 - k1], [k0, n0 - k0]])
        expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
        return fisher_exact(table)[1] if (expected < 5).any() else chi2_contingency(table, correction=False)[1]
    if kind == "count":
        return 2 * norm.sf(abs(now - before) / math.sqrt(now + before))
    if kind == "amount":
        return 2 * norm.sf(abs(now[0] - before[0]) / math.sqrt((now[1] ** 2).sum() + (before[1] ** 2).sum()))
    return logrank_test(now[1], before[1], event_observed_A=now[2], event_observed_B=before[2]).p_value


def bh(pvalues, alpha=0.05):
    """Benjamini-Hochberg, written out: reject the k smallest where p_(k) <= k alpha / m."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    m, cut = len(pvalues), 0
    for rank, i in enumerate(order, start=1):
        if pvalues[i] <= rank * alpha / m:
            cut = rank
    return {i: rank <= cut for rank, i in enumerate(order, start=1)}


def shown(kind, v):
    if kind == "rate":
        return {"k": v[0], "n": v[1]}
    if kind == "amount":
        return v[0]
    if kind == "duration":
        return v[0]
    return v


def same(kind, ours, theirs):
    if kind == "rate":
        return ours["k"] == theirs["k"] and ours["n"] == theirs["n"] and ours["rate"] == pytest.approx(
            theirs["k"] / theirs["n"] if theirs["n"] else None, abs=1e-6)
    if theirs is None:
        return ours is None
    return ours == pytest.approx(theirs, rel=1e-4)


@pytest.fixture(scope="module")
def expected(db):
    figs = {q: figures(db, *b) for q, b in QUARTERS.items()}
    tests = [(name, label, p_value(kind, figs["2026Q3"][name][1], figs[q][name][1]))
             for name, (kind, _) in figs["2026Q3"].items() for label, q in (("previous", "2026Q2"), ("year_ago", "2025Q3"))]
    rejected = bh([p for _, _, p in tests])
    significant = {(name, label): rejected[i] for i, (name, label, _) in enumerate(tests)}
    return figs, significant


def test_every_figure_of_the_change_table_equals_the_sql_recomputation(metrics, expected):
    figs, significant = expected
    table = metrics["sections"]["changes"]["figures"]
    assert set(table) == set(figs["2026Q3"])
    for name, row in table.items():
        kind = figs["2026Q3"][name][0]
        for col, q in (("value", "2026Q3"), ("previous", "2026Q2"), ("year_ago", "2025Q3")):
            assert same(kind, row[col], shown(kind, figs[q][name][1])), (name, col)
        for label in ("previous", "year_ago"):
            assert row[f"{label}_significant"] == significant[(name, label)], (name, label)


def test_every_headline_number_equals_the_sql_recomputation(metrics, expected):
    figs, significant = expected
    head = metrics["headline"]
    assert {"sales_ready_leads", "sales_ready_leads_commitment", "follow_up_within_sla", "mql_to_sql", "win_rate",
            "pipeline_created", "biggest_change"} == set(head)
    assert head["sales_ready_leads_commitment"] == FIELDS["marketing"]["sales_ready_leads_per_quarter"]
    for key, v in head.items():
        if key == "sales_ready_leads_commitment":
            continue
        name = v["metric"] if key == "biggest_change" else key
        kind = figs["2026Q3"][name][0]
        assert same(kind, v["value"], shown(kind, figs["2026Q3"][name][1])), key
        assert same(kind, v["previous"], shown(kind, figs["2026Q2"][name][1])), key
        assert v["change_significant"] == significant[(name, "previous")], key
        assert v["higher_is_better"] == (name != "hours_to_first_follow_up")
    # the biggest change is the most significant change vs last quarter
    p = {name: p_value(kind, now, figs["2026Q2"][name][1]) for name, (kind, now) in figs["2026Q3"].items()}
    assert head["biggest_change"]["metric"] == min(p, key=p.get)


def test_sla_figures_match_the_truth_and_the_notebook_writes_the_lead_keys(metrics):
    truth = json.loads((WS / "truth.json").read_text())["sla_measures"]["2026Q3"]
    s = metrics["sections"]["sla_scorecard"]
    assert s["sales_ready_leads"] == truth["sales_ready_leads"]
    assert (s["follow_up_within_sla"]["k"], s["follow_up_within_sla"]["n"]) == (truth["followed_up_within_sla"],
                                                                               truth["follow_up_eligible"])
    assert s["marketing_volume_met"] is True and "rate" in metrics["sections"]["win_loss"]["win_rate"]
    assert all({"k", "n", "rate"} <= set(v) for v in metrics["sections"]["cohort_funnel"].values())
    assert metrics["skipped"] == {"qualification_monitor": metrics["sections"]["qualification_monitor"]["skipped"]}
