"""The strict model of a mapping file: how a set of foreign CSV/Parquet files becomes a canonical workspace.

A mapping declares, and salign never guesses: the source files and how they are
written (``formats``), which canonical table each file feeds, each canonical
column's source column or constant, value maps, defaults, lookups (joins)
between files, timestamps that become stage events, and rows that are dropped
on purpose (with the reason). See ``docs/bring-your-own-data.md``.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from salign.definitions.rules import Condition
from salign.workspace.config import Formats
from salign.workspace.schema import STAGES, TABLES

Scalar = Union[str, int, float, bool]
Recorded = Literal["before_contact", "after_contact"]
#: ``delimiter: whitespace``: fields separated by one or more spaces or tabs (fixed-width-looking text files)
WHITESPACE = "whitespace"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SourceFile(_Strict):
    """One source file: its path (relative to the source folder) and, optionally, its own formats."""

    path: str
    formats: Formats | None = None
    booleans: list[str] = Field(default_factory=list, description="columns holding yes/no tokens")
    optional: bool = Field(default=False, description="a missing file skips the tables built from it (noted)")
    whitespace: bool = Field(default=False, description="set by 'delimiter: whitespace' (in this file's or the "
                                                        "mapping's formats): runs of spaces and tabs separate fields")

    @property
    def format_fields(self) -> set[str]:
        return set(self.formats.model_fields_set) if self.formats is not None else set()


class Lookup(_Strict):
    """Take a value from another file (or an already mapped canonical table) where ``match`` equals this value."""

    file: str | None = None
    table: str | None = None
    match: str
    take: str
    required: bool = Field(default=False, description="a value with no match quarantines the row")

    @model_validator(mode="after")
    def _one_source(self) -> "Lookup":
        if (self.file is None) == (self.table is None):
            raise ValueError("a lookup takes exactly one of 'file' (a source file) or 'table' (a canonical table)")
        return self


class Reconcile(_Strict):
    """Repair values against a reference list: equal after ignoring case, spaces and punctuation."""

    file: str
    column: str
    required: bool = Field(default=True, description="a value with no match quarantines the row")


class ColumnMap(_Strict):
    """How one canonical column is filled.

    Exactly one of ``from`` (a source column), ``constant``, ``template`` or ``row_number`` (the row's
    position in its file, 1 for the first row under the header: an id for files without one). Then, in order:
    ``values`` (map source values; counted as repairs; ``other`` for present values not listed), ``transform``, ``reconcile``, ``lookup``,
    ``scale`` (multiply a number), ``missing_when`` (a condition on the source row that makes the
    value missing; counted), ``default`` (fills a missing value; counted).
    """

    from_: str | None = Field(default=None, alias="from")
    constant: Scalar | dt.datetime | dt.date | None = None
    template: str | None = Field(default=None, description="e.g. 'acct-{Id}'; names source columns in braces")
    row_number: Literal[True] | None = Field(default=None, description=(
        "the row's position in its file (1 = first row under the header) as the value: an id for a file without "
        "one; stable only as long as the file's rows keep their order"))
    values: dict[str, Scalar | None] = Field(default_factory=dict)
    other: Scalar | None = Field(default=None, description="what a present value not listed in 'values' becomes")
    transform: Literal["slug", "lower", "upper", "title", "strip", "first"] | None = Field(
        default=None, description="'first': the first of ';'-separated values (e.g. associated ids)")
    reconcile: Reconcile | None = None
    lookup: Lookup | None = None
    scale: float | None = None
    missing_when: Condition | None = None
    default: Scalar | None = None
    optional: bool = Field(default=False, description="the source column may be absent; then so is this column")
    width: int | None = Field(default=None, ge=2, le=64, description=(
        "ids only: every id has exactly this many characters; an all-digit id that is shorter lost its leading "
        "zeros in a spreadsheet and is quarantined (mangled-id)"))
    recorded: Recorded | None = Field(default=None, description=(
        "when the value is known: after_contact (filled in after the first contact, e.g. by sales: never a "
        "qualification feature) or before_contact; written to workspace.yaml 'recorded'"))
    why: str | None = Field(default=None, description="the reason, shown in the import report")

    @model_validator(mode="after")
    def _one_origin(self) -> "ColumnMap":
        given = [k for k in ("from_", "constant", "template", "row_number") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a column takes exactly one of 'from', 'constant', 'template' or 'row_number: true'")
        return self


class StageEvent(_Strict):
    """A stage event written for each source row where ``when`` holds and ``at`` is present."""

    stage: str
    at: str | ColumnMap = Field(description="a source column or {constant: ...}")
    when: Condition | None = None
    team: Literal["marketing", "sales"] | None = None
    optional: bool = Field(default=False, description="the 'at' column may be absent; then no such events")

    @field_validator("stage")
    @classmethod
    def _stage(cls, v: str) -> str:
        if v not in STAGES:
            raise ValueError(f"unknown stage {v!r}; the stages are {', '.join(STAGES)}")
        return v


class Drop(_Strict):
    """Rows deliberately left out, with the reason (reported as documented drops, never silent)."""

    when: Condition
    reason: str = Field(min_length=3)


class TableMap(_Strict):
    """One canonical table built from one source file."""

    from_: str = Field(alias="from")
    columns: dict[str, str | ColumnMap] = Field(default_factory=dict)
    keep_other_columns: Literal["no", "as_is", "snake_case"] = "no"
    leave_out: list[str] = Field(default_factory=list, description="source columns never kept (e.g. the outcome)")
    recorded: dict[str, Recorded] = Field(default_factory=dict, description=(
        "per source column kept by keep_other_columns: when its value is known (after_contact or before_contact)"))
    drop: list[Drop] = Field(default_factory=list)
    events: list[StageEvent] = Field(default_factory=list, description="stages table only")
    also: list["TableMap"] = Field(default_factory=list, description="more rows of this table from other files")

    @field_validator("keep_other_columns", mode="before")
    @classmethod
    def _yaml_booleans(cls, v):
        """``keep_other_columns: no`` (or ``false``) reaches us as YAML 1.1's boolean False: it means "no"."""
        if v is False:
            return "no"
        if v is True:
            raise ValueError("'yes' is not a choice here: say keep_other_columns: snake_case (names made "
                             "lower_snake_case) or as_is (names kept as written)")
        return v

    def column(self, name: str) -> ColumnMap | None:
        spec = self.columns.get(name)
        return ColumnMap(**{"from": spec}) if isinstance(spec, str) else spec


class WorkspaceSettings(_Strict):
    """What goes into the written ``workspace.yaml`` besides the tables."""

    name: str | None = None
    timezone: str = "UTC"
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    currency: str = "EUR"
    exchange_rates: dict[str, float] = Field(default_factory=dict)
    as_of: dt.date | None = None
    outcome: Literal["sql", "opportunity", "won"] | None = Field(
        default=None, description="the stage a qualified lead is expected to reach (see workspace.yaml)")


class Mapping(_Strict):
    """A mapping file (``version: 1``)."""

    version: Literal[1]
    name: str
    description: str = ""
    source: str | None = Field(default=None, description="source folder, relative to the mapping file")
    formats: Formats = Formats()
    workspace: WorkspaceSettings = WorkspaceSettings()
    files: dict[str, SourceFile]
    tables: dict[str, TableMap]

    @model_validator(mode="before")
    @classmethod
    def _whitespace_delimiter(cls, data):
        """``delimiter: whitespace`` (in the mapping's or a file's formats) marks the files it applies to as
        whitespace-separated; the Formats model itself only knows one-character delimiters."""
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            return data
        top = data.get("formats")
        everywhere = isinstance(top, dict) and top.get("delimiter") == WHITESPACE
        if everywhere:
            _without(top, "delimiter")
        for f in data["files"].values():
            if not isinstance(f, dict):
                continue
            own = f.get("formats")
            if isinstance(own, dict) and own.get("delimiter") == WHITESPACE:
                _without(own, "delimiter")
                _with(f, "whitespace", True, getattr(own, "line", 0))
            elif everywhere and not (isinstance(own, dict) and "delimiter" in own):
                _with(f, "whitespace", True, getattr(top, "line", 0))
        return data

    @model_validator(mode="after")
    def _references(self) -> "Mapping":
        errors = []
        for name, whole in self.tables.items():
            if name not in TABLES:
                errors.append(f"unknown table {name!r}; the canonical tables are {', '.join(TABLES)}")
                continue
            for table in [whole, *whole.also]:
                errors += self._part_errors(name, table)
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def _part_errors(self, name: str, table: "TableMap") -> list[str]:
        errors = []
        if table.from_ not in self.files:
            errors.append(f"table {name!r} reads file {table.from_!r}, which 'files' does not declare")
        known = {c.name for c in TABLES[name].columns}
        for col, spec in table.columns.items():
            spec = table.column(col)
            for ref in (spec.lookup.file if spec.lookup else None, spec.reconcile.file if spec.reconcile else None):
                if ref is not None and ref not in self.files:
                    errors.append(f"{name}.{col} looks up file {ref!r}, which 'files' does not declare")
            if spec.lookup and spec.lookup.table and spec.lookup.table not in self.tables:
                errors.append(f"{name}.{col} looks up table {spec.lookup.table!r}, which this mapping does not build")
            if col not in known and not col.islower():
                errors.append(f"{name}.{col}: extra columns must be lower_snake_case")
            if spec.width is not None and (TABLES[name].column(col) is None or TABLES[name].column(col).kind != "id"):
                errors.append(f"{name}.{col}: 'width' applies to id columns only")
        mapped = {table.column(c).from_ for c in table.columns}
        unkept = [c for c in table.recorded if c not in mapped and table.keep_other_columns == "no"]
        if unkept:
            errors.append(f"table {name!r}: 'recorded' names {', '.join(unkept)}, which the table neither maps nor "
                          "keeps (keep_other_columns is 'no')")
        if set(table.recorded) & set(table.leave_out):
            errors.append(f"table {name!r}: 'recorded' names {', '.join(sorted(set(table.recorded) & set(table.leave_out)))}"
                          ", which 'leave_out' leaves out of the table")
        if table.events and name != "stages":
            errors.append(f"table {name!r} has 'events'; only the stages table is built from events")
        if name == "stages" and not table.events:
            errors.append(f"the stages table (from {table.from_!r}) needs 'events' (which stage, at what time, when)")
        missing = [c for c in TABLES[name].required if c not in table.columns and
                   not (name == "stages" and c in ("stage", "at"))]
        if missing:
            errors.append(f"table {name!r} (from {table.from_!r}) needs a mapping for {', '.join(missing)}")
        if any(part.also for part in table.also):
            errors.append(f"table {name!r}: 'also' parts cannot have 'also' themselves")
        return errors


def _without(d: dict, key: str) -> None:
    del d[key]
    if hasattr(d, "key_lines"):
        d.key_lines.pop(key, None)


def _with(d: dict, key: str, value, line: int) -> None:
    d[key] = value
    if hasattr(d, "key_lines"):
        d.key_lines[key] = line


__all__ = ["Mapping", "TableMap", "ColumnMap", "StageEvent", "Drop", "Lookup", "Reconcile", "SourceFile",
           "WorkspaceSettings"]

TableMap.model_rebuild()
