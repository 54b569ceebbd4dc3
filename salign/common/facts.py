"""Per-lead facts derived from the event tables: when each stage was reached, behaviour counts; which funnel
stages the data records, and the outcome a qualified lead is expected to reach.

**The one rule for "reached"** (:func:`passed`), used by the review's funnel and by the qualification study
alike: a lead reached funnel stage *s* from the first moment it has an event at *s* or at any later funnel
stage. A lead won without a recorded SQL has reached SQL (when it was won).

**Recorded stages** (:func:`recorded_stages`): a funnel stage is one the data *records* when some leads have
an event at that stage itself and they are at least half of the leads that reached it under the rule (a
handful of stray events among many leads that passed the stage does not make it one). ``lead`` is always
recorded (every lead has a creation time). Pages name only recorded stages.

**The outcome** (:func:`outcome_setting`): ``outcome:`` in workspace.yaml when it is set, else the first of
sql, opportunity and won that the data records: the stage nearest the handover that the CRM keeps, so that
success is known as early as the data allows.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import pandas as pd

from salign.common import events
from salign.workspace.config import OUTCOME_STAGES
from salign.workspace.schema import FUNNEL

MARKETING_WINDOW_DAYS = 30


def first_reached(tables, before: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per lead with a stage event (before ``before``), one column per stage: the first time the lead
    reached it (NaT if never). Computed by the workspace's engine (:func:`salign.common.events.first_entries`)."""
    return events.first_entries(tables, before)


def passed(firsts: pd.DataFrame) -> pd.DataFrame:
    """The one rule for "reached": per funnel stage, the earliest first entry into it or any later funnel stage.

    ``firsts`` has one column per stage of :data:`~salign.workspace.schema.FUNNEL` (the first event at it,
    NaT if none); the result has the same index and those columns (NaT: never reached).
    """
    at = firsts[list(FUNNEL)].copy()
    for i in range(len(FUNNEL) - 2, -1, -1):  # earliest of the stage itself or any later one
        at[FUNNEL[i]] = at[FUNNEL[i]].where(at[FUNNEL[i]] <= at[FUNNEL[i + 1]], at[FUNNEL[i + 1]]) \
            .fillna(at[FUNNEL[i]])
    return at


@dataclass(frozen=True)
class StageRecord:
    """How the stage history records one funnel stage: leads with an event at it, and leads that reached it."""

    stage: str
    events: int
    reached: int

    @property
    def recorded(self) -> bool:
        return self.stage == "lead" or (self.events > 0 and 2 * self.events >= self.reached)


def stage_records(tables) -> dict[str, StageRecord]:
    """Per funnel stage, how many leads have an event at it and how many reached it under :func:`passed`."""
    counts = events.stage_counts(tables)
    reached = counts["furthest"][::-1].cumsum()[::-1]
    return {s: StageRecord(s, int(counts.at[s, "events"]), int(reached[s])) for s in FUNNEL}


_RECORDS: dict[int, dict[str, StageRecord]] = {}


def _records_of(tables) -> dict[str, StageRecord]:
    """:func:`stage_records` of the tables' stage history, memoised per tables object ({} without a history).

    A review asks for it many times; tables are not modified after loading.
    """
    if tables.stages is None:
        return {}
    key = id(tables)
    if key not in _RECORDS:
        _RECORDS[key] = stage_records(tables)
        weakref.finalize(tables, _RECORDS.pop, key, None)
    return _RECORDS[key]


def recorded_stages(tables) -> tuple[str, ...]:
    """The funnel stages the data records, in funnel order (see the module docstring); ``lead`` always."""
    records = _records_of(tables)
    return tuple(s for s in FUNNEL if s == "lead" or (s in records and records[s].recorded))


@dataclass(frozen=True)
class OutcomeSetting:
    """The stage a qualified lead is expected to reach, where that choice comes from, and why in plain words.

    ``stage`` is None when workspace.yaml sets none and the data records none of sql, opportunity, won.
    """

    stage: str | None
    source: str  # "workspace.yaml", "parameter" or "data"
    reason: str


def outcome_setting(tables, override: str | None = None) -> OutcomeSetting:
    """The outcome: ``override`` (a notebook parameter), else ``outcome:`` in workspace.yaml, else from the data.

    The default is the furthest of sql, opportunity and won that :func:`recorded_stages` finds.
    """
    records = _records_of(tables)

    def evidence(stage):
        r = records.get(stage)
        if r is None or not r.events:
            return (f"the data records no {stage} events; a lead counts as reaching {stage} when it reached a "
                    "later funnel stage")
        return f"{r.events:,} leads have an event at {stage}"

    if override:
        return OutcomeSetting(override, "parameter", f"set by the notebook parameter outcome ({evidence(override)})")
    configured = tables.config.outcome
    if configured:
        return OutcomeSetting(configured, "workspace.yaml",
                              f"set in workspace.yaml (outcome: {configured}; {evidence(configured)})")
    recorded = [s for s in OUTCOME_STAGES if s in records and records[s].recorded]
    if not recorded:
        return OutcomeSetting(None, "data", (
            f"workspace.yaml sets no outcome and the stage history records none of {', '.join(OUTCOME_STAGES)} "
            "(no lead has reached any of them); set outcome: in workspace.yaml"))
    stage = recorded[-1]
    # the reason names no stage the data lacks (pages name only the stages the data has)
    return OutcomeSetting(stage, "data", (
        f"the default when workspace.yaml sets no outcome: of the stages a qualified lead can be expected to reach, "
        f"the furthest the data records ({evidence(stage)}; a stage counts as recorded when most of the leads that "
        f"reached it have an event at it); set outcome: in workspace.yaml to choose another"))


def decision_time(leads: pd.DataFrame, firsts: pd.DataFrame) -> pd.Series:
    """When a lead is judged: when it passed MQL, or ``MARKETING_WINDOW_DAYS`` after creation if it never did.

    With ``firsts`` under :func:`passed` (as :func:`lead_facts` gives them), a lead handed straight to a later
    stage is judged then, so nothing after its success is counted as a feature.
    """
    mql = firsts["mql"].reindex(leads["lead_id"]).set_axis(leads.index)
    return mql.fillna(leads["created_at"] + pd.Timedelta(days=MARKETING_WINDOW_DAYS))


def behaviour_counts(tables) -> pd.DataFrame:
    """``n_<type>`` counts of each lead's marketing activities strictly before its decision point
    (:func:`decision_time`), one row per lead of ``tables.leads`` (same index).

    Only what was known at the decision point is counted, so these are safe model features.
    """
    counts = events.marketing_counts(tables, MARKETING_WINDOW_DAYS)
    leads = tables.leads
    return counts.reindex(leads["lead_id"]).fillna(0).astype(int).set_axis(leads.index)


def leads_with_accounts(tables, fields=None) -> pd.DataFrame:
    """Leads with the account columns they lack joined in (a persona rule may name either); index kept.

    With ``fields`` (the fields a rule reads), only those columns, when the leads and accounts have them all: a
    million leads are not copied column by column for a rule that reads three. Otherwise every column (a rule
    naming a field neither has then fails naming what there is).
    """
    leads = tables.leads
    joins = tables.accounts is not None and "account_id" in leads.columns
    acc = tables.accounts.set_index("account_id") if joins else None
    extra = [c for c in acc.columns if c not in leads.columns] if joins else []
    if fields is not None:
        want = list(dict.fromkeys(fields))
        if set(want) <= set(leads.columns) | set(extra):
            more = [c for c in want if c in extra]
            if not more:
                return leads[want]
            own = list(dict.fromkeys([c for c in want if c in leads.columns] + ["account_id"]))
            return leads[own].join(acc[more], on="account_id")[want]
    if not joins:
        return leads
    return leads.join(acc[extra], on="account_id")


def lead_facts(tables) -> pd.DataFrame:
    """Leads with the times they reached each stage (``at_<stage>``), decision time and behaviour counts.

    Funnel stages follow the one rule for "reached" (:func:`passed`); exits (rejected, recycled, ...) are
    their first events.
    """
    tables.require("leads", "stages")
    leads = tables.leads
    firsts = first_reached(tables)
    firsts[list(FUNNEL)] = passed(firsts)
    at = firsts.reindex(leads["lead_id"]).set_axis(leads.index).add_prefix("at_")
    cutoff = decision_time(leads, firsts)
    counts = behaviour_counts(tables)
    return pd.concat([leads, at, cutoff.rename("decided_at"), counts], axis=1)
