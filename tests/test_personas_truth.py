"""Step 1 on the embedded sample against its planted truth (data/sample/truth.json)."""
import json
from collections import Counter

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from salign import personas
from salign.core import paths
from salign.core.strictyaml import load_model
from salign.definitions.models import PersonaSet
from salign.definitions.rules import Condition
from salign.workspace.load import load_workspace

SAMPLE = paths.SAMPLE_WORKSPACE


@pytest.fixture(scope="module")
def truth():
    return json.loads((SAMPLE / "truth.json").read_text())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Every section of the notebook, run once on the sample."""
    tables = load_workspace(SAMPLE)
    value = personas.customer_value(tables)
    marks = personas.markers(value)
    segs = personas.segments(value, marks)
    teams = personas.team_personas(tables, value)
    out = tmp_path_factory.mktemp("personas")
    return {"tables": tables, "value": value, "marks": marks, "combos": personas.conjunctions(value, marks),
            "segs": segs, "teams": teams, "where": personas.team_segments(teams, segs),
            "common": personas.common_set(tables, value, segs, out), "out": out}


def planted_segment_of(run, truth) -> dict:
    """Data-driven segment -> the planted segment most of its customers belong to."""
    c = run["value"].customers
    planted = c["account_id"].map(truth["segments"])
    found = run["segs"].labels.reindex(c["account_id"]).to_numpy()
    return {s: Counter(planted[found == s]).most_common(1)[0][0] for s in set(found)}


def test_customers_and_value_follow_the_truths_definition(run, truth):
    c = run["value"].customers
    assert set(c["account_id"]) == set(truth["segments"])
    churned = set(c.loc[c["churned_at"].notna(), "account_id"])
    # best = top 20% by value with churned customers left out; worst = bottom 20% plus every churned customer
    assert set(c.loc[c["best"], "account_id"]) == set(truth["best_customers"]) - churned
    assert set(c.loc[c["worst"], "account_id"]) == set(truth["worst_customers"]) | churned


def test_planted_segments_are_recovered(run, truth):
    c = run["value"].customers
    planted = c["account_id"].map(truth["segments"])
    found = run["segs"].labels.reindex(c["account_id"])
    assert found.notna().all()
    assert adjusted_rand_score(planted, found) >= 0.8
    assert run["segs"].k == len(truth["segment_profiles"])


def test_segment_rules_reproduce_their_segments(run):
    t = run["segs"].table
    assert (t["rule_recall"] >= 0.9).all() and (t["rule_precision"] >= 0.9).all()


def test_target_segments_are_the_valuable_ones(run, truth):
    names = planted_segment_of(run, truth)
    t = run["segs"].table
    assert {names[s] for s in t.loc[t["target"], "segment"]} == set(truth["valuable_segments"])
    assert names["S1"] == truth["best_segment"]  # segments are numbered by value per customer
    assert names[t["segment"].iloc[-1]] == truth["unprofitable_segment"]


def _found(marks, customers, planted, outcome) -> bool:
    """A planted marker is found when a significant level of its field, with the planted sign, is (mostly)
    the planted condition: the same text value, or a numeric bin most of whose customers satisfy it."""
    cond = Condition.model_validate(planted["condition"])
    inside = cond.evaluate(customers).to_numpy()
    t = marks.table
    hits = t[(t["attribute"] == cond.field) & t[f"{outcome}_significant"] & (t[f"{outcome}_sign"] == planted["sign"])]
    for _, r in hits.iterrows():
        if cond.eq is not None:
            if r["condition"].eq is not None and str(r["condition"].eq).casefold() == str(cond.eq).casefold():
                return True
        elif inside[r["mask"]].mean() >= 0.5:
            return True
    return False


@pytest.mark.parametrize("outcome", ["best", "worst"])
def test_every_planted_marker_is_found_with_its_sign(run, truth, outcome):
    missing = [m for m in truth[f"{outcome}_markers"] if not _found(run["marks"], run["value"].customers, m, outcome)]
    assert not missing, missing


def test_no_noise_attribute_is_significant(run, truth):
    t = run["marks"].table
    noise = t[t["attribute"].isin(truth["noise_attributes"])]
    assert set(noise["attribute"]) == set(truth["noise_attributes"])  # they were tested
    assert not (noise["best_significant"] | noise["worst_significant"]).any()
    assert set(truth["noise_attributes"]).isdisjoint(run["segs"].features)


def test_planted_conjunction_is_the_strongest_mark(run, truth):
    combos = run["combos"].table
    top = combos[combos["direction"] == "mark"].iloc[0]
    assert top["separation"] > top["best_part"]
    c = run["value"].customers
    planted = Condition.model_validate(truth["conjunction"]["rule"]).evaluate(c)
    mine = top["rule"].evaluate(c)
    assert planted[mine].mean() >= 0.9  # the found rule is the planted group (a narrower employee range)
    fields = {p.field: p for p in top["rule"].all}
    assert fields["industry"].eq == "Software" and fields["source"].eq == "event"


@pytest.mark.parametrize("team", ["marketing", "sales"])
def test_each_teams_planted_mistakes_show_up(run, truth, team):
    names = planted_segment_of(run, truth)
    verdicts = run["where"].verdicts[team]
    for key in ("covered", "right", "wrong", "missed"):
        assert sorted(names[s] for s in verdicts[key]) == sorted(truth["team_personas"][team][key]), key


def test_teams_separation_is_measured_and_compared(run):
    teams = run["teams"]
    c = run["value"].customers
    m = teams.membership
    for team in ("marketing", "sales"):
        claimed = m[team]
        expected = claimed[c["best"]].mean() - claimed[c["worst"]].mean()
        assert teams.teams.set_index("team").at[team, "separation"] == pytest.approx(expected)
    d = teams.difference
    assert d["ci_low"] <= d["estimate"] <= d["ci_high"] and d["resamples"] > 1900
    assert teams.better == ("marketing" if d["ci_low"] > 0 else "sales" if d["ci_high"] < 0 else None)
    assert sum(teams.claimed.values()) == len(c)


def test_overlap_matrix_counts_shared_customers(run):
    teams = run["teams"]
    m = teams.membership
    ov = teams.overlap
    for a in ov.index:
        assert ov.at[a, a] == m[a].sum()
        for b in ov.columns:
            assert ov.at[a, b] == (m[a] & m[b]).sum()


def test_common_set_is_written_loads_and_names_its_origins(run, truth):
    common = run["common"]
    path = run["out"] / "personas.common.yaml"
    loaded = load_model(PersonaSet, path)
    assert loaded.team == "common" and [p.id for p in loaded.personas] == [p.id for p in common.persona_set.personas]
    names = planted_segment_of(run, truth)
    origin = {names[p.evidence["segment"]]: p for p in loaded.personas}
    assert set(origin) == set(truth["valuable_segments"])
    expected = {"scaleup_software": "marketing.growth_marketer", "financial_services": "sales.financial_services_buyer",
                "healthcare_midmarket": "marketing.healthcare_operations"}
    for seg, team_persona in expected.items():
        assert any(x.startswith(team_persona) for x in origin[seg].evidence["team_personas"]), origin[seg].evidence
    # evidence counts are those of the rule (first match), and the unassigned bucket holds the rest
    c = run["value"].customers
    first = loaded.first_match(c)
    for p in loaded.personas:
        assert p.evidence["customers"] == (first == p.id).sum()
    t = common.table.set_index("group")
    assert t.at["unassigned", "customers"] == (first == "unassigned").sum() > 0
    assert t["customers"].sum() == len(c)
    assert {names[s] for s in common.left_out["segment"]} == set(truth["segment_profiles"]) - set(truth["valuable_segments"])


def test_metrics_are_json_and_stable(run):
    for key in ("value", "marks", "combos", "segs", "teams", "where", "common"):
        json.dumps(run[key].metrics(), default=lambda x: x.as_dict())
    again = personas.markers(run["value"])
    assert again.metrics() == run["marks"].metrics()


def test_leads_are_placed_in_team_personas(run):
    leads = run["tables"].leads
    p = run["teams"].personas
    assert (p["leads"] > 0).all() and (p["leads"] <= len(leads)).all()
    assert run["teams"].leads_total == len(leads)
    assert isinstance(run["teams"].personas, pd.DataFrame)
