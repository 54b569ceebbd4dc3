"""Leakage check: features known only after the outcome are flagged, named and excluded.

A candidate feature is flagged when any of these holds:

``auc``
    On its own it separates the outcome almost perfectly: encoded with outcome rates learned on
    the training leads, its holdout AUC exceeds :data:`AUC_LIMIT`. Nothing known before a lead
    is worked predicts that well.
``timestamp``
    A companion timestamp (``<column>_set_at``, ``_updated_at``, ``_changed_at``, ``_at``,
    ``_date``) shows that most of its values were set after the lead's decision point.
``name``
    Its name marks a field CRMs fill in or overwrite while sales works the lead (last activity,
    status, tags, quality grade, owner ...; see :data:`AFTER_DECISION_WORDS`). Such a field holds
    its value at export time, not at the decision point, even where its AUC looks modest.
``declared``
    The analyst named it (parameter ``exclude_columns``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.common.result import Paragraph, Result, Table
from salign.core import fmt
from salign.qualify.auc import auc_ci
from salign.qualify.features import NUMERIC, Candidates
from salign.scoring.bins import fit_spec

AUC_LIMIT = 0.9
#: share of a column's timestamps after the decision point that flags it
STAMP_SHARE = 0.5
STAMP_SUFFIXES = ("_set_at", "_updated_at", "_changed_at", "_at", "_date")
#: words (in a snake_case column name) of fields kept up to date after the decision point
AFTER_DECISION_WORDS = ("last", "latest", "status", "tag", "tags", "quality", "rating", "grade",
                        "disposition", "outcome", "converted", "won", "lost", "closed", "owner", "assigned")
#: smoothing (pseudo-leads at the base rate) of the per-value outcome rates
PRIOR_LEADS = 10
MIN_LEVEL = 5


@dataclass
class LeakageReport(Result):
    """Every candidate's single-column holdout AUC, and the flagged columns with their reasons.

    Attributes
    ----------
    auc : dict
        Column -> holdout AUC of the column alone (NaN when it cannot be measured).
    flagged : dict
        Column -> list of ``(rule, explanation)``; these columns are excluded from every model.
    """

    auc: dict[str, float]
    flagged: dict[str, list[tuple[str, str]]]
    title: str = "Leakage check: features known only after the outcome"

    @property
    def excluded(self) -> list[str]:
        return sorted(self.flagged)

    def metrics(self) -> dict:
        return {"excluded": self.excluded,
                "rules": {c: sorted({r for r, _ in why}) for c, why in sorted(self.flagged.items())},
                "single_column_auc": {c: _r(a) for c, a in sorted(self.auc.items())}}

    def headline(self) -> dict:
        return {"leaking_columns_excluded": len(self.flagged)}

    def blocks(self) -> list:
        if self.flagged:
            n = len(self.flagged)
            rows = [{"column": c, "AUC on its own": fmt.number(self.auc.get(c), 3),
                     "why it is excluded": "; ".join(text for _, text in why)}
                    for c, why in sorted(self.flagged.items())]
            out = [Paragraph(f"{fmt.count(n)} column{'s' if n != 1 else ''} would let a model see the future; "
                             f"{'they are' if n != 1 else 'it is'} excluded from every model below."),
                   Table(pd.DataFrame(rows))]
        else:
            out = [Paragraph("No candidate feature looks like it is known only after the outcome.")]
        kept = sorted(((a, c) for c, a in self.auc.items() if c not in self.flagged and np.isfinite(a)), reverse=True)
        top = pd.DataFrame([{"column": c, "AUC on its own": fmt.number(a, 3)} for a, c in kept[:10]])
        return out + ([Table(top, caption="Strongest remaining features on their own (holdout AUC)")]
                      if len(top) else [])


def single_column_auc(x: pd.Series, kind: str, y: np.ndarray, train: np.ndarray) -> float:
    """Holdout AUC of one column encoded with smoothed outcome rates learned on the training leads."""
    test = ~train
    if len(set(y[test])) < 2:
        return float("nan")
    prior = y[train].mean()
    if kind == NUMERIC:
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


def name_word(column: str) -> str | None:
    """The first word of :data:`AFTER_DECISION_WORDS` in a column's name, if any."""
    words = re.split(r"[^a-z0-9]+", str(column).lower())
    return next((w for w in words if w in AFTER_DECISION_WORDS), None)


def check(cands: Candidates, y: np.ndarray, train: np.ndarray, decided_at: pd.Series,
          declared: tuple[str, ...] = ()) -> LeakageReport:
    """Flag the candidates that leak the outcome (see the module docstring for the rules).

    Parameters
    ----------
    cands : Candidates
        The typed candidate features and the timestamp columns found next to them.
    y : numpy.ndarray
        The 0/1 outcome.
    train : numpy.ndarray
        Boolean mask of the training leads (the rest is the holdout).
    decided_at : pandas.Series
        Each lead's decision point.
    declared : tuple of str
        Columns the analyst declares as known only after the outcome.
    """
    y = np.asarray(y)
    aucs, flagged = {}, {}
    for col, kind in cands.kinds.items():
        why = []
        aucs[col] = single_column_auc(cands.frame[col], kind, y, train)
        if aucs[col] > AUC_LIMIT:
            why.append(("auc", f"on its own it predicts the outcome almost perfectly (holdout AUC {aucs[col]:.3f}, "
                               f"above {AUC_LIMIT}): too good to be known in advance"))
        stamp = _companion(col, cands.timestamps)
        if stamp is not None:
            set_at = cands.timestamps[stamp]
            known = set_at.notna()
            late = float((set_at[known] > decided_at[known]).mean()) if known.any() else 0.0
            if known.any() and late >= STAMP_SHARE:
                why.append(("timestamp", f"{late:.0%} of its values were set after the lead's decision point "
                                         f"(timestamps in {stamp})"))
        word = name_word(col)
        if word is not None:
            why.append(("name", f"its name ('{word}') marks a field that is filled in or overwritten while sales "
                                f"works the lead, so it holds the value at export time"))
        if col in declared:
            why.append(("declared", "declared as known only after the outcome"))
        if why:
            flagged[col] = why
    return LeakageReport(aucs, flagged)


def _companion(col: str, stamps: dict) -> str | None:
    return next((col + s for s in STAMP_SUFFIXES if col + s in stamps), None)


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)
