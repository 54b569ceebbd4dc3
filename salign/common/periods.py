"""Fiscal quarters cut in the workspace's time zone.

A fiscal year is named after the calendar year in which it ends: with
``fiscal_year_start_month: 4``, FY2026 runs from April 2025 to March 2026 and
2026Q1 is April-June 2025. With the default start month 1, quarters are
calendar quarters.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

from salign.common import followups
from salign.workspace.lazy import LazyFrame
from salign.workspace.tables import MissingData

_PATTERN = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
#: The quarter the data starts in counts as complete when its first event falls this soon after the quarter's
#: start (an export rarely begins at the very instant a quarter does); later, it is only partly in the data.
COMPLETE_WITHIN = pd.Timedelta(days=7)


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
    ``as_of`` (data is complete up to, not including, that instant); ``previous`` is the quarter before today's
    (for cron). A quarter outside the data's span (see :func:`check_covered`) raises :class:`PeriodError`.
    """
    cfg = tables.config
    kind = str(period).strip().lower()
    try:
        if kind == "latest":
            q = Quarter.containing(tables.as_of, cfg.fiscal_year_start_month, cfg.timezone).previous
        elif kind == "previous":
            now = pd.Timestamp(today or dt.date.today(), tz=cfg.timezone)
            q = Quarter.containing(now, cfg.fiscal_year_start_month, cfg.timezone).previous
        else:
            q = Quarter.parse(period, cfg.fiscal_year_start_month, cfg.timezone)
        check_covered(q, tables)
    except MissingData as exc:
        raise PeriodError(f"the workspace {exc}") from None
    return q


def first_complete(tables) -> Quarter:
    """The first quarter the data covers in full (see :data:`COMPLETE_WITHIN`): comparisons start there."""
    cfg = tables.config
    first = Quarter.containing(tables.data_start, cfg.fiscal_year_start_month, cfg.timezone)
    return first if tables.data_start < first.start + COMPLETE_WITHIN else first.shift(1)


def covered_span(tables) -> str:
    """The data's span in words: first lead creation or stage event to the day before the cut-off."""
    tz = tables.config.timezone
    last = tables.as_of.tz_convert(tz) - pd.Timedelta(days=1)
    return f"{tables.data_start.tz_convert(tz):%Y-%m-%d} to {last:%Y-%m-%d}"


def check_covered(q: Quarter, tables) -> None:
    """Raise :class:`PeriodError` (saying the data's span) when quarter ``q`` lies outside the data.

    A quarter is outside when it starts at or after the cut-off ``as_of`` or ends at or before the first lead
    creation or stage event.
    """
    if q.start >= tables.as_of:
        where = "after the data ends"
    elif q.end <= tables.data_start:
        where = "before the data starts"
    else:
        return
    cfg = tables.config
    first = Quarter.containing(tables.data_start, cfg.fiscal_year_start_month, cfg.timezone)
    last = Quarter.containing(tables.as_of, cfg.fiscal_year_start_month, cfg.timezone).previous
    span = (f"the data covers {covered_span(tables)} (quarters {first} to {last})" if first <= last else
            f"the data covers {covered_span(tables)}, no complete quarter")
    raise PeriodError(f"period {q} is {where}: {span}")


def cutoff(q: Quarter, tables) -> pd.Timestamp:
    """The moment a review of quarter ``q`` reads the data up to (exclusive, UTC): the quarter's end, or the data's
    cut-off ``as_of`` when the quarter is not over in the data (the latest, incomplete period)."""
    return min(q.end, tables.as_of)


#: Suffixes of a column that stamps when another column of the same table was set (``lead_quality_set_at``).
_STAMPS = ("_set_at", "_updated_at", "_changed_at", "_at")


def known_at(tables, when: pd.Timestamp):
    """The tables as they stood at ``when`` (exclusive, UTC): what a workspace exported then would hold.

    A quarter's review reads these, so rerunning it after more data arrives gives the same figures. Returns
    ``tables`` itself when ``when`` is at or after the data's cut-off ``as_of``. Otherwise, a copy where

    - rows created or dated at or after ``when`` are gone: leads, opportunities, accounts and content by
      ``created_at``, stage events and activities by ``at`` (and stage events of leads that are gone);
    - an opportunity closed at or after ``when`` is open: outcome ``open``, no ``closed_at``, no ``loss_reason``
      (its ``stage`` and ``amount`` stay: the data does not say what they were);
    - any other time at or after ``when`` is empty (an account's ``churned_at``, a content's ``updated_at``, and
      untyped columns named like a stamp, read as ISO 8601), and so is the column it stamps (``lead_quality`` of
      ``lead_quality_set_at``);
    - a lead's ``owner`` is empty when the lead was assigned to that owner only at or after ``when`` (an
      ``assignment`` activity whose actor is the owner, none before);
    - ``as_of`` is ``when``, as a date in the workspace's time zone.

    The data's fingerprint stays that of its inputs.
    """
    if when >= tables.as_of:
        return tables
    local = when.tz_convert(tables.config.timezone)
    if local != local.normalize():
        raise ValueError(f"a cut-off must be a midnight in {tables.config.timezone}, not {local}")

    def before(frame, col):
        return frame[col].isna() | (frame[col] < when) if col in frame.columns else pd.Series(True, index=frame.index)

    def later_times_blank(frame, keep=("created_at",)):
        out = frame.copy()
        for col in frame.columns:
            if col in keep:
                continue
            times = frame[col]
            if not pd.api.types.is_datetime64_any_dtype(times):
                if not (col.endswith(_STAMPS) and times.dtype == object):
                    continue
                # a column the schema does not type (lead_quality_set_at): times as the importers write them
                times = pd.to_datetime(times, utc=True, errors="coerce", format="ISO8601")
            late = times >= when
            if not late.any():
                continue
            out.loc[late, col] = pd.NaT if pd.api.types.is_datetime64_any_dtype(frame[col]) else None
            stamped = next((col[:-len(s)] for s in _STAMPS if col.endswith(s) and col[:-len(s)] in frame.columns
                            and col[:-len(s)] not in keep), None)
            if stamped is not None:
                out.loc[late, stamped] = None
        return out

    cut = {}
    for name in ("accounts", "content"):
        frame = getattr(tables, name)
        if frame is not None:
            cut[name] = later_times_blank(frame[before(frame, "created_at")])
    leads = tables.leads
    if leads is not None:
        leads = later_times_blank(leads[before(leads, "created_at")])
        if "owner" in leads.columns:
            late = pd.MultiIndex.from_frame(followups.assigned_from(tables, when))
            owned = pd.MultiIndex.from_arrays([leads["lead_id"], leads["owner"].astype(object)])
            leads.loc[owned.isin(late), "owner"] = None
        cut["leads"] = leads
    if tables.stages is not None:
        st = tables.stages
        if isinstance(st, LazyFrame):  # left on disk: cut when read
            cut["stages"] = st.until(when, among=("lead_id", leads["lead_id"]) if leads is not None else None)
        else:
            st = st[(st["at"] < when) & (st["lead_id"].isin(leads["lead_id"]) if leads is not None else True)]
            cut["stages"] = st.copy()
    if tables.activities is not None:
        acts = tables.activities
        cut["activities"] = acts.until(when) if isinstance(acts, LazyFrame) else acts[before(acts, "at")].copy()
    if tables.opportunities is not None:
        o = tables.opportunities
        o = o[before(o, "created_at")].copy()
        if "closed_at" in o.columns:
            open_ = o["closed_at"] >= when
            o.loc[open_, "closed_at"] = pd.NaT
            if "outcome" in o.columns:
                o.loc[open_, "outcome"] = "open"
            if "loss_reason" in o.columns:
                o.loc[open_, "loss_reason"] = None
        cut["opportunities"] = later_times_blank(o)
    config = tables.config.model_copy(update={"as_of": local.date()})
    return dataclasses.replace(tables, config=config, until=when, **cut)
