"""Durations said in plain words for the findings; the statistics behind them said in the methods part.

A duration measured on cases that have not all finished (leads not yet followed up, deals still open) is
summarised by :class:`salign.common.stats.Duration`; a reader gets it as a sentence:

>>> from salign.common.stats import Duration
>>> plain(Duration(10, 8, 2.5, (2.0, 3.0), 12.0, (9.0, 15.0)), "been followed up")
'half had been followed up within 2.5 hours (95% CI 2.0-3.0) and 9 in 10 within 12.0 hours; 2 of 10 had not yet by the cut-off'
>>> plain(Duration(10, 3, None, (None, None), None, (None, None), "days"), "left the stage")
'more than half had not yet left the stage by the cut-off (3 of 10 had)'
"""
from __future__ import annotations

from salign.common.stats import Duration
from salign.core import fmt


def _range(low, high) -> str:
    """`` (95% CI 2.0-3.0)``, `` (95% CI 79.1 or more)``, or nothing when the interval is open at both ends."""
    if low is None:
        return ""
    return f" (95% CI {fmt.days(low)}-{fmt.days(high)})" if high is not None else f" (95% CI {fmt.days(low)} or more)"


def plain(d: Duration, done: str) -> str:
    """A duration in words: how long it took half (and nine in ten) of the cases to have ``done`` (``been
    followed up``, ``left the stage``), and how many had not by the cut-off; never "median not reached"."""
    if not d.n:
        return "no cases"
    unit = d.unit
    if d.median is None:
        return f"more than half had not yet {done} by the cut-off ({fmt.count(d.events)} of {fmt.count(d.n)} had)"
    text = f"half had {done} within {fmt.days(d.median)} {unit}{_range(*d.median_ci)}"
    if d.p90 is not None:
        text += f" and 9 in 10 within {fmt.days(d.p90)} {unit}"
    waiting = d.n - d.events
    return text + (f"; {fmt.count(waiting)} of {fmt.count(d.n)} had not yet by the cut-off" if waiting else "")


def method(d: Duration, what: str) -> str:
    """The same duration as the statistics give it, for the methods part: Kaplan-Meier median and 90th
    percentile with their intervals, observed and censored cases."""
    return f"{what}: Kaplan-Meier estimate, {d}."
