"""The challengers the scorecard is compared with, each fitted on the training leads.

- gradient boosting (scikit-learn's HistGradientBoosting: native categories, early stopping);
- plain logistic regression (one-hot categories, standardised numbers, no binning);
- a naive-Bayes frequency baseline of the kind open-source CRMs ship: per attribute value,
  the counts of leads that did and did not succeed, multiplied (scikit-learn's CategoricalNB
  on the same bins as the scorecard, Laplace-smoothed).

Each returns the predicted probability of success for the holdout leads.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import CategoricalNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from salign.qualify.features import CATEGORICAL, NUMERIC
from salign.scoring.bins import SMALL_LEVEL, fit_spec
from salign.scoring.per_value import by_value

#: gradient boosting: at most this many boosting rounds (early stopping usually ends far sooner) ...
GBM_MAX_ITER = 300
#: ... on at most this many training leads (a seeded subsample beyond)
GBM_MAX_TRAIN = 100_000
#: a category level needs this many training leads to be its own value in the challengers
MIN_LEVEL = SMALL_LEVEL


def gradient_boosting(X: pd.DataFrame, kinds: dict, y: np.ndarray, train: np.ndarray,
                      random_state: int = 0) -> np.ndarray:
    """Holdout probabilities of a HistGradientBoosting classifier.

    OpenMP is limited to one thread: on a busy 2-core machine the default two threads can stall
    the fit for minutes, while one thread fits 15,000 leads in well under a second. (Every fit
    in this package runs with one BLAS/OpenMP thread for the same reason.)
    """
    frame = X.copy()
    for col in frame.columns:
        if kinds[col] == CATEGORICAL:
            counts = frame.loc[train, col].value_counts()
            keep = sorted(counts[counts >= MIN_LEVEL].index[:250])
            frame[col] = pd.Categorical(frame[col].where(frame[col].isin(keep)), categories=keep)
    idx = np.flatnonzero(train)
    if len(idx) > GBM_MAX_TRAIN:
        idx = np.sort(np.random.default_rng(random_state).choice(idx, GBM_MAX_TRAIN, replace=False))
    model = HistGradientBoostingClassifier(max_iter=GBM_MAX_ITER, learning_rate=0.05, max_leaf_nodes=15,
                                           min_samples_leaf=40, l2_regularization=1.0, early_stopping=True,
                                           validation_fraction=0.15, n_iter_no_change=20, random_state=random_state)
    with threadpool_limits(limits=1):
        model.fit(frame.iloc[idx], y[idx])
        return model.predict_proba(frame[~train])[:, 1]


def logistic_regression(X: pd.DataFrame, kinds: dict, y: np.ndarray, train: np.ndarray,
                        random_state: int = 0) -> np.ndarray:
    """Holdout probabilities of a plain logistic regression (one-hot categories, standardised numbers)."""
    cats = [c for c in X.columns if kinds[c] == CATEGORICAL]
    nums = [c for c in X.columns if kinds[c] == NUMERIC]
    # each category's text as its rank among the column's distinct texts: the encoder learns the same columns in the
    # same (sorted) order with the same rare-value grouping as from the texts, without a Python call per row
    frame = pd.DataFrame({c: _text_ranks(X[c]) if kinds[c] == CATEGORICAL else X[c] for c in X.columns},
                         index=X.index)
    pre = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=MIN_LEVEL), cats),
        ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), nums)])
    model = make_pipeline(pre, LogisticRegression(C=1.0, max_iter=2000, random_state=random_state))
    with threadpool_limits(limits=1):
        model.fit(frame[train], y[train])
        return model.predict_proba(frame[~train])[:, 1]


def _text_ranks(col: pd.Series) -> np.ndarray:
    """A category column as integers ordered like its texts (missing is the text "(missing)")."""
    text = by_value(col, lambda c: c.fillna("(missing)").astype(str))
    codes, _ = pd.factorize(text, sort=True)
    return codes


def naive_bayes(X: pd.DataFrame, kinds: dict, y: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Holdout probabilities of per-value success/failure counts multiplied (Laplace-smoothed naive Bayes)."""
    specs = [fit_spec(c, kinds[c], X.loc[train, c]) for c in X.columns]
    codes = np.column_stack([s.codes(X[s.field]) for s in specs])
    model = CategoricalNB(alpha=1.0, min_categories=np.array([s.n_bins for s in specs]))
    model.fit(codes[train], y[train])
    return model.predict_proba(codes[~train])[:, 1]
