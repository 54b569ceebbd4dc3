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
``contact``
    Its name describes the contact itself: how long sales spoke with the lead (duration, talk
    time, call length, seconds on the phone), how often it was contacted (number of calls or
    contacts in this campaign) or how the contact went (call result). Such a value exists only
    once sales has worked the lead, so it describes the outcome rather than predicting it, even
    where its AUC looks modest (a call's duration reaches about 0.76 on its own).
``recorded``
    ``workspace.yaml`` declares it ``recorded: {leads: {<column>: after_contact}}``.
``signed``
    The definition both teams signed (``definitions/qualification.yaml``) excluded it: a signed
    exclusion holds in every later study until a newly signed definition lifts it.
``declared``
    The analyst named it (parameter ``exclude_columns``).

A column declared ``before_contact`` in ``workspace.yaml`` is not flagged by the two name rules
(``name``, ``contact``), which are guesses from its name; the evidence rules still apply.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salign.common.result import Paragraph, Result, Table
from salign.core import fmt
from salign.qualify.auc import AUC_IN_WORDS, auc_ci, ranks
from salign.qualify.features import NUMERIC, Candidates
from salign.scoring.bins import fit_spec

#: the signed definition in a workspace's definitions/ folder
DEFINITION = "qualification.yaml"
AUC_LIMIT = 0.9
#: share of a column's timestamps after the decision point that flags it
STAMP_SHARE = 0.5
STAMP_SUFFIXES = ("_set_at", "_updated_at", "_changed_at", "_at", "_date")
#: words (in a snake_case column name) of fields kept up to date after the decision point
AFTER_DECISION_WORDS = ("last", "latest", "status", "tag", "tags", "quality", "rating", "grade",
                        "disposition", "outcome", "converted", "won", "lost", "closed", "owner", "assigned")
#: words (in a column's name) of a contact between sales and the lead ...
CONTACT_WORDS = ("call", "calls", "called", "calling", "talk", "talked", "talking", "contact", "contacts",
                 "contacted", "conversation", "conversations", "dial", "dials", "dialed", "dialled", "meeting",
                 "meetings", "attempt", "attempts")
#: ... which count contacts on their own (plural nouns: the number of calls, contacts, attempts)
CONTACT_COUNTS = ("calls", "contacts", "conversations", "dials", "meetings", "attempts")
#: ... and words that, next to a contact word, measure it or say how it went
CONTACT_MEASURES = ("duration", "seconds", "secs", "sec", "minutes", "mins", "length", "time", "count", "number",
                    "num", "total", "result", "results", "answered", "connected", "reached", "spoke")
#: words that describe a contact whatever stands next to them
CONTACT_ALONE = ("duration", "talktime", "calltime", "callduration")
#: when a column's value is recorded (``workspace.yaml``'s ``recorded``), as the page says it
RECORDED = {"before_contact": "before contact", "after_contact": "after contact", None: "not declared"}
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
    known: dict[str, int] = field(default_factory=dict)
    holdout_leads: int = 0
    recorded: dict[str, str] = field(default_factory=dict)
    #: columns a signed definition excluded that the data no longer has (they stay excluded)
    held: list[str] = field(default_factory=list)
    #: columns workspace.yaml declares after_contact that the leads do not have (a misspelt name?)
    unknown: list[str] = field(default_factory=list)
    title: str = "Leakage check: features known only after the outcome"

    @property
    def all_excluded(self) -> list[str]:
        """The excluded candidates and the signed exclusions the data no longer has."""
        return sorted(set(self.flagged) | set(self.held))

    def when(self, column: str) -> str:
        """When the column's value is recorded, as declared in ``workspace.yaml`` (or "not declared")."""
        return RECORDED[self.recorded.get(column)]

    def auc_text(self, column: str) -> str:
        """The column's AUC on its own with its count: ``0.763 (2,900 of 3,750 holdout leads with a value)``."""
        a = self.auc.get(column)
        if a is None or not np.isfinite(a):
            return "n/a"
        if column not in self.known:
            return ranks(a)
        return (f"{ranks(a)} ({fmt.count(self.known[column])} of {fmt.count(self.holdout_leads)} "
                f"holdout leads with a value)")

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
            rows = [{"column": c, "on its own, ranks a qualified lead first": self.auc_text(c),
                     "recorded": self.when(c), "why it is excluded": "; ".join(text for _, text in why)}
                    for c, why in sorted(self.flagged.items())]
            out = [Paragraph(f"{fmt.count(n)} column{'s' if n != 1 else ''} would let a model see the future; "
                             f"{'they are' if n != 1 else 'it is'} excluded from every model below."),
                   Table(pd.DataFrame(rows))]
        else:
            out = [Paragraph("No candidate feature looks like it is known only after the outcome.")]
        if self.unknown:
            out.append(Paragraph(f"workspace.yaml declares recorded: after_contact for {', '.join(self.unknown)}, "
                                 f"which the leads do not have: check the spelling, or the column it means is "
                                 f"not excluded."))
        if self.held:
            out.append(Paragraph(f"The signed definition also excludes {', '.join(self.held)}, which the data no "
                                 f"longer has as a candidate; the exclusion stays in the next version."))
        kept = sorted(((a, c) for c, a in self.auc.items() if c not in self.flagged and np.isfinite(a)), reverse=True)
        top = pd.DataFrame([{"column": c, "on its own, ranks a qualified lead first": self.auc_text(c),
                             "recorded": self.when(c)} for a, c in kept[:10]])
        return out + ([Table(top, caption="Strongest remaining features on their own (how often each alone ranks a "
                                          "qualified lead above an unqualified one; 50% is a coin toss)")]
                      if len(top) else [])

    def methods(self) -> list:
        aucs = pd.DataFrame([{"column": c, "holdout AUC on its own": fmt.number(a, 3)}
                             for c, a in sorted(self.auc.items(), key=lambda x: -x[1] if np.isfinite(x[1]) else 1)
                             if np.isfinite(a)][:10])
        return [Paragraph(f"{AUC_IN_WORDS} A column whose holdout AUC on its own exceeds {AUC_LIMIT} is excluded as "
                          "a leak."), *([Table(aucs, caption="Holdout AUC of each column on its own")] if len(aucs)
                                        else [])]


def single_column_auc(x: pd.Series, kind: str, y: np.ndarray, train: np.ndarray) -> float:
    """Holdout AUC of one column encoded with smoothed outcome rates learned on the training leads."""
    test = ~train
    if len(set(y[test])) < 2:
        return float("nan")
    prior = y[train].mean()
    if kind == NUMERIC:
        spec = fit_spec(x.name, kind, x[train])
        key, n_keys = spec.codes(x).astype(np.intp), spec.n_bins
    else:  # each value its own key, missing one more; values fewer than MIN_LEVEL training leads hold: "other"
        codes, uniques = pd.factorize(x.astype(object), use_na_sentinel=True)
        missing = len(uniques)
        codes = np.where(codes < 0, missing, codes)
        held = np.bincount(codes[train], minlength=missing + 1)
        key, n_keys = np.where(held[codes] >= MIN_LEVEL, codes, missing + 1), missing + 2
    size = np.bincount(key[train], minlength=n_keys)
    hits = np.bincount(key[train], weights=y[train].astype(float), minlength=n_keys)
    rate = (hits + PRIOR_LEADS * prior) / (size + PRIOR_LEADS)
    enc = np.where(size[key[test]] > 0, rate[key[test]], prior)  # a key no training lead has: the prior
    return auc_ci(y[test], enc).value


def _words(column: str) -> list[str]:
    """The lower-case words of a column name (snake_case, kebab, spaces or camelCase)."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(column))
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def name_word(column: str) -> str | None:
    """The first word of :data:`AFTER_DECISION_WORDS` in a column's name, if any."""
    return next((w for w in _words(column) if w in AFTER_DECISION_WORDS), None)


def contact_words(column: str) -> str | None:
    """The words of a column's name that describe a contact with the lead (see :data:`CONTACT_WORDS`), if any.

    ``call_seconds``, ``talk_time``, ``CallDuration``, ``n_calls``, ``contacts_this_campaign`` and
    ``call_result`` do; ``do_not_call``, ``preferred_contact`` and ``total_time_spent_on_website`` do not.
    """
    words = _words(column)
    alone = [w for w in words if w in CONTACT_ALONE or w in CONTACT_COUNTS]
    if alone:
        return " ".join(alone)
    contact = [w for w in words if w in CONTACT_WORDS]
    measure = [w for w in words if w in CONTACT_MEASURES]
    return " ".join(contact + measure) if contact and measure else None


def check(cands: Candidates, y: np.ndarray, train: np.ndarray, decided_at: pd.Series,
          declared: tuple[str, ...] = (), recorded: dict[str, str] | None = None,
          signed=None) -> LeakageReport:
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
    recorded : dict, optional
        Column -> ``"before_contact"`` or ``"after_contact"`` (``workspace.yaml``'s ``recorded`` for leads).
    signed : salign.definitions.qualification.QualificationDefinition, optional
        The definition both teams signed; its exclusions hold.
    """
    y = np.asarray(y)
    recorded = dict(recorded or {})
    held = set(signed.data.excluded_as_leaks) if signed is not None else set()
    aucs, flagged, known = {}, {}, {}
    for col, kind in cands.kinds.items():
        why = []
        aucs[col] = single_column_auc(cands.frame[col], kind, y, train)
        known[col] = int(cands.frame[col][~train].notna().sum())
        if aucs[col] > AUC_LIMIT:
            why.append(("auc", f"on its own it predicts the outcome almost perfectly (it ranks a qualified lead "
                               f"above an unqualified one {ranks(aucs[col])} of the time, above {ranks(AUC_LIMIT)}): "
                               "too good to be known in advance"))
        stamp = _companion(col, cands.timestamps)
        if stamp is not None:
            set_at = cands.timestamps[stamp]
            present = set_at.notna()
            late = float((set_at[present] > decided_at[present]).mean()) if present.any() else 0.0
            if present.any() and late >= STAMP_SHARE:
                why.append(("timestamp", f"{late:.0%} of its values were set after the lead's decision point "
                                         f"(timestamps in {stamp})"))
        guessed = recorded.get(col) != "before_contact"
        word = name_word(col)
        if word is not None and guessed:
            why.append(("name", f"its name ('{word}') marks a field that is filled in or overwritten while sales "
                                f"works the lead, so it holds the value at export time"))
        words = contact_words(col)
        if words is not None and guessed:
            why.append(("contact", f"its name ('{words}') describes the contact itself (how long, how often or how "
                                   f"well sales spoke with the lead), which is recorded only once sales has "
                                   f"contacted the lead"))
        if recorded.get(col) == "after_contact":
            why.append(("recorded", "workspace.yaml declares it recorded: after_contact (its value is known only "
                                    "once sales has contacted the lead)"))
        if col in held:
            why.append(("signed", f"excluded in the definition both teams signed (version {signed.version}); "
                                  f"a signed exclusion holds in every later review"))
        if col in declared:
            why.append(("declared", "declared as known only after the outcome"))
        if why:
            flagged[col] = why
    return LeakageReport(aucs, flagged, known, int((~np.asarray(train)).sum()),
                         {c: w for c, w in recorded.items() if c in cands.kinds}, sorted(held - set(cands.kinds)))


def check_workspace(tables, cands: Candidates, y: np.ndarray, train: np.ndarray, decided_at: pd.Series,
                    declared: tuple[str, ...] = ()) -> LeakageReport:
    """:func:`check` with what the workspace declares: ``recorded`` columns and the signed definition's exclusions.

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
        Its ``workspace.yaml`` (``recorded: {leads: ...}``) and ``definitions/qualification.yaml`` when signed.
    """
    recorded = recorded_columns(tables, cands)
    report = check(cands, y, train, decided_at, declared, recorded, signed_definition(tables))
    present = set(cands.kinds) | set(cands.dropped) | set(cands.timestamps)
    report.unknown = sorted(c for c, when in recorded.items() if when == "after_contact" and c not in present)
    return report


def recorded_columns(tables, cands: Candidates | None = None) -> dict[str, str]:
    """Lead column -> ``before_contact`` / ``after_contact`` as ``workspace.yaml`` declares them.

    The activity counts salign adds (``n_<type>``, not columns of the leads table) count only what
    happened before the decision point, so they are ``before_contact`` by construction.
    """
    recorded = getattr(tables.config, "recorded", None) or {}
    out = dict(recorded.get("leads", {}))
    if cands is not None and tables.leads is not None:
        out |= {c: "before_contact" for c in cands.kinds
                if str(c).startswith("n_") and c not in tables.leads.columns and c not in out}
    return out


def signed_definition(tables):
    """The workspace's ``definitions/qualification.yaml`` when both teams signed it, else None."""
    previous = (tables.definitions or {}).get(DEFINITION)
    return previous if previous is not None and previous.signed else None


def _companion(col: str, stamps: dict) -> str | None:
    return next((col + s for s in STAMP_SUFFIXES if col + s in stamps), None)


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)
