"""Accounts: firmographics drawn from the planted segments, then margin and churn of customers."""

import numpy as np
import pandas as pd

from . import people, world
from .clock import AS_OF, DAY, START
from .ids import numbered
from .sampling import between, categorical, log_uniform, lognormal, mix_table


def make_accounts(rng, n_accounts):
    """Draw accounts with the firmographics of their segment.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n_accounts : int
        Number of accounts.

    Returns
    -------
    pandas.DataFrame
        One row per account: ``account_id``, ``segment`` (index into ``world.SEGMENTS``),
        ``industry``, ``employees``, ``annual_revenue``, ``region``, ``country``, ``name``,
        ``domain``, ``tier`` and ``lead_weight`` (relative number of leads it produces).
    """
    segs = world.SEGMENTS
    segment = categorical(rng, np.array([[s["account_share"] for s in segs]]), np.zeros(n_accounts, int))
    other = {name: 1.0 for name in world.OTHER_INDUSTRIES}
    mixes = [{**{k: (1 - sum(s["industry_mix"].values())) * v / len(other) for k, v in other.items()},
              **s["industry_mix"]} for s in segs]
    industry = categorical(rng, mix_table(mixes, world.INDUSTRIES), segment)
    bounds = np.array([s["employees"] for s in segs], dtype=float)
    employees = np.floor(log_uniform(rng, bounds[segment, 0], bounds[segment, 1] + 1)).astype(np.int64)
    per_employee = np.array([s["revenue_per_employee"] for s in segs], dtype=float)[segment]
    revenue = np.round(lognormal(rng, employees * per_employee, 0.25) / 1000).astype(np.int64) * 1000
    region, country = people.locations(rng, n_accounts)
    name, domain = people.company_names(rng, industry, country)
    key_share = np.select([employees >= 5000, employees >= 2000, employees >= 500], [0.35, 0.2, 0.04], 0.005)
    tier = np.where(rng.random(n_accounts) < key_share, "key", "standard").astype(object)
    weight = np.array([s["lead_weight"] for s in segs])[segment] * rng.gamma(2.0, 0.5, n_accounts)
    return pd.DataFrame({
        "account_id": numbered("A", n_accounts, 5),
        "segment": segment,
        "industry": np.array(world.INDUSTRIES, dtype=object)[industry],
        "employees": employees,
        "annual_revenue": revenue,
        "region": region,
        "country": country,
        "name": name,
        "domain": domain,
        "tier": tier,
        "lead_weight": weight,
    })


def settle_accounts(rng, accounts, first_lead_at, opportunities):
    """Add creation dates, and gross margin and churn of the customers.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    accounts : pandas.DataFrame
        Output of :func:`make_accounts`; gains ``created_at``, ``gross_margin`` and
        ``churned_at`` (epoch seconds at noon UTC, NaN when absent).
    first_lead_at : numpy.ndarray
        Creation time of each account's first lead (NaN for accounts without leads).
    opportunities : pandas.DataFrame
        Output of :func:`salign.sample.opportunities.make_opportunities`.
    """
    n = len(accounts)
    latest = np.where(np.isnan(first_lead_at), between(rng, START, AS_OF - 30 * DAY, n), first_lead_at)
    accounts["created_at"] = _noon(latest - between(rng, 0, 1000 * DAY, n))
    won = opportunities[opportunities["outcome"] == "won"]
    first_win = won.groupby("account")["closed_at"].min()
    customer = np.zeros(n, bool)
    customer[first_win.index.to_numpy()] = True
    segment = accounts["segment"].to_numpy()
    margin = np.array([s["gross_margin"] for s in world.SEGMENTS])
    gm = np.round(margin[segment, 0] + margin[segment, 1] * rng.standard_normal(n), 3)
    accounts["gross_margin"] = np.where(customer, gm, np.nan)
    churn_rate = np.array([s["churn_rate"] for s in world.SEGMENTS])[segment]
    won_at = np.full(n, np.nan)
    won_at[first_win.index.to_numpy()] = first_win.to_numpy()
    churned = _noon(won_at + between(rng, 60 * DAY, 300 * DAY, n))
    churned_at = np.where(customer & (rng.random(n) < churn_rate) & (churned < AS_OF - DAY), churned, np.nan)
    accounts["churned_at"] = churned_at


def _noon(t):
    return np.floor(t / DAY) * DAY + DAY / 2
