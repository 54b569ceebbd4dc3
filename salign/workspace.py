"""A workspace: ``workspace.yaml`` (formats, calendar, where the tables are) plus ``definitions/``."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from salign import paths
from salign.definitions import load_definitions
from salign.problems import Collector, Problem, WorkspaceError
from salign.schema import TABLES
from salign.strictyaml import load_model


class Formats(BaseModel):
    """How the files are written. Nothing here is guessed: dates are read with exactly these formats."""

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

    @field_validator("timestamps_timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        _check_zone(v)
        return v


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
        if self.formats is None:
            return workspace
        return workspace.model_copy(update={f: getattr(self.formats, f) for f in self.formats.model_fields_set})


class Database(BaseModel):
    """A SQL database holding the tables (PostgreSQL). The URL is read from the environment variable
    ``url_env`` unless ``url`` is given; a password never belongs in workspace.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    url_env: str = "SALIGN_DATABASE_URL"


class WorkspaceConfig(BaseModel):
    """The strict model of ``workspace.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    timezone: str = "UTC"
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    currency: str = "EUR"
    as_of: dt.date | None = Field(default=None, description="data cut-off; default: the newest timestamp in the data")
    formats: Formats = Formats()
    exchange_rates: dict[str, float] = Field(default_factory=dict,
                                             description="value of one unit of each other currency in `currency`")
    database: Database | None = None
    tables: dict[str, str | TableSource] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        _check_zone(v)
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

    def sources(self) -> dict[str, TableSource]:
        """Every table's source; a plain string is a file path."""
        return {n: s if isinstance(s, TableSource) else TableSource(file=s) for n, s in self.tables.items()}

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, v: dict) -> dict:
        unknown = sorted(set(v) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown table(s) {', '.join(unknown)}; the canonical tables are {', '.join(TABLES)}")
        return v


def _check_zone(v: str) -> None:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Berlin)") from None


def _to_workspace_currency(frames: dict, config: WorkspaceConfig) -> None:
    """Amounts written in another currency (a ``currency`` column) become workspace currency with the declared
    rates; the amount as written is kept in ``amount_original``."""
    for frame in frames.values():
        if "currency" not in frame.columns or "amount" not in frame.columns:
            continue
        code = frame["currency"].astype("string").str.strip().str.upper()
        rate = code.map(lambda c: 1.0 if c is None or c is pd.NA or c == config.currency.upper()
                        else config.exchange_rates[c]).astype(float)
        frame["amount_original"] = frame["amount"]
        frame["amount"] = frame["amount"] * rate
        frame["currency"] = code.where(code.isna(), config.currency.upper()).astype(object)


def fingerprint(folder: Path, files: list[Path], extra: bytes = b"") -> str:
    """SHA-256 over the relative names and bytes of ``files`` (and ``extra``, e.g. database rows); 16 hex digits."""
    h = hashlib.sha256(extra)
    for f in sorted(files):
        h.update(str(f.relative_to(folder)).encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def load_workspace(path: str | Path = paths.SAMPLE_WORKSPACE):
    """Load, type and validate a workspace folder (its tables in files or in a database).

    Every problem in ``workspace.yaml``, ``definitions/`` and the tables is
    collected before failing with a :class:`~salign.problems.WorkspaceError`.
    Tables the workspace does not have are recorded in ``Tables.missing``.
    """
    from salign.io import read_table
    from salign.schema import validate_tables
    from salign.tables import Tables

    folder = paths.resolve(path)
    if not folder.is_dir():
        raise WorkspaceError([Problem(str(folder), "missing-workspace", "workspace folder not found")], str(folder))
    config = load_model(WorkspaceConfig, folder / "workspace.yaml")
    problems = Collector()
    definitions, def_problems = load_definitions(folder / "definitions")
    problems.extend(def_problems)
    frames, used = {}, [folder / "workspace.yaml"]
    used += sorted((folder / "definitions").glob("*.y*ml")) if (folder / "definitions").is_dir() else []
    sources, where, digest = config.sources(), {}, b""
    for name, src in sources.items():
        if src.file is None:
            continue
        file = where[name] = folder / src.file
        if not file.exists():
            problems.add(file, "missing-file", f"table '{name}' is declared in workspace.yaml but the file is missing")
            continue
        frame, read_problems = read_table(file, TABLES[name], src.formats_for(config.formats))
        problems.extend(read_problems)
        if frame is not None:
            frames[name] = frame
            used.append(file)
    if any(src.file is None for src in sources.values()):
        from salign.database import read_tables

        got, labels, digest, db_problems = read_tables(config, {n: s for n, s in sources.items() if s.file is None},
                                                       folder / "workspace.yaml")
        frames.update(got)
        where.update(labels)
        problems.extend(db_problems)
    problems.extend(validate_tables(frames, where, currency=config.currency, rates=config.exchange_rates))
    problems.raise_if_any(str(folder))
    _to_workspace_currency(frames, config)
    missing = {n: "workspace.yaml lists no such table" for n in TABLES if n not in frames}
    return Tables(
        config=config,
        folder=folder,
        definitions=definitions,
        fingerprint=fingerprint(folder, used, digest),
        missing=missing,
        **{n: f.reset_index(drop=True) for n, f in frames.items()},
    )
