"""Step 1 building blocks on small, hand-checkable data: value, levels, markers, conjunctions, rules, teams, sets."""
import textwrap

import numpy as np
import pandas as pd
import pytest

from salign import personas
from salign.core.problems import WorkspaceError
from salign.core.strictyaml import load_model
from salign.definitions.models import PersonaSet
from salign.definitions.rules import Condition
from salign.personas.common import FILE, to_yaml
from salign.personas.levels import levels, nice
from salign.personas.tree_rules import cut_bounds, group_rules
from salign.personas.value import CustomerValue, ValueDefinitionError
from salign.report.html import result_html
from salign.runner.params import ParameterError, validate
from salign.workspace.load import load_workspace
from salign.workspace.tables import MissingData


def write(ws, name, text):
    (ws / "definitions" / name).write_text(textwrap.dedent(text), encoding="utf-8")


def by_id(value):
    return value.customers.set_index("account_id")


# -- customer value ------------------------------------------------------------------------------------------


def test_default_value_is_won_revenue_times_margin_and_churned_is_worst(tiny_workspace):
    v = personas.customer_value(load_workspace(tiny_workspace))
    c = by_id(v)
    assert c["value"].to_dict() == {"A1": 50000 * 0.6, "A2": 3000 * 0.1, "A3": 120000 * 0.5}
    assert list(c.index[c["best"]]) == ["A3"] and list(c.index[c["worst"]]) == ["A2"]
    m = v.metrics()
    assert m["value_definition"] == "won_revenue x gross_margin" and m["churned"] == 1 and m["filled"] == {}
    assert "default" in v.source


def test_value_yaml_weights_named_components(tiny_workspace):
    write(tiny_workspace, "value.yaml", """\
        version: 1
        terms:
          - {factors: [won_revenue]}
          - {factors: [churn], weight: -1000}
          - {factors: [tenure], weight: 10}
          - {factors: [annual_revenue, won_deals], weight: 0.001}
        churned_is_worst: false
        """)
    tables = load_workspace(tiny_workspace)
    v = personas.customer_value(tables)
    c = by_id(v)
    as_of = pd.Timestamp("2026-01-01", tz="Europe/Berlin").tz_convert("UTC")
    tenure_a1 = (as_of - pd.Timestamp("2025-12-01T12:00:00Z")).total_seconds() / (365.25 * 86400)
    assert c.at["A1", "value"] == pytest.approx(50000 + 10 * tenure_a1 + 20000)
    assert c.at["A2", "value"] == pytest.approx(3000 - 1000 + 0 + 1000)  # churned before the win: tenure 0
    assert "definitions/value.yaml" in v.source
    assert v.metrics()["value_definition"] == ("won_revenue - 1,000 x churn + 10 x tenure "
                                               "+ 0.00 x annual_revenue x won_deals")
    assert c["worst"].sum() == 1  # the bottom 20% only: churned customers are not worst by definition here


def test_value_yaml_naming_an_unknown_component_says_what_exists(tiny_workspace):
    write(tiny_workspace, "value.yaml", "version: 1\nterms:\n  - {factors: [won_revenue, profit]}\n")
    with pytest.raises(ValueDefinitionError, match="'profit'.*known: churn, gross_margin, tenure.*annual_revenue"):
        personas.customer_value(load_workspace(tiny_workspace))


def test_value_yaml_is_strict(tiny_workspace):
    write(tiny_workspace, "value.yaml", "version: 1\nterms:\n  - {factors: [won_revenue]}\nweights: 3\n")
    with pytest.raises(WorkspaceError) as err:
        load_workspace(tiny_workspace)
    assert any(p.file.endswith("value.yaml") and p.line == 4 for p in err.value.problems)


def test_missing_margin_counts_as_one_and_is_reported(tiny_workspace):
    acc = tiny_workspace / "accounts.csv"
    acc.write_text(acc.read_text().replace(",0.6,", ",,"))
    v = personas.customer_value(load_workspace(tiny_workspace))
    assert by_id(v).at["A1", "value"] == 50000 and v.metrics()["filled"] == {"gross_margin": 1}
    assert "1 of 3 customers have no gross_margin" in result_html(v)


def test_no_won_deal_means_no_customers(tiny_workspace):
    opps = tiny_workspace / "opportunities.csv"
    opps.write_text(opps.read_text().replace(",won,", ",lost,"))
    with pytest.raises(MissingData, match="no customers"):
        personas.customer_value(load_workspace(tiny_workspace))


def test_value_yaml_changes_who_is_best_on_the_sample(sample_copy):
    default = personas.customer_value(load_workspace(sample_copy))
    write(sample_copy, "value.yaml", "version: 1\nterms:\n  - {factors: [won_revenue]}\n")
    revenue = personas.customer_value(load_workspace(sample_copy))

    def best_in(v, industry):
        c = v.customers
        return int((c["best"] & (c["industry"] == industry)).sum())

    # manufacturers bring the biggest deals at a negative margin: best by revenue, never best by profit
    assert best_in(default, "Manufacturing") == 0 < best_in(revenue, "Manufacturing")


# -- levels and rules ----------------------------------------------------------------------------------------


def test_nice_numbers():
    assert [nice(x) for x in (140, 690, 3000, 12000, 0, -0.7, 0.004)] == [100, 500, 2000, 10000, 0, -0.5, 0.005]


def test_integer_bins_do_not_overlap_and_cover_every_value():
    frame = pd.DataFrame({"employees": np.r_[np.arange(5, 50), np.arange(200, 2000, 7), [10000, 50000, 0]]})
    lv = levels(frame, "employees", bins=5)
    masks = np.vstack([c.evaluate(frame).to_numpy() for _, c in lv])
    assert (masks.sum(axis=0) == 1).all()
    assert lv[0][0].startswith("under ") and lv[-1][0].endswith(" or more")


def test_text_levels_ignore_case_and_name_missing():
    frame = pd.DataFrame({"source": ["Event", "event", "web", None]})
    lv = levels(frame, "source")
    assert [label for label, _ in lv] == ["Event", "web", "missing"]
    assert lv[0][1].evaluate(frame).sum() == 2 and lv[2][1].evaluate(frame).sum() == 1


def test_cut_bounds_split_at_round_numbers():
    assert cut_bounds(1987, 2013, True) == (1999, 2000)
    assert cut_bounds(49, 50, True) == (49, 50)
    assert cut_bounds(0.734, 0.81, False) == (0.8, 0.8)


def test_group_rules_reproduce_a_clean_split():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"industry": rng.choice(["Software", "Retail", "Banking"], 300),
                          "employees": rng.integers(10, 5000, 300)})
    labels = np.where(frame["industry"] == "Software", 0, np.where(frame["employees"] >= 1000, 1, 2))
    rules = group_rules(labels, frame, ["employees"], ["industry"], max_leaves=6)
    for label, rule in rules.items():
        assert (rule.evaluate(frame).to_numpy() == (labels == label)).all(), rule.describe()


# -- markers and conjunctions --------------------------------------------------------------------------------


def synthetic_value(n=400, seed=3) -> CustomerValue:
    """Customers whose best/worst status depends on ``a`` and ``b`` together, not on ``noise``."""
    rng = np.random.default_rng(seed)
    c = pd.DataFrame({"account_id": [f"A{i:04d}" for i in range(n)],
                      "a": rng.choice(["yes", "no"], n), "b": rng.choice(["yes", "no"], n),
                      "noise": rng.choice(["x", "y", "z"], n), "size": rng.integers(1, 1000, n)})
    both = (c["a"] == "yes") & (c["b"] == "yes")
    score = np.where(both, 3.0, 0.0) + rng.normal(0, 1, n)
    c["value"] = score
    order = np.argsort(-score)
    c["best"] = np.isin(np.arange(n), order[: n // 5])
    c["worst"] = np.isin(np.arange(n), order[-n // 5:])
    kinds = {"a": "firmographic", "b": "first contact", "noise": "firmographic", "size": "firmographic"}
    return CustomerValue(c, 0.2, 0.2, kinds=kinds)


def test_markers_find_the_signal_and_not_the_noise():
    m = personas.markers(synthetic_value())
    t = m.table.set_index(["attribute", "level"])
    assert t.loc[("a", "yes"), "best_significant"] and t.loc[("a", "yes"), "best_sign"] == "+"
    assert t.loc[("b", "no"), "worst_significant"] and t.loc[("b", "no"), "worst_sign"] == "+"
    assert not t.loc["noise", "best_significant"].any() and not t.loc["noise", "worst_significant"].any()
    assert set(m.relevant_attributes) == {"a", "b"}
    row = t.loc[("a", "yes")]
    assert row["best_lift_lo"] <= row["best_lift"] <= row["best_lift_hi"]
    assert row["best_lift"] == pytest.approx(row["best_share_with"] / 0.2)


def test_fisher_p_equals_scipy():
    from scipy.stats import fisher_exact

    from salign.personas.markers import fisher_p

    rng = np.random.default_rng(1)
    N, K = 463, 89
    n = rng.integers(5, 300, 50)
    k = np.array([rng.integers(max(0, b + K - N), min(b, K) + 1) for b in n])
    expected = [fisher_exact([[a, b - a], [K - a, N - b - (K - a)]]).pvalue for a, b in zip(k, n)]
    assert fisher_p(k, n, K, N) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_conjunction_beats_its_parts():
    v = synthetic_value()
    combos = personas.conjunctions(v, personas.markers(v))
    top = combos.table[combos.table["direction"] == "mark"].iloc[0]
    assert {(p.field, p.eq) for p in top["rule"].all} == {("a", "yes"), ("b", "yes")}
    assert top["separation"] > top["best_part"] and top["n"] >= combos.counts["min_support"]


# -- teams, common set, adopted set --------------------------------------------------------------------------


def test_team_personas_on_the_tiny_workspace(tiny_workspace):
    tables = load_workspace(tiny_workspace)
    v = personas.customer_value(tables)
    teams = personas.team_personas(tables, v)
    assert teams.claimed == {"both": 0, "marketing": 1, "sales": 1, "neither": 1}
    p = teams.personas.set_index("persona")
    assert p.at["marketer", "customers"] == 1 and p.at["marketer", "leads"] == 1  # L1, Marketing
    assert p.at["big_company", "best"] == 1 and p.at["big_company", "leads"] == 1  # L3, 1,200 employees
    t = teams.teams.set_index("team")
    assert t.at["sales", "separation"] == 1.0 and t.at["marketing", "separation"] == 0.0
    assert teams.better is None and "Too few best or worst" in teams.verdict()  # 1 best, 1 worst


def test_segments_need_enough_customers(tiny_workspace):
    v = personas.customer_value(load_workspace(tiny_workspace))
    with pytest.raises(MissingData, match="3 customers"):
        personas.segments(v, personas.markers(v))


def test_common_yaml_round_trips(tmp_path):
    rule = Condition.model_validate({"all": [{"field": "industry", "in": ["Software"]},
                                             {"field": "employees", "between": [200, 1999]}]})
    pset = PersonaSet(team="common", personas=[{"id": "software", "name": "Software", "rule": rule,
                                                "evidence": {"customers": 3, "team_personas": ["marketing.x"]}}])
    text = to_yaml(pset, pd.DataFrame(columns=["segment", "customers", "worst", "value_share", "description"]))
    assert "between:\n      - 200\n      - 1999" in text and "200.0" not in text
    (tmp_path / FILE).write_text(text)
    assert load_model(PersonaSet, tmp_path / FILE) == pset


def test_adopted_set_is_measured_with_an_unassigned_bucket(tiny_workspace):
    write(tiny_workspace, FILE, """\
        version: 1
        team: common
        personas:
          - id: software_buyer
            name: Software buyer
            rule: {field: industry, in: [software]}
        """)
    tables = load_workspace(tiny_workspace)
    mine = personas.adopted_set(tables, personas.customer_value(tables))
    t = mine.table.set_index("group")
    assert t.at["software_buyer", "customers"] == 2 and t.at["unassigned", "customers"] == 1
    assert t.at["software_buyer", "leads"] == 2 and t.at["unassigned", "leads"] == 2
    assert mine.metrics()["unassigned"]["worst"] == 1


def test_adopted_set_is_skipped_without_one(tiny_workspace):
    tables = load_workspace(tiny_workspace)
    with pytest.raises(MissingData, match="personas.common.yaml"):
        personas.adopted_set(tables, personas.customer_value(tables))


def test_k_range_is_validated():
    with pytest.raises(ParameterError, match="k_min"):
        validate("01_personas", k_min=6, k_max=3)
