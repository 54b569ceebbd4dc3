import pandas as pd
import pytest
from pydantic import ValidationError

from salign.definitions.rules import Condition, RuleError, evaluate

FRAME = pd.DataFrame({
    "industry": ["Software", " software ", "Retail", None],
    "employees": [500, 2500, 20, None],
    "title": ["VP Marketing", "CTO", "marketing manager", None],
})


@pytest.mark.parametrize("rule, expected", [
    ({"field": "industry", "in": ["software"]}, [True, True, False, False]),
    ({"field": "industry", "not_in": ["software"]}, [False, False, True, False]),
    ({"field": "industry", "eq": "retail"}, [False, False, True, False]),
    ({"field": "employees", "min": 500}, [True, True, False, False]),
    ({"field": "employees", "max": 500}, [True, False, True, False]),
    ({"field": "employees", "between": [100, 1000]}, [True, False, False, False]),
    ({"field": "title", "contains": "Marketing"}, [True, False, True, False]),
    ({"field": "industry", "is_null": True}, [False, False, False, True]),
    ({"field": "industry", "is_null": False}, [True, True, True, False]),
    ({"all": [{"field": "industry", "in": ["software"]}, {"field": "employees", "max": 1000}]}, [True, False, False, False]),
    ({"any": [{"field": "industry", "in": ["retail"]}, {"field": "employees", "min": 2000}]}, [False, True, True, False]),
])
def test_operators(rule, expected):
    assert evaluate(rule, FRAME).tolist() == expected


@pytest.mark.parametrize("rule, message", [
    ({"field": "industry"}, "exactly one operator"),
    ({"field": "industry", "in": ["a"], "eq": "b"}, "exactly one operator"),
    ({"all": []}, "at least one"),
    ({"all": [{"field": "x", "eq": 1}], "field": "y"}, "not a mix"),
    ({"field": "employees", "between": [10, 1]}, "lower bound"),
    ({"field": "industry", "equals": "x"}, "Extra inputs"),
    ({"eq": 1}, "needs 'field'"),
])
def test_invalid_rules_are_rejected(rule, message):
    with pytest.raises(ValidationError, match=message):
        Condition.model_validate(rule)


def test_unknown_field_names_the_field_and_alternatives():
    with pytest.raises(RuleError, match="'sector'.*available: employees, industry, title"):
        evaluate({"field": "sector", "in": ["x"]}, FRAME)


def test_number_comparison_on_text_is_an_error():
    with pytest.raises(RuleError, match="holds text"):
        evaluate({"field": "industry", "min": 3}, FRAME)


def test_describe_reads_as_words():
    cond = Condition.model_validate({"all": [{"field": "industry", "in": ["software", "fintech"]},
                                             {"any": [{"field": "employees", "min": 200}, {"field": "title", "contains": "VP"}]}]})
    assert cond.describe() == "industry is one of software, fintech and (employees >= 200 or title contains 'VP')"
    assert cond.fields() == {"industry", "employees", "title"}


def test_no_code_is_executed_from_rule_text():
    evil = {"field": "industry", "eq": "__import__('os').system('false')"}
    assert evaluate(evil, FRAME).sum() == 0
