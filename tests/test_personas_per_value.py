"""Persona rules on a million leads (issue 14): only the columns a rule reads are joined, each distinct lead once."""
from types import SimpleNamespace

import numpy as np
import pandas as pd

from salign.common.facts import leads_with_accounts
from salign.definitions.models import Persona, PersonaSet
from salign.definitions.rules import Condition
from salign.personas.common import measure, rule_fields
from salign.personas.markers import _holds


def _tables():
    leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3", "L4"], "account_id": ["A1", None, "A2", "A1"],
                          "job_level": ["VP", "Manager", " vp", None], "email": ["a@x", "b@x", "c@x", "d@x"]},
                         index=[5, 6, 7, 8])
    accounts = pd.DataFrame({"account_id": ["A1", "A2"], "industry": ["Software", "Retail"],
                             "employees": [120.0, 8.0]})
    return SimpleNamespace(leads=leads, accounts=accounts)


def test_leads_with_accounts_joins_only_the_fields_asked_for():
    t = _tables()
    got = leads_with_accounts(t, ["industry", "job_level"])
    assert list(got.columns) == ["industry", "job_level"]
    assert got.index.tolist() == [5, 6, 7, 8]
    assert got["industry"].tolist()[:1] == ["Software"] and pd.isna(got["industry"].iloc[1])
    assert got["industry"].tolist()[2:] == ["Retail", "Software"]
    assert got["job_level"].tolist()[:3] == ["VP", "Manager", " vp"]
    # a lead column alone: no join
    assert list(leads_with_accounts(t, ["job_level"]).columns) == ["job_level"]
    # a field neither table has: every column, so the rule's error names them all
    assert list(leads_with_accounts(t, ["nope"]).columns) == ["lead_id", "account_id", "job_level", "email",
                                                             "industry", "employees"]


def test_measure_counts_leads_per_persona_by_hand():
    t = _tables()
    pset = PersonaSet(team="common", personas=[
        Persona(id="senior", name="Senior", rule=Condition.model_validate({"field": "job_level", "in": ["VP"]})),
        Persona(id="software", name="Software",
                rule=Condition.model_validate({"field": "industry", "in": ["software"]}))])
    assert rule_fields(pset) == ["job_level", "industry"]
    customers = pd.DataFrame({"job_level": ["VP", "Manager"], "industry": ["Retail", "Software"],
                              "value": [10.0, 1.0], "best": [True, False], "worst": [False, True]})
    value = SimpleNamespace(customers=customers)
    table = measure(pset, value, leads_with_accounts(t, rule_fields(pset)))
    # L1 VP (senior), L2 Manager without account (unassigned), L3 " vp" (senior), L4 no level, Software (software)
    assert dict(zip(table["group"], table["leads"])) == {"senior": 2, "software": 1, "unassigned": 1}


def test_marker_levels_hold_for_the_same_customers_as_row_by_row():
    customers = pd.DataFrame({"industry": ["Software", "software ", "Retail", None] * 25,
                              "employees": [10.0, 200.0, np.nan, 50.0] * 25})
    text = Condition.model_validate({"field": "industry", "in": ["Software"]})
    assert _holds(text, customers, "industry").tolist() == [True, True, False, False] * 25
    big = Condition.model_validate({"field": "employees", "min": 50})
    assert _holds(big, customers, "employees").tolist() == [False, True, False, True] * 25
