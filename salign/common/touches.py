"""Which activities used content, and activity counts per asset and per account, written once as Ibis
expressions and run by the workspace's engine (:mod:`salign.workspace.engine`). The buying stage of each touch
is an as-of join written as a join on intervals of each lead's stage events, and a per-lead text (the persona label)
is joined in the engine as a small table (named in pandas on PostgreSQL, whose read-only session holds none), so
counts per asset, team and quarter, per label and stage, and per asset, stage and label come back, not touches; no
function here reads the activities or stages as a frame.

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


def _staged(tables, content_ids, before: pd.Timestamp, stage_of: dict):
    """The touches of :func:`_touches` with ``stage``: ``stage_of`` of the lead's latest stage event among the keys
    of ``stage_of`` at or before the touch (events of one lead at one moment count in the order of ``stage_of``, a
    later one last), null for a touch without a lead or before any such event of its lead.

    An as-of join written as a join on intervals (each event holds from its time to the lead's next event), so it
    runs on every engine: each touch meets at most one interval.
    """
    t = _touches(tables, {str(c) for c in content_ids}, before)
    st = event_table(tables, "stages")
    if st is None:
        return t.mutate(stage=ibis.null().cast(dt.string))
    order = list(stage_of)
    ev = st.filter(st.stage.isin(order) & (st.at < before) & st.lead_id.notnull())
    w = ibis.window(group_by=ev.lead_id, order_by=[ev.at, ev.stage.cases(*[(s, i) for i, s in enumerate(order)])])
    ev = ev.select(e_lead=ev.lead_id, e_stage=ev.stage.cases(*stage_of.items()), e_from=ev.at,
                   e_to=ev.at.lead().over(w))
    j = t.left_join(ev, [t.lead_id == ev.e_lead, t.at >= ev.e_from, ev.e_to.isnull() | (t.at < ev.e_to)])
    return j.select("content_id", "at", "team", "lead_id", stage=j.e_stage)


def _period(at, edges) -> ibis.Value:
    """The index of the span of ``edges`` (ascending times) ``at`` falls in: -1 before the first edge, i from edge
    i up to edge i + 1, the last index from the last edge on."""
    return ibis.cases((at < edges[0], -1), *[(at < e, i) for i, e in enumerate(edges[1:])], else_=len(edges) - 1)


def staged_touches(tables, content_ids, before: pd.Timestamp, stage_of: dict) -> pd.DataFrame:
    """:func:`content_touches` (same rows and order) with ``stage``: ``stage_of`` of the lead's latest stage event
    among the keys of ``stage_of`` at or before the touch (events of one lead at one moment count in the order of
    ``stage_of``, a later one last; None without a lead or before any such event). One row per touch: for small
    workspaces and tests; the analyses count in the engine (:func:`use_counts`, :func:`stage_use_counts`)."""
    t = _staged(tables, content_ids, before, stage_of)
    expr = t.order_by([t.at.asc(nulls_first=False), t.lead_id.asc(nulls_first=False),
                       t.content_id.asc(nulls_first=False), t.team.asc(nulls_first=False)])
    return engine_of(tables).fetch(expr)[[*TOUCH_COLUMNS, "stage"]].reset_index(drop=True)


def use_counts(tables, content_ids, before: pd.Timestamp, edges) -> pd.DataFrame:
    """Touches of the assets ``content_ids`` strictly before ``before`` counted per ``content_id``, ``team`` and
    ``period`` (the span of ``edges`` the touch falls in, as :func:`_period`: -1 before the first edge), with
    ``n`` (int64) and ``last`` (the latest touch). One row per group with a touch, in no set order."""
    t = _touches(tables, {str(c) for c in content_ids}, before)
    t = t.mutate(period=_period(t.at, list(edges)))
    expr = t.group_by(["content_id", "team", "period"]).aggregate(n=t.count(), last=t.at.max())
    return engine_of(tables).fetch(expr)


def _with_groups(tables, t, groups: pd.Series | None):
    """``t`` with ``group``: ``groups`` (text per lead_id) of each row's lead, null for a lead not in it or no lead.
    Joined in the engine, except on PostgreSQL, whose read-only session cannot hold ``groups`` as a table: there
    it stays null and :func:`_grouped` adds it in pandas. Leaves ``t`` unchanged without ``groups``."""
    if groups is None:
        return t.mutate(group=ibis.null().cast(dt.string))
    if engine_of(tables).kind == "postgres":
        return t.mutate(group=t.lead_id)  # the lead, named in pandas (_grouped)
    g = ibis.memtable(pd.DataFrame({"g_lead": groups.index.astype(str).to_numpy(dtype=object),
                                    "g_group": groups.astype(str).to_numpy(dtype=object)}))
    j = t.left_join(g, t.lead_id == g.g_lead)
    return j.drop("g_lead").rename(group="g_group")


def _grouped(tables, expr, groups: pd.Series | None, keys: list[str]) -> pd.DataFrame:
    """Run ``expr`` (``keys`` with ``group`` among them, and ``n``); on PostgreSQL its ``group`` is the lead: name
    it by ``groups`` and sum ``n`` again per ``keys`` in pandas."""
    engine = engine_of(tables)
    out = engine.fetch(expr)
    if groups is None or engine.kind != "postgres":
        return out
    named = out["group"].map(pd.Series(groups.astype(str).to_numpy(dtype=object), index=groups.index.astype(str)))
    out["group"] = named.astype(object).where(named.notna(), None)
    out = out.groupby(keys, dropna=False, sort=False)["n"].sum().reset_index()
    for col in keys:  # missing keys come back from the groupby as NaN: None, as the engine gives them
        if out[col].dtype == object:
            out[col] = out[col].where(out[col].notna(), None)
    return out


def stage_use_counts(tables, content_ids, before: pd.Timestamp, edges, stage_of: dict,
                     groups: pd.Series | None = None) -> pd.DataFrame:
    """Touches of the assets ``content_ids`` strictly before ``before`` counted per ``group`` (of the lead in
    ``groups``, a text per lead_id; None for a lead not in it or a touch without a lead), ``has_lead``, ``period``
    (as :func:`use_counts`), ``team`` and ``stage`` (the lead's stage at the time, as :func:`staged_touches`; None
    when unknown): ``n`` (int64). One row per group with a touch, in no set order."""
    t = _staged(tables, content_ids, before, stage_of)
    t = _with_groups(tables, t.mutate(period=_period(t.at, list(edges)), has_lead=t.lead_id.notnull()), groups)
    keys = ["group", "has_lead", "period", "team", "stage"]
    return _grouped(tables, t.group_by(keys).aggregate(n=t.count()), groups, keys)


def _entries(st, entry: dict):
    """Per lead with a stage event in ``st``: the first event among each ``entry`` value's stages, as column key."""
    return st.group_by("lead_id").aggregate(**{k: st.at.min(where=st.stage.isin(list(v))) for k, v in entry.items()})


def entry_times(tables, entry: dict) -> pd.DataFrame:
    """Per lead with a stage event: for each key of ``entry`` (a name -> stages), the lead's first event at one of
    its stages (NaT: none). Indexed by lead_id in id order, one column per key in ``entry`` order."""
    st = event_table(tables, "stages")
    out = engine_of(tables).fetch(_entries(st, entry)).set_index("lead_id").sort_index()
    return out[list(entry)]


def uses_after_entry(tables, content_ids, before: pd.Timestamp, stage_of: dict, entry: dict, window_days: int,
                     entered_before: pd.Timestamp, groups: pd.Series | None = None) -> pd.DataFrame:
    """Who used which asset early at each stage, and whether they moved on: leads counted per ``stage``,
    ``content_id``, ``group`` (as :func:`stage_use_counts`) and ``converted`` (bool), ``n`` (int64).

    A lead counts once for an asset at a stage when it touched the asset (strictly before ``before``) while at that
    stage (as :func:`staged_touches` with ``stage_of``), at or after its entry into it (its first event among
    ``entry[stage]``) and less than ``window_days`` after that, having entered the stage before ``entered_before``.
    It converted when its first event among the stages of the keys after ``stage`` in ``entry`` is at most
    ``window_days`` after its entry. Stages that are not keys of ``entry`` are left out.
    """
    names = list(entry)
    t = _staged(tables, content_ids, before, stage_of)
    t = t.filter(t.stage.isin(names))
    st = event_table(tables, "stages")
    nxt = {f"n_{k}": tuple(s for later in names[i + 1:] for s in entry[later]) for i, k in enumerate(names)}
    first = _entries(st, {**{f"f_{k}": v for k, v in entry.items()}, **nxt}).rename(f_lead="lead_id")
    j = t.join(first, t.lead_id == first.f_lead)
    window = ibis.interval(days=window_days)
    j = j.mutate(since=j.stage.cases(*[(k, j[f"f_{k}"]) for k in names]),
                 moved=j.stage.cases(*[(k, j[f"n_{k}"]) for k in names]))
    j = j.filter(j.since.notnull() & (j.since < entered_before) & (j.at >= j.since) & (j.at < j.since + window))
    j = j.select("stage", "content_id", "lead_id", converted=j.moved.notnull() & (j.moved <= j.since + window))
    j = _with_groups(tables, j.distinct(), groups)
    keys = ["stage", "content_id", "group", "converted"]
    return _grouped(tables, j.group_by(keys).aggregate(n=j.count()), groups, keys)


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
