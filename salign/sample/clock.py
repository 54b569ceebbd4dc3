"""The sample's calendar: quarter boundaries in Europe/Berlin, held as UTC epoch seconds.

All event times inside the generator are float seconds since the epoch (UTC), with
NaN for "did not happen (before as_of)".
"""

import numpy as np
import pandas as pd

from .coded import Coded

TIMEZONE = "Europe/Berlin"
QUARTERS = ("2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3")
AS_OF_DATE = "2026-10-01"
HOUR = 3600.0
DAY = 86400.0

_STARTS = ("2024-10-01", "2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01", "2026-01-01",
           "2026-04-01", "2026-07-01", AS_OF_DATE)
#: Start of each quarter and, last, the end of the data (as_of), as UTC epoch seconds.
QUARTER_BOUNDS = np.array([pd.Timestamp(day, tz=TIMEZONE).timestamp() for day in _STARTS])
START = float(QUARTER_BOUNDS[0])
AS_OF = float(QUARTER_BOUNDS[-1])
SECOND_YEAR = float(QUARTER_BOUNDS[4])
#: Days (since the epoch) of the first and last calendar day the writer must format.
_FIRST_DAY = int(pd.Timestamp("2018-01-01").timestamp() // DAY)
_LAST_DAY = int(pd.Timestamp("2027-12-31").timestamp() // DAY)


def quarter_index(t):
    """Index into QUARTERS of each time; -1 before the first quarter, 8 at or after as_of.

    Parameters
    ----------
    t : numpy.ndarray
        Epoch seconds (UTC).

    Returns
    -------
    numpy.ndarray
        Integer quarter index.
    """
    return np.searchsorted(QUARTER_BOUNDS, t, side="right") - 1


def second_year(t):
    """Whether each time falls in the second year of data (2025Q4 .. 2026Q3).

    Parameters
    ----------
    t : numpy.ndarray
        Epoch seconds (UTC).

    Returns
    -------
    numpy.ndarray
        Boolean array.
    """
    return t >= SECOND_YEAR


def before_as_of(t):
    """Keep a time only if it lies before as_of.

    Parameters
    ----------
    t : numpy.ndarray
        Epoch seconds (UTC), NaN allowed.

    Returns
    -------
    numpy.ndarray
        ``t`` with every value at or after as_of replaced by NaN.
    """
    return np.where(t < AS_OF, t, np.nan)


def _day_labels(suffix):
    days = np.arange(_FIRST_DAY, _LAST_DAY + 1).astype("datetime64[D]")
    return np.array([d + suffix for d in np.datetime_as_string(days).tolist()], dtype=object)


_DATE_TEXT = _day_labels("")
_DATE_T_TEXT = _day_labels("T")
_TIME_TEXT = np.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(86400)], dtype=object)


def datetime_parts(t):
    """Format epoch seconds as ``2025-03-04T13:22:10Z``, as two coded pieces (no string per row).

    The writer prints the two pieces side by side; NaN gives an empty value.

    Parameters
    ----------
    t : numpy.ndarray
        Epoch seconds (UTC), NaN allowed.

    Returns
    -------
    tuple of Coded
        ``(date part such as "2025-03-04T", time part such as "13:22:10Z")``, code -1 where ``t`` is NaN.
    """
    t = np.asarray(t)
    known = None if t.dtype.kind in "iu" else ~np.isnan(t)  # whole seconds are never missing
    s = t.astype(np.int64) if known is None else np.floor(np.where(known, t, START)).astype(np.int64)
    day, second = np.divmod(s, 86400)
    day -= _FIRST_DAY
    if known is not None:
        day[~known] = second[~known] = -1
    return Coded(day, _DATE_T_TEXT), Coded(second, _TIME_TEXT)


def date_text(t):
    """Format epoch seconds as the UTC calendar date ``2025-03-04``; NaN becomes "".

    Parameters
    ----------
    t : numpy.ndarray
        Epoch seconds (UTC), NaN allowed.

    Returns
    -------
    Coded
        Code of each date (-1 where ``t`` is NaN) into the calendar's dates.
    """
    t = np.asarray(t, dtype=float)
    known = ~np.isnan(t)
    s = np.floor(np.where(known, t, START)).astype(np.int64)
    return Coded(np.where(known, s // 86400 - _FIRST_DAY, -1), _DATE_TEXT)
