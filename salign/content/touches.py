"""Content touches: activities that used an asset, with the quarter, the lead's persona and buying stage."""
from __future__ import annotations

import numpy as np
import pandas as pd

from salign.common import touches as touch_rows
from salign.content.journey import NO_LEAD, STAGE_OF, UNKNOWN, stage_at
from salign.definitions.models import UNASSIGNED
from salign.workspace.tables import MissingData

EARLIER = "earlier"


def quarters(period, n: int) -> list:
    """The ``n`` quarters ending with ``period``, oldest first."""
    return [period.shift(-i) for i in range(n - 1, -1, -1)]


def quarter_of(times: pd.Series, period, n: int) -> pd.Series:
    """Label each time with its quarter among the ``n`` ending with ``period`` (``earlier`` before them)."""
    qs = quarters(period, n)
    edges = np.array([q.start.value for q in qs] + [period.end.value])
    pos = np.searchsorted(edges, times.astype("int64").to_numpy(), side="right") - 1
    labels = np.array([str(q) for q in qs] + [EARLIER], dtype=object)
    return pd.Series(labels[np.where(pos < 0, len(qs), pos)], index=times.index)


def content_touches(tables, inventory, choice, period, n_quarters: int) -> pd.DataFrame:
    """Every activity that used a known asset before the end of ``period``.

    The activities are filtered by the workspace's engine (:func:`salign.common.touches.content_touches`), and
    the buying stage is found among the stage events of the touching leads only. Rows are in time order (then
    lead, asset and team); a lead's stage events at the same moment count in journey order (the furthest last).

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
    inventory : salign.content.inventory.Inventory
    choice : salign.content.personas.PersonaChoice
        Persona set used to place the touching leads.
    period : salign.common.periods.Quarter
    n_quarters : int
        Quarters (ending with ``period``) that get their own label in ``quarter``.

    Returns
    -------
    pandas.DataFrame
        Columns ``content_id``, ``at``, ``team``, ``lead_id``, ``quarter``, ``buying_stage`` (the lead's
        stage at the time, ``no lead`` or ``unknown``), ``persona_label`` and ``personas`` (list).

    Raises
    ------
    MissingData
        Without an activities table, or activities without ``content_id``.
    """
    tables.require("activities")
    if "content_id" not in touch_rows.activity_columns(tables):
        raise MissingData("has activities without a 'content_id' column, so content use cannot be counted")
    known = set(inventory.assets["content_id"].astype(str))
    out = touch_rows.content_touches(tables, known, period.end)
    out["quarter"] = quarter_of(out["at"], period, n_quarters)
    if tables.stages is not None:
        events = touch_rows.touched_stage_events(tables, known, period.end, STAGE_OF)
        out["buying_stage"] = stage_at(events, out["lead_id"], out["at"]).to_numpy()
    else:
        out["buying_stage"] = np.where(out["lead_id"].isna(), NO_LEAD, UNKNOWN)
    has_lead = out["lead_id"].notna()
    if choice.leads is not None:
        who = choice.leads
        ids = out["lead_id"].astype(str)
        out["persona_label"] = ids.map(who["label"]).where(has_lead, NO_LEAD).fillna(UNASSIGNED)
        mapped = ids.map(who["personas"])
        out["personas"] = [p if isinstance(p, list) and p else [lab] for p, lab in zip(mapped, out["persona_label"])]
    else:
        out["persona_label"] = np.where(has_lead, UNKNOWN, NO_LEAD)
        out["personas"] = [[lab] for lab in out["persona_label"]]
    return out
