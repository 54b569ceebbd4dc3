"""Candidate features, bins and the scorecard against its challengers (issue 12, items 1-3).

Each fixture is built so the expected answer follows from its construction: a landing-page code
that repeats (495 pages over 8,000 leads) and drives success; a "days since last contact" with
-1 ("never contacted") for 92% of leads; a form that stops asking the field that carries the
signal, in the newest leads, so naive Bayes' marginal counts beat a regression on the holdout.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from salign import qualify
from salign.qualify import leakage
from salign.qualify import scorecard as sc
from salign.qualify.auc import auc_ci
from salign.qualify.compare import NOT_SIGNED, SIGN_MARGIN, Comparison, ModelResult, lift_by_decile
from salign.qualify.dataset import Dataset
from salign.qualify.features import candidates
from salign.qualify.models import naive_bayes
from salign.qualify.target import holdout_split
from salign.report.html import result_html
from salign.scoring.bins import SPIKE_SHARE, fit_spec
from salign.workspace.tables import MissingData

PAGES = 495


class NoRules:
    """A workspace without the teams' qualification rules (compare_models skips them)."""

    def definition(self, name):
        raise MissingData(f"no {name}")


def _dated(n, rng):
    created = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.sort(rng.uniform(0, 700, n)), "D")
    return {"lead_id": [f"L{i:05d}" for i in range(n)], "created_at": created,
            "decided_at": created + pd.Timedelta(days=1)}


def landing_pages(n=8000, seed=0, contacted_share=0.08) -> pd.DataFrame:
    """Success driven by the landing page (a repeating numeric code) and by having been contacted before."""
    rng = np.random.default_rng(seed)
    w = 1.0 / np.arange(1, PAGES + 1) ** 1.1                      # a few big pages, a long tail of small ones
    page = rng.choice(PAGES, n, p=w / w.sum())
    page_effect = rng.normal(0, 1.0, PAGES)
    contacted = rng.random(n) < contacted_share
    pdays = np.where(contacted, rng.integers(1, 400, n), -1)      # -1: never contacted before
    region = rng.choice(["EMEA", "NA", "APAC", "LATAM"], n)
    visits = rng.poisson(1.0, n)
    logit = -2.0 + page_effect[page] + 1.5 * contacted - 0.002 * np.where(contacted, pdays, 0) \
        + np.where(region == "EMEA", 0.3, 0.0) + 0.3 * visits
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(_dated(n, rng) | {
        "y": y, "landing_page_id": page + 100, "pdays": pdays, "region": region, "n_web_visit": visits.astype(float),
        "lead_number": rng.permutation(n) + 660_000,                    # a true identifier, numeric
        "ref_code": [f"R{v:07d}" for v in rng.permutation(n)],         # a true identifier, text
        "account_id": rng.choice([f"A{i:03d}" for i in range(300)], n),  # a link to accounts.csv
        "promo": rng.choice([f"P{i:04d}" for i in range(2000)], n),      # repeats, but no value is frequent
        "coin": rng.integers(0, 2, n).astype(float),                   # no signal at all
        "tenure": np.where(rng.random(n) < 0.995, 5.0, 7.0)})          # one value for 99.5% of leads


def form_change(n=8000, seed=8) -> pd.DataFrame:
    """job_level drives success; department stands in for it; newer leads are less and less often asked job_level."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / n
    levels = np.array(["C-level", "VP", "Director", "Manager", "Staff"])
    effect = np.array([1.6, 1.0, 0.4, -0.4, -1.2])
    lv = rng.integers(0, 5, n)
    dept_of = np.array(["Executive", "Executive", "Marketing", "Operations", "Support"])
    dept = np.where(rng.random(n) < 0.7, dept_of[lv], rng.choice(["Executive", "Marketing", "Operations", "Support"], n))
    region = rng.choice(["EMEA", "NA", "APAC"], n)
    visits = rng.poisson(1.0, n)
    logit = -1.5 + effect[lv] + 0.25 * visits + np.where(region == "EMEA", 0.2, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    asked = rng.random(n) >= np.clip((t - 0.4) / 0.4, 0, 1) * 0.9  # from 40% of the way on, the form asks less
    return pd.DataFrame(_dated(n, rng) | {
        "y": y, "job_level": np.where(asked, levels[lv], None), "department": dept, "region": region,
        "n_web_visit": visits.astype(float)})


def interaction(n=8000, seed=0) -> pd.DataFrame:
    """Partners bring good large accounts, the web good small ones: neither field alone says much."""
    rng = np.random.default_rng(seed)
    size = rng.choice(["small", "large"], n)
    channel = rng.choice(["partner", "web"], n)
    visits = rng.poisson(1.5, n)
    logit = -1.2 + 0.5 * np.where((size == "large") == (channel == "partner"), 1, -1) + 0.2 * visits
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(_dated(n, rng) | {"y": y, "size": size, "channel": channel,
                                          "n_web_visit": visits.astype(float)})


def study(facts: pd.DataFrame) -> Dataset:
    """The qualification study's data for an outcome frame (time-ordered holdout of the newest quarter)."""
    cands = candidates(facts)
    y = facts["y"].to_numpy()
    split = holdout_split(facts["created_at"], y, 0.25, 0)
    report = leakage.check(cands, y, split.train, facts["decided_at"], ())
    return Dataset(facts, cands, report, split, "sql", 90, "fixture", facts["created_at"].max(), 0)


@pytest.fixture(scope="module")
def pages():
    data = study(landing_pages())
    fit = qualify.fit_scorecard(data)
    return dict(data=data, fit=fit, comparison=qualify.compare_models(NoRules(), data, fit))


# --------------------------------------------------------------------------- item 1: identifiers by their values

def test_a_repeating_code_named_id_is_a_category_and_identifiers_are_named_by_their_values(pages):
    c = pages["data"].cands
    assert c.kinds["landing_page_id"] == "categorical"          # 495 codes over 8,000 leads: a category
    assert c.frame["landing_page_id"].nunique() <= PAGES
    assert c.frame["landing_page_id"].dropna().iloc[0] in {str(p) for p in range(100, 100 + PAGES)}
    assert c.dropped["lead_number"] == c.dropped["ref_code"] == \
        "an identifier (a distinct value for almost every lead: 8,000 values for 8,000 leads)"
    assert c.dropped["account_id"].startswith("a link to the accounts table (300 different accounts for the 8,000 leads")
    assert "promo" in c.kinds                                      # 2,000 values over 8,000 leads is not an identifier


def test_the_landing_page_earns_its_place_on_the_card(pages):
    data, fit = pages["data"], pages["fit"]
    assert "landing_page_id" in fit.card.fields
    counts = data.features.loc[data.train, "landing_page_id"].value_counts()
    spec = fit.card.specs[fit.card.fields.index("landing_page_id")]
    # pages held by 20 to 59 training leads carry their own effects: the card gives them points of their own
    assert fit.min_level == 20 and len(spec.levels) == (counts >= 20).sum() > (counts >= 60).sum()
    aucs = {m.key: m.auc.value for m in pages["comparison"].models}
    assert max(aucs.values()) - aucs["scorecard"] <= SIGN_MARGIN, aucs
    without = study(landing_pages().drop(columns="landing_page_id"))
    auc_without = qualify.fit_scorecard(without).auc.value
    # the pages' effects (SD 1 on the log-odds, most leads on the big pages) are worth several points of AUC
    assert fit.auc.value - auc_without > 0.03, (fit.auc.value, auc_without)
    assert data.test.sum() == 2000


# --------------------------------------------------------------------------- item 2: a spike gets its own bin

def test_a_spike_of_minus_one_is_a_range_of_its_own():
    rng = np.random.default_rng(5)
    x = pd.Series(np.where(rng.random(6000) < 0.92, -1.0, rng.integers(1, 400, 6000)))
    spec = fit_spec("pdays", "numeric", x)
    codes = spec.codes(x)
    smallest_other = x[x > -1].min()
    assert spec.edges[0] == smallest_other                         # "below <first contact value>" is exactly -1
    assert set(codes[x == -1]) == {0} and not (codes[x > -1] == 0).any()
    assert len(spec.edges) >= 3                                    # the 8% contacted are cut into ranges too
    assert np.bincount(codes)[1:].min() >= 60                      # each range holds 1% of 6,000 leads


def test_a_spike_in_the_middle_is_cut_on_both_sides():
    rng = np.random.default_rng(6)
    x = pd.Series(np.concatenate([rng.normal(-50, 10, 2000).round(1), np.zeros(3000), rng.normal(80, 20, 3000)]))
    assert (x == 0).mean() > SPIKE_SHARE
    spec = fit_spec("balance", "numeric", x)
    zero_bin = spec.codes(pd.Series([0.0]))[0]
    assert set(spec.codes(x)[x == 0]) == {zero_bin}
    assert (spec.codes(x) == zero_bin).sum() == 3000               # nothing but the zeros in it


def test_without_a_spike_the_quantile_cuts_are_unchanged():
    x = pd.Series(np.random.default_rng(7).lognormal(4, 1.5, 6000).round())
    assert (x.value_counts(normalize=True).max()) < SPIKE_SHARE
    expected = np.unique(np.quantile(x, np.linspace(0, 1, 11)[1:-1], method="lower"))
    assert fit_spec("employees", "numeric", x).edges == tuple(float(f"{e:.6g}") for e in expected)


def test_every_candidate_off_the_card_is_named_with_its_reason(pages):
    data, fit = pages["data"], pages["fit"]
    assert "pdays" in fit.card.fields
    assert set(fit.unused) == set(data.kinds) - set(fit.card.fields)
    assert {"promo", "coin", "tenure"} <= set(fit.unused)
    assert fit.unused["promo"].startswith("no value is held by 20 or more training leads")   # 2,000 promos
    assert fit.unused["coin"].startswith("too weak")
    assert fit.unused["tenure"].startswith("no cut leaves 60 training leads")
    assert json.loads(json.dumps(fit.metrics()))["not_on_card"] == fit.unused
    page = result_html(fit)
    assert "Candidate features the scorecard does not use" in page
    assert all(f in page for f in fit.unused)


# --------------------------------------------------------------------------- item 3: the best honest model

@pytest.fixture(scope="module")
def drift():
    data = study(form_change())
    fit = qualify.fit_scorecard(data)
    return dict(data=data, fit=fit, comparison=qualify.compare_models(NoRules(), data, fit))


def test_regression_points_alone_lose_to_naive_bayes_on_the_drifting_holdout(drift):
    """The fixture reproduces the issue: the scorecard as it was (regression points only) loses by > 0.005."""
    data = drift["data"]
    X, y, train = data.features, data.y, data.train
    card, *_ = sc.fit(X[train], data.kinds, y[train], True, 0, methods=(sc.REGRESSION,))
    old = auc_ci(y[~train], card.score(X[~train])).value
    nb = auc_ci(y[~train], naive_bayes(X, data.kinds, y, train)).value
    assert nb - old > SIGN_MARGIN, (nb, old)


def test_the_scorecard_closes_the_gap_with_weights_of_evidence(drift):
    c, fit = drift["comparison"], drift["fit"]
    assert fit.points_from == sc.EVIDENCE and fit.C is None
    aucs = {m.key: m.auc.value for m in c.models}
    assert max(aucs.values()) - aucs["scorecard"] <= SIGN_MARGIN, aucs
    assert "weight of evidence" in result_html(fit)


def test_where_a_challenger_still_wins_the_page_says_why_the_scorecard_is_signed():
    data = study(interaction())                                    # only trees see the combination: about 0.1 AUC
    fit = qualify.fit_scorecard(data)
    c = qualify.compare_models(NoRules(), data, fit)
    d, _, _ = c.scorecard_gap
    if -d <= SIGN_MARGIN:
        pytest.fail(f"fixture no longer reproduces a gap: {d}")
    assert c.best.key == "gradient_boosting"
    assert "Why the scorecard is still the model to sign: " + NOT_SIGNED["gradient_boosting"] in c.verdict()
    assert "a field that combines the two, added to the leads, lets the card learn it" in result_html(c)


def _comparison(card_score, nb_score, y, points_from):
    models = [ModelResult(k, s, auc_ci(y, s), 0.1, lift_by_decile(y, s)) for k, s in
              (("scorecard", card_score), ("naive_bayes", nb_score))]
    return Comparison(models, y, "test", [], points_from)


def test_verdict_by_size_of_the_gap_and_what_was_tried():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 4000)
    good = y + rng.normal(0, 1.0, 4000)
    worse = y * 0.6 + rng.normal(0, 1.0, 4000)                     # AUC about 0.66 against about 0.76
    assert _comparison(good, worse, y, sc.REGRESSION).verdict() == "The scorecard is the most accurate model here."
    lost = _comparison(worse, good, y, sc.REGRESSION).verdict()
    assert "naive Bayes" in lost and "excludes zero" in lost and "ranked the newest training leads less well" in lost
    assert "rounds them to whole points" in _comparison(worse, good, y, sc.EVIDENCE).verdict()
    tiny = _comparison(good, good + 1e-3 * rng.normal(size=4000), y, sc.REGRESSION)
    if tiny.best.key == "naive_bayes":
        assert "too small to matter for signing" in tiny.verdict()


def test_a_code_column_scores_the_same_read_as_numbers_or_as_text():
    spec = fit_spec("landing_page_id", "categorical", pd.Series(["101"] * 40 + ["102"] * 40 + ["103"] * 5))
    assert spec.levels == ("101", "102")                             # 103: 5 leads, fewer than 30
    other, missing = 2, 3
    as_numbers = spec.codes(pd.Series([101.0, 102.0, np.nan, 103.0, 101.5]))
    as_text = spec.codes(pd.Series(["101", "102", None, "103", "101.5"], dtype=object))
    assert as_numbers.tolist() == as_text.tolist() == [0, 1, missing, other, other]


def test_several_spikes_each_keep_a_range_of_their_own():
    rng = np.random.default_rng(9)
    spikes = {0.0: 2400, 10.0: 1200, 50.0: 1000}                       # 30%, 15% and 12.5% of 8,000 leads
    x = pd.Series(np.concatenate([np.repeat(list(spikes), list(spikes.values())),
                                  rng.uniform(0.5, 100, 3400).round(2)]))
    spec = fit_spec("score", "numeric", x)
    codes = spec.codes(x)
    for v, n in spikes.items():
        assert (codes == spec.codes(pd.Series([v]))[0]).sum() == n     # each spike alone in its range
    assert len(spec.edges) < 10 and np.bincount(codes).min() >= 80     # at most 10 ranges, each 1% of the leads
