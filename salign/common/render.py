"""How results show themselves in a notebook and in reports: escaped HTML, formatted numbers."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass

import pandas as pd

from salign.common.result import Skipped  # noqa: F401  (transition: analyses move to salign.common.result)
from salign.common.stats import Rate


def esc(value) -> str:
    """Escape any value for HTML (CRM text is never trusted)."""
    return html.escape("" if value is None else str(value), quote=True)


def number(x, digits: int = 0) -> str:
    """1,234 / 1,234.5; missing values as an en dash."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.{digits}f}"


def percent(x, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}%}"


def rate_cell(k, n, lo=None, hi=None) -> str:
    """A rate with its count and interval, e.g. ``42.0% (21/50; 28.5-56.1%)``."""
    return str(Rate(int(k), int(n))) if lo is None else (
        "n/a (0 of 0)" if not n else f"{k / n:.1%} ({int(k):,} of {int(n):,}; {lo:.1%}-{hi:.1%})")


def table(frame: pd.DataFrame, caption: str | None = None, index: bool = False, max_rows: int = 60) -> str:
    """An escaped, readable HTML table; long tables are cut with a note.

    Float columns get thousands separators and a sensible number of decimals
    (none for whole numbers, 1 from 100 up, else 3).
    """
    shown = frame.head(max_rows).copy()
    for col in shown.columns:
        values = shown[col]
        if pd.api.types.is_float_dtype(values) and not values.isna().all():
            whole = (values.dropna() % 1 == 0).all()
            digits = 0 if whole else (1 if values.abs().max() >= 100 else 3)
            shown[col] = values.map(lambda x, d=digits: number(x, d))
    body = shown.to_html(index=index, escape=True, border=0, classes="salign-table", na_rep="–")
    cap = f"<p class='caption'>{esc(caption)}</p>" if caption else ""
    more = (f"<p class='note'>Showing {max_rows:,} of {len(frame):,} rows.</p>" if len(frame) > max_rows else "")
    return cap + body + more


class Result:
    """Base for analysis results: renders itself with ``_repr_html_``, reports ``metrics()``."""

    title: str = ""

    def html_body(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _repr_html_(self) -> str:
        head = f"<h4>{esc(self.title)}</h4>" if self.title else ""
        return f"<div class='salign-result'>{head}{self.html_body()}</div>"

    def metrics(self) -> dict:
        return {}
