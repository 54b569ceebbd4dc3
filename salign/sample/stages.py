"""The stages table: one row per stage event, chronological per lead."""

import numpy as np
import pandas as pd

from . import world

#: Stage vocabulary; a stage's code is its position here, which also breaks ties in time.
STAGES = ("lead", "mql", "disqualified", "sal", "rejected", "sql", "opportunity", "won", "lost", "recycled")
_TEAM = {"lead": "marketing", "mql": "marketing", "recycled": "marketing"}


def make_stages(leads, paths, opportunities):
    """Collect every stage event of every lead.

    Parameters
    ----------
    leads : pandas.DataFrame
        Output of :func:`salign.sample.leads.make_leads`.
    paths : pandas.DataFrame
        Output of :func:`salign.sample.funnel.make_paths`.
    opportunities : pandas.DataFrame
        Output of :func:`salign.sample.opportunities.make_opportunities`.

    Returns
    -------
    pandas.DataFrame
        Columns ``lead`` (row in ``leads``), ``stage``, ``at`` (whole epoch seconds),
        ``team``, ``actor``, ``reason``, ``opportunity_id``; sorted by lead, then time.
    """
    rep = np.append(np.array(world.REPS, dtype=object), None)[paths["rep"].to_numpy()]
    everyone = np.arange(len(leads))
    parts = [
        _part(everyone, "lead", leads["t0"], "automation"),
        _part(everyone, "mql", paths["t_mql"], "automation"),
        _part(everyone, "disqualified", paths["t_mdq"], "automation", paths["mdq_reason"], team="marketing"),
        _part(everyone, "sal", paths["t_sal"], rep),
        _part(everyone, "rejected", paths["t_rej"], rep, paths["reject_reason"]),
        _part(everyone, "sql", paths["t_sql"], rep),
        _part(everyone, "disqualified", paths["t_sdq"], rep, paths["sdq_reason"]),
        _part(everyone, "recycled", paths["t_rec"], "automation", paths["rec_reason"]),
        _part(everyone, "mql", paths["t_mql2"], "automation"),
    ]
    opp_lead, owner = opportunities["lead"].to_numpy(), opportunities["owner"].to_numpy()
    opp_id = opportunities["opportunity_id"].to_numpy()
    parts.append(_part(opp_lead, "opportunity", opportunities["created_at"], owner, opportunity=opp_id))
    for outcome in ("won", "lost"):
        closed_at = opportunities["closed_at"].where(opportunities["outcome"] == outcome)
        parts.append(_part(opp_lead, outcome, closed_at, owner, opportunities["loss_reason"], opp_id))
    lead, at, stage, team, actor, reason, opportunity = (np.concatenate(column) for column in zip(*parts))
    order = np.lexsort((stage, at, lead))
    return pd.DataFrame({"lead": lead[order], "stage": np.array(STAGES, dtype=object)[stage[order]],
                         "at": at[order], "team": team[order], "actor": actor[order], "reason": reason[order],
                         "opportunity_id": opportunity[order]})


def _part(lead, stage, at, actor, reason=None, opportunity=None, team=None):
    """Rows of one kind of stage event, for the leads where it happened."""
    at = np.asarray(at, dtype=float)
    keep = ~np.isnan(at)
    n = int(keep.sum())

    def column(value):
        if value is None or isinstance(value, str):
            return np.full(n, value, dtype=object)
        return np.asarray(value, dtype=object)[keep]

    team = team or _TEAM.get(stage, "sales")
    return (np.asarray(lead)[keep], np.floor(at[keep]).astype(np.int64), np.full(n, STAGES.index(stage)),
            column(team), column(actor), column(reason), column(opportunity))
