"""Leads: when they arrive, which account they belong to, who they are and their contact data."""

import numpy as np
import pandas as pd

from . import people, world
from .clock import DAY, HOUR, QUARTER_BOUNDS, second_year
from .ids import numbered
from .sampling import categorical, log_uniform, mix_table

_FREE_MAIL = np.array(["mailbox.test", "inbox.test", "post.test"], dtype=object)


def make_leads(rng, accounts, n_leads):
    """Draw leads, ordered by creation time and numbered L000001, L000002, ...

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    accounts : pandas.DataFrame
        Output of :func:`salign.sample.accounts.make_accounts`.
    n_leads : int
        Number of leads.

    Returns
    -------
    pandas.DataFrame
        One row per lead with the public lead columns (without owner, persona and the
        leak) plus internal columns: ``t0`` (creation, epoch seconds), ``account``
        (row in ``accounts``, -1 for none), ``segment`` (-1 for none) and ``domain``
        (of the e-mail address).
    """
    t0 = np.sort(_creation_times(rng, n_leads))
    attached = rng.random(n_leads) >= world.UNATTACHED_SHARE
    weight = accounts["lead_weight"].to_numpy()
    account = np.where(attached, rng.choice(len(accounts), n_leads, p=weight / weight.sum()), -1)
    segment = np.where(attached, accounts["segment"].to_numpy()[account], -1)
    group = np.where(attached, segment, len(world.SEGMENTS))
    mixes = {field: [s[field] for s in world.SEGMENTS] + [world.UNATTACHED[field]]
             for field in ("source", "job_level", "department")}
    source = categorical(rng, mix_table(mixes["source"], world.SOURCES), group)
    level = categorical(rng, mix_table(mixes["job_level"], world.JOB_LEVELS), group)
    department = categorical(rng, mix_table(mixes["department"], world.DEPARTMENTS), group)

    own_region, own_country = people.locations(rng, n_leads)
    own_employees = np.floor(log_uniform(rng, np.full(n_leads, 2.0), np.full(n_leads, 50000.0)))
    own_employees[rng.random(n_leads) < 0.08] = np.nan
    own_industry = np.array(world.INDUSTRIES, dtype=object)[rng.integers(0, len(world.INDUSTRIES), n_leads)]

    def pick(column, own):
        return np.where(attached, accounts[column].to_numpy()[account.clip(min=0)], own)

    employees = pick("employees", own_employees).astype(float)
    year2 = second_year(t0).astype(int)
    missing = {f: rng.random(n_leads) < np.array(s)[year2] for f, s in world.MISSING_FIELD_SHARE.items()}
    employees[missing["employees"]] = np.nan
    country = pick("country", own_country)
    domain = pick("domain", _FREE_MAIL[rng.integers(0, len(_FREE_MAIL), n_leads)])
    first, last, mailbox = people.person_names(rng, n_leads)
    title = people.job_titles(rng, level, department)
    title[missing["job_title"]] = None
    phone = people.phones(rng, country)
    phone[missing["phone"]] = None
    return pd.DataFrame({
        "lead_id": numbered("L", n_leads, 6),
        "t0": t0,
        "source": np.array(world.SOURCES, dtype=object)[source],
        "account": account,
        "segment": segment,
        "campaign": np.array(world.CAMPAIGNS, dtype=object)[rng.integers(0, len(world.CAMPAIGNS), n_leads)],
        "job_title": title,
        "job_level": np.array(world.JOB_LEVELS, dtype=object)[level],
        "department": np.array(world.DEPARTMENTS, dtype=object)[department],
        "industry": pick("industry", own_industry),
        "employees": employees,
        "region": pick("region", own_region),
        "country": country,
        "email": mailbox + domain,
        "phone": phone,
        "first_name": first,
        "last_name": last,
        "domain": domain,
    })


def _creation_times(rng, n):
    """Creation times: quarter by ``world.QUARTER_LEAD_SHARE``, mostly in European business hours."""
    quarter = rng.choice(len(world.QUARTER_LEAD_SHARE), n, p=np.array(world.QUARTER_LEAD_SHARE))
    lo, hi = QUARTER_BOUNDS[quarter], QUARTER_BOUNDS[quarter + 1]
    day = np.floor((lo + rng.random(n) * (hi - lo)) / DAY) * DAY
    business = rng.random(n) < 0.75
    time_of_day = np.where(business, 6 * HOUR + rng.random(n) * 11 * HOUR, rng.random(n) * DAY)
    return np.floor(np.clip(day + time_of_day, lo, hi - 1))
