"""Decision-time features: the lead's attributes, its persona and its activity counts before the decision point.

Every column of the leads table is a candidate except identifiers, keys to other tables, personal
data, timestamps and constants (each dropped with its reason). Whether a column identifies leads is
decided by its values, never its name: a distinct value for (almost) every lead. A code column that
repeats (``landing_page_id``: 495 pages over 8,000 leads) is a category like any other, even when
its codes are numbers. Text columns that hold numbers become numeric.
Activity counts (``n_<type>``) come from :func:`salign.common.facts.lead_facts`, which counts only
what happened before the decision point.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salign.core import fmt
from salign.scoring.bins import CATEGORICAL, NUMERIC
from salign.scoring.per_value import by_rows, by_value
from salign.workspace.schema import PII_COLUMNS, TABLES

#: columns of the outcome frame that are bookkeeping, not attributes
BOOKKEEPING = ("lead_id", "created_at", "decided_at", "y", "outcome_at")
#: a text column with at least this share of distinct values identifies leads (a whole-number column: all distinct)
IDENTIFIER_SHARE = 0.9
#: ... when it has more than this many distinct values
IDENTIFIER_MIN_DISTINCT = 50
#: columns of the leads table that point into another table (a lead's account): a link, not an attribute
REFERENCES = TABLES["leads"].references
#: share of non-missing values that must parse for a text column to count as numbers or timestamps
PARSE_SHARE = 0.98
#: rows looked at before trying to parse a whole text column as numbers
PROBE = 200
#: a name that says "code": its numbers are labels, not quantities, so it is categorical (never dropped for its name)
_CODE_NAME = re.compile(r"(^|_)(id|uuid|number|no|key|code)$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")



@dataclass
class Candidates:
    """Candidate model inputs, typed, and what was left out.

    Attributes
    ----------
    frame : pandas.DataFrame
        One column per candidate feature: floats (numeric) or text with NaN for missing (categorical).
    kinds : dict
        Column -> ``"numeric"`` or ``"categorical"``.
    dropped : dict
        Column -> why it is not a candidate (identifier, personal data, timestamp, constant).
    timestamps : dict
        Column -> parsed UTC timestamps, for the leakage check (values set after the decision point).
    """

    frame: pd.DataFrame
    kinds: dict[str, str]
    dropped: dict[str, str] = field(default_factory=dict)
    timestamps: dict[str, pd.Series] = field(default_factory=dict)


def persona_column(facts: pd.DataFrame, tables) -> pd.Series | None:
    """Each lead's common persona (``personas.common.yaml``, first match in file order), if the workspace has one."""
    common = (tables.definitions or {}).get("personas.common.yaml") if tables is not None else None
    if common is None:
        return None
    usable = all(f in facts.columns for p in common.personas for f in p.rule.fields())
    if not usable:
        return None
    fields = [f for p in common.personas for f in sorted(p.rule.fields())]
    return by_rows(facts[list(dict.fromkeys(fields))], common.first_match)  # once per distinct lead


def candidates(facts: pd.DataFrame, tables=None) -> Candidates:
    """Type every attribute column of ``facts`` and drop those that cannot be features.

    Parameters
    ----------
    facts : pandas.DataFrame
        The outcome frame of :func:`salign.qualify.target.outcomes`.
    tables : salign.workspace.tables.Tables, optional
        For the common persona set, when the workspace has one.
    """
    out: dict[str, pd.Series] = {}
    kinds: dict[str, str] = {}
    dropped: dict[str, str] = {}
    stamps: dict[str, pd.Series] = {}
    persona = persona_column(facts, tables)
    cols = {c: facts[c] for c in facts.columns if c not in BOOKKEEPING and not str(c).startswith("at_")}
    if persona is not None and "persona" not in cols:
        cols["persona"] = persona
    for name, col in cols.items():
        kind, values, why = _type(name, col)
        if kind == "timestamp":
            stamps[name] = values
            dropped[name] = why
        elif kind is None:
            dropped[name] = why
        else:
            out[name], kinds[name] = values, kind
    return Candidates(pd.DataFrame(out, index=facts.index), kinds, dropped, stamps)


def _type(name: str, col: pd.Series):
    """(kind, typed values, reason): kind is numeric, categorical, timestamp or None (dropped)."""
    if name in PII_COLUMNS:
        return None, None, "personal data"
    if pd.api.types.is_datetime64_any_dtype(col):
        return "timestamp", col, "a timestamp, not an attribute"
    present = col.dropna()
    if present.empty:
        return None, None, "always empty"
    if pd.api.types.is_bool_dtype(col) or (col.dtype == object and _all_bool(present)):
        values, kind = col.map(lambda v: v if pd.isna(v) else str(v).lower()), CATEGORICAL
    elif pd.api.types.is_numeric_dtype(col):
        values, kind = col.astype(float), NUMERIC
    else:
        text = by_value(present, lambda t: t.astype(str).str.strip())  # once per distinct text
        if _parses(text.head(PROBE)) and _parses(text):
            values, kind = pd.to_numeric(col.astype("string").str.strip(), errors="coerce").astype(float), NUMERIC
        elif text.head(50).str.match(_ISO).all():
            stamp = pd.to_datetime(col, utc=True, errors="coerce", format="ISO8601")
            if stamp.notna().sum() >= PARSE_SHARE * len(present):
                return "timestamp", stamp, "a timestamp, not an attribute"
            values, kind = _text(col), CATEGORICAL
        else:
            values, kind = _text(col), CATEGORICAL
    if kind == NUMERIC and _CODE_NAME.search(str(name)) and _whole(values):
        values, kind = values.map(lambda v: v if pd.isna(v) else f"{v:.0f}"), CATEGORICAL  # codes, not amounts
    distinct, n = values.nunique(), int(values.notna().sum())
    if distinct <= 1 and values.notna().all():
        return None, None, "the same value for every lead"
    share = IDENTIFIER_SHARE if kind == CATEGORICAL else 1.0  # a count or size may be nearly unique; an id is unique
    if distinct > IDENTIFIER_MIN_DISTINCT and distinct >= share * n and (kind == CATEGORICAL or _whole(values)):
        return None, None, (f"an identifier (a distinct value for almost every lead: {fmt.count(distinct)} values "
                            f"for {fmt.count(n)} leads)")
    if name in REFERENCES:
        return None, None, (f"a link to the {REFERENCES[name]} table ({fmt.count(distinct)} different {REFERENCES[name]} "
                            f"for the {fmt.count(n)} leads that name one): which record a lead belongs to, not an "
                            "attribute of the lead")
    return kind, values, ""


def _all_bool(present: pd.Series) -> bool:
    """Are all these (present) values Python booleans? Scanned in C first: text is ruled out without a call per row."""
    if pd.api.types.infer_dtype(present, skipna=True) != "boolean":
        return False
    return bool(present.map(type).eq(bool).all())


def _whole(values: pd.Series) -> bool:
    """Are all present values whole numbers?"""
    return bool(np.allclose(values.dropna() % 1, 0))


def _parses(text: pd.Series) -> bool:
    """Do (almost) all of these texts read as numbers?"""
    return bool(pd.to_numeric(text, errors="coerce").notna().mean() >= PARSE_SHARE)


def _text(col: pd.Series) -> pd.Series:
    """Text values stripped; empty text is missing (worked out once per distinct value)."""
    return by_value(col, _text_rows)


def _text_rows(col: pd.Series) -> pd.Series:
    text = col.astype("string").str.strip()
    return text.where(text != "").astype(object).where(text.notna() & (text != ""), np.nan)
