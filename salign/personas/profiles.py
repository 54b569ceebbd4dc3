"""One row per customer: who they are (firmographics), how they first came in (first contact) and what
happened before they first bought (behaviour)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from salign.workspace.schema import PII_COLUMNS

#: lead columns that describe the lead's handling or a team's own tagging, not the buyer
_NOT_BUYER = {"lead_id", "account_id", "created_at", "owner", "marketing_persona"}
#: account columns that are identifiers, free text or dates rather than attributes
_NOT_ATTRIBUTE = {"account_id", "name", "created_at", "churned_at"}


def first_contacts(leads: pd.DataFrame | None) -> pd.DataFrame:
    """Each account's first lead (by ``created_at``), indexed by ``account_id``; PII columns dropped."""
    if leads is None or "account_id" not in leads.columns:
        return pd.DataFrame(index=pd.Index([], name="account_id"))
    keep = [c for c in leads.columns if c not in PII_COLUMNS]
    return (leads.loc[leads["account_id"].notna(), keep].sort_values(["created_at", "lead_id"], kind="stable")
            .drop_duplicates("account_id").set_index("account_id"))


def customer_profiles(tables) -> pd.DataFrame:
    """One row per customer (account with at least one won deal).

    Parameters
    ----------
    tables : salign.Tables
        Needs ``accounts`` and ``opportunities``; ``leads`` and ``activities`` add attributes when present.

    Returns
    -------
    pandas.DataFrame
        The account's columns; ``won_revenue`` (sum of won amounts), ``won_deals``, ``first_won_at``;
        the first lead's buyer columns the account lacks (``source``, ``job_level``, ``department``, ...;
        not a column with a ``<column>_set_at`` companion: someone set it later, it is no buyer attribute);
        behaviour before the first won deal closed: ``contacts`` (leads), ``touches_<type>`` per
        activity type, ``deals_lost_before_win`` and ``days_to_first_win`` (first lead or first deal to
        first win). Sorted by ``account_id``.
    """
    tables.require("accounts", "opportunities")
    opps = tables.opportunities
    won = opps[(opps["outcome"] == "won") & opps["account_id"].notna()]
    amount = won["amount"] if "amount" in won.columns else pd.Series(np.nan, index=won.index)
    closed = won["closed_at"] if "closed_at" in won.columns else won["created_at"]
    money = (won.assign(amount=amount, won_at=closed).groupby("account_id")
             .agg(won_revenue=("amount", "sum"), won_deals=("opportunity_id", "size"), first_won_at=("won_at", "min")))
    acc = tables.accounts.set_index("account_id")
    prof = acc.join(money, how="inner")
    first = first_contacts(tables.leads)
    lead_cols = [c for c in first.columns if c not in _NOT_BUYER and c not in prof.columns
                 and not pd.api.types.is_datetime64_any_dtype(first[c]) and f"{c}_set_at" not in first.columns]
    prof = prof.join(first[lead_cols])
    prof = prof.join(_behaviour(tables, prof["first_won_at"], first))
    prof.index.name = "account_id"
    return prof.reset_index().sort_values("account_id", kind="stable").reset_index(drop=True)


def _behaviour(tables, won_at: pd.Series, first: pd.DataFrame) -> pd.DataFrame:
    """Counts and durations before each customer's first won deal closed."""
    out = pd.DataFrame(index=won_at.index)
    leads = tables.leads
    if leads is not None and "account_id" in leads.columns:
        lead_at = leads.loc[leads["account_id"].isin(won_at.index), ["account_id", "created_at"]]
        before = lead_at[lead_at["created_at"] < lead_at["account_id"].map(won_at)]
        out["contacts"] = before.groupby("account_id").size().reindex(out.index).fillna(0).astype(int)
    acts = tables.activities
    if acts is not None and "account_id" in acts.columns:
        a = acts.loc[acts["account_id"].isin(won_at.index), ["account_id", "at", "type"]]
        a = a[a["at"] < a["account_id"].map(won_at)]
        counts = a.groupby(["account_id", "type"]).size().unstack("type", fill_value=0)
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


def attribute_columns(customers: pd.DataFrame, exclude: set[str] = frozenset(), max_levels: int = 30) -> list[str]:
    """Columns that describe customers: numeric, or text with 2 to ``max_levels`` distinct values.

    Identifiers, names, dates, PII and the columns in ``exclude`` (the value and its components) are left out.
    """
    out = []
    for col in customers.columns:
        s = customers[col]
        if (col in _NOT_ATTRIBUTE or col in exclude or col in PII_COLUMNS or col.endswith("_id")
                or pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_bool_dtype(s)):
            continue
        distinct = s.nunique(dropna=True)
        if distinct < 2:
            continue
        if pd.api.types.is_numeric_dtype(s) or distinct <= max_levels:
            out.append(col)
    return out


def attribute_kinds(tables, columns: list[str]) -> dict[str, str]:
    """Where each attribute comes from: ``firmographic`` (accounts), ``first contact`` (leads) or ``behaviour``."""
    acc = set(tables.accounts.columns) if tables.accounts is not None else set()
    leads = set(tables.leads.columns) if tables.leads is not None else set()
    return {c: "firmographic" if c in acc else "first contact" if c in leads else "behaviour" for c in columns}
