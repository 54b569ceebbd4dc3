"""Sales follow-ups and assignments per lead, as Ibis expressions run by the workspace's engine
(:mod:`salign.workspace.engine`): what happened after a lead's MQL (its first sales follow-up, first assignment
and first rep), the sales touches of a deal's lead until it closed, and which leads were first assigned to an
actor only from a given moment on. Only per-lead (or per-deal, per-assignee) frames come back to pandas; the
activities table stays in the engine.

All of them read the tables as the tables object stands (:func:`salign.workspace.engine.event_table`: a
quarter's review reads its quarter's data). An activity without a time, or without a lead, counts nowhere here.

Ties: the first rep assigned is the earliest rep assignment's actor; two rep assignments at the very same
time are told apart by the actor's name (the smaller by code point counts), not by the order of the rows (a
database or a Parquet scan keeps none). The first assignment goes to a rep rather than the queue when a rep
assignment shares its time.
"""
from __future__ import annotations

import weakref

import ibis
import pandas as pd

from salign.workspace.engine import engine_of, event_table

#: the sales activities that follow a lead up
FOLLOW_UP_TYPES = ("call", "email", "meeting")
#: the activity type of an assignment (its actor: a rep, or the queue)
ASSIGNMENT = "assignment"
#: the columns of :func:`after_mql`, after its index lead_id
AFTER_MQL = ("mql_at", "first_follow_up", "first_assigned", "routed_at", "first_rep")
_TIMES = ("mql_at", "first_follow_up", "first_assigned", "routed_at")


def _mqls(tables, cutoff: pd.Timestamp, which: str, start, end):
    """Per lead with an MQL event before ``cutoff``: its first (``which="first"``) or last MQL, as ``mql_at``;
    only those in ``[start, end)`` when given."""
    st = event_table(tables, "stages")
    st = st.filter((st.at < cutoff) & (st.stage == "mql"))
    at = st.at.min() if which == "first" else st.at.max()
    m = st.group_by("lead_id").aggregate(mql_at=at)
    if start is not None:
        m = m.filter(m.mql_at >= start)
    if end is not None:
        m = m.filter(m.mql_at < end)
    return m


def _reps(acts, queues):
    """Whether an activity of ``acts`` is an assignment to a rep (an actor neither empty nor one of ``queues``)."""
    return (acts.type == ASSIGNMENT) & acts.actor.notnull() & ~acts.actor.isin(list(queues))


_MEMO: dict[int, dict] = {}


def _memo(tables) -> dict:
    """The memo of the engine of ``tables``, dropped with it. Tables cut from others (:func:`known_at
    <salign.common.periods.known_at>`) keep their engine, and so share its memo; entries name the cut (``until``)
    they were computed for."""
    engine = engine_of(tables)
    key = id(engine)
    if key not in _MEMO:
        _MEMO[key] = {}
        weakref.finalize(engine, _MEMO.pop, key, None)
    return _MEMO[key]


def _own_cutoff(tables, cutoff: pd.Timestamp) -> pd.Timestamp:
    """The cutoff the memoised per-lead facts of ``tables`` are computed at: the data's ``as_of``, or ``cutoff``
    when that is later (or the tables have no configuration)."""
    own = tables.as_of if tables.config is not None else cutoff
    return max(own, cutoff)


def after_mql(tables, cutoff: pd.Timestamp, queues=("queue",), which: str = "first",
              start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per lead with an MQL event before ``cutoff`` (its ``which`` = ``"first"`` or ``"last"`` MQL, in
    ``[start, end)`` when given), what its activities at or after that MQL and before ``cutoff`` show.
    Indexed by lead_id in lead order; columns :data:`AFTER_MQL`:

    - ``mql_at``: that MQL;
    - ``first_follow_up``: the first sales call, e-mail or meeting (:data:`FOLLOW_UP_TYPES`, team ``sales``);
    - ``first_assigned``: the first assignment, to anybody;
    - ``routed_at``: the first assignment to a rep (an actor that is neither empty nor one of ``queues``);
    - ``first_rep``: that rep (ties at equal times: the smallest name).

    Times are NaT and ``first_rep`` None when there is no such activity.

    The engine computes the first MQLs once, for every lead, at the data's ``as_of`` (memoised per engine); each
    cutoff at or before it and each ``[start, end)`` is read off them (:func:`_read_off`): a quarter's review asks
    for several quarters at several cutoffs. Tables cut at an earlier moment (:func:`known_at
    <salign.common.periods.known_at>`) read theirs off the uncut tables' too, keeping only their own leads. The
    last MQLs are memoised per cutoff.
    """
    memo = _memo(tables)
    names = tuple(sorted(queues))
    if which != "first":
        key = (which, names, cutoff, tables.until)
        if key not in memo:
            memo[key] = _after_mql(tables, cutoff, queues, which)
        return _read_off(memo[key], cutoff, start, end)
    base = _from_uncut(memo, names, tables, cutoff)
    if base is None:
        at = _own_cutoff(tables, cutoff)
        key = ("first", names, at, tables.until)
        if key not in memo:
            memo[key] = _after_mql(tables, at, queues, "first")
        base = memo[key]
    return _read_off(base, cutoff, start, end)


def _from_uncut(memo: dict, names: tuple, tables, cutoff: pd.Timestamp) -> pd.DataFrame | None:
    """For tables cut at ``until`` (:func:`known_at <salign.common.periods.known_at>`) that share their engine
    with tables uncut or cut later: the first MQLs those had computed at a cutoff at or after ``cutoff``, of the
    leads of ``tables`` only (None when there are none, or ``cutoff`` is after ``until``).

    The cut tables' stage events before ``cutoff`` (at or before ``until``) are the others' of their leads
    (created before ``until``, or undated), and their activities before ``cutoff`` the others'."""
    engine = engine_of(tables)
    if tables.until is None or engine.over_frames or cutoff > tables.until:
        return None
    for (which, queues, at, until), frame in memo.items():
        if which == "first" and queues == names and (until is None or until >= tables.until) and at >= cutoff:
            return frame if tables.leads is None else frame[frame.index.isin(tables.leads["lead_id"])]
    return None


def _read_off(base: pd.DataFrame, cutoff: pd.Timestamp, start, end) -> pd.DataFrame:
    """:func:`after_mql` at ``cutoff`` (first MQLs in ``[start, end)`` when given) read off ``base``, its result
    for the first MQLs at a cutoff at or after ``cutoff`` (or for the last MQLs at ``cutoff`` itself).

    A lead's first MQL before ``cutoff`` is its first before the later cutoff when that one is before ``cutoff``
    (else it has none); the first follow-up, assignment and rep assignment at or after it and before ``cutoff``
    are those before the later cutoff when they are before ``cutoff``; its first rep is that assignment's."""
    mql = base["mql_at"]
    keep = (mql < cutoff).to_numpy()
    if start is not None:
        keep &= (mql >= start).to_numpy()
    if end is not None:
        keep &= (mql < end).to_numpy()
    kept = base[keep]
    out = pd.DataFrame({"mql_at": kept["mql_at"], **{col: kept[col].where(kept[col] < cutoff) for col in _TIMES[1:]}},
                       index=kept.index)
    out["first_rep"] = kept["first_rep"].where(out["routed_at"].notna(), None)
    return out


def _after_mql(tables, cutoff: pd.Timestamp, queues, which: str) -> pd.DataFrame:
    """:func:`after_mql` of every lead, computed by the engine."""
    m = _mqls(tables, cutoff, which, None, None)
    acts = event_table(tables, "activities")
    if acts is None:
        out = engine_of(tables).fetch(m).set_index("lead_id").sort_index()
        for col in AFTER_MQL[1:]:
            out[col] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]") if col in _TIMES else None
        return out[list(AFTER_MQL)]
    follow_up = (acts.team == "sales") & acts.type.isin(list(FOLLOW_UP_TYPES))
    a = acts.filter((acts.at < cutoff) & ((acts.type == ASSIGNMENT) | follow_up))  # the rest counts nowhere here
    a = a.join(m, "lead_id").filter(lambda t: t.at >= t.mql_at)
    assigned = a.type == ASSIGNMENT
    to_rep = _reps(a, queues)
    per_lead = a.group_by("lead_id").aggregate(
        first_follow_up=a.at.min(where=(a.team == "sales") & a.type.isin(list(FOLLOW_UP_TYPES))),
        first_assigned=a.at.min(where=assigned),
        routed_at=a.at.min(where=to_rep))
    reps = a.filter(to_rep)
    first = reps.group_by("lead_id").aggregate(first_at=reps.at.min())
    r = reps.join(first, "lead_id").filter(lambda t: t.at == t.first_at)
    rep = r.group_by("lead_id").aggregate(first_rep=r.actor.min())
    j = m.left_join(per_lead, "lead_id").left_join(rep, "lead_id")
    expr = j.select(m.lead_id, m.mql_at, per_lead.first_follow_up, per_lead.first_assigned, per_lead.routed_at,
                    rep.first_rep)
    return engine_of(tables).fetch(expr).set_index("lead_id").sort_index()[list(AFTER_MQL)]


def unanswered(tables, cutoff: pd.Timestamp, queues=("queue",)) -> pd.Series:
    """The leads whose last MQL before ``cutoff`` went unanswered until it: no stage event other than an MQL and
    no assignment to a rep (an actor neither empty nor one of ``queues``) at or after that MQL and before
    ``cutoff``. Their last MQL, indexed by lead_id in lead order (only these leads leave the engine)."""
    st = event_table(tables, "stages")
    st = st.filter(st.at < cutoff)
    m = _mqls(tables, cutoff, "last", None, None)
    later = st.filter(st.stage.isnull() | (st.stage != "mql")).join(m, "lead_id").filter(lambda t: t.at >= t.mql_at)
    waiting = m.anti_join(later.select("lead_id"), "lead_id")
    acts = event_table(tables, "activities")
    if acts is not None:
        a = acts.filter((acts.at < cutoff) & _reps(acts, queues))
        routed = a.join(m, "lead_id").filter(lambda t: t.at >= t.mql_at)
        waiting = waiting.anti_join(routed.select("lead_id"), "lead_id")
    out = engine_of(tables).fetch(waiting.select("lead_id", "mql_at"))
    return out.set_index("lead_id").sort_index()["mql_at"]


def sales_touches(tables, deals: pd.DataFrame) -> pd.Series:
    """Per deal of ``deals`` (columns ``opportunity_id``, ``lead_id``, ``closed_at``): how many sales activities
    of its lead came at or before it closed. Indexed by opportunity_id in order; deals with none are absent.

    Only the sales activities of these deals' leads leave the engine, summed per lead and time (a few per deal).
    """
    acts = event_table(tables, "activities")
    leads = list(pd.unique(deals["lead_id"].dropna()))
    last = deals["closed_at"].max()
    if acts is None or not leads or pd.isna(last):
        return pd.Series(dtype="int64", index=pd.Index([], name="opportunity_id"))
    engine = engine_of(tables)
    a = acts.filter((acts.team == "sales") & (acts.at <= last))
    if engine.kind == "duckdb":  # the leads as a table of the session: thousands of literals compile slowly
        a = a.semi_join(ibis.memtable(pd.DataFrame({"lead_id": pd.Series(leads, dtype=object)})), "lead_id")
    else:  # a read-only database session can hold no table of ours
        a = a.filter(a.lead_id.isin(leads))
    per_time = engine.fetch(a.group_by(["lead_id", "at"]).aggregate(n=a.count()))
    joined = per_time.merge(deals[["opportunity_id", "lead_id", "closed_at"]].dropna(subset=["lead_id"]),
                            on="lead_id")
    return joined[joined["at"] <= joined["closed_at"]].groupby("opportunity_id")["n"].sum()


def assigned_from(tables, when: pd.Timestamp) -> pd.DataFrame:
    """The (lead, actor) pairs whose first assignment came at or after ``when``: columns ``lead_id``, ``actor``
    (one row per lead and assignee, a few per lead; assignments without a time, lead or actor count nowhere).
    Empty when the activities have no ``type``, ``actor``, ``lead_id`` or ``at``."""
    acts = event_table(tables, "activities")
    if acts is None or not {"type", "actor", "lead_id", "at"} <= set(acts.columns):
        return pd.DataFrame({"lead_id": pd.Series(dtype=object), "actor": pd.Series(dtype=object)})
    a = acts.filter((acts.type == ASSIGNMENT) & acts.lead_id.notnull() & acts.actor.notnull())
    pairs = a.group_by(["lead_id", "actor"]).aggregate(first_at=a.at.min())
    expr = pairs.filter(pairs.first_at >= when).select("lead_id", "actor")
    return engine_of(tables).fetch(expr).sort_values(["lead_id", "actor"], ignore_index=True)

