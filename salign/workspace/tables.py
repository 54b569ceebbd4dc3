"""The canonical tables of one workspace, as one object the analyses take."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

#: The (table, column) pairs whose events define quarters: when leads arrive and move through the funnel.
#: The data's span (``data_start``, the default ``as_of``) comes from these, not from any timestamp
#: (a task scheduled for 2099 says nothing about which quarters the data covers).
QUARTER_EVENTS = (("leads", "created_at"), ("stages", "at"))
#: Used instead when a workspace has neither leads nor stages (deals only).
DEAL_EVENTS = (("opportunities", "created_at"), ("opportunities", "closed_at"))


class MissingData(LookupError):
    """An analysis needs a table, column or definition this workspace does not have."""


@dataclass
class Tables:
    """Validated, typed canonical tables plus the workspace's configuration and definitions.

    A table the workspace lacks is ``None`` and its reason is in ``missing``.
    All timestamps are timezone-aware UTC.
    """

    config: object
    folder: Path
    definitions: dict[str, BaseModel] = field(default_factory=dict)
    fingerprint: str = ""
    missing: dict[str, str] = field(default_factory=dict)
    accounts: pd.DataFrame | None = None
    leads: pd.DataFrame | None = None
    stages: pd.DataFrame | None = None
    activities: pd.DataFrame | None = None
    opportunities: pd.DataFrame | None = None
    content: pd.DataFrame | None = None
    #: Findings that do not block a review (e.g. rows dated after the cut-off), as ``Problem`` objects.
    warnings: list = field(default_factory=list)
    #: Where the event-level expressions run (:class:`salign.workspace.engine.Engine`); ``None``: DuckDB over
    #: these frames.
    engine: object = field(default=None, repr=False)
    #: The moment the frames were cut to (:func:`salign.common.periods.known_at`), exclusive; ``None``: not cut.
    #: An engine over the uncut tables applies the same cut.
    until: pd.Timestamp | None = None

    def require(self, *names: str) -> None:
        """Raise :class:`MissingData` naming every missing table among ``names``."""
        gone = [n for n in names if getattr(self, n) is None]
        if gone:
            raise MissingData("needs the " + ", ".join(f"'{n}' table" for n in gone)
                              + " (" + "; ".join(self.missing.get(n, "absent") for n in gone) + ")")

    def definition(self, file: str):
        """A definitions model by file name; :class:`MissingData` if the workspace has none."""
        if file not in self.definitions:
            raise MissingData(f"needs definitions/{file}, which this workspace does not have")
        return self.definitions[file]

    def _event_times(self) -> list[pd.Timestamp]:
        """Earliest and newest time of each quarter-defining event column (:data:`QUARTER_EVENTS`, else
        :data:`DEAL_EVENTS`) this workspace has."""
        for events in (QUARTER_EVENTS, DEAL_EVENTS):
            times = []
            for name, col in events:
                frame = getattr(self, name)
                if frame is not None and col in frame.columns and pd.api.types.is_datetime64_any_dtype(frame[col]):
                    times += [t for t in (frame[col].min(), frame[col].max()) if pd.notna(t)]
            if times:
                return times
        raise MissingData("has no lead, stage or deal times, so no period can be chosen")

    @property
    def data_start(self) -> pd.Timestamp:
        """The first lead creation or stage event (UTC): quarters ending before it have no data."""
        return min(self._event_times())

    @property
    def as_of(self) -> pd.Timestamp:
        """The data cut-off (exclusive): ``as_of`` from workspace.yaml, else midnight after the newest lead creation
        or stage event (see :data:`QUARTER_EVENTS`).

        Midnight is local to the workspace, returned in UTC.
        """
        if self.config.as_of is not None:
            return pd.Timestamp(self.config.as_of, tz=self.config.timezone).tz_convert("UTC")
        day = max(self._event_times()).tz_convert(self.config.timezone).normalize() + pd.DateOffset(days=1)
        return day.tz_convert("UTC")

    def __repr__(self) -> str:
        have = ", ".join(f"{n}={len(getattr(self, n)):,}" for n in
                         ("accounts", "leads", "stages", "activities", "opportunities", "content")
                         if getattr(self, n) is not None)
        return f"Tables({self.config.name!r}: {have}; fingerprint {self.fingerprint})"
