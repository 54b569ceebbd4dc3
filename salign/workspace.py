"""A workspace: ``workspace.yaml`` (formats, calendar, where the tables are) plus ``definitions/``."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    tables: dict[str, str] = Field(default_factory=dict)

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

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, v: dict[str, str]) -> dict[str, str]:
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


def fingerprint(folder: Path, files: list[Path]) -> str:
    """SHA-256 over the relative names and bytes of ``files``; the first 16 hex digits."""
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(str(f.relative_to(folder)).encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def load_workspace(path: str | Path = paths.SAMPLE_WORKSPACE):
    """Load, type and validate a workspace folder.

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
    for name, rel in config.tables.items():
        file = folder / rel
        if not file.exists():
            problems.add(file, "missing-file", f"table '{name}' is declared in workspace.yaml but the file is missing")
            continue
        frame, read_problems = read_table(file, TABLES[name], config.formats)
        problems.extend(read_problems)
        if frame is not None:
            frames[name] = frame
            used.append(file)
    problems.extend(validate_tables(frames, {n: folder / r for n, r in config.tables.items()},
                                    currency=config.currency, rates=config.exchange_rates))
    problems.raise_if_any(str(folder))
    _to_workspace_currency(frames, config)
    missing = {n: "workspace.yaml lists no such table" for n in TABLES if n not in frames}
    return Tables(
        config=config,
        folder=folder,
        definitions=definitions,
        fingerprint=fingerprint(folder, used),
        missing=missing,
        **{n: f.reset_index(drop=True) for n, f in frames.items()},
    )
