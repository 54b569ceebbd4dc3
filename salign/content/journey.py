"""Where a lead stands in the buying journey: funnel stages mapped to awareness, consideration and decision."""
from __future__ import annotations

import numpy as np
import pandas as pd

#: The buying stages content is written for, in journey order.
BUYING_STAGES = ("awareness", "consideration", "decision")

#: Funnel stage -> buying stage the lead is in from that event on. A rejected or recycled lead is
#: back in nurture (awareness); won, lost and disqualified leads have left the journey.
STAGE_OF = {"lead": "awareness", "rejected": "awareness", "recycled": "awareness",
            "mql": "consideration", "sal": "consideration",
            "sql": "decision", "opportunity": "decision",
            "won": "closed", "lost": "closed", "disqualified": "closed"}

#: Funnel stages whose first occurrence is the entry into each buying stage, and into a win.
ENTRY = {"awareness": ("lead",), "consideration": ("mql", "sal"), "decision": ("sql", "opportunity"),
         "won": ("won",)}

#: Labels of touches that have no buying stage.
NO_LEAD, UNKNOWN = "no lead", "unknown"


def stage_at(stages: pd.DataFrame, lead_ids: pd.Series, times: pd.Series) -> pd.Series:
    """The buying stage each lead was in at each time (its latest funnel event at or before then).

    Parameters
    ----------
    stages : pandas.DataFrame
        The stages table (``lead_id``, ``stage``, ``at``).
    lead_ids, times : pandas.Series
        One row per touch; ``lead_ids`` may be missing (account-level touches).

    Returns
    -------
    pandas.Series
        Aligned with ``times``: a buying stage, ``closed``, ``no lead`` (touch without a lead) or
        ``unknown`` (no funnel event of that lead before the touch).
    """
    events = stages.loc[stages["stage"].astype(str).isin(STAGE_OF), ["lead_id", "at", "stage"]]
    events = events.assign(buying=events["stage"].astype(str).map(STAGE_OF),
                           lead_id=events["lead_id"].astype(str)).sort_values("at", kind="stable")
    touches = pd.DataFrame({"lead_id": lead_ids.astype(object), "at": times, "row": np.arange(len(times))})
    known = touches[touches["lead_id"].notna() & touches["at"].notna()].astype({"lead_id": str})
    found = pd.merge_asof(known.sort_values("at", kind="stable"), events[["lead_id", "at", "buying"]],
                          on="at", by="lead_id", direction="backward")
    out = np.full(len(times), NO_LEAD, dtype=object)
    out[found["row"].to_numpy()] = found["buying"].fillna(UNKNOWN).to_numpy()
    return pd.Series(out, index=times.index, name="buying_stage")


def entries(stages: pd.DataFrame) -> pd.DataFrame:
    """When each lead first entered each buying stage, and won (NaT if never).

    Returns
    -------
    pandas.DataFrame
        Index ``lead_id``; columns ``awareness``, ``consideration``, ``decision``, ``won``.
    """
    first = stages.groupby(["lead_id", stages["stage"].astype(str)], observed=True)["at"].min().unstack()
    out = pd.DataFrame(index=first.index)
    for stage, funnel in ENTRY.items():
        have = [s for s in funnel if s in first.columns]
        out[stage] = first[have].min(axis=1) if have else pd.Series(pd.NaT, index=out.index, dtype=stages["at"].dtype)
    out.index = out.index.astype(str)
    return out


def next_entry(entered: pd.DataFrame, stage: str) -> pd.Series:
    """When each lead moved on from ``stage``: its first entry into any later buying stage (or a win)."""
    later = list(ENTRY)[list(ENTRY).index(stage) + 1:]
    return entered[later].min(axis=1)
