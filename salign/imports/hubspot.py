"""HubSpot CRM exports -> a canonical workspace.

The folder holds ``contacts.csv``, ``companies.csv`` and ``deals.csv`` (HubSpot's
"export all properties" files, renamed; case does not matter; any may be absent), and optionally
``calls.csv``, ``emails.csv`` and ``meetings.csv`` (HubSpot's activity exports: the sales team's
activities, dated by ``Activity date``, attached to the first associated contact and company).
Contacts become leads; their "Became a ... Date" columns become stage events (lead,
marketing qualified, sales qualified, opportunity, customer = won); "Lifecycle Stage",
"Lead Status" and "Original Source" are kept. Companies become accounts, deals become
opportunities (deal stage -> outcome with the declared won/lost stage names; the close
date of an open deal is a forecast and is left out). Names, e-mail addresses and phone
numbers are not imported.

Formats (HubSpot writes times in the portal's time zone) and stage names are declared in
an optional settings file (``--settings``), as are the portal's own properties: which property
holds the lead source and what its labels mean (``source_property``, ``source_values``), deal
stage labels (``deal_stage_values``), and custom properties that fill canonical columns
(``contact_properties``, ``company_properties``, ``deal_properties``: canonical column -> label).
A canonical column ending in ``_at`` read from a custom property is a time (read with the formats).

A closed-lost deal with an associated contact also gives that lead a ``lost`` event at the deal's
close date (HubSpot has no lifecycle stage for it). What HubSpot's exports cannot carry is listed
in the import report's notes: only the first date of each lifecycle stage, no accepted, rejected,
recycled or disqualified dates, no activities, times to the minute.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import Field

from salign.core.problems import Problem, WorkspaceError
from salign.core.strictyaml import load_model
from salign.definitions.rules import Condition
from salign.imports.mapping import Built, build
from salign.imports.sources import csv_files
from salign.imports.spec import (
    ColumnMap,
    Drop,
    Mapping,
    SourceFile,
    StageEvent,
    TableMap,
    WorkspaceSettings,
    _Strict,
)
from salign.workspace.config import Formats
from salign.workspace.files import convert
from salign.workspace.schema import TABLES

FILES = ("contacts", "companies", "deals", "calls", "emails", "meetings")
#: HubSpot's activity exports (one file per kind) -> the canonical activity type; all are the sales team's
ACTIVITIES = {"calls": "call", "emails": "email", "meetings": "meeting"}
#: Header variants HubSpot has used, per file -> the name the mapping reads.
ALIASES = {
    "contacts": {"Contact ID": "Record ID", "Associated Company IDs (Primary)": "Associated Company ID",
                 "Associated Company IDs": "Associated Company ID", "Company ID": "Associated Company ID",
                 "Create date": "Create Date", "Country": "Country/Region"},
    "companies": {"Company ID": "Record ID", "Company name": "Name", "Company Name": "Name",
                  "Create date": "Create Date", "Country": "Country/Region"},
    **{k: {"Activity Date": "Activity date", "Associated Contact IDs (Primary)": "Associated Contact IDs",
           "Associated Contact": "Associated Contact IDs", "Associated Company IDs (Primary)": "Associated Company IDs",
           "Associated Company": "Associated Company IDs", "Assigned to": "Activity assigned to",
           "Activity Assigned To": "Activity assigned to"} for k in ("calls", "emails", "meetings")},
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
#: What HubSpot's contact, company and deal exports cannot carry (the import report's notes).
CANNOT_CARRY = (
    "HubSpot keeps only the first date of each lifecycle stage: a stage a lead reached twice (a recycled lead's "
    "second MQL) has its first date only",
    "HubSpot has no lifecycle stage for accepted (sal), rejected, recycled or disqualified leads: those events are "
    "not in the export (the last one survives only as the current Lead Status, which has no date)",
    "HubSpot exports the sales team's calls, e-mails and meetings (calls.csv, emails.csv, meetings.csv) but no "
    "marketing activities (web visits, downloads, e-mail opens and clicks, webinars, events) and no history of "
    "owner assignments: what is computed from those is skipped or counts none",
    "HubSpot's activity exports do not say which content asset an e-mail or meeting used",
    "HubSpot's CRM exports hold no content inventory: the content audit needs a content table of your own",
    "HubSpot writes times to the minute: seconds are not in the export",
    "Lifecycle Stage and Lead Status are the contact's state when exported (not when it was created): kept as "
    "lifecycle_stage and lead_status, declared recorded after contact in workspace.yaml",
)


class Settings(_Strict):
    """How this portal's exports are written and what its deal stages mean (``--settings`` YAML)."""

    formats: Formats = Formats(datetime_format="%Y-%m-%d %H:%M", date_format="%Y-%m-%d")
    workspace: WorkspaceSettings = WorkspaceSettings(name="HubSpot (imported)")
    won_stages: list[str] = Field(default_factory=lambda: ["Closed Won"])
    lost_stages: list[str] = Field(default_factory=lambda: ["Closed Lost"])
    deal_stage_values: dict[str, str] = Field(default_factory=dict, description=(
        "Deal Stage label -> the opportunity stage written (default: the label as it is)"))
    source_property: str = Field(default="Original Source", description=(
        "the contact property that holds the lead source (a custom 'Lead Source', or HubSpot's 'Original Source')"))
    source_values: dict[str, str] = Field(default_factory=dict, description="source label -> source written")
    contact_properties: dict[str, str] = Field(default_factory=dict, description="leads column -> contact property")
    company_properties: dict[str, str] = Field(default_factory=dict, description="accounts column -> company property")
    deal_properties: dict[str, str] = Field(default_factory=dict, description="opportunities column -> deal property")


def load_settings(path: str | Path | None) -> Settings:
    """The settings file, or the defaults."""
    return Settings() if path is None else load_model(Settings, Path(path))


#: a property holding the record's state at export time (set after contact: never a buyer attribute or a feature)
NOW = {"optional": True, "recorded": "after_contact",
       "why": "HubSpot's current value at export time, set after the first contact"}


def _col(name: str, **kw) -> ColumnMap:
    return ColumnMap.model_validate({"from": name, **kw})


def _extra(columns: dict, properties: dict[str, str]) -> dict:
    """The mapped columns plus the portal's custom properties (optional: a property may be absent)."""
    return {**columns, **{col: _col(label, optional=True) for col, label in properties.items()}}


def time_columns(settings: Settings) -> dict[str, set[str]]:
    """Per file, the custom properties read as times: those filling a column ending in ``_at`` that the data model
    does not type already (the importer converts them; a plain text column would keep HubSpot's local text)."""
    out: dict[str, set[str]] = {}
    for key, table, props in (("contacts", "leads", settings.contact_properties),
                              ("companies", "accounts", settings.company_properties),
                              ("deals", "opportunities", settings.deal_properties)):
        out[key] = {label for col, label in props.items() if col.endswith("_at") and TABLES[table].column(col) is None}
    return out


def mapping_for(settings: Settings, files: dict[str, str]) -> Mapping:
    """The mapping for the files present."""
    closed = settings.won_stages + settings.lost_stages
    tables: dict[str, TableMap] = {}
    if "companies" in files:
        tables["accounts"] = TableMap.model_validate({"from": "companies", "columns": _extra({
            "account_id": "Record ID", "name": _col("Name", optional=True), "industry": _col("Industry", optional=True),
            "employees": _col("Number of Employees", optional=True), "annual_revenue": _col("Annual Revenue", optional=True),
            "country": _col("Country/Region", optional=True), "created_at": _col("Create Date", optional=True),
            "lifecycle_stage": _col("Lifecycle Stage", **NOW)}, settings.company_properties)})
    if "contacts" in files:
        source = ColumnMap.model_validate({"from": settings.source_property, "values": settings.source_values,
                                           "default": "unknown", "why": f"no {settings.source_property}"})
        tables["leads"] = TableMap.model_validate({"from": "contacts", "columns": _extra({
            "lead_id": "Record ID", "created_at": "Create Date",
            "source": source,
            "source_detail": _col("Original Source Drill-Down 1", optional=True),
            "account_id": _col("Associated Company ID", transform="first", optional=True),
            "job_title": _col("Job Title", optional=True), "industry": _col("Industry", optional=True),
            "employees": _col("Number of Employees", optional=True), "country": _col("Country/Region", optional=True),
            "owner": _col("Contact owner", optional=True), "lifecycle_stage": _col("Lifecycle Stage", **NOW),
            "lead_status": _col("Lead Status", **NOW)}, settings.contact_properties)})
        tables["stages"] = TableMap.model_validate({"from": "contacts", "columns": {"lead_id": "Record ID"}, "events": [
            StageEvent(stage=stage, at=column, team=team, optional=True) for column, stage, team in BECAME]})
        if "deals" in files and settings.lost_stages:  # HubSpot has no lifecycle stage for a lost deal's lead
            lost = TableMap.model_validate({
                "from": "deals", "columns": {
                    "lead_id": _col("Associated Contact ID", transform="first"), "opportunity_id": "Record ID",
                    "actor": _col("Deal owner", optional=True)},
                "drop": [Drop(when=Condition.model_validate({"field": "Deal Stage", "not_in": settings.lost_stages}),
                              reason="not a lost deal (only lost deals give a stage event)"),
                         Drop(when=Condition.model_validate({"field": "Associated Contact ID", "is_null": True}),
                              reason="a lost deal without an associated contact has no lead to date")],
                "events": [StageEvent(stage="lost", at="Close Date", team="sales")]})
            tables["stages"] = tables["stages"].model_copy(update={"also": [lost]})
    kinds = [k for k in ACTIVITIES if k in files]
    if kinds:
        parts = [TableMap.model_validate({"from": k, "columns": {
            "activity_id": "Record ID", "at": "Activity date", "team": ColumnMap.model_validate({"constant": "sales"}),
            "type": ColumnMap.model_validate({"constant": ACTIVITIES[k]}),
            "lead_id": _col("Associated Contact IDs", transform="first", optional=True),
            "account_id": _col("Associated Company IDs", transform="first", optional=True),
            "actor": _col("Activity assigned to", optional=True)}}) for k in kinds]
        tables["activities"] = parts[0].model_copy(update={"also": parts[1:]})
    if "deals" in files:
        stage = ColumnMap.model_validate({"from": "Deal Stage", "values": settings.deal_stage_values})
        tables["opportunities"] = TableMap.model_validate({"from": "deals", "columns": _extra({
            "opportunity_id": "Record ID", "created_at": "Create Date", "stage": stage,
            "outcome": ColumnMap.model_validate({"from": "Deal Stage", "other": "open", "values": {
                **{s: "won" for s in settings.won_stages}, **{s: "lost" for s in settings.lost_stages}}}),
            "closed_at": ColumnMap.model_validate({"from": "Close Date", "missing_when": {
                "field": "Deal Stage", "not_in": closed}, "why": "an open deal's close date is a forecast"}),
            "amount": _col("Amount", optional=True), "currency": _col("Currency", optional=True),
            "account_id": _col("Associated Company ID", transform="first", optional=True),
            "lead_id": _col("Associated Contact ID", transform="first", optional=True),
            "owner": _col("Deal owner", optional=True), "pipeline": _col("Pipeline", optional=True),
            "loss_reason": _col("Closed Lost Reason", optional=True)}, settings.deal_properties)})
    formats = settings.formats  # with or without a byte-order mark, unless the settings name an encoding
    if "encoding" not in formats.model_fields_set:
        formats = formats.model_copy(update={"encoding": "utf-8-sig"})
    return Mapping(version=1, name=settings.workspace.name or "HubSpot", formats=formats,
                   workspace=settings.workspace, files={k: SourceFile(path=f) for k, f in files.items()}, tables=tables)


def tidy(key: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Header variants -> the names the mapping reads; personal data dropped before anything else sees it."""
    aliases = ALIASES.get(key, {})
    renamed: dict[str, str] = {}
    for old, new in aliases.items():  # the first variant listed wins (the primary association before all of them)
        if old in frame.columns and new not in frame.columns and new not in renamed.values():
            renamed[old] = new
    personal = [c for c in frame.columns if c in PERSONAL]
    counts = {"personal_columns_not_imported": len(personal)} if personal else {}
    counts["renamed"] = {new: old for old, new in renamed.items()}
    return frame.rename(columns=renamed).drop(columns=personal), counts


def merged_contacts(src, report) -> None:
    """A contact whose ``Create Date`` is after its ``Became a Lead Date`` was merged into a record created later:
    HubSpot keeps the earliest lifecycle dates but the surviving record's Create Date. The lead was created when it
    became a lead; the Create Date is replaced by that date (counted), so its history does not start before it."""
    frame = src.frame
    if not {"Create Date", BECAME[0][0]} <= set(frame.columns):
        return
    created = convert(frame["Create Date"], "datetime", src.formats).values
    became = convert(frame[BECAME[0][0]], "datetime", src.formats).values
    later = (created > became).fillna(False).astype(bool)
    if later.any():
        src.frame = frame.assign(**{"Create Date": frame["Create Date"].where(~later, frame[BECAME[0][0]])})
        report.repair("leads", "created_at", "merged-contact", int(later.sum()),
                      "Create Date after Became a Lead Date (a contact merged into a record created later): "
                      "created when it became a lead")


def apply(folder: str | Path, settings: Settings) -> Built:
    """Map the HubSpot exports in ``folder``."""
    folder = Path(folder)
    files = csv_files(folder, FILES)
    if not files:

        raise WorkspaceError([Problem(str(folder), "no-exports", "no HubSpot export found; expected "
                                      + ", ".join(f + ".csv" for f in FILES))], str(folder))
    times = time_columns(settings)

    def prepare(sources, report, problems) -> None:
        """Merged contacts get their first stage date as creation; custom time properties -> UTC text as the
        workspace writes times (a bad value quarantines its row)."""
        if "contacts" in sources:
            merged_contacts(sources["contacts"], report)
        for key, src in sources.items():
            for label in times.get(key, ()):
                if label not in src.frame.columns:
                    continue
                conv = convert(src.frame[label], "datetime", src.formats)
                for line in conv.bad[conv.bad].index:
                    src.bad_rows.setdefault(line, ("bad-datetime", label, src.frame.at[line, label],
                                                   conv.message + conv.hints.get(line, "")))
                text = conv.values.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                src.frame = src.frame.assign(**{label: text.where(conv.values.notna(), None).astype(object)})

    built = build(mapping_for(settings, files), folder, kind="hubspot", tidy=tidy, prepare=prepare,
                  hint="; HubSpot's export labels are listed in docs/bring-your-own-data.md")
    built.report.notes.extend(CANNOT_CARRY)
    return built
