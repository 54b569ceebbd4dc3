"""Small vectorised drawing helpers shared by the generator modules."""

import numpy as np


def categorical(rng, table, group):
    """Draw one category per row from the probability row of its group.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    table : numpy.ndarray
        ``(n_groups, n_categories)`` probabilities; rows need not be normalised.
    group : numpy.ndarray
        Integer group of each row.

    Returns
    -------
    numpy.ndarray
        Integer category of each row.
    """
    cumulative = np.cumsum(table, axis=1)
    cumulative /= cumulative[:, -1:]
    u = rng.random(len(group))
    return (u[:, None] >= cumulative[group]).sum(axis=1).clip(max=table.shape[1] - 1)


def mix_table(mixes, vocabulary):
    """Turn ``{category: probability}`` mappings into a probability table.

    Parameters
    ----------
    mixes : sequence of dict
        One mapping per group.
    vocabulary : sequence of str
        Column order.

    Returns
    -------
    numpy.ndarray
        ``(len(mixes), len(vocabulary))`` table.
    """
    return np.array([[mix.get(v, 0.0) for v in vocabulary] for mix in mixes])


def log_uniform(rng, lo, hi):
    """Draw from a log-uniform distribution between ``lo`` and ``hi`` (arrays allowed).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    lo, hi : numpy.ndarray
        Bounds of equal length.

    Returns
    -------
    numpy.ndarray
        Floats.
    """
    lo, hi = np.log(lo), np.log(hi)
    return np.exp(lo + rng.random(len(lo)) * (hi - lo))


def lognormal(rng, median, sigma):
    """Draw from a lognormal distribution with the given median (array) and log-sd.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    median : numpy.ndarray
        Medians.
    sigma : float
        Standard deviation of the logarithm.

    Returns
    -------
    numpy.ndarray
        Floats.
    """
    return median * np.exp(sigma * rng.standard_normal(len(median)))


def between(rng, lo, hi, n):
    """Draw ``n`` uniform values in ``[lo, hi)``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    lo, hi : float or numpy.ndarray
        Bounds.
    n : int
        Number of values.

    Returns
    -------
    numpy.ndarray
        Floats.
    """
    return lo + rng.random(n) * (np.asarray(hi) - np.asarray(lo))
