"""Scoring leads with a signed definition: score, probability, band, qualified and the top three reasons.

Vectorised: every feature is turned into bin numbers at once (see :mod:`salign.scoring.bins`),
points are looked up by bin, and single-field rules are evaluated on each field's distinct
values only. A lead's reasons are the three features whose points differ most from a typical
lead's (the training average), e.g. ``job_level: Director (+6)``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from salign.definitions.qualification import QualificationDefinition, load_definition
from salign.definitions.rules import Condition
from salign.scoring.bins import distinct, is_number
from salign.scoring.card import Scorecard

BANDS = ("sales-ready", "nurture", "low", "incomplete", "disqualified")
N_REASONS = 3


class Reasons:
    """The features that set a lead apart: points furthest from a typical lead's, as readable texts.

    Every (feature, bin) text gets a rank by its distance from a typical lead (ties: the earlier
    feature ranks higher); a lead's top three ranks are kept while going through the features
    once, with elementwise maxima over all leads at a time.
    """

    def __init__(self, card: Scorecard):
        texts, devs, feature = [], [], []
        for j, (spec, pts, typical) in enumerate(zip(card.specs, card.points, card.typical)):
            for label, p in zip(spec.labels(), pts):
                dev = float(p) - typical
                devs.append(abs(dev))
                feature.append(j)
                texts.append(f"{spec.field}: {label} ({dev:+.0f})")
        self.texts = texts
        order = np.lexsort((-np.array(feature), np.array(devs)))  # ascending distance, later feature first
        rank = np.empty(len(texts), dtype=np.int16)
        rank[order] = np.arange(len(texts))
        self.text_of_rank = np.append(order, -1).astype(np.int32)  # rank -1 (no reason) -> -1
        bounds = np.cumsum([0] + [s.n_bins for s in card.specs])
        self.rank_tables = [rank[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def top(self, ranks: list[np.ndarray], k: int = N_REASONS) -> np.ndarray:
        """Indices into :attr:`texts` of each lead's ``k`` reasons, largest first (``k x n``; -1: none).

        ``ranks`` holds, per feature, each lead's rank (see :attr:`rank_tables`).
        """
        n = len(ranks[0]) if ranks else 0
        top = [np.full(n, -1, dtype=np.int16) for _ in range(k)]
        for carry in ranks:
            for i in range(k):  # insert into the sorted top k: keep the larger, carry the smaller on
                top[i], carry = np.maximum(top[i], carry), np.minimum(top[i], carry)
        return self.text_of_rank[np.stack(top)]

    def __call__(self, codes: np.ndarray, k: int = N_REASONS) -> list[list[str]]:
        """Reason texts per lead for bin numbers laid out as :meth:`Scorecard.codes` returns them."""
        idx = self.top([np.take(t, codes[:, j]) for j, t in enumerate(self.rank_tables)], k).T
        return [[self.texts[i] for i in row if i >= 0] for row in idx]


class Scorer:
    """A definition compiled for fast scoring; build once, call :meth:`score` on any number of frames."""

    def __init__(self, definition: QualificationDefinition):
        self.definition = definition
        self.card = Scorecard.from_definition(definition)
        self.threshold = definition.threshold.score
        self.nurture = definition.threshold.nurture_score
        self.required = [m.field for m in definition.minimum_information]
        self.rules = [d.rule for d in definition.disqualify]
        self.reasons = Reasons(self.card)
        #: per feature and bin: reason rank << 16 | points (one gather per lead and feature gives both)
        self._packed = [(rank.astype(np.int32) << 16) | pts for rank, pts in zip(self.reasons.rank_tables,
                                                                                 self.card.points)]
        if max(int(p.max()) for p in self.card.points) > 0xFFFF:
            raise ValueError("a bin's points must stay below 65,536")
        texts = (self.reasons.texts + [f"disqualified: {r.describe()}" for r in self.rules]
                 + [f"missing before handoff: {f}" for f in self.required] + [""])
        self.categories = list(dict.fromkeys(texts))
        self._index = {t: i for i, t in enumerate(self.categories)}

    def absent(self, frame: pd.DataFrame) -> list[str]:
        """Fields the definition reads that ``frame`` lacks entirely (they count as missing)."""
        needed = set(self.card.fields) | set(self.required) | {f for r in self.rules for f in r.fields()}
        return sorted(needed - set(frame.columns))

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score every lead of ``frame`` (index kept): score, probability, band, qualified, reason_1..3.

        ``band`` and the reasons are categorical columns (their texts are few).
        """
        n = len(frame)
        seen: dict[str, tuple] = {}

        def values(field):  # each text column is reduced to its distinct values once per call
            if field not in seen:
                seen[field] = distinct(frame[field])
            return seen[field]

        score = np.zeros(n, dtype=np.int32)
        ranks = []
        for spec, packed in zip(self.card.specs, self._packed):
            if spec.field not in frame.columns:
                value = np.full(n, packed[spec.missing_bin])
            elif spec.kind == "numeric" and is_number(frame[spec.field]):
                value = np.take(packed, spec.codes(frame[spec.field]))
            else:  # one lookup per distinct value, then one gather per lead
                inverse, uniques = values(spec.field)
                value = np.take(np.take(packed, spec.codes_of_uniques(uniques)), inverse)
            score += value & 0xFFFF
            ranks.append((value >> 16).astype(np.int16))
        override = np.full(n, -1, dtype=np.int32)
        disq = np.zeros(n, dtype=bool)
        for rule in reversed(self.rules):  # the first matching rule names the reason
            hit = _evaluate(rule, frame, values)
            disq |= hit
            override[hit] = self._index[f"disqualified: {rule.describe()}"]
        ready = score >= self.threshold
        complete = np.ones(n, dtype=bool)
        for field in reversed(self.required):
            gap = ~_present(frame, field, values)
            complete &= ~gap
            override[gap & ready & ~disq] = self._index[f"missing before handoff: {field}"]
        band = np.where(ready, 0, np.where(score >= self.nurture, 1, 2)).astype(np.int8)
        band[ready & ~complete] = 3
        band[disq] = 4
        reasons = self.reasons.top(ranks)
        reasons[reasons < 0] = self._index[""]
        has = override >= 0
        shown = [np.where(has, override, reasons[0])] + [np.where(has, reasons[i - 1], reasons[i])
                                                          for i in range(1, N_REASONS)]
        out = pd.DataFrame({"score": score, "probability": self.card.probability(score).round(4),
                            "band": pd.Categorical.from_codes(band, categories=BANDS),
                            "qualified": ready & complete & ~disq}, index=frame.index)
        for i, idx in enumerate(shown):
            out[f"reason_{i + 1}"] = pd.Categorical.from_codes(idx, categories=self.categories)
        return out


def _evaluate(rule: Condition, frame: pd.DataFrame, values) -> np.ndarray:
    """A rule on every lead (an absent field is missing); a single-field rule is evaluated on distinct values only."""
    fields = rule.fields()
    if len(fields) != 1:
        absent = fields - set(frame.columns)
        return rule.evaluate(frame.assign(**dict.fromkeys(absent, np.nan)) if absent else frame).to_numpy(dtype=bool)
    field = next(iter(fields))
    if field not in frame.columns:
        return np.repeat(rule.evaluate(pd.DataFrame({field: [None]})).to_numpy(dtype=bool), len(frame))
    inverse, uniques = values(field)
    table = pd.concat([uniques, pd.Series([None], dtype=object)], ignore_index=True)
    if is_number(frame[field]):
        table = table.astype(float)
    return rule.evaluate(pd.DataFrame({field: table})).to_numpy(dtype=bool)[inverse]


def _present(frame: pd.DataFrame, field: str, values) -> np.ndarray:
    """Which leads carry a value in ``field`` (empty or blank text is missing)."""
    if field not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    inverse, uniques = values(field)
    filled = np.array([not (isinstance(v, str) and not v.strip()) for v in uniques], dtype=bool)
    return np.append(filled, False)[inverse]


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
    >>> scored = score_leads("definitions/qualification.yaml", leads)  # doctest: +SKIP
    """
    if not isinstance(definition, QualificationDefinition):
        definition = load_definition(definition)
    return Scorer(definition).score(leads)
