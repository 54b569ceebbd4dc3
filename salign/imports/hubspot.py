"""HubSpot CRM exports -> a canonical workspace.

The folder holds ``contacts.csv``, ``companies.csv`` and ``deals.csv`` (HubSpot's
"export all properties" files, renamed; case does not matter; any may be absent).
Contacts become leads; their "Became a ... Date" columns become stage events (lead,
marketing qualified, sales qualified, opportunity, customer = won); "Lifecycle Stage",
"Lead Status" and "Original Source" are kept. Companies become accounts, deals become
opportunities (deal stage -> outcome with the declared won/lost stage names; the close
date of an open deal is a forecast and is left out). Names, e-mail addresses and phone
numbers are not imported.

Formats (HubSpot writes times in the portal's time zone) and stage names are declared in
an optional settings file (``--settings``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import Field

from salign.core.problems import Problem, WorkspaceError
from salign.core.strictyaml import load_model
from salign.imports.mapping import Built, build
from salign.imports.sources import csv_files
from salign.imports.spec import (
    ColumnMap,
    Mapping,
    SourceFile,
    StageEvent,
    TableMap,
    WorkspaceSettings,
    _Strict,
)
from salign.workspace.config import Formats

FILES = ("contacts", "companies", "deals")
#: Header variants HubSpot has used, per file -> the name the mapping reads.
ALIASES = {
    "contacts": {"Contact ID": "Record ID", "Associated Company IDs (Primary)": "Associated Company ID",
                 "Associated Company IDs": "Associated Company ID", "Company ID": "Associated Company ID",
                 "Create date": "Create Date", "Country": "Country/Region"},
    "companies": {"Company ID": "Record ID", "Company name": "Name", "Company Name": "Name",
                  "Create date": "Create Date", "Country": "Country/Region"},
    "deals": {"Deal ID": "Record ID", "Associated Company IDs (Primary)": "Associated Company ID",
              "Associated Company IDs": "Associated Company ID", "Associated Contact IDs (Primary)": "Associated Contact ID",
              "Associated Contact IDs": "Associated Contact ID", "Deal currency code": "Currency",
              "Create date": "Create Date", "Close date": "Close Date"},
}
#: "Became a ... Date" columns and the stage each one dates.
BECAME = (("Became a Lead Date", "lead", "marketing"),
          ("Became a Marketing Qualified Lead Date", "mql", "marketing"),
          ("Became a Sales Qualified Lead Date", "sql", "sales"),
          ("Became an Opportunity Date", "opportunity", "sales"),
          ("Became a Customer Date", "won", "sales"))
#: Personal data in a contacts export; never imported.
PERSONAL = ("First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number", "Street Address")


class Settings(_Strict):
    """How this portal's exports are written and what its deal stages mean (``--settings`` YAML)."""

    formats: Formats = Formats(datetime_format="%Y-%m-%d %H:%M", date_format="%Y-%m-%d")
    workspace: WorkspaceSettings = WorkspaceSettings(name="HubSpot (imported)")
    won_stages: list[str] = Field(default_factory=lambda: ["Closed Won"])
    lost_stages: list[str] = Field(default_factory=lambda: ["Closed Lost"])


def load_settings(path: str | Path | None) -> Settings:
    """The settings file, or the defaults."""
    return Settings() if path is None else load_model(Settings, Path(path))


def _col(name: str, **kw) -> ColumnMap:
    return ColumnMap.model_validate({"from": name, **kw})


def mapping_for(settings: Settings, files: dict[str, str]) -> Mapping:
    """The mapping for the files present."""
    closed = settings.won_stages + settings.lost_stages
    tables: dict[str, TableMap] = {}
    if "companies" in files:
        tables["accounts"] = TableMap.model_validate({"from": "companies", "columns": {
            "account_id": "Record ID", "name": _col("Name", optional=True), "industry": _col("Industry", optional=True),
            "employees": _col("Number of Employees", optional=True), "annual_revenue": _col("Annual Revenue", optional=True),
            "country": _col("Country/Region", optional=True), "created_at": _col("Create Date", optional=True),
            "lifecycle_stage": _col("Lifecycle Stage", optional=True)}})
    if "contacts" in files:
        tables["leads"] = TableMap.model_validate({"from": "contacts", "columns": {
            "lead_id": "Record ID", "created_at": "Create Date",
            "source": _col("Original Source", default="unknown", why="no Original Source"),
            "source_detail": _col("Original Source Drill-Down 1", optional=True),
            "account_id": _col("Associated Company ID", transform="first", optional=True),
            "job_title": _col("Job Title", optional=True), "industry": _col("Industry", optional=True),
            "employees": _col("Number of Employees", optional=True), "country": _col("Country/Region", optional=True),
            "owner": _col("Contact owner", optional=True), "lifecycle_stage": _col("Lifecycle Stage", optional=True),
            "lead_status": _col("Lead Status", optional=True)}})
        tables["stages"] = TableMap.model_validate({"from": "contacts", "columns": {"lead_id": "Record ID"}, "events": [
            StageEvent(stage=stage, at=column, team=team, optional=True) for column, stage, team in BECAME]})
    if "deals" in files:
        tables["opportunities"] = TableMap.model_validate({"from": "deals", "columns": {
            "opportunity_id": "Record ID", "created_at": "Create Date", "stage": "Deal Stage",
            "outcome": ColumnMap.model_validate({"from": "Deal Stage", "other": "open", "values": {
                **{s: "won" for s in settings.won_stages}, **{s: "lost" for s in settings.lost_stages}}}),
            "closed_at": ColumnMap.model_validate({"from": "Close Date", "missing_when": {
                "field": "Deal Stage", "not_in": closed}, "why": "an open deal's close date is a forecast"}),
            "amount": _col("Amount", optional=True), "currency": _col("Currency", optional=True),
            "account_id": _col("Associated Company ID", transform="first", optional=True),
            "lead_id": _col("Associated Contact ID", transform="first", optional=True),
            "owner": _col("Deal owner", optional=True), "pipeline": _col("Pipeline", optional=True),
            "loss_reason": _col("Closed Lost Reason", optional=True)}})
    return Mapping(version=1, name=settings.workspace.name or "HubSpot", formats=settings.formats,
                   workspace=settings.workspace, files={k: SourceFile(path=f) for k, f in files.items()}, tables=tables)


def tidy(key: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Header variants -> the names the mapping reads; personal data dropped before anything else sees it."""
    aliases = ALIASES.get(key, {})
    renamed = {c: aliases[c] for c in frame.columns if c in aliases and aliases[c] not in frame.columns}
    personal = [c for c in frame.columns if c in PERSONAL]
    counts = {"personal_columns_not_imported": len(personal)} if personal else {}
    counts["renamed"] = {new: old for old, new in renamed.items()}
    return frame.rename(columns=renamed).drop(columns=personal), counts


def apply(folder: str | Path, settings: Settings) -> Built:
    """Map the HubSpot exports in ``folder``."""
    folder = Path(folder)
    files = csv_files(folder, FILES)
    if not files:

        raise WorkspaceError([Problem(str(folder), "no-exports", "no HubSpot export found; expected "
                                      + ", ".join(f + ".csv" for f in FILES))], str(folder))
    return build(mapping_for(settings, files), folder, kind="hubspot", tidy=tidy,
                 hint="; HubSpot's export labels are listed in docs/bring-your-own-data.md")
