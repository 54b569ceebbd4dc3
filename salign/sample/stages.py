"""The stages table: one row per stage event, chronological per lead."""

import numpy as np
import pandas as pd

from . import world

_ORDER = ("lead", "mql", "disqualified", "sal", "rejected", "sql", "opportunity", "won", "lost", "recycled")


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
        _rows(everyone, "lead", leads["t0"], "marketing", "automation"),
        _rows(everyone, "mql", paths["t_mql"], "marketing", "automation"),
        _rows(everyone, "disqualified", paths["t_mdq"], "marketing", "automation", paths["mdq_reason"]),
        _rows(everyone, "sal", paths["t_sal"], "sales", rep),
        _rows(everyone, "rejected", paths["t_rej"], "sales", rep, paths["reject_reason"]),
        _rows(everyone, "sql", paths["t_sql"], "sales", rep),
        _rows(everyone, "disqualified", paths["t_sdq"], "sales", rep, paths["sdq_reason"]),
        _rows(everyone, "recycled", paths["t_rec"], "marketing", "automation", paths["rec_reason"]),
        _rows(everyone, "mql", paths["t_mql2"], "marketing", "automation"),
    ]
    opp_lead = opportunities["lead"].to_numpy()
    opp_id = opportunities["opportunity_id"]
    parts.append(_rows(opp_lead, "opportunity", opportunities["created_at"], "sales", opportunities["owner"],
                       opportunity=opp_id))
    for outcome in ("won", "lost"):
        closed_at = opportunities["closed_at"].where(opportunities["outcome"] == outcome)
        parts.append(_rows(opp_lead, outcome, closed_at, "sales", opportunities["owner"],
                           opportunities["loss_reason"], opp_id))
    stages = pd.concat(parts, ignore_index=True)
    rank = stages["stage"].map({s: i for i, s in enumerate(_ORDER)}).to_numpy()
    order = np.lexsort((rank, stages["at"].to_numpy(), stages["lead"].to_numpy()))
    return stages.iloc[order].reset_index(drop=True)


def _rows(lead, stage, at, team, actor, reason=None, opportunity=None):
    at = np.asarray(at, dtype=float)
    keep = ~np.isnan(at)
    n = int(keep.sum())

    def column(value):
        if value is None or isinstance(value, str):
            return np.full(n, value, dtype=object)
        return np.asarray(value, dtype=object)[keep]

    return pd.DataFrame({"lead": lead[keep], "stage": stage, "at": np.floor(at[keep]).astype(np.int64),
                         "team": team, "actor": column(actor), "reason": column(reason),
                         "opportunity_id": column(opportunity)})
