"""Work done once per distinct value (issue 14: a million leads): the answers must be those of the row-by-row work.

Every expectation is written out by hand from the fixture, or computed by the row-by-row code the fast path
replaced (kept here as the reference).
"""
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from salign.definitions.models import Persona, PersonaSet
from salign.definitions.rules import Condition
from salign.qualify import criteria, crosscheck, features, models
from salign.scoring.per_value import by_rows, by_value, row_groups, rules_frame, text_groups


def test_text_groups_one_group_per_distinct_text_and_one_for_missing():
    col = pd.Series([" a", "b", " a", None, "b", None, "c"], index=[10, 11, 12, 13, 14, 15, 16], dtype=object)
    first, inverse = text_groups(col)
    assert list(col.iloc[first]) == [" a", "b", "c", None]  # first rows of " a", "b", "c", then the missing one
    assert list(inverse) == [0, 1, 0, 3, 1, 3, 2]


@pytest.mark.parametrize("values", [
    [1, 1.0, "1"],                # 1 and 1.0 hash alike: not text
    ["a", None, float("nan")],    # two kinds of missing that str() tells apart
])
def test_text_groups_refuses_what_is_not_plain_text(values):
    assert text_groups(pd.Series(values, dtype=object)) is None
    assert text_groups(pd.Series([1.0, 2.0])) is None


def test_by_value_calls_the_function_on_distinct_values_only():
    col = pd.Series(["x "] * 1000 + [" y"] * 1000 + [None] * 5, dtype=object)
    seen = []

    def strip(s):
        seen.append(len(s))
        return s.str.strip()

    out = by_value(col, strip)
    assert seen == [3]
    assert out.tolist()[:1] == ["x"] and out.tolist()[1000] == "y" and pd.isna(out.iloc[-1])
    assert out.index.equals(col.index)


def test_row_groups_tell_apart_signed_zeros_and_group_missing():
    frame = pd.DataFrame({"a": ["p", "p", "q", "p", None], "n": [0.0, -0.0, 0.0, 0.0, np.nan]})
    first, inverse = row_groups(frame)
    # rows 0 and 3 are the same (p, 0.0); row 1 differs by the sign of zero; row 2 and row 4 stand alone
    assert inverse[0] == inverse[3]
    assert len({inverse[0], inverse[1], inverse[2], inverse[4]}) == 4
    assert len(first) == 4
    assert row_groups(pd.DataFrame({"a": [1, "1"]}, dtype=object)) is None


def test_by_rows_keeps_the_index_and_the_answers():
    frame = pd.DataFrame({"level": ["VP", "vp ", "VP", "Manager", None] * 3,
                          "employees": [10.0, 10.0, 500.0, np.nan, 10.0] * 3}, index=range(100, 115))
    pset = PersonaSet(team="common", personas=[
        Persona(id="senior", name="Senior", rule=Condition.model_validate({"field": "level", "in": ["VP"]})),
        Persona(id="big", name="Big", rule=Condition.model_validate({"field": "employees", "min": 100}))])
    out = by_rows(rules_frame(frame, ["level", "employees"]), pset.first_match)
    # VP (any case and spaces) first; else at least 100 employees; else unassigned
    assert out.tolist() == ["senior", "senior", "senior", "unassigned", "unassigned"] * 3
    assert out.index.equals(frame.index)


def test_rules_frame_keeps_the_whole_frame_when_a_field_is_missing():
    frame = pd.DataFrame({"a": [1], "b": [2]})
    assert list(rules_frame(frame, ["a"]).columns) == ["a"]
    assert list(rules_frame(frame, ["a", "zzz"]).columns) == ["a", "b"]  # the rule then fails naming every column


def test_feature_text_strips_and_blanks_are_missing():
    col = pd.Series([" Director", "Director ", "", "  ", None, "VP"] * 50, dtype=object)
    out = features._text(col)
    assert out.dtype == object
    assert out.iloc[:6].tolist()[:2] == ["Director", "Director"] and out.iloc[5] == "VP"
    assert out.iloc[2:5].isna().all()
    assert out.iloc[6:12].tolist()[:2] == ["Director", "Director"]


def test_criteria_treats_blank_text_as_absent():
    col = pd.Series(["a", "  ", "", None, " b "], dtype=object)
    present = col.notna().to_numpy() & by_value(col, criteria._not_blank).to_numpy(dtype=bool)
    assert present.tolist() == [True, False, False, False, True]


def test_crosscheck_holds_matches_evaluate_on_every_row():
    facts = pd.DataFrame({"industry": ["Software", " software", "Retail", None, "SOFTWARE"] * 40,
                          "employees": [5.0, 50.0, 500.0, np.nan, 5000.0] * 40})
    text = Condition.model_validate({"field": "industry", "in": ["software"]})
    between = Condition.model_validate({"field": "employees", "between": [10, 1000]})
    assert crosscheck._holds(text, facts).tolist() == [True, True, False, False, True] * 40
    assert crosscheck._holds(between, facts).tolist() == [False, True, True, False, False] * 40


def test_text_ranks_order_like_the_texts():
    col = pd.Series(["b", None, "a", "b", "10", "9"], dtype=object)
    # sorted texts: "(missing)" < "10" < "9" < "a" < "b"
    assert models._text_ranks(col).tolist() == [4, 0, 3, 4, 1, 2]


def _plain_logistic_regression(X, kinds, y, train):
    """The challenger as it was written before issue 14 (one-hot of the texts), as the reference."""
    cats = [c for c in X.columns if kinds[c] == "categorical"]
    nums = [c for c in X.columns if kinds[c] == "numeric"]
    frame = X.copy()
    frame[cats] = frame[cats].fillna("(missing)").astype(str)
    pre = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=models.MIN_LEVEL), cats),
        ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), nums)])
    model = make_pipeline(pre, LogisticRegression(C=1.0, max_iter=2000, random_state=0))
    model.fit(frame[train], y[train])
    return model.predict_proba(frame[~train])[:, 1]


def test_logistic_regression_on_text_ranks_equals_the_one_hot_of_texts():
    rng = np.random.default_rng(3)
    n = 1200
    level = rng.choice(["VP", "Director", "Manager", "rare1", "rare2"], n, p=[0.3, 0.3, 0.38, 0.01, 0.01])
    level = pd.Series(level, dtype=object).where(rng.random(n) > 0.1, None)
    region = pd.Series(rng.choice(["EMEA", "NA", "APAC"], n), dtype=object)
    employees = pd.Series(rng.lognormal(5, 1, n)).where(rng.random(n) > 0.2)
    y = ((level == "VP").to_numpy() | (rng.random(n) < 0.2)).astype(int)
    X = pd.DataFrame({"level": level, "region": region, "employees": employees})
    kinds = {"level": "categorical", "region": "categorical", "employees": "numeric"}
    train = np.arange(n) < 900
    # the holdout has a value training never saw: both encoders put it with the rare values
    X.loc[1000, "region"] = "LATAM"
    got = models.logistic_regression(X, kinds, y, train, 0)
    want = _plain_logistic_regression(X, kinds, y, train)
    np.testing.assert_array_equal(got, want)


def _reference_single_column_auc(x, kind, y, train):
    """The leakage check's single-column AUC as written before issue 14 (pandas keys), as the reference."""
    from salign.qualify.auc import auc_ci
    from salign.qualify.leakage import MIN_LEVEL, PRIOR_LEADS
    from salign.scoring.bins import fit_spec
    test = ~train
    prior = y[train].mean()
    if kind == "numeric":
        spec = fit_spec(x.name, kind, x[train])
        key = pd.Series(spec.codes(x), index=x.index)
    else:
        key = x.astype(object).where(x.notna(), "\0missing")
        counts = key[train].value_counts()
        key = key.where(key.isin(counts[counts >= MIN_LEVEL].index), "\0other")
    stats = pd.DataFrame({"k": y[train], "key": key[train].to_numpy()}).groupby("key")["k"].agg(["sum", "size"])
    rate = (stats["sum"] + PRIOR_LEADS * prior) / (stats["size"] + PRIOR_LEADS)
    enc = key[test].map(rate).fillna(prior).to_numpy(dtype=float)
    return auc_ci(y[test], enc).value


def test_single_column_auc_equals_the_pandas_keys():
    from salign.qualify.leakage import single_column_auc
    rng = np.random.default_rng(7)
    n = 3000
    train = np.arange(n) < 2200
    y = (rng.random(n) < 0.3).astype(int)
    # common values, rare ones (fewer than MIN_LEVEL training leads: "other"), missing, and holdout-only values
    text = pd.Series(rng.choice(["a", "b", "c", "r1", "r2"], n, p=[0.4, 0.3, 0.28, 0.01, 0.01]), dtype=object,
                     name="t").where(rng.random(n) > 0.05, None)
    text[2500:2510] = "new"
    num = pd.Series(rng.normal(size=n) + y, name="n").where(rng.random(n) > 0.1)
    for x, kind in ((text, "categorical"), (num, "numeric")):
        assert single_column_auc(x, kind, y, train) == _reference_single_column_auc(x, kind, y, train)
    # a column whose missing values are rare in training: missing joins "other"
    few = pd.Series(["a"] * 1500 + ["b"] * 1500, dtype=object, name="f")
    few[[3, 2300, 2400]] = None
    yy = np.r_[np.zeros(1500, int), np.ones(1500, int)]
    yy[::7] = 1 - yy[::7]
    assert single_column_auc(few, "categorical", yy, train) == _reference_single_column_auc(few, "categorical", yy,
                                                                                             train)


def test_criteria_find_the_dead_segment_and_the_blank_field_by_hand():
    from types import SimpleNamespace
    n, n_train = 1000, 800
    idx = np.arange(n)
    junk = idx % 10 == 0                                     # 100 leads from source "junk", never succeeding
    y = np.where(junk, 0, (idx % 3 == 0).astype(int))        # the others: every third succeeds
    source = pd.Series(np.where(junk, " junk", "web"), dtype=object)
    source[idx % 10 == 5] = "partner"
    # a phone that is blank text for every 4th lead: those never succeed
    phone = pd.Series(np.where(idx % 4 == 1, "   ", "+1 555"), dtype=object)
    y = np.where(idx % 4 == 1, 0, y)
    facts = pd.DataFrame({"source": source, "phone": phone, "y": y})
    feats = pd.DataFrame({"source": features._text(source)})
    train = idx < n_train
    data = SimpleNamespace(facts=facts, features=feats, y=y, train=train, kinds={"source": "categorical"})
    req = criteria._required(data, [])
    assert [r.field for r in req] == ["phone"]
    blank = (idx % 4 == 1) & train
    assert (req[0].without.k, req[0].without.n) == (0, int(blank.sum()))
    assert (req[0].with_.k, req[0].with_.n) == (int(y[train & ~blank].sum()), int((train & ~blank).sum()))
    segs = criteria._segments(data)
    assert [s.rule.describe() for s in segs] == ["source is junk"]
    assert (segs[0].train.k, segs[0].train.n) == (0, 80) and (segs[0].holdout.k, segs[0].holdout.n) == (0, 20)


def test_all_bool_is_true_only_for_python_booleans():
    assert features._all_bool(pd.Series([True, False, True], dtype=object))
    assert not features._all_bool(pd.Series([True, "yes"], dtype=object))
    assert not features._all_bool(pd.Series([True, np.bool_(False)], dtype=object))  # as before: bool alone
    assert not features._all_bool(pd.Series(["a", "b"], dtype=object))
