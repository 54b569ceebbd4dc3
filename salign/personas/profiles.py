"""One row per customer: who they are (firmographics), how they first came in (first contact) and what
happened before they first bought (behaviour)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from salign.common.touches import account_type_counts
from salign.core import fmt
from salign.workspace.schema import PII_COLUMNS

#: lead columns that describe the lead's handling or a team's own tagging, not the buyer
_NOT_BUYER = {"lead_id", "account_id", "created_at", "owner", "marketing_persona"}
#: account columns that are identifiers, free text or dates rather than attributes
_NOT_ATTRIBUTE = {"account_id", "name", "created_at", "churned_at"}
#: columns of value and its parts: never an attribute that explains value
VALUE_COLUMNS = {"won_revenue", "won_deals", "gross_margin", "value", "best", "worst", "first_won_at"}
#: most distinct values of a text attribute compared value by value
MAX_LEVELS = 30
#: days after the first purchase in which further purchases count as buying again early
EARLY_DAYS = 90
#: behaviour derived from the purchases alone (when the accounts carry no attribute), in words
PURCHASE_BEHAVIOUR = {
    "first_purchase_value": "the amount of the first won deal (deals closed at the same moment added up)",
    "purchases_first_90_days": f"won deals in the first {EARLY_DAYS} days from the first purchase, the first "
                               f"included (missing where the first purchase is less than {EARLY_DAYS} days "
                               "before the data cut-off)",
    "tenure_days": "days from the first purchase to the data cut-off (or to churn)",
    "recency_days": "days from the last purchase to the data cut-off (or to churn)",
}


def first_contacts(leads: pd.DataFrame | None) -> pd.DataFrame:
    """Each account's first lead (by ``created_at``), indexed by ``account_id``; PII columns dropped."""
    if leads is None or "account_id" not in leads.columns:
        return pd.DataFrame(index=pd.Index([], name="account_id"))
    keep = [c for c in leads.columns if c not in PII_COLUMNS]
    return (leads.loc[leads["account_id"].notna(), keep].sort_values(["created_at", "lead_id"], kind="stable")
            .drop_duplicates("account_id").set_index("account_id"))


def customer_profiles(tables) -> pd.DataFrame:
    """One row per customer (account with at least one won deal); see :func:`profiles_with_notes`.

    Parameters
    ----------
    tables : salign.Tables
        Needs ``accounts`` and ``opportunities``; ``leads`` and ``activities`` add attributes when present.

    Returns
    -------
    pandas.DataFrame
        The account's columns; ``won_revenue`` (sum of won amounts), ``won_deals``, ``first_won_at``;
        the first lead's buyer columns the account lacks (``source``, ``job_level``, ``department``, ...;
        not a column with a ``<column>_set_at`` companion or declared ``recorded: after_contact`` in
        workspace.yaml: someone set it later, it is no buyer attribute; nor an account column so declared);
        behaviour before the first won deal closed: ``contacts`` (leads), ``touches_<type>`` per
        activity type, ``deals_lost_before_win`` and ``days_to_first_win`` (first lead or first deal to
        first win). Account and lead columns of numbers written as text, with more distinct values than
        :data:`MAX_LEVELS` (too many to compare one by one), are read as numbers. When
        neither the accounts nor the first contacts carry an attribute, the behaviour derived from the
        purchases themselves (:data:`PURCHASE_BEHAVIOUR`). Sorted by ``account_id``.
    """
    return profiles_with_notes(tables)[0]


def profiles_with_notes(tables) -> tuple[pd.DataFrame, list[str], list[str]]:
    """:func:`customer_profiles`, the columns read as numbers (written as text) and the derived purchase columns."""
    tables.require("accounts", "opportunities")
    opps = tables.opportunities
    won = opps[(opps["outcome"] == "won") & opps["account_id"].notna()]
    amount = won["amount"] if "amount" in won.columns else pd.Series(np.nan, index=won.index)
    closed = won["closed_at"] if "closed_at" in won.columns else won["created_at"]
    money = (won.assign(amount=amount, won_at=closed).groupby("account_id")
             .agg(won_revenue=("amount", "sum"), won_deals=("opportunity_id", "size"), first_won_at=("won_at", "min")))
    acc = tables.accounts.set_index("account_id")
    acc = acc.drop(columns=[c for c in tables.config.after_contact("accounts") if c in acc.columns])
    prof = acc.join(money, how="inner")
    first = first_contacts(tables.leads)
    later = set(tables.config.after_contact("leads"))  # recorded after contact: what sales did, not who bought
    lead_cols = [c for c in first.columns if c not in _NOT_BUYER and c not in prof.columns and c not in later
                 and not pd.api.types.is_datetime64_any_dtype(first[c]) and f"{c}_set_at" not in first.columns]
    prof = prof.join(first[lead_cols])
    typed = []  # numbers written as text, too many to compare value by value: compared as numbers
    for col in prof.columns:
        if (col not in money.columns and col not in _NOT_ATTRIBUTE and not col.endswith("_id")
                and prof[col].nunique() > MAX_LEVELS):
            number = numbers_from_text(prof[col])
            if number is not None:
                prof[col] = number
                typed.append(col)
    buyer = attribute_columns(prof, VALUE_COLUMNS)  # accounts and first contacts only, so far
    prof = prof.join(_behaviour(tables, prof["first_won_at"], first))
    derived = []
    if not buyer:
        purchases = _purchases(tables, won.assign(amount=amount, won_at=closed), prof)
        prof = prof.join(purchases)
        derived = list(purchases.columns)
    prof.index.name = "account_id"
    return prof.reset_index().sort_values("account_id", kind="stable").reset_index(drop=True), typed, derived


def numbers_from_text(s: pd.Series) -> pd.Series | None:
    """``s`` as numbers when it is text whose every value is a number (``1,200`` and `` 33 `` too), else None.

    Codes are not numbers: a value with a leading zero (``0042``) keeps the column as text.
    """
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_bool_dtype(s):
        return None
    text = s.dropna().astype(str).str.strip()
    if text.empty or not text.str.fullmatch(r"[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?").all():
        return None
    if text.str.fullmatch(r"[-+]?0\d.*").any():
        return None
    out = pd.Series(np.nan, index=s.index, dtype=float)
    out[text.index] = pd.to_numeric(text.str.replace(",", "", regex=False)).astype(float)
    return out


def _purchases(tables, won: pd.DataFrame, prof: pd.DataFrame) -> pd.DataFrame:
    """Behaviour from the won deals alone (:data:`PURCHASE_BEHAVIOUR`), one row per customer of ``prof``."""
    as_of = tables.as_of
    w = won.loc[won["account_id"].isin(prof.index), ["account_id", "won_at", "amount"]]
    first = w["account_id"].map(prof["first_won_at"])
    out = pd.DataFrame(index=prof.index)
    at_first = w[w["won_at"] == first]
    out["first_purchase_value"] = at_first.groupby("account_id")["amount"].sum(min_count=1).reindex(out.index)
    early = w[w["won_at"] <= first + pd.Timedelta(days=EARLY_DAYS)].groupby("account_id").size()
    complete = prof["first_won_at"] + pd.Timedelta(days=EARLY_DAYS) <= as_of
    out["purchases_first_90_days"] = early.reindex(out.index).where(complete)
    end = pd.Series(as_of, index=prof.index)
    if "churned_at" in prof.columns:
        end = end.where(~(prof["churned_at"] < as_of), prof["churned_at"])
    last = w.groupby("account_id")["won_at"].max().reindex(out.index)
    out["tenure_days"] = ((end - prof["first_won_at"]).dt.total_seconds() // 86400).clip(lower=0)
    out["recency_days"] = ((end - last).dt.total_seconds() // 86400).clip(lower=0)
    return out


def _behaviour(tables, won_at: pd.Series, first: pd.DataFrame) -> pd.DataFrame:
    """Counts and durations before each customer's first won deal closed."""
    out = pd.DataFrame(index=won_at.index)
    leads = tables.leads
    if leads is not None and "account_id" in leads.columns:
        lead_at = leads.loc[leads["account_id"].isin(won_at.index), ["account_id", "created_at"]]
        before = lead_at[lead_at["created_at"] < lead_at["account_id"].map(won_at)]
        out["contacts"] = before.groupby("account_id").size().reindex(out.index).fillna(0).astype(int)
    counts = account_type_counts(tables, won_at)  # activities before the first win, counted by the engine
    if counts is not None:
        counts = counts.reindex(out.index).fillna(0).astype(int).add_prefix("touches_")
        out = out.join(counts)
    opps = tables.opportunities
    lost = opps[(opps["outcome"] == "lost") & opps["account_id"].isin(won_at.index)]
    if "closed_at" in lost.columns:
        lost = lost[lost["closed_at"] < lost["account_id"].map(won_at)]
        out["deals_lost_before_win"] = lost.groupby("account_id").size().reindex(out.index).fillna(0).astype(int)
    start = opps[opps["account_id"].isin(won_at.index)].groupby("account_id")["created_at"].min()
    if "created_at" in first.columns:
        start = pd.concat([start, first["created_at"].reindex(won_at.index)], axis=1).min(axis=1)
    days = (won_at - start.reindex(won_at.index)).dt.total_seconds() / 86400
    out["days_to_first_win"] = days.round(1)
    return out


def attribute_columns(customers: pd.DataFrame, exclude: set[str] = frozenset(), max_levels: int = MAX_LEVELS) -> list[str]:
    """Columns that describe customers: numeric, or text with 2 to ``max_levels`` distinct values.

    Identifiers, names, dates, PII and the columns in ``exclude`` (the value and its components) are left out.
    """
    out = []
    for col in customers.columns:
        s = customers[col]
        if (col in _NOT_ATTRIBUTE or col in exclude or col in PII_COLUMNS or col.endswith("_id")
                or pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_bool_dtype(s)):
            continue
        if col.endswith(("_at", "_date")) and not pd.api.types.is_numeric_dtype(s):
            continue  # a date written as text
        distinct = s.nunique(dropna=True)
        if distinct < 2:
            continue
        if pd.api.types.is_numeric_dtype(s) or distinct <= max_levels:
            out.append(col)
    return out


def left_out(customers: pd.DataFrame, exclude: set[str] = frozenset(), max_levels: int = MAX_LEVELS) -> dict[str, str]:
    """Columns that could describe customers but are not compared, each with the reason (for the page)."""
    out = {}
    for col in customers.columns:
        s = customers[col]
        if (col in _NOT_ATTRIBUTE or col in exclude or col in PII_COLUMNS or col.endswith("_id")
                or pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_bool_dtype(s)
                or pd.api.types.is_numeric_dtype(s)):
            continue
        distinct = s.nunique(dropna=True)
        if col.endswith(("_at", "_date")):
            out[col] = "a date or time, not an attribute"
        elif distinct > max_levels:
            out[col] = f"text with {fmt.count(distinct)} distinct values, more than {max_levels} levels to compare"
    return out


def attribute_kinds(tables, columns: list[str]) -> dict[str, str]:
    """Where each attribute comes from: ``firmographic`` (accounts), ``first contact`` (leads) or ``behaviour``."""
    acc = set(tables.accounts.columns) if tables.accounts is not None else set()
    leads = set(tables.leads.columns) if tables.leads is not None else set()
    return {c: "firmographic" if c in acc else "first contact" if c in leads else "behaviour" for c in columns}
