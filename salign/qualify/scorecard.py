"""The signable model: binned features, weights per bin, integer points, calibrated.

Every feature is cut into bins (:mod:`salign.scoring.bins`, a frequent value such as "never
contacted" in a range of its own). Each bin gets a weight from one of two methods, each fitted on
the older training leads and judged on the newest ones:

- each bin's weight of evidence, log(share of successes in the bin / share of failures in the bin),
  Laplace-smoothed: the per-value counts naive Bayes multiplies, as points. Each bin's points stand
  on their own, and when a field that carried the signal thins out in the newest leads (a form stops
  asking it), the features that stood in for it keep their weight;
- an L2-regularised logistic regression on the bin indicators (the strength ``C`` chosen the same way):
  each bin's weight given the other features, which wins when features overlap and the overlap is stable.

The regression is used only when it ranks the newest training leads better by more than
``NEGLIGIBLE_AUC``; within that, the simpler weights of evidence are kept. In the same way a
category value needs 1% of the training leads for points of its own, or only ``SMALL_LEVEL``
leads when that ranks the newest training leads better by more than ``NEGLIGIBLE_AUC`` (a
landing-page code with hundreds of values). Every candidate left off the card is named with the
reason (no frequent value or range, or points too close together to matter).

Weights become whole points (``points_to_double_odds`` points double the odds), shifted so each
feature's lowest bin scores 0; a bin no training lead fell in (a value never seen, a field never
missing) earns 0.
A lead's score is the sum of its points, which a person can add up by hand. A logistic fit
of the outcome on the score, on the newest training leads, turns scores into probabilities
(base rates drift, so the newest leads set the level).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from salign.common.result import Paragraph, Result, Table
from salign.core import fmt
from salign.qualify.auc import AUC, AUC_IN_WORDS, auc_ci
from salign.qualify.features import NUMERIC
from salign.qualify.target import Split
from salign.scoring.bins import SMALL_LEVEL, BinSpec, distinct, fit_spec, min_bin_size
from salign.scoring.card import POINTS_TO_DOUBLE_ODDS, Scorecard
from salign.workspace.tables import MissingData

#: inverse regularisation strengths tried; the best on the newest training leads is kept
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
#: share of the training leads (the newest) that choose the regularisation and calibrate scores
VALIDATION_SHARE = 0.25
#: a feature whose points differ by less than this across its bins is left off the card
MIN_POINTS_RANGE = 2
#: how each bin's weight was found (see the module docstring)
REGRESSION, EVIDENCE = "logistic regression", "weight of evidence"
#: Laplace smoothing of the weight of evidence (naive Bayes' alpha)
EVIDENCE_ALPHA = 1.0
#: an AUC difference too small to matter: below it the weights of evidence are preferred (and the page
#: calls a challenger's lead over the scorecard negligible)
NEGLIGIBLE_AUC = 0.005


def one_hot(codes: np.ndarray, specs: list[BinSpec]) -> sparse.csr_matrix:
    """Indicator matrix of the bins (one column per bin of every feature)."""
    sizes = np.array([s.n_bins for s in specs])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n, k = codes.shape
    total = int(sizes.sum())
    # one entry per lead and feature, already in row order with columns ascending: the compressed arrays
    # are built directly (the same arrays a conversion from coordinates gives, without its sort and copies)
    index = np.int32 if max(total, n * k) < np.iinfo(np.int32).max else np.int64
    indices = (codes + offsets).astype(index, copy=False).ravel()
    indptr = np.arange(0, n * k + 1, k, dtype=index)
    return sparse.csr_matrix((np.ones(n * k), indices, indptr), shape=(n, total))


def validation_rows(n_train: int, y: np.ndarray, ordered: bool, random_state: int) -> np.ndarray:
    """Boolean mask of the training rows that validate: the newest share, or a stratified random share."""
    mask = np.zeros(n_train, dtype=bool)
    n_val = max(1, int(round(n_train * VALIDATION_SHARE)))
    if ordered:
        mask[n_train - n_val:] = True
    else:
        _, idx = train_test_split(np.arange(n_train), test_size=n_val, stratify=y, random_state=random_state)
        mask[idx] = True
    return mask


def evidence(design: sparse.csr_matrix, y: np.ndarray, specs: list[BinSpec]) -> np.ndarray:
    """Each bin's weight of evidence: log(P(bin | success) / P(bin | failure)), Laplace-smoothed per feature."""
    y = np.asarray(y, dtype=float)
    pos = np.asarray(design.T @ y).ravel()
    neg = np.asarray(design.sum(axis=0)).ravel() - pos
    bins = np.repeat([s.n_bins for s in specs], [s.n_bins for s in specs])
    a = EVIDENCE_ALPHA
    return np.log((pos + a) / (y.sum() + a * bins)) - np.log((neg + a) / ((1 - y).sum() + a * bins))


class Fitted(NamedTuple):
    """What :func:`fit` returns."""

    card: Scorecard
    C: float | None            # the regularisation strength chosen (None: weights of evidence)
    points_from: str           # REGRESSION or EVIDENCE
    unused: dict[str, str]     # every feature of X not on the card -> why
    min_level: int             # fewest training leads a category value needs for points of its own


@dataclass
class _Weights:
    """One way of binning, weighed: the validation AUC of the chosen method and the weights on all training leads."""

    specs: list[BinSpec]
    unused: dict[str, str]
    min_level: int
    design: sparse.csr_matrix
    auc: float
    method: str
    C: float | None
    coef: np.ndarray
    codes: list[np.ndarray]    # each spec's bin number for every training lead


def fit(X: pd.DataFrame, kinds: dict[str, str], y: np.ndarray, ordered: bool, random_state: int = 0,
        points_to_double_odds: int = POINTS_TO_DOUBLE_ODDS, methods: tuple[str, ...] = (REGRESSION, EVIDENCE),
        small_levels: bool = True) -> Fitted:
    """Fit a scorecard on training leads ``X`` (oldest first when ``ordered``) with outcome ``y``.

    ``methods`` are the ways of weighting bins tried (see the module docstring). Category values
    need :func:`~salign.scoring.bins.min_bin_size` training leads for points of their own; with
    ``small_levels``, values with ``SMALL_LEVEL`` leads are tried too (a landing page code with
    hundreds of values) and kept when they rank the newest training leads better by more than
    ``NEGLIGIBLE_AUC``.
    """
    y = np.asarray(y)
    val = validation_rows(len(y), y, ordered, random_state)
    binned = _Binned(X, kinds)
    best = _weigh(binned, y, val, min_bin_size(len(y)), methods)
    if small_levels and SMALL_LEVEL < best.min_level:
        small = _weigh(binned, y, val, SMALL_LEVEL, methods, unless_same=best.specs)
        if small is not None and round(small.auc, 4) > round(best.auc + NEGLIGIBLE_AUC, 4):
            best = small
    factor = points_to_double_odds / np.log(2)
    seen = np.asarray(best.design.sum(axis=0)).ravel() > 0
    unused = dict(best.unused)
    kept_specs, kept_codes, points, start = [], [], [], 0
    for spec, codes in zip(best.specs, best.codes):
        raw = best.coef[start:start + spec.n_bins] * factor
        used = seen[start:start + spec.n_bins]
        start += spec.n_bins
        pts = np.where(used, np.rint(raw - raw[used].min()), 0).astype(np.int32)  # unseen values earn nothing
        if pts.max() >= MIN_POINTS_RANGE:
            kept_specs.append(spec)
            kept_codes.append(codes)
            points.append(pts)
        else:
            gap = int(pts.max())
            unused[spec.field] = (f"too weak: its best and worst values would be {gap} point{'' if gap == 1 else 's'} apart, fewer "
                                  f"than the {MIN_POINTS_RANGE} a feature needs to be on the card (weights: "
                                  f"{best.method})")
    card = Scorecard(kept_specs, points, 0.0, 1.0, [], points_to_double_odds)
    # card.codes(X), already worked out while weighing
    matrix = card.points_matrix(np.column_stack(kept_codes) if kept_codes else card.codes(X))
    card.typical = [round(float(v), 1) for v in matrix.mean(axis=0)]
    score = matrix.sum(axis=1)
    with threadpool_limits(limits=1):
        calib = LogisticRegression(C=np.inf).fit(score[val].reshape(-1, 1).astype(float), y[val])
    card.intercept, card.slope = float(calib.intercept_[0]), float(calib.coef_[0, 0])
    return Fitted(card, best.C, best.method, {c: unused[c] for c in X.columns if c in unused}, best.min_level)


class _Binned:
    """The training features, each looked at once however many ways of binning are weighed.

    A numeric feature's bins do not depend on the smallest category level, so its spec and bin numbers
    are worked out once; a category feature is factorised once, and each binning counts and codes its
    distinct values (the same bins :func:`~salign.scoring.bins.fit_spec` and ``BinSpec.codes`` give).
    """

    def __init__(self, X: pd.DataFrame, kinds: dict[str, str]):
        self.X, self.kinds = X, kinds
        self._numeric: dict[str, tuple[BinSpec, np.ndarray]] = {}
        self._distinct: dict[str, tuple[np.ndarray, pd.Series, pd.Series]] = {}

    @property
    def columns(self):
        return self.X.columns

    def spec_and_codes(self, c: str, min_level: int) -> tuple[BinSpec, np.ndarray | None]:
        """The bins of feature ``c`` (category values need ``min_level`` leads) and, when it has more than
        two bins, its bin numbers."""
        kind = self.kinds[c]
        if kind == NUMERIC:
            if c not in self._numeric:
                spec = fit_spec(c, kind, self.X[c])
                self._numeric[c] = spec, (spec.codes(self.X[c]) if spec.n_bins > 2 else None)
            return self._numeric[c]
        if c not in self._distinct:
            inverse, uniques = distinct(self.X[c])
            held = np.bincount(inverse[inverse >= 0], minlength=len(uniques))
            counts = pd.Series(held, index=uniques.astype(str).to_numpy(dtype=object)).groupby(level=0).sum()
            self._distinct[c] = inverse, uniques, counts
        inverse, uniques, counts = self._distinct[c]
        spec = BinSpec(c, kind, levels=tuple(sorted(counts[counts >= min_level].index.tolist())))
        return spec, (np.take(spec.codes_of_uniques(uniques), inverse) if spec.n_bins > 2 else None)


def _weigh(binned: _Binned, y, val, min_level, methods, unless_same=None) -> _Weights | None:
    """Bin every feature (category values need ``min_level`` leads), choose the weights on ``val``, refit on all.

    None when ``unless_same`` (specs already weighed) has the same bins.
    """
    X, kinds = binned.X, binned.kinds
    need = min_bin_size(len(y))
    specs, codes, unused = [], [], {}
    for c in binned.columns:
        spec, code = binned.spec_and_codes(c, min_level)
        if spec.n_bins > 2:
            specs.append(spec)
            codes.append(code)
        else:
            unused[c] = _no_bins(X[c], kinds[c], need if kinds[c] == NUMERIC else min_level)
    if unless_same is not None and specs == unless_same:
        return None
    if not specs:
        raise MissingData("no candidate feature has a value or range held by enough training leads to be binned")
    design = one_hot(np.column_stack(codes), specs)

    def model(C):
        return LogisticRegression(C=C, max_iter=1000)

    with threadpool_limits(limits=1):  # BLAS threads stall on a busy 2-core machine (0.4 s becomes 2 s)
        aucs = [roc_auc_score(y[val], model(C).fit(design[~val], y[~val]).decision_function(design[val]))
                for C in C_GRID] if REGRESSION in methods else [-np.inf]
        best_c = C_GRID[int(np.argmax(np.round(aucs, 4)))] if REGRESSION in methods else None
        woe_auc = (roc_auc_score(y[val], design[val] @ evidence(design[~val], y[~val], specs))
                   if EVIDENCE in methods else -np.inf)
        if round(woe_auc, 4) >= round(max(aucs) - NEGLIGIBLE_AUC, 4):
            return _Weights(specs, unused, min_level, design, woe_auc, EVIDENCE, None, evidence(design, y, specs),
                            codes)
        coef = model(best_c).fit(design, y).coef_.ravel()
    return _Weights(specs, unused, min_level, design, max(aucs), REGRESSION, best_c, coef, codes)


def _no_bins(x: pd.Series, kind: str, need: int) -> str:
    """Why a feature has no bin of its own besides "missing" and "other": no range or value is frequent enough."""
    present = x.dropna()
    if kind == NUMERIC:
        if len(present) < 2 * need:
            return (f"only {fmt.count(len(present))} training leads have a value; two ranges need "
                    f"{fmt.count(need)} each")
        top = present.value_counts(normalize=True)
        return (f"no cut leaves {fmt.count(need)} training leads (the fewest a range may hold) on each side: "
                f"{fmt.percent(top.iloc[0], 0)} of its values are {fmt.cut(top.index[0], 6)}")
    return (f"no value is held by {fmt.count(need)} or more training leads (the fewest a bin may hold): "
            f"{fmt.count(present.nunique())} distinct values over {fmt.count(len(present))} leads")


@dataclass
class ScorecardFit(Result):
    """The fitted scorecard and its figures on the holdout.

    Attributes
    ----------
    card : Scorecard
    C : float
        The regularisation strength chosen on the newest training leads.
    score, probability : numpy.ndarray
        Holdout scores and calibrated probabilities.
    auc : AUC
        Holdout AUC with its 95% interval.
    points_from : str
        How the bins' weights were found: ``REGRESSION`` or ``EVIDENCE``.
    unused : dict
        Every candidate feature (after the leakage check) that is not on the card -> why.
    min_level : int
        Fewest training leads a category value needed for points of its own.
    """

    card: Scorecard
    C: float | None
    score: np.ndarray
    probability: np.ndarray
    auc: AUC
    brier: float
    n_train: int
    split: Split
    points_from: str = REGRESSION
    unused: dict[str, str] = field(default_factory=dict)
    min_level: int = 0
    title: str = "The scorecard"

    def metrics(self) -> dict:
        return {"auc_holdout": round(self.auc.value, 6), "auc": self.auc.as_dict(), "brier": round(self.brier, 6),
                "n_train": self.n_train, "n_test": self.auc.n,
                "cutoff": None if self.split.cutoff is None else self.split.cutoff.isoformat(),
                "split": self.split.kind, "C": self.C, "features": self.card.fields, "max_score": self.card.max_score,
                "points_to_double_odds": self.card.points_to_double_odds, "points_from": self.points_from,
                "min_category_leads": self.min_level, "not_on_card": self.unused}

    def headline(self) -> dict:
        return {"qualification_model_auc": round(self.auc.value, 3)}

    def points_table(self) -> pd.DataFrame:
        """One row per group of bins with the same points: feature, values, points."""
        rows = []
        for spec, pts in zip(self.card.specs, self.card.points):
            labels = spec.labels()
            if spec.kind == NUMERIC:
                rows += [{"feature": spec.field, "value": lab, "points": int(p)} for lab, p in zip(labels, pts)]
                continue
            for p in sorted(set(pts.tolist()), reverse=True):
                rows.append({"feature": spec.field, "value": ", ".join(lab for lab, q in zip(labels, pts) if q == p),
                             "points": int(p)})
        return pd.DataFrame(rows)

    def methods(self) -> list:
        c = self.card
        return [Paragraph(f"{AUC_IN_WORDS} The scorecard's holdout AUC is {self.auc} on {fmt.count(self.auc.n)} "
                          f"leads; Brier score {fmt.number(self.brier, 4)} (the mean squared error of its probabilities; "
                          f"lower is better calibrated). A choice between two ways of setting points (weights of "
                          f"evidence or a logistic regression, the smaller bins or not) changes only when it ranks the "
                          f"newest training leads better by more than {NEGLIGIBLE_AUC} AUC. Probability of success = "
                          f"1 / (1 + exp(-({fmt.number(c.intercept, 3)} + {fmt.number(c.slope, 4)} × score))), "
                          "calibrated on the newest training leads.")]

    def blocks(self) -> list:
        c = self.card
        how = ("each bin's points come from a logistic regression on the bins (the other features held equal), "
               "which ranked the newest training leads better than each bin's own weight of evidence"
               if self.points_from == REGRESSION else
               "each bin's points are its weight of evidence (its own share of successes against failures): on "
               "the newest training leads a logistic regression on the bins ranked them no better, and these points "
               "stand on their own")
        out = [Paragraph(f"{len(c.specs)} features, whole points; {c.points_to_double_odds} points double the odds "
                         f"of success; scores run from 0 to {c.max_score}; {how}. On {fmt.count(self.auc.n)} holdout "
                         f"leads the card ranks a qualified lead above an unqualified one {self.auc.words}."),
               Table(self.points_table(), max_rows=400)]
        if self.min_level == SMALL_LEVEL and SMALL_LEVEL < min_bin_size(self.n_train):
            out.append(Paragraph(
                f"A category value has points of its own when at least {SMALL_LEVEL} training leads hold it, rather "
                f"than {fmt.count(min_bin_size(self.n_train))} (1% of the training leads): with the smaller values "
                "the card ranked the newest training leads better. Rarer values score as \"any other value\"."))
        if self.unused:
            out.append(Table(pd.DataFrame([{"candidate feature": f, "why it is not on the scorecard": why}
                                           for f, why in self.unused.items()]),
                             caption="Candidate features the scorecard does not use (columns that are not features, "
                                     "and those the leakage check excluded, are listed in their own sections)"))
        else:
            out.append(Paragraph("Every candidate feature that passed the leakage check is on the scorecard."))
        return out


def fit_scorecard(data) -> ScorecardFit:
    """Fit the scorecard on the training leads of ``data`` and judge it on the holdout.

    Parameters
    ----------
    data : salign.qualify.dataset.Dataset
    """
    X, y, train = data.features, data.y, data.train
    card, C, points_from, unused, min_level = fit(X[train], data.kinds, y[train], data.split.kind == "time",
                                                  data.random_state)
    score = card.score(X[~train])
    prob = card.probability(score)
    return ScorecardFit(card, C, score, prob, auc_ci(y[~train], score), float(brier_score_loss(y[~train], prob)),
                        int(train.sum()), data.split, points_from, unused, min_level)
