"""Which activities used content, and activity counts per asset and per account, written once as Ibis
expressions and run by the workspace's engine (:mod:`salign.workspace.engine`). Only the touches of known
assets (far fewer columns than the activities), counts per asset, per account and type, and the stage events
of the leads that touched content come back to pandas; no function here reads the activities as a frame.

Every function reads the tables as the tables object stands (:func:`salign.workspace.engine.event_table`).
"""
from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from salign.workspace.engine import engine_of, event_table

#: the columns of a content touch, in this order
TOUCH_COLUMNS = ("content_id", "at", "team", "lead_id")


def activity_columns(tables) -> set[str]:
    """The event columns the activities carry (empty without activities), read from the engine's table."""
    acts = event_table(tables, "activities")
    return set() if acts is None else set(acts.columns)


def _touches(tables, content_ids, before: pd.Timestamp):
    """Activities with a content_id among ``content_ids`` strictly before ``before``, as an expression."""
    acts = event_table(tables, "activities")
    ids = sorted(content_ids)
    keep = acts.content_id.notnull() & (acts.at < before)
    keep = keep & (acts.content_id.isin(ids) if ids else ibis.literal(False))
    t = acts.filter(keep)
    lead = t.lead_id if "lead_id" in t.columns else ibis.null().cast(dt.string)
    return t.select(content_id=t.content_id, at=t.at, team=t.team, lead_id=lead)


def content_touches(tables, content_ids, before: pd.Timestamp) -> pd.DataFrame:
    """Every activity that used an asset of ``content_ids`` strictly before ``before``: ``content_id``, ``at``,
    ``team``, ``lead_id`` (None for a touch without a lead), one row per activity.

    Rows are sorted by the engine by time, then lead, asset and team (missing last; text in the engine's
    collation) with a fresh RangeIndex: the engines keep no file order, so the order is fixed by the values
    (rows equal in all four are interchangeable).
    Needs activities with ``content_id``, ``at`` and ``team``.
    """
    t = _touches(tables, {str(c) for c in content_ids}, before)
    expr = t.order_by([t.at.asc(nulls_first=False), t.lead_id.asc(nulls_first=False),
                       t.content_id.asc(nulls_first=False), t.team.asc(nulls_first=False)])
    return engine_of(tables).fetch(expr)[list(TOUCH_COLUMNS)].reset_index(drop=True)


def touched_stage_events(tables, content_ids, before: pd.Timestamp, stages) -> pd.DataFrame:
    """The stage events among ``stages`` strictly before ``before`` of the leads with a content touch
    (:func:`content_touches` with the same ``content_ids`` and ``before``): ``lead_id``, ``stage``, ``at``.

    Sorted by lead and time; events of one lead at the same moment in the order of ``stages`` (a later one
    last), so that "the latest event at or before a time" is the one furthest along ``stages``.
    """
    st = event_table(tables, "stages")
    if st is None:
        return pd.DataFrame({"lead_id": pd.Series(dtype=object), "stage": pd.Series(dtype=object),
                             "at": pd.Series(dtype="datetime64[ns, UTC]")})
    order = list(stages)
    touched = _touches(tables, {str(c) for c in content_ids}, before)
    touched = touched.filter(touched.lead_id.notnull()).select(t_lead=touched.lead_id).distinct()
    ev = st.filter(st.stage.isin(order) & (st.at < before))
    ev = ev.semi_join(touched, ev.lead_id == touched.t_lead).select("lead_id", "stage", "at")
    ev = ev.order_by([ev.lead_id, ev.at, ev.stage.cases(*[(s, i) for i, s in enumerate(order)])])
    return engine_of(tables).fetch(ev).reset_index(drop=True)


def uses_per_asset(tables, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Activities with a content_id at or after ``start`` and before ``end``, counted per content_id (int64,
    indexed by content_id in id order; assets without use absent). Needs activities with ``content_id``."""
    acts = event_table(tables, "activities")
    a = acts.filter(acts.content_id.notnull() & (acts.at >= start) & (acts.at < end))
    long = engine_of(tables).fetch(a.group_by("content_id").aggregate(n=a.count()))
    uses = long.set_index("content_id")["n"].sort_index()
    uses.name = None
    return uses


def account_type_counts(tables, before: pd.Series) -> pd.DataFrame | None:
    """Per account of ``before`` (a time per account_id), its activities strictly before that time counted per
    activity ``type``: index ``account_id`` (accounts with none absent), one int64 column per type in type
    order. None when the activities lack ``account_id``, ``at`` or ``type``.

    On PostgreSQL, whose read-only session cannot hold the accounts' times as a temporary table, the engine
    narrows the activities to these accounts before the latest of the times and the per-account cut is made
    in pandas on those rows.
    """
    acts = event_table(tables, "activities")
    if acts is None or not {"account_id", "at", "type"} <= set(acts.columns):
        return None
    when = before.dropna()
    when = pd.Series(when.to_numpy(), index=when.index.astype(str)).astype("datetime64[ns, UTC]")
    engine = engine_of(tables)
    a = acts.filter(acts.account_id.notnull() & acts.type.notnull())
    if when.empty:
        long = pd.DataFrame({"account_id": [], "type": [], "n": []})
    elif engine.kind == "postgres":
        a = a.filter(a.account_id.isin(sorted(when.index)) & (a.at < when.max()))
        rows = engine.fetch(a.select("account_id", "type", "at"))
        rows = rows[rows["at"] < rows["account_id"].map(when)]
        long = rows.groupby(["account_id", "type"]).size().rename("n").reset_index()
    else:
        w = ibis.memtable(pd.DataFrame({"w_account": when.index.to_numpy(dtype=object), "w_at": when.to_numpy()}))
        j = a.join(w, a.account_id == w.w_account)
        j = j.filter(j.at < j.w_at)
        long = engine.fetch(j.group_by(["account_id", "type"]).aggregate(n=j.count()))
    if long.empty:
        return pd.DataFrame(index=pd.Index([], name="account_id", dtype=object))
    wide = long.pivot(index="account_id", columns="type", values="n").fillna(0).astype("int64")
    return wide.sort_index().sort_index(axis=1)
