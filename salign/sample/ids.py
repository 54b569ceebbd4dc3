"""Zero-padded ids such as L000001, built without a per-row Python loop."""

import numpy as np

from .coded import Coded


def numbered(prefix, count, width):
    """Ids ``prefix`` + zero-padded 1..count, e.g. ``L000001``, as an object array (see :func:`numbered_parts`)."""
    high, low = numbered_parts(prefix, count, width)
    return high.vocab[high.codes] + low.vocab[low.codes]


def numbered_parts(prefix, count, width):
    """The ids of :func:`numbered` as two coded pieces the writer prints side by side (no string per row).

    Parameters
    ----------
    prefix : str
        Leading letter.
    count : int
        Number of ids.
    width : int
        Minimum number of digits (more are used when ``count`` needs them).

    Returns
    -------
    tuple
        ``(Coded(high codes, high texts), Coded(low codes, low texts))``; ``high + low`` is the id.
    """
    width = max(width, len(str(count)), 5)
    number = np.arange(1, count + 1)
    high = np.array([f"{prefix}{k:0{width - 4}d}" for k in range(count // 10000 + 1)], dtype=object)
    low = np.array([f"{k:04d}" for k in range(10000)], dtype=object)
    return Coded(number // 10000, high), Coded(number % 10000, low)
