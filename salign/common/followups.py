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
    """
    m = _mqls(tables, cutoff, which, start, end)
    acts = event_table(tables, "activities")
    if acts is None:
        out = engine_of(tables).fetch(m).set_index("lead_id").sort_index()
        for col in AFTER_MQL[1:]:
            out[col] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]") if col in _TIMES else None
        return out[list(AFTER_MQL)]
    a = acts.filter(acts.at < cutoff)
    a = a.join(m, "lead_id").filter(lambda t: t.at >= t.mql_at)
    assigned = a.type == ASSIGNMENT
    to_rep = assigned & a.actor.notnull() & ~a.actor.isin(list(queues))
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
    a = acts.filter((acts.team == "sales") & acts.lead_id.isin(leads) & (acts.at <= last))
    per_time = engine_of(tables).fetch(a.group_by(["lead_id", "at"]).aggregate(n=a.count()))
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

