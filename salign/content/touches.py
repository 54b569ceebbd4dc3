"""Content touches: activities that used an asset, with the quarter, the lead's persona and buying stage."""
from __future__ import annotations

import numpy as np
import pandas as pd

from salign.common import touches as touch_rows
from salign.content.journey import NO_LEAD, STAGE_OF, UNKNOWN
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


def known_assets(tables, inventory) -> set[str]:
    """The content ids of the inventory, once the activities can be counted against them.

    Raises
    ------
    MissingData
        Without an activities table, or activities without ``content_id``.
    """
    tables.require("activities")
    if "content_id" not in touch_rows.activity_columns(tables):
        raise MissingData("has activities without a 'content_id' column, so content use cannot be counted")
    return set(inventory.assets["content_id"].astype(str))


def buying_stage(lead_ids: pd.Series, stages: pd.Series) -> np.ndarray:
    """The buying stage of touches from the engine's ``stage`` (None: no funnel event before): ``no lead`` for a
    touch without a lead, ``unknown`` for one before any funnel event of its lead."""
    return np.where(lead_ids.isna(), NO_LEAD, stages.astype(object).where(stages.notna(), UNKNOWN))


def persona_labels(lead_ids: pd.Series, choice) -> pd.Series:
    """The persona label of each touch's lead (``no lead`` without one; ``unassigned`` for a lead the choice does
    not place; ``unknown`` for every lead without a leads table)."""
    has_lead = lead_ids.notna()
    if choice.leads is None:
        return pd.Series(np.where(has_lead, UNKNOWN, NO_LEAD), index=lead_ids.index)
    return lead_ids.astype(str).map(choice.leads["label"]).where(has_lead, NO_LEAD).fillna(UNASSIGNED)


def personas_of(labels, choice) -> dict[str, list[str]]:
    """Persona label -> the personas it counts under: the lead's personas, or the label itself for a lead with none
    (``unassigned``, ``no lead``, ``unknown``). A label stands for one list of personas (it joins them)."""
    known = {}
    if choice.leads is not None:
        first = choice.leads.drop_duplicates("label")
        known = dict(zip(first["label"], first["personas"]))
    out = {}
    for lab in labels:
        p = known.get(lab)
        out[lab] = list(p) if isinstance(p, list) and p else [lab]
    return out


def content_touches(tables, inventory, choice, period, n_quarters: int) -> pd.DataFrame:
    """Every activity that used a known asset before the end of ``period``, one row per touch.

    The activities are filtered and each touch's buying stage found by the workspace's engine
    (:func:`salign.common.touches.staged_touches`). Rows are in time order (then lead, asset and team); a lead's
    stage events at the same moment count in journey order (the furthest last). One row per touch: the analyses
    count in the engine instead (:mod:`salign.content.usage`, :mod:`salign.content.influence`).

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
    known = known_assets(tables, inventory)
    out = touch_rows.staged_touches(tables, known, period.end, STAGE_OF)
    out["quarter"] = quarter_of(out["at"], period, n_quarters)
    out["buying_stage"] = buying_stage(out["lead_id"], out.pop("stage"))
    out["persona_label"] = persona_labels(out["lead_id"], choice)
    lists = personas_of(set(out["persona_label"]), choice)
    out["personas"] = [lists[lab] for lab in out["persona_label"]]
    return out
