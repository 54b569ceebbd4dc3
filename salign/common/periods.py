"""Fiscal quarters cut in the workspace's time zone.

A fiscal year is named after the calendar year in which it ends: with
``fiscal_year_start_month: 4``, FY2026 runs from April 2025 to March 2026 and
2026Q1 is April-June 2025. With the default start month 1, quarters are
calendar quarters.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

_PATTERN = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)


class PeriodError(ValueError):
    """A period that cannot be understood or is outside the data."""


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    quarter: int
    start_month: int = 1
    timezone: str = "UTC"

    @classmethod
    def parse(cls, text: str, start_month: int = 1, timezone: str = "UTC") -> "Quarter":
        m = _PATTERN.match(str(text).strip())
        if not m:
            raise PeriodError(f"period {text!r} is not a fiscal quarter such as 2026Q3")
        return cls(int(m.group(1)), int(m.group(2)), start_month, timezone)

    @classmethod
    def containing(cls, when: pd.Timestamp, start_month: int = 1, timezone: str = "UTC") -> "Quarter":
        local = pd.Timestamp(when).tz_convert(timezone) if pd.Timestamp(when).tzinfo else pd.Timestamp(when)
        months_in = (local.month - start_month) % 12
        fy = local.year + (1 if start_month != 1 and local.month >= start_month else 0)
        return cls(fy, months_in // 3 + 1, start_month, timezone)

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def start(self) -> pd.Timestamp:
        """First instant of the quarter, in UTC."""
        month0 = self.start_month - 1 + 3 * (self.quarter - 1)
        year = self.year - (1 if self.start_month != 1 else 0) + month0 // 12
        local = pd.Timestamp(year=year, month=month0 % 12 + 1, day=1, tz=self.timezone)
        return local.tz_convert("UTC")

    @property
    def end(self) -> pd.Timestamp:
        """First instant after the quarter, in UTC (quarters are half-open intervals)."""
        return self.shift(1).start

    def shift(self, n: int) -> "Quarter":
        idx = self.year * 4 + (self.quarter - 1) + n
        return Quarter(idx // 4, idx % 4 + 1, self.start_month, self.timezone)

    @property
    def previous(self) -> "Quarter":
        return self.shift(-1)

    @property
    def year_ago(self) -> "Quarter":
        return self.shift(-4)

    def contains(self, times: pd.Series) -> pd.Series:
        """Boolean Series: which UTC timestamps fall inside the quarter."""
        return (times >= self.start) & (times < self.end)


def resolve(period: str, tables, today: dt.date | None = None) -> Quarter:
    """Turn ``latest``, ``previous`` or ``2026Q3`` into a quarter of this workspace.

    ``latest`` is the newest quarter that ended on or before the data cut-off
    ``as_of`` (data is complete up to, not including, that instant); ``previous`` is the quarter before today's (for cron).
    """
    cfg = tables.config
    kind = str(period).strip().lower()
    if kind == "latest":
        return Quarter.containing(tables.as_of, cfg.fiscal_year_start_month, cfg.timezone).previous
    if kind == "previous":
        now = pd.Timestamp(today or dt.date.today(), tz=cfg.timezone)
        return Quarter.containing(now, cfg.fiscal_year_start_month, cfg.timezone).previous
    q = Quarter.parse(period, cfg.fiscal_year_start_month, cfg.timezone)
    if q.start >= tables.as_of:
        raise PeriodError(f"period {q} starts after the data ends ({tables.as_of:%Y-%m-%d}); "
                          f"the latest complete quarter is {resolve('latest', tables)}")
    return q
