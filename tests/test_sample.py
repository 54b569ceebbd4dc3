"""Tests of the synthetic sample generator (salign.sample) and of the committed data/sample.

Most checks run on a small fresh sample (3,000 leads); the checks of planted effects that
need many customers run on the committed 20,000-lead sample.
"""

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from salign.sample import generate
from salign.sample.content import STAGES
from salign.sample.definitions import PERSONA_IDS
from salign.sample.matching import rule_mask

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SMALL = 3000
AS_OF = pd.Timestamp("2026-10-01", tz="Europe/Berlin")
COLUMNS = {
    "accounts": ["account_id", "name", "industry", "employees", "annual_revenue", "region", "country", "created_at",
                 "tier", "churned_at", "gross_margin"],
    "leads": ["lead_id", "created_at", "source", "account_id", "campaign", "job_title", "job_level", "department",
              "industry", "employees", "region", "country", "marketing_persona", "owner", "email", "phone",
              "first_name", "last_name", "lead_quality", "lead_quality_set_at"],
    "stages": ["lead_id", "stage", "at", "team", "actor", "reason", "opportunity_id"],
    "activities": ["activity_id", "at", "team", "type", "lead_id", "account_id", "content_id", "actor"],
    "opportunities": ["opportunity_id", "created_at", "stage", "outcome", "account_id", "lead_id", "closed_at",
                      "amount", "loss_reason", "owner", "product"],
    "content": ["content_id", "title", "type", "personas", "stage", "owner_team", "created_at", "updated_at",
                "location"],
    "truth_leads": ["lead_id", "p_sql", "sql_90d"],
}
STAGE_VOCABULARY = {"lead", "mql", "sal", "sql", "opportunity", "won", "lost", "rejected", "recycled", "disqualified"}
PERSONA_FIELDS = {"industry", "employees", "annual_revenue", "region", "country", "job_level", "department", "source"}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("small"), SMALL, 7)


def read(folder, name):
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def truth(folder):
    return json.loads((folder / "truth.json").read_text(encoding="utf-8"))


def utc(column):
    return pd.to_datetime(column.replace("", None), format="%Y-%m-%dT%H:%M:%SZ", utc=True)


def digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def first_mql_and_follow_up(folder):
    """First mql per lead and the first sales call/email/meeting at or after it."""
    stages, activities = read(folder, "stages"), read(folder, "activities")
    mql = stages[stages["stage"] == "mql"].assign(at=lambda f: utc(f["at"])).groupby("lead_id")["at"].min()
    touches = activities[activities["type"].isin(["call", "email", "meeting"])].assign(at=lambda f: utc(f["at"]))
    touches = touches[touches["at"] >= touches["lead_id"].map(mql)]
    return pd.DataFrame({"mql": mql, "follow_up": touches.groupby("lead_id")["at"].min()}).dropna(subset=["mql"])


# --- determinism, size, layout ---------------------------------------------------------------

def test_same_inputs_give_identical_bytes(small, tmp_path):
    again = generate(tmp_path / "again", SMALL, 7)
    assert digests(again) == digests(small)
    other = generate(tmp_path / "other", SMALL, 8)
    assert digests(other)["leads.csv"] != digests(small)["leads.csv"]


def test_committed_sample_is_a_fresh_default_generate(tmp_path):
    fresh = generate(tmp_path / "fresh", 20000, 7)
    assert digests(SAMPLE) == digests(fresh)
    assert sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file()) < 10_000_000


def test_tables_have_exactly_the_canonical_columns(small):
    for name, columns in COLUMNS.items():
        assert list(read(small, name).columns) == columns, name
    workspace = yaml.safe_load((small / "workspace.yaml").read_text())
    assert workspace["tables"] == {n: f"{n}.csv" for n in COLUMNS if n != "truth_leads"}
    assert workspace["timezone"] == "Europe/Berlin" and workspace["as_of"] == "2026-10-01"


def test_values_are_formatted_as_declared(small):
    for name, columns in {"leads": ["created_at", "lead_quality_set_at"], "stages": ["at"], "activities": ["at"],
                          "opportunities": ["created_at", "closed_at"]}.items():
        table = read(small, name)
        for column in columns:
            values = table[column][table[column] != ""]
            assert values.str.match(DATETIME).all(), (name, column)
            assert (utc(values) < AS_OF).all(), (name, column)
    for name, columns in {"accounts": ["created_at", "churned_at"], "content": ["created_at", "updated_at"]}.items():
        table = read(small, name)
        for column in columns:
            assert table[column][table[column] != ""].str.match(DATE).all(), (name, column)
    margin = read(small, "accounts")["gross_margin"]
    assert margin[margin != ""].str.match(r"^-?\d\.\d{3}$").all()
    assert (margin.str.startswith("-")).any()
    assert read(small, "truth_leads")["p_sql"].str.match(r"^0\.\d{4}$").all()


def test_definitions_are_strict_and_use_allowed_fields(small):
    leads = set(COLUMNS["leads"]) - {"lead_quality", "lead_quality_set_at"}
    behaviour = {f"n_{t}" for t in ("web_visit", "email_open", "email_click", "content_download", "webinar", "event")}

    def fields(rule):
        if "all" in rule or "any" in rule:
            return set().union(*(fields(r) for r in rule.get("all", rule.get("any"))))
        return {rule["field"]}

    for team in ("marketing", "sales"):
        personas = yaml.safe_load((small / f"definitions/personas.{team}.yaml").read_text())
        assert set(personas) == {"version", "team", "personas"} and personas["team"] == team
        for persona in personas["personas"]:
            assert set(persona) == {"id", "name", "description", "rule"}
            assert fields(persona["rule"]) <= PERSONA_FIELDS
        qualification = yaml.safe_load((small / f"definitions/qualification.{team}.yaml").read_text())
        assert set(qualification) == {"version", "team", "name", "rule"}
        assert fields(qualification["rule"]) <= leads | behaviour
    sla = yaml.safe_load((small / "definitions/sla.yaml").read_text())
    assert set(sla) == {"version", "marketing", "sales"}
    handoff = yaml.safe_load((small / "definitions/handoff.yaml").read_text())
    assert handoff["routing"] == "queue" and set(handoff["contacts"]) == {"marketing", "sales"}


# --- integrity ---------------------------------------------------------------------------------

def test_references_resolve(small):
    accounts, leads = read(small, "accounts"), read(small, "leads")
    stages, activities = read(small, "stages"), read(small, "activities")
    opportunities, content = read(small, "opportunities"), read(small, "content")
    lead_ids, account_ids = set(leads["lead_id"]), set(accounts["account_id"])
    for table in (stages, activities, opportunities, read(small, "truth_leads")):
        assert set(table["lead_id"]) <= lead_ids
    for table in (leads, activities, opportunities):
        assert set(table["account_id"]) - {""} <= account_ids
    assert (opportunities["account_id"] != "").all()
    assert set(activities["content_id"]) - {""} <= set(content["content_id"])
    for table, key in ((accounts, "account_id"), (leads, "lead_id"), (activities, "activity_id"),
                       (opportunities, "opportunity_id"), (content, "content_id")):
        assert table[key].is_unique and table[key].is_monotonic_increasing, key
    lead_account = leads.set_index("lead_id")["account_id"]
    assert (activities["account_id"] == activities["lead_id"].map(lead_account)).all()
    assert (opportunities["account_id"] == opportunities["lead_id"].map(lead_account)).all()
    assert set(leads["owner"]) - {""} <= {f"R{i:02d}" for i in range(1, 11)}
    created = utc(leads.set_index("lead_id")["created_at"])
    assert (utc(activities["at"]).to_numpy() >= activities["lead_id"].map(created).to_numpy()).all()
    assert (read(small, "accounts")["tier"].isin(["key", "standard"])).all()


def test_stages_are_chronological_and_start_with_the_lead(small):
    stages, leads = read(small, "stages"), read(small, "leads")
    assert set(stages["stage"]) <= STAGE_VOCABULARY
    stages["t"] = utc(stages["at"])
    assert (stages.groupby("lead_id", sort=False)["t"].diff().dropna() >= pd.Timedelta(0)).all()
    first = stages.groupby("lead_id", sort=False).head(1).set_index("lead_id")
    assert len(first) == len(leads) and (first["stage"] == "lead").all()
    assert (first["at"] == leads.set_index("lead_id")["created_at"].reindex(first.index)).all()
    sales = stages["team"] == "sales"
    assert stages.loc[sales, "actor"].str.match(r"^R\d\d$").all()
    assert (stages.loc[~sales, "actor"] == "automation").all()


def test_opportunities_match_their_stage_rows(small):
    stages, opportunities = read(small, "stages"), read(small, "opportunities").set_index("opportunity_id")
    linked = stages[stages["opportunity_id"] != ""]
    assert set(linked["stage"]) <= {"opportunity", "won", "lost"}
    assert (stages.loc[stages["stage"].isin(["opportunity", "won", "lost"]), "opportunity_id"] != "").all()
    opened = linked[linked["stage"] == "opportunity"].set_index("opportunity_id")
    assert opened.index.is_unique and set(opened.index) == set(opportunities.index)
    assert (opened["lead_id"] == opportunities.loc[opened.index, "lead_id"]).all()
    assert (opened["at"] == opportunities.loc[opened.index, "created_at"]).all()
    closed = linked[linked["stage"].isin(["won", "lost"])].set_index("opportunity_id")
    assert (closed["stage"] == opportunities.loc[closed.index, "outcome"]).all()
    assert (closed["at"] == opportunities.loc[closed.index, "closed_at"]).all()
    still_open = opportunities["outcome"] == "open"
    assert (opportunities.loc[still_open, "closed_at"] == "").all()
    assert opportunities.loc[still_open, "stage"].isin(["discovery", "proposal", "negotiation"]).all()
    assert (opportunities.loc[~still_open, "stage"] == "closed").all()
    assert ((opportunities["loss_reason"] != "") == (opportunities["outcome"] == "lost")).all()


def test_pii_and_an_email_in_rejection_reasons(small):
    leads, stages = read(small, "leads"), read(small, "stages")
    assert leads["email"].str.match(r"^[a-z]+\.[a-z]+@[a-z-]+\.test$").all()
    assert (leads["phone"][leads["phone"] != ""].str.match(r"^\+\d+ \d+ \d{7}$")).all()
    assert (leads["first_name"] != "").all() and (leads["last_name"] != "").all()
    assert stages.loc[stages["stage"] == "rejected", "reason"].str.contains("@").sum() >= 3
    reasons = stages.loc[stages["stage"] == "rejected", "reason"]
    assert (reasons == "").any() and (reasons == "no budget").any()


def test_leak_is_set_after_the_outcome(small):
    leads, stages = read(small, "leads"), read(small, "stages")
    outcome = stages[stages["stage"].isin(["sal", "sql", "rejected", "disqualified"])]
    earliest = utc(outcome["at"]).groupby(outcome["lead_id"]).min()
    graded = leads[leads["lead_quality"] != ""]
    assert set(graded["lead_quality"]) == {"High", "Medium", "Low"}
    assert (utc(graded["lead_quality_set_at"]).to_numpy() > graded["lead_id"].map(earliest).to_numpy()).all()
    assert ((leads["lead_quality"] == "") == (leads["lead_quality_set_at"] == "")).all()


# --- truth consistency -------------------------------------------------------------------------

def test_content_truth_matches_the_inventory(small):
    content, activities, t = read(small, "content"), read(small, "activities"), truth(small)["content"]
    assert 60 <= len(content) <= 120
    updated = pd.to_datetime(content["updated_at"])
    current = content[(pd.Timestamp("2026-10-01") - updated).dt.days <= t["stale_after_days"]]
    cells = {(p, stage) for personas, stage in zip(current["personas"], current["stage"])
             for p in personas.split(";") if p and stage}
    gaps = {(p, s) for p in PERSONA_IDS for s in STAGES} - cells
    assert gaps == {tuple(g) for g in t["gaps"]} and gaps
    assert set(t["stale"]) == set(content["content_id"]) - set(current["content_id"])
    assert set(t["unused"]) == set(content["content_id"]) - set(activities["content_id"]) and t["unused"]
    unclassified = content[(content["personas"] == "") | (content["stage"] == "")]
    assert set(t["unclassified"]) == set(unclassified["content_id"]) and t["unclassified"]
    teams = activities[activities["content_id"] != ""].groupby("content_id")["team"].nunique()
    assert t["lost"] and all(teams[cid] == 1 for cid in t["lost"])


def test_slow_reps_are_really_slower(small):
    t, handoff = truth(small), first_mql_and_follow_up(small)
    owner = read(small, "leads").set_index("lead_id")["owner"]
    hours = ((handoff["follow_up"] - handoff["mql"]).dt.total_seconds() / 3600).groupby(owner).median()
    slow = hours[t["slow_reps"]]
    assert slow.min() > 2 * hours.drop(t["slow_reps"]).drop("", errors="ignore").max()
    assert slow.min() > 24


def test_sla_misses_match_a_recomputation(small):
    t, handoff = truth(small), first_mql_and_follow_up(small)
    sla = yaml.safe_load((small / "definitions/sla.yaml").read_text())
    leads = read(small, "leads").set_index("lead_id")
    quarter = handoff["mql"].dt.tz_convert("Europe/Berlin").dt.tz_localize(None).dt.to_period("Q").astype(str)
    complete = (leads.loc[handoff.index, sla["marketing"]["min_fields_at_handoff"]] != "").all(axis=1)
    limit = pd.Timedelta(hours=sla["sales"]["max_hours_to_first_follow_up"])
    eligible = handoff["mql"] + limit <= AS_OF
    within = (handoff["follow_up"] - handoff["mql"]) <= limit
    expected = {}
    for label in t["quarters"]:
        mine = quarter == label
        misses = []
        if mine.sum() < sla["marketing"]["sales_ready_leads_per_quarter"]:
            misses.append("marketing_volume")
        if complete[mine].mean() < sla["marketing"]["min_fields_share_target"]:
            misses.append("marketing_min_fields")
        if within[mine & eligible].mean() < sla["sales"]["follow_up_attainment_target"]:
            misses.append("sales_follow_up")
        expected[label] = misses
        assert t["sla_measures"][label]["sales_ready_leads"] == mine.sum()
    assert t["sla_misses"] == expected
    assert any(expected[q] for q in t["quarters"][:4]) and not all(expected[q] for q in t["quarters"][4:])


def test_p_sql_and_realised_outcome(small):
    t, truth_leads = truth(small), read(small, "truth_leads")
    p = truth_leads["p_sql"].astype(float)
    assert ((p > 0) & (p < 1)).all()
    assert 0.7 <= t["best_auc"]["overall"] <= 0.95 and 0.7 <= t["best_auc"]["last_2_quarters"] <= 0.95
    stages, leads = read(small, "stages"), read(small, "leads").set_index("lead_id")
    sql = stages[stages["stage"] == "sql"].assign(at=lambda f: utc(f["at"])).groupby("lead_id")["at"].min()
    window = utc(leads["created_at"]) + pd.Timedelta(days=90)
    realised = (sql.reindex(leads.index) <= window).astype(int).astype(str)
    assert (truth_leads.set_index("lead_id")["sql_90d"] == realised).all()
    assert t["leak_columns"] == ["lead_quality"] and t["leak_auc"] > t["best_auc"]["overall"] + 0.1
    rules = t["qualification_rules"]
    assert rules["marketing"]["recall"] > rules["sales"]["recall"]
    assert rules["sales"]["precision"] > rules["marketing"]["precision"]


def test_p_sql_follows_the_documented_model(small):
    model = truth(small)["sql_model"]
    c = model["coefficients"]
    leads, activities = read(small, "leads").set_index("lead_id"), read(small, "activities")
    stages = read(small, "stages")
    created = utc(leads["created_at"])
    mql = utc(stages.loc[stages["stage"] == "mql", "at"]).groupby(stages["lead_id"]).min().reindex(leads.index)
    end = mql.fillna(created + pd.Timedelta(days=30))
    touches = activities[activities["team"] == "marketing"]
    touches = touches[utc(touches["at"]).to_numpy() < touches["lead_id"].map(end).to_numpy()]
    counts = touches.groupby(["lead_id", "type"]).size().unstack(fill_value=0).reindex(leads.index, fill_value=0)
    employees = pd.to_numeric(leads["employees"])
    band = pd.cut(employees, [-1, 49, 199, 1999, 9999, np.inf], labels=["<50", "50-199", "200-1999", "2000-9999",
                                                                           ">=10000"]).astype(object).fillna("missing")
    industry = leads["industry"].where(leads["industry"].isin(list(c["industry"])), "other")
    logit = (model["intercept"] + leads["job_level"].map(c["job_level"]) + band.map(c["employees_band"])
             + industry.map(c["industry"]) + leads["source"].map(c["source"])
             + sum(w * np.log1p(counts.get(kind, 0)) for kind, w in c["log1p_touches"].items())
             + c["created_in_second_year"] * (created >= pd.Timestamp("2025-10-01", tz="Europe/Berlin")))
    p_sql = read(small, "truth_leads").set_index("lead_id")["p_sql"].astype(float)
    assert np.abs(1 / (1 + np.exp(-logit)) - p_sql).max() <= 0.0001


def test_trend_improves_in_the_second_year(small):
    for name, metric in truth(small)["trend"]["metrics"].items():
        better = metric["second_year"] > metric["first_year"]
        assert better == (metric["better"] == "higher"), name


def test_segments_differ_as_planted(small):
    t = truth(small)
    accounts = read(small, "accounts").set_index("account_id")
    opportunities = read(small, "opportunities")
    won = opportunities[opportunities["outcome"] == "won"].groupby("account_id")["amount"].apply(
        lambda a: a.astype(int).sum())
    assert set(won.index) == set(t["segments"])
    customers = pd.DataFrame({"segment": pd.Series(t["segments"]), "revenue": won,
                              "margin": accounts.loc[won.index, "gross_margin"].astype(float)})
    customers["value"] = customers["revenue"] * customers["margin"]
    by_segment = customers.groupby("segment").mean()
    assert set(by_segment.index) == set(t["segment_profiles"])
    bad = t["unprofitable_segment"]
    assert by_segment["revenue"].idxmax() == bad and by_segment["margin"].idxmin() == bad
    assert by_segment.loc[bad, "margin"] < 0
    assert by_segment["value"].idxmax() == t["best_segment"]
    assert list(by_segment["value"].sort_values(ascending=False).index) == [
        "scaleup_software", "financial_services", "healthcare_midmarket", "education", "smb_retail", bad]


def test_team_personas_get_different_things_wrong(small):
    teams = truth(small)["team_personas"]
    assert "scaleup_software" in teams["marketing"]["right"] and "smb_retail" in teams["marketing"]["wrong"]
    assert "enterprise_manufacturing" in teams["sales"]["wrong"] and "scaleup_software" in teams["sales"]["missed"]
    assert "financial_services" in teams["sales"]["right"]


# --- planted customer effects, on the committed sample --------------------------------------------

@pytest.fixture(scope="module")
def customers():
    t = truth(SAMPLE)
    accounts = read(SAMPLE, "accounts").set_index("account_id")
    leads = read(SAMPLE, "leads")
    first = leads[leads["account_id"] != ""].groupby("account_id").head(1).set_index("account_id")
    frame = accounts.loc[sorted(t["segments"])].copy()
    for column in ("source", "job_level", "department", "campaign"):
        frame[column] = first.loc[frame.index, column]
    for column in ("employees", "annual_revenue"):
        frame[column] = frame[column].astype(float)
    frame["segment"] = pd.Series(t["segments"])
    frame["best"] = frame.index.isin(t["best_customers"])
    frame["worst"] = frame.index.isin(t["worst_customers"])
    return frame, t


def test_markers_point_the_planted_way(customers):
    frame, t = customers
    for key, column in (("best_markers", "best"), ("worst_markers", "worst")):
        for marker in t[key]:
            mask = rule_mask(marker["condition"], frame)
            with_, without = frame.loc[mask, column].mean(), frame.loc[~mask, column].mean()
            assert (with_ > without) == (marker["sign"] == "+"), marker
            assert abs(with_ - without) > 0.1, marker
    conjunction = t["conjunction"]
    margin = conjunction["share_best"] - conjunction["share_worst"]
    assert all(margin > part["share_best"] - part["share_worst"] for part in conjunction["parts"])
    for attribute in t["noise_attributes"]:
        shares = frame.groupby(attribute)["best"].agg(["mean", "size"])
        big = shares[shares["size"] >= 30]["mean"]
        assert big.max() - big.min() < 0.2, attribute


def test_segments_are_recoverable_by_clustering(customers):
    cluster = pytest.importorskip("sklearn.cluster")
    metrics = pytest.importorskip("sklearn.metrics")
    frame, _ = customers
    features = pd.concat([pd.get_dummies(frame[["industry", "source", "job_level"]]).astype(float),
                          np.log(frame[["employees", "annual_revenue"]])], axis=1)
    features = (features - features.mean()) / features.std()
    labels = cluster.KMeans(6, n_init=20, random_state=0).fit_predict(features.to_numpy())
    assert metrics.adjusted_rand_score(frame["segment"], labels) >= 0.8


# --- generating at scale: --events-per-lead (issue 14 item 4) ---------------------------------------------

#: sha256 of the files ``generate(out, 2000, 7)`` wrote before --events-per-lead and the Arrow writer existed
#: (the generator of commit 770d2b5); the default must stay byte for byte what it was.
BEFORE_2000 = {
    "accounts.csv": "f99862b3bb9ef9da095003ef9c73bf31e768eda0ef84793e9c8c0899bae0e0c2",
    "activities.csv": "015af5f758f73eb8e69ba2970f24a546b252f94460a6e89e15321fa4e92cdd8f",
    "content.csv": "1bb44745d41d0f2df74408826f25eab8a03842e3c5f232ac3d482172038ad8e1",
    "leads.csv": "c00abdc8cc9499ca5d0cec91fc60a4baa09ef1bc64c752a749a3a3e4a6c6fbab",
    "opportunities.csv": "04af43b4f6116177e9e6e3e043d40bc106c6eb7396acd0973941a4a869f1890c",
    "stages.csv": "12f05773fedaca249754413e955aeb6c363b953e5361e430c5af294935c95633",
    "truth.json": "0d6628629f2e478cf61b60be571b6eae838f2f5bc15071b40bfcf8d9a0d3c3ac",
    "truth_leads.csv": "c7ec656a606788beac2a0315b1179fa71c7e548d24202605026a58c871ffe429",
}
ENGAGEMENT_TYPES = {"email_open", "email_click", "web_visit", "content_download"}


def test_cli_default_writes_the_same_bytes_as_before(tmp_path):
    from salign import cli

    assert cli.main(["sample", "--out", str(tmp_path / "ws"), "--leads", "2000", "--seed", "7"]) == 0
    written = digests(tmp_path / "ws")
    assert {name: written[name] for name in BEFORE_2000} == BEFORE_2000


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    """The 3,000-lead sample asked for 9 events per lead (the default has about 4)."""
    return generate(tmp_path_factory.mktemp("dense"), SMALL, 7, events_per_lead=9)


def test_events_per_lead_gives_the_requested_mean(dense):
    events = len(read(dense, "stages")) + len(read(dense, "activities"))
    assert events / SMALL == pytest.approx(9, rel=0.05)
    assert events == 9 * SMALL  # by design the mean is met exactly (engagement makes up the difference)


def test_more_events_leave_the_world_and_every_default_row_as_they_were(small, dense):
    for name in ("accounts", "leads", "stages", "opportunities", "content", "truth_leads"):
        assert (dense / f"{name}.csv").read_bytes() == (small / f"{name}.csv").read_bytes(), name
    before, after = truth(small), truth(dense)
    after["content"].pop("usage_by_team"), before["content"].pop("usage_by_team")
    assert after == before  # every planted figure but the content usage counts, which count the new touches
    columns = ["at", "team", "type", "lead_id", "account_id", "content_id", "actor"]
    old, new = read(small, "activities"), read(dense, "activities")
    assert new["at"].is_monotonic_increasing and new["activity_id"].is_unique
    assert len(new) > 2 * len(old)
    before_rows, after_rows = old.groupby(columns).size(), new.groupby(columns).size()
    assert (after_rows.reindex(before_rows.index).fillna(0) >= before_rows).all()  # every default row is still there


def test_added_events_come_after_each_lead_is_judged(small, dense):
    columns = ["at", "team", "type", "lead_id", "account_id", "content_id", "actor"]
    old, new = read(small, "activities")[columns], read(dense, "activities")[columns]
    counts = old.groupby(columns).size()
    rank = new.groupby(columns).cumcount() + 1  # the k-th copy of a row is new when the default had fewer
    added = new[rank.to_numpy() > counts.reindex(pd.MultiIndex.from_frame(new)).fillna(0).to_numpy()]
    assert len(added) == len(new) - len(old)
    assert set(added["type"]) == ENGAGEMENT_TYPES and (added["team"] == "marketing").all()
    assert (added["actor"] == "").all()
    stages, leads = read(small, "stages"), read(small, "leads").set_index("lead_id")
    first_mql = utc(stages[stages["stage"] == "mql"].set_index("lead_id")["at"]).groupby(level=0).min()
    judged = first_mql.reindex(leads.index).fillna(utc(leads["created_at"]) + pd.Timedelta(days=30))
    at = utc(added["at"])
    assert (at.to_numpy() > judged.reindex(added["lead_id"]).to_numpy()).all()
    assert (at < AS_OF).all()
    content = read(small, "content").set_index("content_id")
    assert set(added["content_id"]) - {""} <= set(content.index) - set(truth(small)["content"]["unused"])


@pytest.mark.parametrize("value", ["0", "-2", "4", "nan"])
def test_events_per_lead_below_what_the_funnel_makes_is_a_usage_error(tmp_path, capsys, value):
    from salign import cli

    out = tmp_path / "ws"
    assert cli.main(["sample", "--out", str(out), "--leads", "100", f"--events-per-lead={value}"]) == cli.EXIT_USAGE
    message = capsys.readouterr().err
    assert f"--events-per-lead {value} is not allowed" in message and "at least 4.5" in message
    assert not out.exists()
    with pytest.raises(ValueError, match="at least 4.5"):
        generate(out, 100, 7, events_per_lead=float(value))


def test_events_per_lead_that_is_not_a_number_is_a_usage_error(tmp_path):
    from salign import cli

    with pytest.raises(SystemExit) as stop:
        cli.main(["sample", "--out", str(tmp_path / "ws"), "--events-per-lead", "ten"])
    assert stop.value.code == cli.EXIT_USAGE


def test_writer_quotes_free_text_and_prints_coded_pieces(tmp_path):
    from salign.sample.coded import Coded
    from salign.sample.writer import write_csv

    words = np.array(["a", "b", "c"], dtype=object)
    columns = {"id": (Coded(np.array([0, 1, 2, 0]), np.array(["X1", "X2", "X3"], dtype=object)),
                      Coded(np.array([1, 0, 1, -1]), np.array(["0", "9"], dtype=object))),
               "note": np.array(['plain', 'one, two', 'say "hi"', 'two\nlines\r'], dtype=object),
               "code": Coded(np.array([2, -1, 0, 1]), words)}
    write_csv(tmp_path / "t.csv", columns, free_text=("note",))
    assert (tmp_path / "t.csv").read_bytes() == (b'id,note,code\nX19,plain,c\nX20,"one, two",\n'
                                                 b'X39,"say ""hi""",a\n,"two\nlines\r",b\n')


def test_content_usage_in_truth_counts_the_added_touches(dense):
    activities = read(dense, "activities")
    used = activities[activities["content_id"] != ""].groupby(["content_id", "team"]).size().unstack(fill_value=0)
    expected = {cid: {"marketing": int(row.get("marketing", 0)), "sales": int(row.get("sales", 0))}
                for cid, row in used.iterrows()}
    assert truth(dense)["content"]["usage_by_team"] == expected
