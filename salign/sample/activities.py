"""The activities table: marketing touches and sales routing and follow-up, with content used.

By default the sample has about four events (stage events and activities) per lead.  Asked
for more (``events_per_lead``), it adds engagement after each lead's qualification window:
e-mail opens and clicks, web visits and content downloads (:data:`ENGAGEMENT_MIX`), spread
over the rest of the lead's life, more of them for leads that were more engaged before.
They come after the point where a lead is judged (its first MQL, or 30 days after creation),
so the planted behaviour counts, the handoff and every stage event stay as they are; they
are drawn from their own random stream, so every other row and value is unchanged too.
"""

import numpy as np
import pandas as pd

from . import world
from .clock import AS_OF, DAY, START, before_as_of
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
#: Types of the engagement added for ``events_per_lead`` and their shares.
ENGAGEMENT_MIX = {"email_open": 0.45, "web_visit": 0.30, "email_click": 0.15, "content_download": 0.10}
_ENGAGEMENT_KINDS = np.array([KINDS.index(k) for k in ENGAGEMENT_MIX])


def make_activities(rng, leads, counts, paths, opportunities, content, n_total=0, extra_rng=None):
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
    n_total : int, default 0
        Activities wanted; when the funnel makes fewer, engagement after the qualification
        windows makes up the rest (see the module docstring).
    extra_rng : numpy.random.Generator, optional
        Source of randomness of that engagement (required when it is added).

    Returns
    -------
    pandas.DataFrame
        Columns ``lead`` (row in ``leads``), ``at`` (whole epoch seconds) and the categoricals
        ``team``, ``type``, ``content_id``, ``actor``; sorted by time, so row order is id order.
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
    used = _content(rng, at, kind, content)
    actors = pd.Categorical(actor)
    actor = actors.codes
    if n_total > len(lead):
        more = _engagement(extra_rng, n_total - len(lead), counts, paths["window_end"].to_numpy())
        lead, at, kind, used, actor = _merge((lead, at, kind, used, actor),
                                             more + (_content(extra_rng, *more[1:], content), -1))
    return pd.DataFrame({
        "lead": lead, "at": at,
        "team": pd.Categorical.from_codes((kind >= len(world.MARKETING_TYPES)).astype(np.int8), ["marketing", "sales"]),
        "type": pd.Categorical.from_codes(kind, KINDS),
        "content_id": pd.Categorical.from_codes(used, content["content_id"].to_numpy(dtype=object)),
        "actor": pd.Categorical.from_codes(actor, actors.categories)})


def _engagement(rng, n, counts, window_end):
    """``n`` engagement touches ``(lead, at, type code)`` after the qualification windows, before as_of.

    Each lead gets a share proportional to its remaining time times (1 + its touches in the
    window); within that span the times lean towards its start (engagement fades).  The
    touches come in time order (then lead, then type), as the table's rows.
    """
    start = np.floor(window_end) + 1.0
    span = np.maximum(AS_OF - start, 0.0)
    weight = (1.0 + counts.sum(axis=1)) * span
    if weight.sum() <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    lead = np.repeat(np.arange(len(span)), rng.multinomial(n, weight / weight.sum()))
    at = np.floor(start[lead] + span[lead] * rng.random(len(lead)) ** 2).astype(np.int64)
    mix = np.array(list(ENGAGEMENT_MIX.values()))
    kind = _ENGAGEMENT_KINDS[np.searchsorted(np.cumsum(mix) / mix.sum(), rng.random(len(lead)), side="right")]
    # sorting the packed keys themselves (not their order) is safe: rows with equal keys are equal
    return _unpack(np.sort(_pack(lead, at, kind)))


#: Bits of the packed sort key (time since START, lead row, type code); leads beyond 2**29 would not fit.
_KIND_BITS, _LEAD_BITS = 4, 29
_AT_BITS = 63 - _KIND_BITS - _LEAD_BITS


def _pack(lead, at, kind):
    """One int64 per row that sorts as (time, lead, type)."""
    seconds = at - int(START)
    if len(lead) and (lead.max() >= 1 << _LEAD_BITS or seconds.min() < 0 or seconds.max() >= 1 << _AT_BITS):
        raise ValueError("too many leads or a time outside the sample's span for the packed sort key")
    return (seconds << (_LEAD_BITS + _KIND_BITS)) | (lead << _KIND_BITS) | kind


def _unpack(key):
    return key >> _KIND_BITS & ((1 << _LEAD_BITS) - 1), (key >> (_LEAD_BITS + _KIND_BITS)) + int(START), \
        key & ((1 << _KIND_BITS) - 1)


def _merge(rows, more):
    """Merge two row sets ``(lead, at, kind, content, actor)``, each in time order, into one (``rows`` first on ties)."""
    where = np.searchsorted(_pack(*rows[:3]), _pack(*more[:3]), side="right") + np.arange(len(more[0]))
    extra = np.zeros(len(rows[0]) + len(more[0]), bool)
    extra[where] = True
    merged = []
    for old, new in zip(rows, more):
        column = np.empty(len(extra), np.asarray(old).dtype)
        column[~extra], column[extra] = old, new
        merged.append(column)
    return tuple(merged)


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
    """Code (row in ``content``) of the asset used by each content touch (-1 for touches without one)."""
    chosen = np.full(len(at), -1, dtype=np.int64)
    index = pd.Index(content["content_id"])
    for team, name in sorted(TOUCH_TYPES):
        rows = np.flatnonzero(kind == KINDS.index(name))
        rows = rows[rng.random(len(rows)) < CONTENT_SHARE.get(name, 1.0)]
        picked = pick_content(rng, content, team, name, at[rows].astype(float))
        chosen[rows] = np.where(pd.isna(picked), -1, index.get_indexer(picked))
    return chosen
