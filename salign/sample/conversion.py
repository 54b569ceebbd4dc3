"""The true model of reaching ``sql`` within 90 days, and its realised outcome."""

import numpy as np
import pandas as pd

from . import world
from .clock import second_year


def employee_band(employees):
    """Band label of each employee count as used by ``world.SQL_COEFFICIENTS``.

    Parameters
    ----------
    employees : numpy.ndarray
        Employee counts, NaN when unknown.

    Returns
    -------
    numpy.ndarray
        Object array of band labels (``"missing"`` for NaN).
    """
    band = np.full(len(employees), "missing", dtype=object)
    for lo, hi, label in world.EMPLOYEE_BANDS:
        band[(employees >= lo) & (employees <= hi)] = label
    return band


def sql_probability(leads, counts):
    """The true probability that each lead reaches ``sql`` within 90 days, to 4 decimals.

    Parameters
    ----------
    leads : pandas.DataFrame
        Output of :func:`salign.sample.leads.make_leads`.
    counts : numpy.ndarray
        Output of :func:`salign.sample.behaviour.touch_counts`.

    Returns
    -------
    numpy.ndarray
        Probabilities in ``[0.0001, 0.9999]``.
    """
    c = world.SQL_COEFFICIENTS
    industry = leads["industry"].where(leads["industry"].isin(list(c["industry"])), "other")
    logit = (world.SQL_INTERCEPT
             + leads["job_level"].map(c["job_level"]).to_numpy(float)
             + pd.Series(employee_band(leads["employees"].to_numpy())).map(c["employees_band"]).to_numpy(float)
             + industry.map(c["industry"]).to_numpy(float)
             + leads["source"].map(c["source"]).to_numpy(float)
             + np.log1p(counts) @ np.array([c["log1p_touches"][t] for t in world.MARKETING_TYPES])
             + c["created_in_second_year"] * second_year(leads["t0"].to_numpy()))
    return np.clip(np.round(1 / (1 + np.exp(-logit)), 4), 0.0001, 0.9999)
