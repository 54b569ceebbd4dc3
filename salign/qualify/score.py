"""Scoring leads with a signed definition: score, probability, band, qualified and the top three reasons.

Vectorised: every feature is turned into bin numbers at once (see :mod:`salign.qualify.bins`),
points are looked up by bin, and single-field rules are evaluated on each field's distinct
values only. A lead's reasons are the three features whose points differ most from a typical
lead's (the training average), e.g. ``job_level: Director (+6)``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from salign.qualify.card import Scorecard
from salign.qualify.definition import QualificationDefinition, load_definition
from salign.rules import Condition

BANDS = ("sales-ready", "nurture", "low", "incomplete", "disqualified")
N_REASONS = 3


class Reasons:
    """The features that set a lead apart: points furthest from a typical lead's, as readable texts."""

    def __init__(self, card: Scorecard):
        texts, devs, offsets = [], [], []
        for spec, pts, typical in zip(card.specs, card.points, card.typical):
            offsets.append(len(texts))
            for label, p in zip(spec.labels(), pts):
                dev = float(p) - typical
                devs.append(dev)
                texts.append(f"{spec.field}: {label} ({dev:+.0f})")
        self.texts = np.array(texts, dtype=object)
        self.deviation = np.array(devs, dtype=np.float32)
        self.offsets = np.array(offsets, dtype=np.int64)

    def __call__(self, codes: np.ndarray, k: int = N_REASONS) -> np.ndarray:
        """Texts of the ``k`` features furthest from a typical lead, largest first (n x min(k, features))."""
        flat = codes + self.offsets[None, :]
        dev = np.abs(self.deviation)[flat]
        k = min(k, dev.shape[1])
        if dev.shape[1] > k:
            top = np.argpartition(-dev, k - 1, axis=1)[:, :k]
        else:
            top = np.broadcast_to(np.arange(k), (len(dev), k))
        order = np.argsort(-np.take_along_axis(dev, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        return self.texts[np.take_along_axis(flat, top, axis=1)]


class Scorer:
    """A definition compiled for fast scoring; build once, call :meth:`score` on any number of frames."""

    def __init__(self, definition: QualificationDefinition):
        self.definition = definition
        self.card = definition.card()
        self.threshold = definition.threshold.score
        self.nurture = definition.threshold.nurture_score
        self.required = [m.field for m in definition.minimum_information]
        self.rules = [d.rule for d in definition.disqualify]
        self.reasons = Reasons(self.card)

    def absent(self, frame: pd.DataFrame) -> list[str]:
        """Fields the definition reads that ``frame`` lacks entirely (they count as missing)."""
        needed = set(self.card.fields) | set(self.required) | {f for r in self.rules for f in r.fields()}
        return sorted(needed - set(frame.columns))

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score every lead of ``frame`` (index kept): score, probability, band, qualified, reason_1..3."""
        codes = self.card.codes(frame)
        points = self.card.points_matrix(codes)
        score = points.sum(axis=1)
        n = len(frame)
        disq = np.zeros(n, dtype=bool)
        disq_text = np.full(n, None, dtype=object)
        for rule in reversed(self.rules):  # the first matching rule names the reason
            hit = _evaluate(rule, frame)
            disq |= hit
            disq_text[hit] = "disqualified: " + rule.describe()
        complete = np.ones(n, dtype=bool)
        missing_text = np.full(n, None, dtype=object)
        for field in reversed(self.required):
            gap = ~_present(frame, field)
            complete &= ~gap
            missing_text[gap] = f"missing before handoff: {field}"
        ready = score >= self.threshold
        band = np.where(score >= self.threshold, "sales-ready", np.where(score >= self.nurture, "nurture", "low"))
        band = np.where(ready & ~complete, "incomplete", band)
        band = np.where(disq, "disqualified", band).astype(object)
        reasons = self.reasons(codes)
        override = np.where(disq, disq_text, np.where(ready & ~complete, missing_text, None))
        has = pd.notna(override)
        if reasons.shape[1] < N_REASONS:
            reasons = np.hstack([reasons, np.full((n, N_REASONS - reasons.shape[1]), "", dtype=object)])
        shifted = np.where(has[:, None], np.hstack([override[:, None], reasons[:, :-1]]), reasons)
        out = pd.DataFrame({"score": score, "probability": self.card.probability(score).round(4), "band": band,
                            "qualified": ready & complete & ~disq}, index=frame.index)
        for i in range(N_REASONS):
            out[f"reason_{i + 1}"] = shifted[:, i]
        return out


def _evaluate(rule: Condition, frame: pd.DataFrame) -> np.ndarray:
    """A rule on every lead (an absent field is missing); a single-field rule is evaluated on distinct values only."""
    fields = rule.fields()
    if len(fields) != 1:
        absent = fields - set(frame.columns)
        return rule.evaluate(frame.assign(**dict.fromkeys(absent, np.nan)) if absent else frame).to_numpy(dtype=bool)
    field = next(iter(fields))
    if field not in frame.columns:
        return np.repeat(rule.evaluate(pd.DataFrame({field: [None]})).to_numpy(dtype=bool), len(frame))
    codes, uniques = pd.factorize(frame[field], use_na_sentinel=True)
    values = pd.concat([pd.Series(uniques, dtype=frame[field].dtype), pd.Series([None], dtype=frame[field].dtype)],
                       ignore_index=True)
    hit = rule.evaluate(pd.DataFrame({field: values})).to_numpy(dtype=bool)
    return hit[np.where(codes < 0, len(values) - 1, codes)]


def _present(frame: pd.DataFrame, field: str) -> np.ndarray:
    if field not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    col = frame[field]
    present = col.notna().to_numpy()
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        present &= col.astype("string").str.strip().ne("").fillna(False).to_numpy(dtype=bool)
    return present


def score_leads(definition: QualificationDefinition | str | Path, leads: pd.DataFrame) -> pd.DataFrame:
    """Score a leads frame with a signed definition (a :class:`QualificationDefinition` or the path of its YAML).

    This is the public scoring API (used by ``salign score`` and by the quarterly review to
    monitor a signed definition).

    Parameters
    ----------
    definition : QualificationDefinition or path
        The definition, or the path of ``qualification.yaml`` (strictly validated).
    leads : pandas.DataFrame
        One row per lead with the definition's fields as columns (activity counts as ``n_<type>``);
        an absent field counts as missing.

    Returns
    -------
    pandas.DataFrame
        Same index as ``leads``: ``score`` (int), ``probability`` (calibrated), ``band`` (one of
        :data:`BANDS`), ``qualified`` (bool), ``reason_1`` .. ``reason_3``.

    Examples
    --------
    >>> from salign import qualify
    >>> scored = qualify.score_leads("definitions/qualification.yaml", leads)  # doctest: +SKIP
    """
    if not isinstance(definition, QualificationDefinition):
        definition = load_definition(definition)
    return Scorer(definition).score(leads)
