"""The sample workspace written as HubSpot exports: ``contacts.csv``, ``companies.csv``, ``deals.csv``.

The files look like HubSpot's "export all properties" CSVs: property labels as headers
(``Record ID``, ``Create Date``, ``Lifecycle Stage``, ``Became a Marketing Qualified Lead Date`` ...),
numeric record ids, times in the portal's time zone written to the minute, several associated ids
as ``id;id``, HubSpot's own picklist labels (``Marketing Qualified Lead``, ``Closed Won``), the
portal's custom properties (``Lead Source``, ``Campaign``, ``Product`` ...) and the columns HubSpot
always adds (``Original Source``, ``Last Activity Date`` ...). What HubSpot cannot hold is not
written, exactly as in a real export:

- a lifecycle stage's date is the **first** time the contact reached it (a recycled lead's second
  MQL is gone); HubSpot has no lifecycle stage for accepted, rejected, recycled or disqualified
  leads (their dates are gone; the last one survives only as the current ``Lead Status``);
- of the activities only the sales team's calls, logged e-mails and meetings are exported (``calls.csv``,
  ``emails.csv``, ``meetings.csv``: HubSpot's activity exports, without the content asset an e-mail or meeting
  used); marketing's visits, downloads, e-mail opens and clicks, webinars and events, and the owner
  assignments, are no rows of any export;
- times have no seconds;
- the content inventory is not a CRM export.

A few records carry what real portals carry: contacts merged into a record created later (their
``Create Date`` is the later record's, after their ``Became a Lead Date``: every
:data:`MERGED_EVERY`-th contact), deals associated with several contacts (the lead's own first),
and both ``Associated Company IDs (Primary)`` and ``Associated Company IDs`` on contacts.

``hubspot.yaml`` (the import settings of this portal) is written next to the exports, so
``salign import hubspot DIR --settings DIR/hubspot.yaml`` reads them back.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

#: HubSpot's lifecycle stages and the "Became a ... Date" property of each (first date only)
LIFECYCLE = (("lead", "Lead", "Became a Lead Date"),
             ("mql", "Marketing Qualified Lead", "Became a Marketing Qualified Lead Date"),
             ("sql", "Sales Qualified Lead", "Became a Sales Qualified Lead Date"),
             ("opportunity", "Opportunity", "Became an Opportunity Date"),
             ("won", "Customer", "Became a Customer Date"))
#: the portal's "Lead Source" dropdown (a custom contact property): canonical source -> label
SOURCE_LABELS = {"web": "Web", "paid_social": "Paid Social", "paid_search": "Paid Search", "webinar": "Webinar",
                 "outbound": "Outbound", "partner": "Partner", "event": "Event", "referral": "Referral"}
#: HubSpot's own analytics source ("Original Source"), which cannot tell partner from referral
ORIGINAL_SOURCE = {"web": "Organic Search", "paid_social": "Paid Social", "paid_search": "Paid Search",
                   "webinar": "Other Campaigns", "outbound": "Offline Sources", "partner": "Referrals",
                   "event": "Offline Sources", "referral": "Referrals"}
#: the last exit event of a lead -> HubSpot's Lead Status (its only trace in the export)
LEAD_STATUS = {"rejected": "Unqualified", "disqualified": "Unqualified", "recycled": "Attempted to Contact",
               "sal": "In Progress", "lost": "Bad Timing"}
#: canonical open deal stage -> the portal's deal stage label; won and lost deals: Closed Won / Closed Lost
DEAL_STAGES = {"discovery": "Discovery", "proposal": "Proposal", "negotiation": "Negotiation"}
#: record ids: HubSpot numbers every object; the sample's numbers keep their order (same digit count)
ID_BASE = {"L": 51_000_000, "A": 8_100_000, "O": 9_100_000, "X": 70_000_000}
#: sales activities HubSpot exports as records of their own (the Calls, Emails and Meetings index pages):
#: canonical activity type -> the export file
ACTIVITY_FILES = {"call": "calls.csv", "email": "emails.csv", "meeting": "meetings.csv"}
#: the portal writes times in this zone (HubSpot: Settings > Account defaults > Time zone)
PORTAL_TIMEZONE = "UTC"
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
#: every this many contacts, one was merged into a record created later (HubSpot keeps the earliest stage dates
#: but the surviving record's Create Date); every this many deals, another contact of the account is associated too
MERGED_EVERY = 400
MERGED_LATER = pd.Timedelta(days=2, hours=3)
COMMITTEE_EVERY = 10


def hubspot_id(values: pd.Series) -> pd.Series:
    """``L000123`` -> ``51000123``: a HubSpot record id (numeric, no leading zeros), order kept."""
    text = values.astype("string")
    prefix = text.str[0]
    number = pd.to_numeric(text.str[1:], errors="coerce")
    base = prefix.map(ID_BASE)
    out = (base + number).astype("Int64").astype("string")
    return out.where(values.notna(), None).astype(object)


def local_minutes(values: pd.Series, zone: str = PORTAL_TIMEZONE) -> pd.Series:
    """UTC timestamps -> the portal's local time, to the minute (HubSpot writes no seconds)."""
    t = pd.to_datetime(values, utc=True, format="ISO8601")
    text = t.dt.tz_convert(zone).dt.strftime(DATETIME_FORMAT)
    return text.where(t.notna(), None).astype(object)


def _read(workspace: Path, table: str) -> pd.DataFrame | None:
    path = workspace / f"{table}.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]) if path.is_file() else None


def contacts(leads: pd.DataFrame, stages: pd.DataFrame, opps: pd.DataFrame | None) -> pd.DataFrame:
    """One row per lead, as HubSpot's contacts export."""
    st = stages.copy()
    st["t"] = pd.to_datetime(st["at"], utc=True, format="ISO8601")
    first = st.sort_values("t", kind="stable").drop_duplicates(["lead_id", "stage"]).set_index(["lead_id", "stage"])["at"]
    out = pd.DataFrame({"Record ID": hubspot_id(leads["lead_id"])})
    out["First Name"], out["Last Name"] = leads.get("first_name"), leads.get("last_name")
    out["Email"], out["Phone Number"] = leads.get("email"), leads.get("phone")
    created = pd.to_datetime(leads["created_at"], utc=True, format="ISO8601")
    merged = (pd.Series(range(len(leads)), index=leads.index) % MERGED_EVERY) == MERGED_EVERY - 1
    created = created.where(~merged, created + MERGED_LATER)
    out["Create Date"] = local_minutes(created.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    reached = pd.Series("Subscriber", index=leads.index, dtype=object)
    for stage, label, column in LIFECYCLE:
        at = first.xs(stage, level="stage") if stage in first.index.get_level_values("stage") else pd.Series(dtype=object)
        values = leads["lead_id"].map(at)
        out[column] = local_minutes(values)
        reached = reached.where(values.isna(), label)
    last = st.sort_values("t", kind="stable").drop_duplicates("lead_id", keep="last").set_index("lead_id")["stage"]
    out["Lifecycle Stage"] = reached
    status = leads["lead_id"].map(last).map(LEAD_STATUS)
    has_open_deal = leads["lead_id"].isin(opps.loc[opps["outcome"] == "open", "lead_id"]) if opps is not None else False
    out["Lead Status"] = status.where(status.notna(), np.where(has_open_deal, "Open Deal", "New"))
    out["Original Source"] = leads["source"].map(ORIGINAL_SOURCE).fillna("Offline Sources")
    out["Original Source Drill-Down 1"] = np.where(out["Original Source"] == "Offline Sources", "CRM_UI", None)
    out["Original Source Drill-Down 2"] = leads.get("campaign")
    out["Lead Source"] = leads["source"].map(SOURCE_LABELS).fillna(leads["source"])
    props = {"Campaign": "campaign", "Job Title": "job_title", "Seniority": "job_level", "Job function": "department",
             "Industry": "industry", "Number of Employees": "employees", "Region": "region",
             "Country/Region": "country", "Persona": "marketing_persona", "Contact owner": "owner",
             "Lead Quality": "lead_quality"}
    for label, column in props.items():
        if column in leads.columns:
            out[label] = leads[column]
    if "lead_quality_set_at" in leads.columns:
        out["Lead Quality Set Date"] = local_minutes(leads["lead_quality_set_at"])
    out["Associated Company IDs (Primary)"] = hubspot_id(leads["account_id"]) if "account_id" in leads else None
    out["Associated Company IDs"] = out["Associated Company IDs (Primary)"]
    if opps is not None:
        deal = opps.assign(deal=hubspot_id(opps["opportunity_id"])).groupby("lead_id")["deal"].agg(";".join)
        out["Associated Deal IDs"] = leads["lead_id"].map(deal)
    out["Last Activity Date"] = out["Create Date"]  # HubSpot's own roll-up: not a history, never read
    out["Marketing contact status"] = "Marketing contact"
    return out


def companies(accounts: pd.DataFrame) -> pd.DataFrame:
    """One row per account, as HubSpot's companies export."""
    out = pd.DataFrame({"Record ID": hubspot_id(accounts["account_id"]), "Company name": accounts.get("name")})
    props = {"Industry": "industry", "Number of Employees": "employees", "Annual Revenue": "annual_revenue",
             "Region": "region", "Country/Region": "country", "Tier": "tier", "Gross Margin": "gross_margin"}
    for label, column in props.items():
        if column in accounts.columns:
            out[label] = accounts[column]
    out["Create Date"] = local_minutes(accounts["created_at"])
    if "churned_at" in accounts.columns:
        out["Churn Date"] = local_minutes(accounts["churned_at"])
    out["Lifecycle Stage"] = "Lead"
    return out


def deals(opps: pd.DataFrame, currency: str, leads: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per opportunity, as HubSpot's deals export (``Deal Stage`` labels of the portal's pipeline)."""
    stage = opps["stage"].map(DEAL_STAGES).fillna(opps["stage"])
    stage = stage.where(opps["outcome"] != "won", "Closed Won").where(opps["outcome"] != "lost", "Closed Lost")
    out = pd.DataFrame({"Record ID": hubspot_id(opps["opportunity_id"]),
                        "Deal Name": opps.get("product", pd.Series("Deal", index=opps.index)).astype(str) + " deal",
                        "Pipeline": "Sales Pipeline", "Deal Stage": stage, "Amount": opps.get("amount"),
                        "Deal currency code": currency, "Create Date": local_minutes(opps["created_at"])})
    # an open deal's close date is the rep's forecast: HubSpot fills one in; the importer leaves it out
    forecast = (pd.to_datetime(opps["created_at"], utc=True, format="ISO8601") + pd.Timedelta(days=90))
    closed = local_minutes(opps["closed_at"])
    out["Close Date"] = closed.where(opps["outcome"] != "open", local_minutes(forecast.dt.strftime("%Y-%m-%dT%H:%M:%SZ")))
    out["Deal owner"] = opps.get("owner")
    out["Closed Lost Reason"] = opps.get("loss_reason")
    out["Product"] = opps.get("product")
    out["Associated Company IDs (Primary)"] = hubspot_id(opps["account_id"])
    contact = hubspot_id(opps["lead_id"])
    if leads is not None and "account_id" in leads.columns:  # a buying committee: another contact of the account
        colleague = hubspot_id(opps["account_id"].map(leads.dropna(subset=["account_id"])
                                                      .drop_duplicates("account_id", keep="last")
                                                      .set_index("account_id")["lead_id"]))
        committee = ((pd.Series(range(len(opps)), index=opps.index) % COMMITTEE_EVERY) == 0) & colleague.notna() \
            & (colleague != contact)
        contact = contact.where(~committee, contact + ";" + colleague.astype(str))
    out["Associated Contact IDs"] = contact
    return out


def activities(acts: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The sales activities of one kind as HubSpot's export of that activity (a call, a logged e-mail, a meeting):
    its own record id, the activity date, who it is assigned to and its associations (no content asset)."""
    a = acts[acts["type"] == kind]
    title = {"call": "Call with", "email": "Email to", "meeting": "Meeting with"}[kind]
    return pd.DataFrame({"Record ID": hubspot_id(a["activity_id"]), "Activity date": local_minutes(a["at"]),
                         f"{kind.title()} title": f"{title} contact", "Activity assigned to": a.get("actor"),
                         "Associated Contact IDs": hubspot_id(a["lead_id"]),
                         "Associated Company IDs": hubspot_id(a["account_id"])})


def settings(config: dict) -> dict:
    """The ``--settings`` of this portal for ``salign import hubspot``."""
    workspace = {k: config[k] for k in ("name", "timezone", "fiscal_year_start_month", "currency", "as_of", "outcome")
                 if k in config}
    workspace["name"] = f"{config.get('name', 'Sample')} (HubSpot round trip)"
    return {
        "formats": {"datetime_format": DATETIME_FORMAT, "date_format": "%Y-%m-%d",
                    "timestamps_timezone": PORTAL_TIMEZONE},
        "workspace": workspace,
        "won_stages": ["Closed Won"], "lost_stages": ["Closed Lost"],
        "deal_stage_values": {**{label: stage for stage, label in DEAL_STAGES.items()},
                              "Closed Won": "closed", "Closed Lost": "closed"},
        "source_property": "Lead Source",
        "source_values": {label: source for source, label in SOURCE_LABELS.items()},
        "contact_properties": {"campaign": "Campaign", "job_level": "Seniority", "department": "Job function",
                               "region": "Region", "marketing_persona": "Persona", "lead_quality": "Lead Quality",
                               "lead_quality_set_at": "Lead Quality Set Date"},
        "company_properties": {"region": "Region", "tier": "Tier", "gross_margin": "Gross Margin",
                               "churned_at": "Churn Date"},
        "deal_properties": {"product": "Product"},
    }


def write(workspace: Path, out: Path) -> None:
    """Write the canonical workspace ``workspace`` as HubSpot export files (and ``hubspot.yaml``) into ``out``."""
    workspace, out = Path(workspace), Path(out)
    config = yaml.safe_load((workspace / "workspace.yaml").read_text(encoding="utf-8")) or {}
    leads, stages, opps, accounts, acts = (_read(workspace, t) for t in ("leads", "stages", "opportunities",
                                                                         "accounts", "activities"))
    files = {"contacts.csv": contacts(leads, stages, opps)}
    if acts is not None:
        files.update({name: activities(acts, kind) for kind, name in ACTIVITY_FILES.items()})
    if accounts is not None:
        files["companies.csv"] = companies(accounts)
    if opps is not None:
        files["deals.csv"] = deals(opps, config.get("currency", "EUR"), leads)
    for name, frame in files.items():  # HubSpot quotes every field
        frame.to_csv(out / name, index=False, quoting=csv.QUOTE_ALL, lineterminator="\n")
    text = ("# salign import hubspot settings for this export (written by salign sample --export hubspot)\n"
            + yaml.safe_dump(settings(config), sort_keys=False, allow_unicode=True))
    (out / "hubspot.yaml").write_text(text, encoding="utf-8")
