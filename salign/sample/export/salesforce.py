"""The sample workspace written as a Salesforce org's Data Loader export (for a round trip through the import).

What a real export looks like, and what the round trip must survive:

- one CSV per object, API names as headers (``Lead.csv``, ``Account.csv``, ``Opportunity.csv``,
  ``OpportunityHistory.csv``, ``LeadHistory.csv``, ``Task.csv``, ``User.csv``); 18-character ids whose
  order follows the sample's ids; timestamps in UTC (``2025-01-20T15:00:00.000Z``); ``CloseDate`` and
  the lead's ``ConvertedDate`` are dates without a time, in the org's time zone;
- the funnel as the org records it: lead status changes in ``LeadHistory`` (with who made them and, for a
  rejection, recycling or disqualification, the reason in a tracked ``Status_Reason__c``), the conversion as
  a ``leadConverted`` entry, deals closing in ``OpportunityHistory``; field history tracking switched on
  only on :data:`HISTORY_FROM`, so every status change before it is missing from the export;
- unassigned leads owned by a queue (an ``00G`` id, not a user); the sample's attributes in custom
  fields (``Job_Level__c`` ...), declared in the ``settings.yaml`` written next to the files;
- ``--None--`` (a picklist's empty choice) for some missing picklist values, declared as a placeholder;
- ``Lead_report.csv``: a report export of some leads (labels, 15-character ids, US dates, footers) left next to
  the Data Loader files, as people do; the import reads ``Lead.csv`` and says so;
- the history file in no particular order (by lead, not by time).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from salign.workspace.load import load_workspace

#: field history tracking of the lead status starts here (the org's time zone): earlier changes are not exported
HISTORY_FROM = "2025-01-01"
#: the sample's stages -> the org's lead statuses (the conversion is Salesforce's own ``leadConverted``)
STATUS = {"lead": "Open", "mql": "Marketing Qualified", "sal": "Accepted", "sql": "Sales Qualified",
          "rejected": "Rejected", "recycled": "Recycled", "disqualified": "Disqualified"}
CONVERTED = "Converted"
#: the sample's open-deal stages -> the org's opportunity stages
OPEN_STAGES = {"discovery": "Discovery", "proposal": "Proposal", "negotiation": "Negotiation"}
WON, LOST = "Closed Won", "Closed Lost"
#: canonical column -> custom field (API name) that holds it, per object
CUSTOM = {
    "Lead": {"account_id": "Matched_Account__c", "campaign": "Campaign__c", "job_level": "Job_Level__c",
             "department": "Department__c", "region": "Region__c", "marketing_persona": "Marketing_Persona__c",
             "lead_quality": "Lead_Quality__c", "lead_quality_set_at": "Lead_Quality_Set_At__c"},
    "Account": {"region": "Region__c", "tier": "Tier__c", "churned_at": "Churn_Date__c",
                "gross_margin": "Gross_Margin__c"},
    "Opportunity": {"product": "Product__c", "loss_reason": "Loss_Reason__c"},
    "Task": {"type": "Activity_Type__c", "team": "Team__c", "content_id": "Content_Id__c"},
}
#: picklist fields where a missing value is written as Salesforce's ``--None--`` (every PLACEHOLDER_EVERY-th one)
PLACEHOLDER_FIELDS = ("Marketing_Persona__c", "Lead_Quality__c")
PLACEHOLDER, PLACEHOLDER_EVERY = "--None--", 7
#: leads written again as a report export (Lead_report.csv)
REPORT_LEADS = 40
DATETIME = "%Y-%m-%dT%H:%M:%S.000Z"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def to18(id15: str) -> str:
    """Salesforce's 18-character id: three characters encode which of the first 15 are upper case, five at a
    time (written here, not taken from ``salign.imports``, which the sample must not import; the round-trip
    test checks it against the importer's)."""
    return id15 + "".join(_CHECKSUM[sum(1 << i for i, ch in enumerate(id15[b:b + 5]) if "A" <= ch <= "Z")]
                          for b in (0, 5, 10))
PREFIX = {"lead": "00Q", "account": "001", "opportunity": "006", "task": "00T", "user": "005"}
QUEUE = to18("00G000000000001")


def sf_id(kind: str, sample_id) -> str | None:
    """The 18-character id of a sample id (``L000123`` -> ``00Q000000000123`` + checksum): order preserved."""
    if sample_id is None or (isinstance(sample_id, float) and np.isnan(sample_id)):
        return None
    digits = "".join(ch for ch in str(sample_id) if ch.isdigit())
    return to18(PREFIX[kind] + digits.zfill(12))


def write(workspace: Path, out: Path) -> None:
    """Write the canonical workspace ``workspace`` as a Salesforce org's export files into ``out``."""
    t = load_workspace(Path(workspace))
    zone = t.config.timezone
    users = _users(t)
    user = {alias: uid for uid, alias in zip(users["Id"], users["Alias"])}
    stages = t.stages.copy()
    opps = t.opportunities.copy()
    leads = t.leads.copy()
    converted = stages[stages["stage"] == "opportunity"].drop_duplicates("lead_id").set_index("lead_id")
    history_from = pd.Timestamp(HISTORY_FROM, tz=zone)

    users.to_csv(out / "User.csv", index=False)
    _accounts(t.accounts).to_csv(out / "Account.csv", index=False)
    _leads(leads, stages, converted, user, zone).to_csv(out / "Lead.csv", index=False)
    _report(leads, zone).to_csv(out / "Lead_report.csv", index=False)
    with open(out / "Lead_report.csv", "a", encoding="utf-8") as f:
        f.write(f'\n"Grand Totals ({REPORT_LEADS} records)"\n\n"Confidential Information - Do Not Distribute"\n'
                '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\n')
    _lead_history(stages, user, history_from).to_csv(out / "LeadHistory.csv", index=False)
    _opportunities(opps, user, zone).to_csv(out / "Opportunity.csv", index=False)
    _opportunity_history(opps, user).to_csv(out / "OpportunityHistory.csv", index=False)
    _tasks(t.activities, user).to_csv(out / "Task.csv", index=False)
    (out / "settings.yaml").write_text(_settings(t), encoding="utf-8")


def _ts(s: pd.Series) -> pd.Series:
    return s.dt.tz_convert("UTC").dt.strftime(DATETIME).where(s.notna(), None)


def _day(s: pd.Series, zone: str) -> pd.Series:
    return s.dt.tz_convert(zone).dt.strftime("%Y-%m-%d").where(s.notna(), None)


def _users(t) -> pd.DataFrame:
    names = set(t.stages["actor"].dropna()) | set(t.activities.get("actor", pd.Series(dtype=object)).dropna()) | \
        set(t.leads["owner"].dropna()) | set(t.opportunities["owner"].dropna())
    names = sorted(names)
    return pd.DataFrame({"Id": [to18(f"005{i + 1:012d}") for i in range(len(names))], "Alias": names,
                         "Name": [f"User {n}" for n in names],
                         "Department": ["Marketing" if n == "automation" else "Sales" for n in names]})


def _accounts(a: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"Id": a["account_id"].map(lambda v: sf_id("account", v)), "Name": a["name"],
                        "Industry": a["industry"], "NumberOfEmployees": a["employees"].astype("Int64"),
                        "AnnualRevenue": a["annual_revenue"], "BillingCountry": a["country"],
                        "CreatedDate": _ts(a["created_at"])})
    for col, field in CUSTOM["Account"].items():
        s = a[col]
        out[field] = _ts(s) if col == "churned_at" else s  # a date/time field: the sample's dates are UTC days
    return out


def _leads(leads, stages, converted, user, zone) -> pd.DataFrame:
    last = stages[stages["stage"].isin(list(STATUS) + ["opportunity"])].sort_values("at", kind="stable") \
        .drop_duplicates("lead_id", keep="last").set_index("lead_id")["stage"]
    status = leads["lead_id"].map(last).map(lambda s: CONVERTED if s == "opportunity" else STATUS.get(s, "Open"))
    conv = leads["lead_id"].map(converted["at"])
    opp = leads["lead_id"].map(converted["opportunity_id"])
    out = pd.DataFrame({
        "Id": leads["lead_id"].map(lambda v: sf_id("lead", v)),
        "CreatedDate": _ts(leads["created_at"]), "CreatedById": user["automation"],
        "OwnerId": leads["owner"].map(user).fillna(QUEUE),
        "FirstName": leads["first_name"], "LastName": leads["last_name"], "Email": leads["email"],
        "Phone": leads["phone"], "Title": leads["job_title"], "Company": "[not provided]",
        "Industry": leads["industry"], "NumberOfEmployees": leads["employees"].astype("Int64"),
        "Country": leads["country"], "LeadSource": leads["source"], "Status": status,
        "IsConverted": np.where(conv.notna(), "true", "false"), "ConvertedDate": _day(conv, zone),
        "ConvertedAccountId": np.where(conv.notna(), leads["account_id"].map(lambda v: sf_id("account", v)), None),
        "ConvertedOpportunityId": opp.map(lambda v: sf_id("opportunity", v)),
    })
    for col, field in CUSTOM["Lead"].items():
        s = leads[col]
        if col == "account_id":
            s = s.map(lambda v: sf_id("account", v))
        elif pd.api.types.is_datetime64_any_dtype(s):
            s = _ts(s)
        out[field] = s
    for field in PLACEHOLDER_FIELDS:
        gaps = out.index[out[field].isna()][::PLACEHOLDER_EVERY]
        out[field] = out[field].astype(object)
        out.loc[gaps, field] = PLACEHOLDER
    return out


def _report(leads: pd.DataFrame, zone: str) -> pd.DataFrame:
    head = leads.head(REPORT_LEADS)
    return pd.DataFrame({"Lead ID": head["lead_id"].map(lambda v: sf_id("lead", v)[:15]),
                         "Create Date": head["created_at"].dt.tz_convert(zone).dt.strftime("%m/%d/%Y %I:%M %p"),
                         "Lead Source": head["source"], "Company / Account": "[not provided]",
                         "Title": head["job_title"], "Industry": head["industry"]})


def _lead_history(stages, user, history_from) -> pd.DataFrame:
    st = stages[stages["stage"].isin(list(STATUS) + ["opportunity"])].sort_values(["lead_id", "at"], kind="stable")
    st = st.assign(label=st["stage"].map(lambda s: CONVERTED if s == "opportunity" else STATUS[s]))
    st["old"] = st.groupby("lead_id")["label"].shift(1)
    st = st[(st["stage"] != "lead") & (st["at"] >= history_from)]
    who = st["actor"].map(user)
    lead = st["lead_id"].map(lambda v: sf_id("lead", v))
    base = {"LeadId": lead, "CreatedById": who, "CreatedDate": _ts(st["at"])}
    rows = [pd.DataFrame({**base, "Field": "Status", "OldValue": st["old"], "NewValue": st["label"]})]
    why = st["reason"].notna() & (st["stage"] != "opportunity")
    rows.append(pd.DataFrame({**base, "Field": "Status_Reason__c", "OldValue": None,
                              "NewValue": st["reason"]})[why])
    conv = st["stage"] == "opportunity"
    rows.append(pd.DataFrame({**base, "Field": "leadConverted", "OldValue": None, "NewValue": None})[conv])
    out = pd.concat(rows)
    # Data Loader writes the history in no particular order: here by lead, the fields of one change apart
    return out.sort_values("LeadId", kind="stable")[["LeadId", "CreatedById", "CreatedDate", "Field", "OldValue",
                                                     "NewValue"]]


def _opportunities(o, user, zone) -> pd.DataFrame:
    closed = o["outcome"].isin(["won", "lost"])
    forecast = o["created_at"] + pd.Timedelta(days=90)
    name = o["outcome"].map({"won": WON, "lost": LOST}).fillna(o["stage"].map(OPEN_STAGES)).fillna(o["stage"])
    out = pd.DataFrame({
        "Id": o["opportunity_id"].map(lambda v: sf_id("opportunity", v)),
        "Name": "Deal " + o["opportunity_id"].astype(str), "AccountId": o["account_id"].map(lambda v: sf_id("account", v)),
        "OwnerId": o["owner"].map(user), "StageName": name, "Amount": o["amount"],
        "CloseDate": _day(o["closed_at"].where(closed, forecast), zone), "CreatedDate": _ts(o["created_at"]),
        "CreatedById": o["owner"].map(user)})
    for col, field in CUSTOM["Opportunity"].items():
        out[field] = o[col]
    return out


def _opportunity_history(o, user) -> pd.DataFrame:
    oid = o["opportunity_id"].map(lambda v: sf_id("opportunity", v))
    first = pd.DataFrame({"OpportunityId": oid, "StageName": "Discovery", "Amount": o["amount"],
                          "CreatedById": o["owner"].map(user), "CreatedDate": _ts(o["created_at"])})
    done = o["outcome"].isin(["won", "lost"])
    last = pd.DataFrame({"OpportunityId": oid, "StageName": o["outcome"].map({"won": WON, "lost": LOST}),
                         "Amount": o["amount"], "CreatedById": o["owner"].map(user),
                         "CreatedDate": _ts(o["closed_at"])})[done]
    return pd.concat([first, last]).sort_values(["OpportunityId", "CreatedDate"], kind="stable")


def _tasks(a, user) -> pd.DataFrame:
    out = pd.DataFrame({"Id": a["activity_id"].map(lambda v: sf_id("task", v)),
                        "WhoId": a["lead_id"].map(lambda v: sf_id("lead", v)),
                        "AccountId": a["account_id"].map(lambda v: sf_id("account", v)),
                        "OwnerId": a["actor"].map(user), "CreatedDate": _ts(a["at"]),
                        "TaskSubtype": a["type"].map({"call": "Call", "email": "Email"}).fillna("Task")})
    for col, field in CUSTOM["Task"].items():
        out[field] = a[col]
    return out


def _settings(t) -> str:
    c = t.config
    doc = {
        "formats": {"datetime_format": "%Y-%m-%dT%H:%M:%S.%f%z", "date_format": "%Y-%m-%d",
                    "timestamps_timezone": c.timezone, "placeholders": [PLACEHOLDER]},
        "workspace": {"name": c.name, "timezone": c.timezone, "fiscal_year_start_month": c.fiscal_year_start_month,
                      "currency": c.currency, **({"as_of": c.as_of.isoformat()} if c.as_of is not None else {}),
                      **({"outcome": c.outcome} if c.outcome is not None else {})},
        "lead_status_stages": {label: stage for stage, label in STATUS.items()},
        "conversion_stages": ["opportunity"],
        "status_reason_field": "Status_Reason__c",
        "won_stages": [WON], "lost_stages": [LOST],
        "fields": {obj: {field: col for col, field in m.items()} | ({"Company": None, "Status": None}
                                                                   if obj == "Lead" else {})
                   for obj, m in CUSTOM.items()},
    }
    head = ("# How this org's exports are written and what its values mean (written by 'salign sample --export "
            "salesforce').\n# Import: salign import salesforce DIR --settings DIR/settings.yaml --out WS\n")
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
