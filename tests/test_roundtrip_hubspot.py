"""Round trip: the sample written as HubSpot exports, imported back, gives the sample's own data and figures,
except for what HubSpot's exports cannot carry, each of which the import report names.

The expectation is built here, independently of the importer: the sample's tables with the documented losses
applied by hand (``hubspot_view``): personal columns gone; per lead only the first date of lead, mql, sql,
opportunity and won; no sal, rejected, recycled, disqualified events; a ``lost`` event per lost deal at its
close date; of the activities only calls, e-mails and meetings, without their content asset; no content; every
time to the minute; HubSpot's record ids. The columns only HubSpot has (lifecycle stage, lead status, pipeline
...) are taken from the import as they are.
"""
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from salign import cli
from salign.core import paths
from salign.sample import generate
from salign.sample.export import export
from salign.workspace.schema import PII_COLUMNS, TABLES

#: HubSpot record ids of the export: a sample id's number plus the object's base
BASE = {"L": 51_000_000, "A": 8_100_000, "O": 9_100_000, "X": 70_000_000}
#: the activities HubSpot exports (calls.csv, emails.csv, meetings.csv)
SALES_ACTIVITIES = ("call", "email", "meeting")
FIRST_ONLY = ("lead", "mql", "sql", "opportunity", "won")
TEAM = {"lead": "marketing", "mql": "marketing", "sql": "sales", "opportunity": "sales", "won": "sales",
        "lost": "sales"}
#: the import report's notes on what HubSpot cannot carry (a word each note must hold)
NOTES = {"first_date": "first date of each lifecycle stage", "no_stage": "no lifecycle stage for accepted",
         "activities": "no marketing activities", "content_asset": "which content asset",
         "content": "no content inventory", "minutes": "to the minute",
         "state": "the contact's state when exported"}


def hs_id(s: pd.Series) -> pd.Series:
    return s.map(lambda v: v if pd.isna(v) else str(BASE[v[0]] + int(v[1:])))


def minute(s: pd.Series) -> pd.Series:
    t = pd.to_datetime(s, utc=True, format="ISO8601").dt.floor("min")
    return t.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(t.notna(), None)


def read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False, na_values=[""])


def hubspot_view(sample: Path, imported: Path) -> dict[str, pd.DataFrame]:
    """The sample's tables as HubSpot can carry them (see the module docstring)."""
    leads, stages, opps, accounts, acts = (read(sample, t) for t in ("leads", "stages", "opportunities", "accounts",
                                                                    "activities"))
    acts = acts[acts["type"].isin(SALES_ACTIVITIES)].drop(columns="content_id")
    for c in ("activity_id", "lead_id", "account_id"):
        acts[c] = hs_id(acts[c])
    acts["at"] = minute(acts["at"])
    leads = leads.drop(columns=[c for c in PII_COLUMNS if c in leads.columns])
    leads["lead_id"], leads["account_id"] = hs_id(leads["lead_id"]), hs_id(leads["account_id"])
    for c in ("created_at", "lead_quality_set_at"):
        leads[c] = minute(leads[c])
    accounts["account_id"] = hs_id(accounts["account_id"])
    for c in ("created_at", "churned_at"):
        accounts[c] = minute(accounts[c])
    opps["owner_"] = opps["owner"]
    for c in ("opportunity_id", "lead_id", "account_id"):
        opps[c] = hs_id(opps[c])
    for c in ("created_at", "closed_at"):
        opps[c] = minute(opps[c])
    stages["t"] = pd.to_datetime(stages["at"], utc=True, format="ISO8601")
    first = (stages[stages["stage"].isin(FIRST_ONLY)].sort_values("t", kind="stable")
             .drop_duplicates(["lead_id", "stage"])[["lead_id", "stage", "at"]])
    first["lead_id"] = hs_id(first["lead_id"])
    lost = opps.loc[opps["outcome"] == "lost", ["lead_id", "closed_at", "opportunity_id", "owner"]].rename(
        columns={"closed_at": "at", "owner": "actor"}).assign(stage="lost")
    stages = pd.concat([first, lost], ignore_index=True)
    stages["at"] = minute(stages["at"])
    stages["team"] = stages["stage"].map(TEAM)
    view = {"leads": leads, "stages": stages, "opportunities": opps.drop(columns="owner_"), "accounts": accounts,
            "activities": acts}
    for table, frame in view.items():  # HubSpot-only columns (lifecycle stage, lead status, pipeline, currency ...)
        got = read(imported, table)
        key = list(TABLES[table].key)
        extra = [c for c in got.columns if c not in frame.columns]
        if extra:
            frame = frame.merge(got[key + extra], on=key, how="left")
        assert set(frame.columns) == set(got.columns), table
        view[table] = frame[list(got.columns)]  # the import's column order (analyses list features in file order)
    return view


def same(table: str, expected: pd.DataFrame, got: pd.DataFrame) -> None:
    """Equal tables (numbers compared as numbers: 0.730 is 0.73)."""
    key = list(TABLES[table].key)
    cols = sorted(set(expected.columns) | set(got.columns))
    a = expected.reindex(columns=cols).sort_values(key).reset_index(drop=True).astype(object)
    b = got.reindex(columns=cols).sort_values(key).reset_index(drop=True).astype(object)
    for c in cols:
        spec = TABLES[table].column(c)
        if spec is not None and spec.kind in ("int", "number"):
            a[c], b[c] = pd.to_numeric(a[c]).astype(object), pd.to_numeric(b[c]).astype(object)
    pd.testing.assert_frame_equal(a.where(a.notna(), None), b.where(b.notna(), None), check_dtype=False)


def round_trip(sample: Path, tmp: Path) -> tuple[Path, dict]:
    exports = export("hubspot", sample, tmp / "exports")
    ws = tmp / "imported"
    assert cli.main(["import", "hubspot", str(exports), "--settings", str(exports / "hubspot.yaml"),
                     "--out", str(ws)]) == 0
    return ws, json.loads((ws / "import_report.json").read_text(encoding="utf-8"))


def test_the_export_looks_like_hubspot(tmp_path):
    exports = tmp_path / "exports"
    assert cli.main(["sample", "--export", "hubspot", "--out", str(exports), "--leads", "600", "--seed", "5"]) == 0
    assert sorted(p.name for p in exports.iterdir()) == ["calls.csv", "companies.csv", "contacts.csv", "deals.csv",
                                                         "emails.csv", "hubspot.yaml", "meetings.csv"]
    contacts = pd.read_csv(exports / "contacts.csv", dtype=str, keep_default_na=False)
    for column in ("Record ID", "Create Date", "Lifecycle Stage", "Lead Status", "Original Source",
                   "Became a Marketing Qualified Lead Date", "Associated Company IDs (Primary)", "Email"):
        assert column in contacts.columns
    assert contacts["Record ID"].str.fullmatch(r"\d+").all()
    assert contacts["Create Date"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()  # no seconds
    assert set(contacts["Lifecycle Stage"]) <= {"Subscriber", "Lead", "Marketing Qualified Lead",
                                                "Sales Qualified Lead", "Opportunity", "Customer"}
    deals = pd.read_csv(exports / "deals.csv", dtype=str, keep_default_na=False)
    assert {"Closed Won", "Closed Lost"} <= set(deals["Deal Stage"])
    assert (exports / "contacts.csv").read_text(encoding="utf-8").startswith('"Record ID",')  # every field quoted


def test_the_import_gives_the_sample_as_hubspot_can_carry_it(tmp_path):
    sample = generate(tmp_path / "sample", n_leads=1500, seed=11)
    ws, report = round_trip(sample, tmp_path)
    for what, words in NOTES.items():
        assert any(words in n for n in report["notes"]), what
    assert all(t["quarantined"] == 0 for t in report["tables"].values())
    assert report["files"]["contacts"]["personal_columns_not_imported"] == 4
    repairs = {(r["table"], r["column"], r["rule"]): r["count"] for r in report["repairs"]}
    assert repairs[("leads", "created_at", "merged-contact")] == 1500 // 400  # every 400th contact was merged
    assert repairs[("opportunities", "lead_id", "first-of-list")] > 0  # deals with a buying committee
    assert not (ws / "content.csv").exists()
    view = hubspot_view(sample, ws)
    for table, frame in view.items():
        same(table, frame, read(ws, table))
    # what was lost, counted from the sample itself
    acts = read(sample, "activities")
    assert len(read(ws, "activities")) == int(acts["type"].isin(SALES_ACTIVITIES).sum())
    st = read(sample, "stages")
    assert len(read(ws, "stages")) == len(st) - int(st["stage"].isin(["sal", "rejected", "recycled",
                                                                        "disqualified"]).sum()) \
        - int(st[st["stage"].isin(FIRST_ONLY)].duplicated(["lead_id", "stage"]).sum())


def flat(metrics: dict) -> dict[str, object]:
    """metrics.json as {path: value}, without what names the workspace (its fingerprint and name)."""
    out = {}

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
        elif not path.endswith(("workspace_fingerprint", "/workspace")):
            out[path] = node
    walk(metrics, "")
    return out


def section(path: str) -> str:
    """notebooks/<nb>/sections/<section>/... -> <nb>/<section>; headline and skip lists by notebook."""
    parts = path.strip("/").split("/")
    if len(parts) < 3:
        return parts[0]
    return f"{parts[1]}/{parts[3]}" if len(parts) > 3 and parts[2] in ("sections", "skipped") else f"{parts[1]}/{parts[2]}"


#: each documented difference -> the sections of the review it changes, measured once by applying that difference
#: alone to the sample and reviewing it (content sections changed by other losses too are moot once the content
#: audit is skipped). Keys: the import report's notes (NOTES), its count of personal columns not imported, the
#: record ids (values shown by key_accounts and the sample lead), and the teams' rules this test leaves out.
#: Two sections came later and were attributed by what they are built from, not measured alone: the previous
#: quarter's fix list (the fix list's causes) and the scorecard's cross-check with the persona marks (the causes
#: that change both the marks and the scorecard's factors).
EXPLAINS: dict[str, tuple[str, ...]] = {
    "first_date": ("02_content_audit/usage", "04_quarterly_review/fix_list", "04_quarterly_review/recycling",
        "04_quarterly_review/stage_conversion", "04_quarterly_review/stage_conversion_mature",
        "04_quarterly_review/stuck_leads", "04_quarterly_review/previous_fix_list"),
    "no_stage": ("02_content_audit/influence", "02_content_audit/usage", "03_qualification/threshold",
        "04_quarterly_review/changes", "04_quarterly_review/cohort_funnel", "04_quarterly_review/fix_list",
        "04_quarterly_review/recycling", "04_quarterly_review/rejections", "04_quarterly_review/sla_scorecard",
        "04_quarterly_review/stage_conversion", "04_quarterly_review/stage_conversion_mature",
        "04_quarterly_review/stuck_leads", "04_quarterly_review/time_in_stage", "04_quarterly_review/trend",
        "04_quarterly_review/volumes_by_persona", "04_quarterly_review/volumes_by_source",
        "04_quarterly_review/previous_fix_list"),
    "activities": ("01_personas/headline", "01_personas/markers", "02_content_audit/headline",
        "02_content_audit/influence", "02_content_audit/messaging_plan", "02_content_audit/usage",
        "03_qualification/compare", "03_qualification/definition", "03_qualification/factors",
        "03_qualification/fit_model", "03_qualification/headline", "03_qualification/leakage",
        "03_qualification/target", "03_qualification/team_rules", "03_qualification/threshold",
        "04_quarterly_review/changes", "04_quarterly_review/fix_list", "04_quarterly_review/routing",
        "04_quarterly_review/stuck_leads", "03_qualification/persona_cross_check",
        "04_quarterly_review/previous_fix_list"),
    "content_asset": ("02_content_audit/headline", "02_content_audit/influence", "02_content_audit/messaging_plan",
        "02_content_audit/usage"),
    "content": ("02_content_audit/content_inventory", "02_content_audit/content_matrix",
        "02_content_audit/headline", "02_content_audit/influence", "02_content_audit/messaging_plan",
        "02_content_audit/usage", "02_content_audit/write_gaps"),
    "minutes": ("02_content_audit/influence", "03_qualification/compare", "03_qualification/fit_model",
        "03_qualification/target", "04_quarterly_review/changes", "04_quarterly_review/headline",
        "04_quarterly_review/routing", "04_quarterly_review/sales_cycle", "04_quarterly_review/sla_scorecard",
        "04_quarterly_review/time_in_stage", "04_quarterly_review/trend"),
    "state": ("01_personas/headline", "01_personas/markers", "01_personas/segments", "03_qualification/compare",
        "03_qualification/criteria", "03_qualification/definition", "03_qualification/factors",
        "03_qualification/fit_model", "03_qualification/headline", "03_qualification/leakage",
        "03_qualification/target", "03_qualification/threshold", "03_qualification/persona_cross_check"),
    "personal": ("03_qualification/criteria", "03_qualification/definition", "03_qualification/target",
        "04_quarterly_review/changes", "04_quarterly_review/fix_list", "04_quarterly_review/sla_scorecard",
        "04_quarterly_review/previous_fix_list"),
    "ids": ("03_qualification/factors", "04_quarterly_review/key_accounts"),
    "team_rules": ("03_qualification/compare", "03_qualification/team_rules"),
}


@pytest.mark.slow
def test_the_review_of_the_round_trip_is_the_samples_review_of_what_hubspot_carries(tmp_path, sample_reports):
    ws, report = round_trip(paths.SAMPLE_WORKSPACE, tmp_path)
    # the teams' current rules count activities (n_webinar ...), which HubSpot's exports do not hold
    keep = shutil.ignore_patterns("qualification.marketing.yaml", "qualification.sales.yaml")
    shutil.copytree(paths.SAMPLE_WORKSPACE / "definitions", ws / "definitions", ignore=keep)
    expected = tmp_path / "expected"
    expected.mkdir()
    for table, frame in hubspot_view(paths.SAMPLE_WORKSPACE, ws).items():
        frame.to_csv(expected / f"{table}.csv", index=False)
    shutil.copy(ws / "workspace.yaml", expected / "workspace.yaml")
    shutil.copytree(paths.SAMPLE_WORKSPACE / "definitions", expected / "definitions", ignore=keep)
    got, want = {}, {}
    for name, folder, into in (("rt", ws, got), ("expected", expected, want)):
        out = tmp_path / f"reports-{name}"
        assert cli.main(["review", "--workspace", str(folder), "--out", str(out), "--period", "2026Q3"]) == 0
        into.update(flat(json.loads((out / "2026Q3" / "metrics.json").read_text(encoding="utf-8"))))
    assert got == want  # the round trip loses exactly what the documented view loses, nothing more
    sample = flat(json.loads((sample_reports / "2026Q3" / "metrics.json").read_text(encoding="utf-8")))
    differ = sorted({section(p) for p in set(sample) | set(got) if sample.get(p) != got.get(p)})
    print("sections that differ from the sample's review:", differ)
    told = {k for k, words in NOTES.items() if any(words in n for n in report["notes"])}
    assert told == set(NOTES)
    if report["files"]["contacts"].get("personal_columns_not_imported"):
        told.add("personal")
    told |= {"ids", "team_rules"}  # the record ids are HubSpot's; this test leaves the teams' rules out
    explained = set().union(*(EXPLAINS[k] for k in told))
    assert set(differ) <= explained, f"not explained by the import report: {sorted(set(differ) - explained)}"
    idle = [k for k in told if not set(EXPLAINS[k]) & set(differ)]
    assert not idle, f"the report names losses that change nothing: {idle}"
