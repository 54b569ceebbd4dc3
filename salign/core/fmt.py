"""The one number formatter: counts, plain numbers, rates with their counts and intervals, money, durations, p-values.

Every figure a person reads goes through here, in a page, a card, a rule's description or a
signed file, so the same number always reads the same way. Plain text out; the report room
escapes it for HTML.

>>> count(1234), number(1234.567, 1), percent(0.4204)
('1,234', '1,234.6', '42.0%')
>>> rate(21, 50, 0.285, 0.561)
'42.0% (21 of 50; 95% CI 28.5%-56.1%)'
>>> money(1234567.8, "EUR"), p_value(0.00001), value(1234.5), value(0.1234)
('EUR 1,234,568', '< 0.0001', '1,234', '0.123')
"""
from __future__ import annotations

import math

#: how a missing number reads
MISSING = "–"
#: how a rate with no cases reads
NO_CASES = "n/a"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def count(n) -> str:
    """A whole count with thousands separators: ``1,234``."""
    return MISSING if _missing(n) else f"{int(n):,}"


def number(x, digits: int = 0) -> str:
    """A number with thousands separators and ``digits`` decimals: ``1,234.5``; missing as an en dash."""
    return MISSING if _missing(x) else f"{x:,.{digits}f}"


def percent(x, digits: int = 1) -> str:
    """A share as a percentage: ``42.0%``; missing as ``n/a``."""
    return NO_CASES if _missing(x) else f"{x:.{digits}%}"


def interval(lo, hi) -> str:
    """A 95% interval of a share: ``95% CI 28.5%-56.1%``."""
    return f"95% CI {lo:.1%}-{hi:.1%}"


def rate(k, n, lo=None, hi=None) -> str:
    """A rate with its count and (when given) its 95% interval: ``42.0% (21 of 50; 95% CI 28.5%-56.1%)``."""
    if not n:
        return f"{NO_CASES} (0 of 0)"
    text = f"{k / n:.1%} ({int(k):,} of {int(n):,}"
    return text + (f"; {interval(lo, hi)})" if lo is not None and hi is not None else ")")


def value(x) -> str:
    """A figure of unknown scale, to a sensible precision: ``1,234`` / ``12.3`` / ``1.23`` / ``0.123``; yes/no."""
    if _missing(x):
        return NO_CASES
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int) or float(x).is_integer():
        return f"{int(x):,}"
    a = abs(x)
    return f"{x:,.0f}" if a >= 1000 else f"{x:,.1f}" if a >= 10 else f"{x:.2f}" if a >= 1 else f"{x:.3f}"


def cut(x: float, significant: int = 3) -> str:
    """A cut point or bound in a rule: whole numbers as ``1,000``, others to ``significant`` digits: ``0.25``."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.{significant}g}"


def signed(x) -> str:
    """A difference with its sign, to the precision of :func:`value`.

    >>> signed(1234), signed(-3.5)
    ('+1,234', '-3.50')
    """
    text = value(x)
    return text if text.startswith("-") else "+" + text


def points(delta: float) -> str:
    """A difference of two shares in percentage points.

    >>> points(0.015), points(-0.1)
    ('+1.5 pts', '-10.0 pts')
    """
    return f"{delta * 100:+.1f} pts"


def exact(x) -> str:
    """A number as written in a rule, all its digits, with thousands separators: ``1,000``, ``2,500.5``, ``0.25``."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,}"


def times(x, digits: int = 1) -> str:
    """A lift or ratio over a base: ``1.4×``; ``n/a`` when there is none.

    >>> times(1.4242), times(None)
    ('1.4×', 'n/a')
    """
    return NO_CASES if _missing(x) else f"{number(x, digits)}×"


def money(x, currency: str = "", signed: bool = False) -> str:
    """An amount in the workspace currency, whole units: ``EUR 1,234,568``; a change with its sign when ``signed``.

    >>> money(-1234.4, "EUR"), money(2500, "EUR", signed=True), money(None, "EUR")
    ('EUR -1,234', 'EUR +2,500', '–')
    """
    if _missing(x):
        return MISSING
    return f"{currency} {x:{'+' if signed else ''},.0f}".strip()


def days(x, digits: int = 1) -> str:
    """A duration in days (or any unit the caller names): ``12.5``; ``not reached`` where a median never came."""
    return "not reached" if x is None else f"{x:,.{digits}f}"


def p_value(p) -> str:
    """A p-value or q-value for the methods part: ``0.032``, ``< 0.0001``."""
    if _missing(p):
        return NO_CASES
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}" if p < 0.001 else f"{p:.3f}"
