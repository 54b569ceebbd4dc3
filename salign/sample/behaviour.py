"""Marketing behaviour: how many touches of each type a lead has in its qualification window."""

import numpy as np

from . import world


def touch_counts(rng, leads):
    """Draw the marketing touches each lead makes before its MQL (or in its first 30 days).

    Engagement varies between leads (a gamma-distributed multiplier); leads from an
    event or a webinar have at least one touch of that type.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    leads : pandas.DataFrame
        Output of :func:`salign.sample.leads.make_leads`.

    Returns
    -------
    numpy.ndarray
        ``(n_leads, len(world.MARKETING_TYPES))`` integer counts.
    """
    n = len(leads)
    engagement = rng.gamma(0.8, 1 / 0.8, n)
    rates = np.array([world.TOUCH_RATE[t] for t in world.MARKETING_TYPES])
    counts = rng.poisson(engagement[:, None] * rates[None, :])
    source = leads["source"].to_numpy()
    for kind in ("webinar", "event"):
        k = world.MARKETING_TYPES.index(kind)
        counts[:, k] = np.where(source == kind, np.maximum(counts[:, k], 1), counts[:, k])
    return counts
