"""The canonical tables of one workspace, as one object the analyses take."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import BaseModel


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

    def time_columns(self):
        """Every (table, column) holding timestamps, for finding the data's time span."""
        for name in ("leads", "stages", "activities", "opportunities"):
            frame = getattr(self, name)
            if frame is None:
                continue
            for col in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[col]):
                    yield name, col

    @property
    def as_of(self) -> pd.Timestamp:
        """The data cut-off (exclusive): ``as_of`` from workspace.yaml, else midnight after the newest event.

        Midnight is local to the workspace, returned in UTC.
        """
        if self.config.as_of is not None:
            return pd.Timestamp(self.config.as_of, tz=self.config.timezone).tz_convert("UTC")
        newest = [getattr(self, t)[c].max() for t, c in self.time_columns() if c in ("created_at", "at", "closed_at")]
        newest = [t for t in newest if pd.notna(t)]
        if not newest:
            raise MissingData("has no timestamps, so no period can be chosen")
        day = max(newest).tz_convert(self.config.timezone).normalize() + pd.DateOffset(days=1)
        return day.tz_convert("UTC")

    def __repr__(self) -> str:
        have = ", ".join(f"{n}={len(getattr(self, n)):,}" for n in
                         ("accounts", "leads", "stages", "activities", "opportunities", "content")
                         if getattr(self, n) is not None)
        return f"Tables({self.config.name!r}: {have}; fingerprint {self.fingerprint})"
