"""Labels from the stages present (issue 12, items 2 and 3): on data whose funnel is lead -> mql -> won, no page,
fix-list item or headline names SAL, SQL or opportunity, and ``salign review`` alone gives a qualification page
and a proposed qualification.yaml.

The fixture (tests/stages_only.py) keeps only the lead, mql and won events of data/sample; expected figures are
computed from the sample's CSVs with plain pandas.
"""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from salign import cli
from salign.common import periods
from salign.core import paths
from salign.report.html import result_html
from salign.review import changes, fixlist, funnel
from salign.workspace.load import load_workspace
from tests import stages_only

#: a stage the fixture does not record, named on a page (as a word: "opportunities", the table, is fine)
ABSENT = re.compile(r"\b(sals?|sqls?|opportunity)\b", re.IGNORECASE)
TZ = "Europe/Berlin"
Q3 = (pd.Timestamp("2026-07-01", tz=TZ), pd.Timestamp("2026-10-01", tz=TZ))
AS_OF = pd.Timestamp("2026-10-01", tz=TZ)
WINDOW = pd.Timedelta(days=90)


def hand_funnel() -> dict[str, int]:
    """Leads created in 2026Q3 and how many passed mql and won within 90 days (before the data's end), by hand:
    passing mql means an mql or a won event (the funnel's rule), from the sample's CSVs."""
    leads = pd.read_csv(paths.SAMPLE_WORKSPACE / "leads.csv", usecols=["lead_id", "created_at"])
    st = pd.read_csv(paths.SAMPLE_WORKSPACE / "stages.csv", usecols=["lead_id", "stage", "at"])
    created = pd.to_datetime(leads.set_index("lead_id")["created_at"], utc=True)
    first = {s: pd.to_datetime(st[st["stage"] == s].groupby("lead_id")["at"].min(), utc=True).reindex(created.index)
             for s in ("mql", "won")}
    cohort = (created >= Q3[0]) & (created < Q3[1])
    mql = first["mql"].where(first["mql"].notna() & (first["mql"] <= first["won"].fillna(first["mql"])), first["won"])
    return {"lead": int(cohort.sum()), "mql": int((cohort & (mql <= created + WINDOW) & (mql < AS_OF)).sum()),
            "won": int((cohort & (first["won"] <= created + WINDOW) & (first["won"] < AS_OF)).sum())}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return stages_only.build(tmp_path_factory.mktemp("d1-labels") / "stages_only")


@pytest.fixture(scope="module")
def tables(ws):
    return load_workspace(ws)


@pytest.fixture(scope="module")
def q3(tables):
    return periods.resolve("2026Q3", tables)


def test_the_funnel_shows_only_the_recorded_stages_with_hand_counts(tables, q3):
    f = funnel.cohort_funnel(tables, q3)
    assert list(f.table["stage"]) == ["lead", "mql", "won"]
    assert dict(zip(f.table["stage"], f.table["k"])) == hand_funnel()


def test_stage_steps_join_the_recorded_stages(tables, q3):
    c = funnel.stage_conversion(tables, q3)
    assert list(zip(c.table["stage"], c.table["next"])) == [("lead", "mql"), ("mql", "won")]
    note = BeautifulSoup(result_html(c), "html.parser").get_text(" ")
    assert "skipped stages mql 0;" in note and not ABSENT.search(note)  # metrics keep every stage's count
    assert list(funnel.time_in_stage(tables, q3).durations) == ["lead", "mql"]


def test_the_key_conversion_is_named_after_the_recorded_stages(tables, q3):
    assert funnel.conversion_key(tables) == ("mql", "won", "mql_to_won", "MQL to won")
    found, _ = changes.snapshot(tables, q3)
    assert "mql_to_won" in found and "mql_to_sql" not in found
    assert changes.spec("mql_to_won")[2] == "MQL to won conversion"
    v = funnel.volumes(tables, q3)
    assert {"sal", "sql", "opportunity"}.isdisjoint(v.table.columns)
    assert not ABSENT.search(v.figure_description)


def test_the_fix_list_names_no_absent_stage(tables, q3):
    stages = funnel.mature_stage_conversion(tables, q3)
    fixes = fixlist.fix_list({"stages": stages}, q3)
    whats = list(fixes.items["what"])
    assert whats == ["Strengthen the weakest stage: mql to won"]  # lead -> mql is left out; mql -> won remains
    assert not any(ABSENT.search(w) for w in whats)


def test_sample_keeps_every_stage_and_mql_to_sql():
    t = load_workspace(paths.SAMPLE_WORKSPACE)
    assert funnel.conversion_key(t)[2] == "mql_to_sql"
    assert funnel.stage_entries(t).stages == ("lead", "mql", "sal", "sql", "opportunity", "won")


@pytest.mark.slow
def test_review_alone_qualifies_leads_and_stages_only_data_naming_no_absent_stage(ws, tmp_path):
    out = tmp_path / "reports"
    assert cli.main(["review", "--workspace", str(ws), "--out", str(out), "--period", "2026Q3"]) == 0
    period = out / "2026Q3"
    nb = json.loads((period / "metrics.json").read_text(encoding="utf-8"))["notebooks"]
    target = nb["03_qualification"]["sections"]["target"]
    # 190 of the 16,938 mature leads were won within 90 days (test_outcome_setting computes it from the CSVs)
    assert (target["outcome"], target["base_rate"]["k"], target["n_leads"]) == ("won", 190, 16_938)
    assert "definition" not in nb["03_qualification"]["skipped"]
    assert (period / "qualification.yaml").is_file()
    assert (period / "03_qualification.html").is_file()
    assert "mql_to_won" in nb["04_quarterly_review"]["headline"]
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for tag in soup(["script", "style"]):
            tag.decompose()
        texts = [soup.get_text(" ")] + [img.get("alt", "") for img in soup.find_all("img")]
        for text in texts:
            hit = ABSENT.search(text)
            assert hit is None, f"{page.name} names {hit.group(0)!r}: ...{text[max(0, hit.start() - 80):hit.end() + 40]}"
    definition = (period / "qualification.yaml").read_text(encoding="utf-8")
    assert not ABSENT.search(definition)


def test_without_mqls_the_key_conversion_starts_at_the_lead(tmp_path):
    """A history of lead, sql and won (as an import of X Education gives): no MQL to name."""
    t = load_workspace(stages_only.build(tmp_path / "ws", kept=("lead", "sql", "won")))
    # the outcome defaults to the furthest recorded stage (won); declared sql, the conversion ends there
    assert funnel.conversion_key(t) == ("lead", "won", "lead_to_won", "lead to won")
    t = load_workspace(stages_only.build(tmp_path / "ws2", kept=("lead", "sql", "won"), extra_yaml="outcome: sql\n"))
    assert funnel.conversion_key(t) == ("lead", "sql", "lead_to_sql", "lead to SQL")
    assert changes.spec("lead_to_sql")[2] == "Lead to SQL conversion"
