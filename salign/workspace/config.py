"""``workspace.yaml``: how the files are written (Formats), where each table comes from, the calendar."""
from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from salign.workspace.schema import TABLES

#: the funnel stages a qualified lead can be expected to reach (``outcome:`` in workspace.yaml)
OUTCOME_STAGES = ("sql", "opportunity", "won")
#: where the event-level facts can be computed (``engine:`` in workspace.yaml, ``salign review --engine``;
#: :mod:`salign.workspace.engine`)
ENGINES = ("duckdb", "postgres", "spark")
#: the tables the event-level facts read: the postgres engine needs those the workspace has in its database
EVENT_TABLES = ("leads", "stages", "activities")


class Formats(BaseModel):
    """How files are written, for workspaces and imports alike. Nothing is guessed: dates are read with exactly
    these formats; ``true_values``/``false_values`` are the tokens of yes/no columns an import reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: str = Field(default=",", min_length=1, max_length=1)
    decimal: str = Field(default=".", min_length=1, max_length=1)
    thousands: str | None = Field(default=None, min_length=1, max_length=1)
    encoding: str = "utf-8"
    datetime_format: str = "%Y-%m-%dT%H:%M:%SZ"
    date_format: str = "%Y-%m-%d"
    timestamps_timezone: str = Field(default="UTC", description="zone of timestamps written without an offset")
    null_values: list[str] = Field(default_factory=lambda: [""])
    placeholders: list[str] = Field(default_factory=list, description="values meaning 'missing' (e.g. --None--)")
    true_values: list[str] = Field(default_factory=lambda: ["true", "yes", "1"], description="yes tokens (imports)")
    false_values: list[str] = Field(default_factory=lambda: ["false", "no", "0"], description="no tokens (imports)")

    @field_validator("timestamps_timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        check_zone(v)
        return v

    def merged(self, override: "Formats | None", fields: set[str] | None = None) -> "Formats":
        """These formats with the fields ``override`` sets explicitly (or ``fields`` of it) replaced."""
        if override is None:
            return self
        fields = override.model_fields_set if fields is None else fields
        return self.model_copy(update={f: getattr(override, f) for f in fields})


class TableSource(BaseModel):
    """Where one table comes from: a file (with ``formats`` that differ from the workspace's), a database
    table (``schema.table``) or a read-only query. Database rows are ordered by ``order_by`` (default: the key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str | None = None
    formats: Formats | None = Field(default=None, description="only the fields given replace the workspace's")
    table: str | None = None
    query: str | None = None
    order_by: list[str] | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> "TableSource":
        if sum(x is not None for x in (self.file, self.table, self.query)) != 1:
            raise ValueError("a table comes from exactly one of 'file', 'table' (database) or 'query' (database)")
        if self.formats is not None and self.file is None:
            raise ValueError("'formats' applies to files only")
        if self.order_by is not None and self.file is not None:
            raise ValueError("'order_by' applies to database tables and queries only")
        return self

    def formats_for(self, workspace: Formats) -> Formats:
        """The workspace's formats with this table's declared fields replaced."""
        return workspace.merged(self.formats)


class Database(BaseModel):
    """A SQL database holding the tables (PostgreSQL). The URL is read from the environment variable
    ``url_env`` unless ``url`` is given; a plain string is the ``url``. A password never belongs in
    workspace.yaml (salign.workspace.database refuses it without showing it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    url_env: str = "SALIGN_DATABASE_URL"

    @model_validator(mode="before")
    @classmethod
    def _url_as_string(cls, data):
        """``database: postgresql://...`` is ``database: {url: ...}``, so that its password is refused
        masked rather than echoed as the wrong type."""
        return {"url": data} if isinstance(data, str) else data


class WorkspaceConfig(BaseModel):
    """The strict model of ``workspace.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    timezone: str = "UTC"
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    currency: str = "EUR"
    as_of: dt.date | None = Field(default=None, description="data cut-off; default: midnight after the newest lead creation or stage event")
    formats: Formats = Formats()
    exchange_rates: dict[str, float] = Field(default_factory=dict,
                                             description="value of one unit of each other currency in `currency`")
    database: Database | None = None
    tables: dict[str, str | TableSource] = Field(default_factory=dict)
    outcome: str | None = Field(default=None, description=(
        "the funnel stage a qualified lead is expected to reach (sql, opportunity or won); "
        "default: the furthest of these the data records"))
    engine: str | None = Field(default=None, description=(
        "where the event-level facts are computed: duckdb, postgres (the workspace's database) or spark; default: "
        "postgres when the workspace's event tables are in its database, else duckdb"))
    recorded: dict[str, dict[str, Literal["before_contact", "after_contact"]]] = Field(
        default_factory=dict, description=("when a column's value is known, per table and column; "
                                           "after_contact columns never enter a qualification model"))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        check_zone(v)
        return v

    @field_validator("exchange_rates")
    @classmethod
    def _positive_rates(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, r in v.items() if not r > 0]
        if bad:
            raise ValueError(f"exchange rates must be positive numbers ({', '.join(bad)})")
        return {k.upper(): r for k, r in v.items()}

    @model_validator(mode="after")
    def _database_named(self) -> "WorkspaceConfig":
        if self.database is None and any(s.file is None for s in self.sources().values()):
            raise ValueError("tables read from a database need a 'database' section (url or url_env)")
        return self

    @field_validator("outcome")
    @classmethod
    def _outcome_stage(cls, v: str | None) -> str | None:
        if v is not None and v not in OUTCOME_STAGES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOME_STAGES)} (the funnel stage a qualified "
                             "lead is expected to reach); leave it out to take the furthest of these the data records")
        return v

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        if v not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)} (where the event-level facts are "
                             "computed); leave it out for the default")
        if v == "postgres":
            if info.data.get("database") is None:
                raise ValueError("engine postgres computes in the workspace's own database, and this workspace "
                                 "has no 'database' section; use duckdb or spark, or leave engine out")
            files = [n for n, s in info.data.get("tables", {}).items()
                     if n in EVENT_TABLES and (isinstance(s, str) or s.file is not None)]
            if files:
                raise ValueError(f"engine postgres computes in the workspace's database, but its table(s) "
                                 f"{', '.join(files)} are read from files; put them in the database, or use duckdb "
                                 "or spark")
        return v

    def event_tables_in_database(self) -> bool:
        """Whether the workspace has a database and reads no event table (:data:`EVENT_TABLES`) from a file (so the
        postgres engine can compute there)."""
        return self.database is not None and all(s.file is None for n, s in self.sources().items()
                                                 if n in EVENT_TABLES)

    def after_contact(self, table: str) -> list[str]:
        """The columns of ``table`` declared ``recorded: after_contact`` (never model features)."""
        return sorted(c for c, when in self.recorded.get(table, {}).items() if when == "after_contact")

    def sources(self) -> dict[str, TableSource]:
        """Every table's source; a plain string is a file path."""
        return {n: s if isinstance(s, TableSource) else TableSource(file=s) for n, s in self.tables.items()}

    @field_validator("tables", "recorded")
    @classmethod
    def _known_tables(cls, v: dict) -> dict:
        unknown = sorted(set(v) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown table(s) {', '.join(unknown)}; the canonical tables are {', '.join(TABLES)}")
        return v


def check_zone(v: str) -> None:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Berlin)") from None
