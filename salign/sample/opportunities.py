"""Opportunities: opened after sql (or, rarely, straight after sal), won or lost by segment."""

import numpy as np
import pandas as pd

from . import world
from .clock import AS_OF, DAY, before_as_of
from .ids import numbered
from .sampling import between, categorical, lognormal, mix_table


def make_opportunities(rng, leads, paths, accounts, first_source):
    """Open, size and close the opportunities of leads that belong to an account.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    leads : pandas.DataFrame
        Output of :func:`salign.sample.leads.make_leads`.
    paths : pandas.DataFrame
        Output of :func:`salign.sample.funnel.make_paths`.
    accounts : pandas.DataFrame
        Output of :func:`salign.sample.accounts.make_accounts`.
    first_source : numpy.ndarray
        Source of each account's first lead (None for accounts without leads).

    Returns
    -------
    pandas.DataFrame
        One row per opportunity, numbered O00001, ... in order of creation, with
        ``lead`` and ``account`` (row indices), ``created_at``, ``closed_at`` (epoch
        seconds), ``stage``, ``outcome``, ``amount``, ``loss_reason``, ``owner``
        and ``product``.
    """
    n = len(leads)
    account = leads["account"].to_numpy()
    segment = leads["segment"].to_numpy()
    seg = segment.clip(min=0)
    opp_rate = np.array([s["opp_rate"] for s in world.SEGMENTS])[seg]
    after_sql = paths["t_sql"].to_numpy() + between(rng, DAY, 14 * DAY, n)
    opens = (account >= 0) & (rng.random(n) < opp_rate)
    created = np.where(opens, after_sql, np.nan)
    created = before_as_of(np.fmin(created, paths["t_opp_direct"].to_numpy()))
    lead = np.flatnonzero(~np.isnan(created))
    created, seg = created[lead], seg[lead]
    k = len(lead)
    cycle = between(rng, *np.array([s["cycle_days"] for s in world.SEGMENTS], dtype=float)[seg].T * DAY, k)
    closes = created + cycle
    won = rng.random(k) < np.array([s["win_rate"] for s in world.SEGMENTS])[seg]
    closed = closes < AS_OF
    outcome = np.where(closed, np.where(won, "won", "lost"), "open").astype(object)
    progress = (AS_OF - created) / cycle
    open_stage = np.array(["discovery", "proposal", "negotiation"], dtype=object)[
        np.searchsorted([1 / 3, 2 / 3], progress, side="right")]
    uplift = np.where((seg == world.SEGMENT_NAMES.index(world.BEST_SEGMENT))
                      & (first_source[account[lead]] == "event"), world.EVENT_SOFTWARE_DEAL_UPLIFT, 1.0)
    median = np.array([s["amount_median"] for s in world.SEGMENTS], dtype=float)[seg] * uplift
    amount = np.round(lognormal(rng, median, 0.4) / 100).astype(np.int64) * 100
    loss = np.array(world.LOSS_REASONS, dtype=object)[rng.integers(0, len(world.LOSS_REASONS), k)]
    product = categorical(rng, mix_table([s["products"] for s in world.SEGMENTS], world.PRODUCTS), seg)
    order = np.lexsort((lead, created))
    frame = pd.DataFrame({
        "lead": lead,
        "account": account[lead],
        "created_at": created,
        "closed_at": np.where(closed, closes, np.nan),
        "stage": np.where(closed, "closed", open_stage).astype(object),
        "outcome": outcome,
        "amount": amount,
        "loss_reason": np.where(outcome == "lost", loss, None),
        "owner": np.array(world.REPS, dtype=object)[paths["rep"].to_numpy()[lead]],
        "product": np.array(world.PRODUCTS, dtype=object)[product],
    }).iloc[order].reset_index(drop=True)
    frame.insert(0, "opportunity_id", numbered("O", k, 5))
    return frame
