"""The activities table: marketing touches and sales routing and follow-up, with content used."""

import numpy as np
import pandas as pd

from . import world
from .clock import AS_OF, DAY, before_as_of
from .content import TOUCH_TYPES, pick_content
from .sampling import between

#: Mean number of additional sales touches after the first follow-up, by what sales did next.
EXTRA_TOUCHES = {"accepted": 0.4, "other": 0.2}
OPPORTUNITY_MEETINGS = 0.5
NURTURE_OPENS = 0.1
#: Share of sales e-mails and meetings, and of marketing web visits, that use an asset.
CONTENT_SHARE = {"email": 0.4, "meeting": 0.4, "web_visit": 0.4}
#: Every activity type; a type's code is its position here.
KINDS = world.MARKETING_TYPES + world.SALES_TYPES
_ASSIGNMENT = KINDS.index("assignment")
_FOLLOW_UP = np.array([KINDS.index(k) for k in world.FOLLOW_UP_TYPES])


def make_activities(rng, leads, counts, paths, opportunities, content):
    """Collect every activity.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    leads : pandas.DataFrame
        Output of :func:`salign.sample.leads.make_leads`.
    counts : numpy.ndarray
        Marketing touches in each lead's qualification window.
    paths : pandas.DataFrame
        Output of :func:`salign.sample.funnel.make_paths`.
    opportunities : pandas.DataFrame
        Output of :func:`salign.sample.opportunities.make_opportunities`.
    content : pandas.DataFrame
        Output of :func:`salign.sample.content.make_content`.

    Returns
    -------
    pandas.DataFrame
        Columns ``lead`` (row in ``leads``), ``at`` (whole epoch seconds), ``team``,
        ``type``, ``content_id``, ``actor``; sorted by time, so row order is id order.
    """
    t0 = leads["t0"].to_numpy()
    rep = np.append(np.array(world.REPS, dtype=object), None)[paths["rep"].to_numpy()]
    everyone = np.arange(len(leads))
    t_route, t_fu = paths["t_route"].to_numpy(), paths["t_fu"].to_numpy()
    parts = _marketing(rng, t0, counts, paths) + [
        _part(everyone, np.where(np.isnan(t_route), paths["t_queue"].to_numpy(), np.nan), _ASSIGNMENT, "queue"),
        _part(everyone, paths["t_queue2"], _ASSIGNMENT, "queue"),
        _part(everyone, t_route, _ASSIGNMENT, rep),
        _part(everyone, t_fu, _FOLLOW_UP[paths["fu_type"].to_numpy()], rep),
    ]
    accepted = ~np.isnan(paths["t_sal"].to_numpy()) | ~np.isnan(paths["t_sql"].to_numpy())
    extra = rng.poisson(np.where(accepted, EXTRA_TOUCHES["accepted"], EXTRA_TOUCHES["other"]) * ~np.isnan(t_fu))
    lead = np.repeat(everyone, extra)
    at = before_as_of(t_fu[lead] + between(rng, 600.0, 21 * DAY, len(lead)))
    parts.append(_part(lead, at, _FOLLOW_UP[rng.integers(0, 3, len(lead))], rep[lead]))
    opp = np.repeat(np.arange(len(opportunities)), rng.poisson(OPPORTUNITY_MEETINGS, len(opportunities)))
    start = opportunities["created_at"].to_numpy()[opp]
    end = np.fmin(opportunities["closed_at"].to_numpy()[opp], AS_OF)
    parts.append(_part(opportunities["lead"].to_numpy()[opp], start + rng.random(len(opp)) * (end - start),
                       KINDS.index("meeting"), opportunities["owner"].to_numpy()[opp]))
    lead, at, kind, actor = (np.concatenate(column) for column in zip(*parts))
    order = np.lexsort((kind, lead, at))
    lead, at, kind, actor = lead[order], at[order], kind[order], actor[order]
    sales = kind >= len(world.MARKETING_TYPES)
    return pd.DataFrame({"lead": lead, "at": at, "team": np.where(sales, "sales", "marketing").astype(object),
                         "type": np.array(KINDS, dtype=object)[kind],
                         "content_id": _content(rng, at, kind, content), "actor": actor})


def _marketing(rng, t0, counts, paths):
    """Touches inside the qualification window (strictly before the MQL), then a little nurture."""
    lead = np.repeat(np.arange(len(t0)), counts.sum(axis=1))
    kind = np.repeat(np.tile(np.arange(len(world.MARKETING_TYPES)), len(t0)), counts.ravel())
    end = paths["window_end"].to_numpy()
    span = np.maximum(end - t0 - 1, 0)
    at = t0[lead] + rng.random(len(lead)) * span[lead]
    later = np.repeat(np.arange(len(t0)), rng.poisson(NURTURE_OPENS, len(t0)))
    late_at = before_as_of(end[later] + between(rng, DAY, 120 * DAY, len(later)))
    return [_part(lead, at, kind, None), _part(later, late_at, KINDS.index("email_open"), None)]


def _part(lead, at, kind, actor):
    """Rows ``(lead, whole-second time, type code, actor)`` of the events that happened."""
    at = np.asarray(at, dtype=float)
    keep = ~np.isnan(at)
    n = int(keep.sum())
    kind = np.full(n, kind) if np.isscalar(kind) else np.asarray(kind)[keep]
    actor = np.full(n, actor, dtype=object) if actor is None or isinstance(actor, str) else \
        np.asarray(actor, dtype=object)[keep]
    return np.asarray(lead)[keep], np.floor(at[keep]).astype(np.int64), kind, actor


def _content(rng, at, kind, content):
    """The asset used by each content touch (None for touches without one)."""
    chosen = np.full(len(at), None, dtype=object)
    for team, name in sorted(TOUCH_TYPES):
        rows = np.flatnonzero(kind == KINDS.index(name))
        rows = rows[rng.random(len(rows)) < CONTENT_SHARE.get(name, 1.0)]
        chosen[rows] = pick_content(rng, content, team, name, at[rows].astype(float))
    return chosen
