"""Per-lead facts derived from the event tables: when each stage was first reached, behaviour counts."""
from __future__ import annotations

import pandas as pd

from salign.workspace.schema import STAGES

MARKETING_WINDOW_DAYS = 30


def first_reached(stages: pd.DataFrame) -> pd.DataFrame:
    """One row per lead, one column per stage: the first time the lead reached it (NaT if never)."""
    wide = stages.groupby(["lead_id", "stage"], observed=True)["at"].min().unstack("stage")
    for s in STAGES:
        if s not in wide.columns:
            wide[s] = pd.Series(pd.NaT, index=wide.index, dtype=stages["at"].dtype)
    return wide[list(STAGES)]


def decision_time(leads: pd.DataFrame, firsts: pd.DataFrame) -> pd.Series:
    """When a lead is judged: its first MQL, or ``MARKETING_WINDOW_DAYS`` after creation if never MQL'd."""
    mql = firsts["mql"].reindex(leads["lead_id"]).set_axis(leads.index)
    return mql.fillna(leads["created_at"] + pd.Timedelta(days=MARKETING_WINDOW_DAYS))


def behaviour_counts(leads: pd.DataFrame, activities: pd.DataFrame | None, cutoff: pd.Series) -> pd.DataFrame:
    """``n_<type>`` counts of each lead's marketing activities strictly before its ``cutoff``.

    Only what was known at the decision point is counted, so these are safe model features.
    """
    if activities is None or "lead_id" not in activities.columns:
        return pd.DataFrame(index=leads.index)
    acts = activities[(activities["team"] == "marketing") & activities["lead_id"].notna()]
    cut = pd.Series(cutoff.to_numpy(), index=leads["lead_id"].to_numpy())
    acts = acts[acts["at"] < acts["lead_id"].map(cut)]
    counts = acts.groupby(["lead_id", "type"]).size().unstack("type", fill_value=0).add_prefix("n_")
    return counts.reindex(leads["lead_id"]).fillna(0).astype(int).set_axis(leads.index)


def leads_with_accounts(tables) -> pd.DataFrame:
    """Leads with the account columns they lack joined in (a persona rule may name either); index kept."""
    leads = tables.leads
    if tables.accounts is None or "account_id" not in leads.columns:
        return leads
    acc = tables.accounts.set_index("account_id")
    extra = [c for c in acc.columns if c not in leads.columns]
    return leads.join(acc[extra], on="account_id")


def lead_facts(tables) -> pd.DataFrame:
    """Leads with their first stage times (``at_<stage>``), decision time and behaviour counts."""
    tables.require("leads", "stages")
    leads = tables.leads
    firsts = first_reached(tables.stages)
    at = firsts.reindex(leads["lead_id"]).set_axis(leads.index).add_prefix("at_")
    cutoff = decision_time(leads, firsts)
    counts = behaviour_counts(leads, tables.activities, cutoff)
    return pd.concat([leads, at, cutoff.rename("decided_at"), counts], axis=1)
