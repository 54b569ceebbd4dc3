"""The event-level facts, written once as Ibis expressions and run by the workspace's engine
(:mod:`salign.workspace.engine`: DuckDB by default, or inside PostgreSQL or Spark). Each function returns a
pandas frame of one row per lead (or fewer): only results leave the engine.

All of them read the tables as the tables object stands (:func:`salign.workspace.engine.event_table`: a
quarter's review reads its quarter's data) and, where a ``before`` is given, only events strictly before it.
"""
from __future__ import annotations

import ibis
import pandas as pd

from salign.workspace.engine import engine_of, event_table
from salign.workspace.schema import EXITS, FUNNEL, STAGES


def _stages(tables, before: pd.Timestamp | None):
    st = event_table(tables, "stages")
    return st if before is None else st.filter(st.at < before)


def first_entries(tables, before: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per lead with a stage event (before ``before``): the first event at each stage, one column per stage of
    :data:`~salign.workspace.schema.STAGES` (NaT: none), indexed by lead_id in lead order."""
    st = _stages(tables, before)
    expr = st.group_by("lead_id").aggregate(**{s: st.at.min(where=st.stage == s) for s in STAGES})
    return engine_of(tables).fetch(expr).set_index("lead_id").sort_index()[list(STAGES)]


def stage_counts(tables) -> pd.DataFrame:
    """Per funnel stage: ``events`` (leads with an event at it) and ``furthest`` (leads whose furthest funnel
    event is at it), indexed by stage in funnel order."""
    st = _stages(tables, None)
    st = st.filter(st.stage.isin(FUNNEL))
    rank = st.stage.cases(*[(s, i) for i, s in enumerate(FUNNEL)])
    events = st.group_by("stage").aggregate(events=st.lead_id.nunique())
    per_lead = st.group_by("lead_id").aggregate(furthest=rank.max())
    furthest = per_lead.group_by("furthest").aggregate(n=per_lead.count())
    engine = engine_of(tables)
    ev = engine.fetch(events).set_index("stage")["events"]
    fu = engine.fetch(furthest).set_index("furthest")["n"]
    return pd.DataFrame({"events": [int(ev.get(s, 0)) for s in FUNNEL],
                         "furthest": [int(fu.get(i, 0)) for i in range(len(FUNNEL))]}, index=list(FUNNEL))


def funnel_entries(tables, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per lead created before ``cutoff`` that has a stage event before it, the facts the funnel rule needs
    (:mod:`salign.review.funnel`), indexed by lead_id in lead order:

    - ``<stage>``: the first event at each funnel stage and exit (NaT: none);
    - ``n_<stage>``: how many events at each funnel stage after ``lead``;
    - ``left_<stage>``: per funnel stage before ``won``, the first event at a later funnel stage or an exit at or
      after the lead passed the stage (the earliest first entry into it or a later funnel stage; ``lead`` is
      passed at the first lead event, else at creation).
    """
    leads = event_table(tables, "leads")
    leads = leads.filter(leads.created_at < cutoff)
    st = _stages(tables, cutoff).semi_join(leads, "lead_id")
    passed = {s: st.at.min(where=st.stage.isin(FUNNEL[i:])) for i, s in enumerate(FUNNEL) if i}
    per_lead = st.group_by("lead_id").aggregate(
        **{s: st.at.min(where=st.stage == s) for s in FUNNEL + EXITS},
        **{f"n_{s}": st.lead_id.count(where=st.stage == s) for s in FUNNEL[1:]},
        **{f"p_{s}": e for s, e in passed.items()})
    created = leads.select(lead_id=leads.lead_id, created_at=leads.created_at)
    per_lead = per_lead.join(created, "lead_id")
    lead_fill = ibis.coalesce(per_lead["lead"], per_lead.created_at)
    p_lead = ibis.ifelse(per_lead.p_mql.isnull() | (lead_fill <= per_lead.p_mql), lead_fill, per_lead.p_mql)
    per_lead = per_lead.mutate(p_lead=p_lead)
    ev = st.select(e_lead=st.lead_id, e_stage=st.stage, e_at=st.at)
    j = ev.join(per_lead, ev.e_lead == per_lead.lead_id)
    left = {f"left_{s}": j.e_at.min(where=j.e_stage.isin(FUNNEL[i + 1:] + EXITS) & (j.e_at >= j[f"p_{s}"]))
            for i, s in enumerate(FUNNEL[:-1])}
    lefts = j.group_by(j.lead_id).aggregate(**left)
    out = per_lead.join(lefts, "lead_id").select(
        "lead_id", *(FUNNEL + EXITS), *(f"n_{s}" for s in FUNNEL[1:]), *left)
    return engine_of(tables).fetch(out).set_index("lead_id").sort_index()


def marketing_counts(tables, window_days: int) -> pd.DataFrame:
    """Per lead: ``n_<type>`` counts of its marketing activities strictly before its decision point, the first
    time it passed MQL (its first event at MQL or any later funnel stage), else ``window_days`` after its
    creation. Indexed by lead_id (leads with no such activity are absent), columns in type order."""
    acts = event_table(tables, "activities")
    if acts is None or "lead_id" not in acts.columns or "type" not in acts.columns:
        return pd.DataFrame(index=pd.Index([], name="lead_id"))
    leads = event_table(tables, "leads")
    st = _stages(tables, None)
    mql = st.group_by("lead_id").aggregate(mql_at=st.at.min(where=st.stage.isin(FUNNEL[1:])))
    decided = leads.left_join(mql, leads.lead_id == mql.lead_id).select(
        d_lead=leads.lead_id,
        decided_at=ibis.coalesce(mql.mql_at, leads.created_at + ibis.interval(days=window_days)))
    a = acts.filter((acts.team == "marketing") & acts.lead_id.notnull())
    a = a.join(decided, a.lead_id == decided.d_lead).filter(lambda t: t.at < t.decided_at)
    expr = a.group_by(["lead_id", "type"]).aggregate(n=a.count())
    long = engine_of(tables).fetch(expr)
    if long.empty:
        return pd.DataFrame(index=pd.Index([], name="lead_id"))
    wide = long.pivot(index="lead_id", columns="type", values="n").fillna(0).astype(int)
    return wide.sort_index().sort_index(axis=1).add_prefix("n_")
