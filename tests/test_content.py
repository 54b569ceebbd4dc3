"""Content audit on small hand-built workspaces: every figure is checked against a count done by hand."""
import textwrap

import pandas as pd
import pytest

from salign import content
from salign.common import periods
from salign.content import journey
from salign.content.inventory import place_of
from salign.content.personas import common_tag_map
from salign.definitions.models import PersonaSet
from salign.report.html import result_html
from salign.runner import notebook
from salign.workspace.load import load_workspace
from salign.workspace.schema import TABLES
from salign.workspace.tables import MissingData
from tests.conftest import TINY, write_workspace

WORKSPACE_YAML = TINY["workspace.yaml"].replace("""\
          accounts: accounts.csv
          leads: leads.csv
          stages: stages.csv
          activities: activities.csv
          opportunities: opportunities.csv
""", """\
          leads: leads.csv
          stages: stages.csv
          activities: activities.csv
          content: content.csv
""")

CONTENT = """\
    content_id,title,type,personas,stage,owner_team,created_at,updated_at,location
    C1,Guide for marketers,ebook,marketer,awareness,marketing,2024-01-01,2025-06-01,CMS/ebooks/guide
    C2,Old pricing,pricing_sheet,marketer,decision,sales,2022-01-01,2023-01-01,Google Drive/Sales/pricing
    C3,Big company case,case_study,big_company,decision,sales,2024-01-01,2025-12-01,https://example.test/c3
    C4,Untagged blog,blog,,awareness,marketing,2025-01-01,2025-11-01,/blog/untagged
    C5,Retention tips,blog,marketer,Retention,marketing,2025-01-01,,/blog/retention
    C6,Unused datasheet,datasheet,big_company,consideration,sales,2024-01-01,2025-10-01,
    """


def _day(base: str, days: int) -> str:
    return (pd.Timestamp(base) + pd.Timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _files():
    """60 leads in two persona strata; half of each used C1 in awareness; conversion = MQL within 90 days.

    marketer (department Marketing): 10 used C1 (6 converted), 20 did not (5 converted);
    unassigned (department Sales):   10 used C1 (3 converted), 20 did not (4 converted).
    Plus distractors that must not count: a C1 use after the lead's MQL, one 120 days after creation,
    and sales uses of C3 in 2025Q4.
    """
    leads, stages, acts = ["lead_id,created_at,source,department,employees"], ["lead_id,stage,at,team"], \
        ["activity_id,at,team,type,lead_id,content_id"]
    plan = [("Marketing", True, 6, 10), ("Marketing", False, 5, 20), ("Sales", True, 3, 10), ("Sales", False, 4, 20)]
    n = 0
    for dept, used, converted, size in plan:
        for i in range(size):
            n += 1
            lid, created = f"L{n:03d}", _day("2025-03-01", n)
            leads.append(f"{lid},{created},web,{dept},{5000 if n % 2 else 100}")
            stages.append(f"{lid},lead,{created},marketing")
            if i < converted:
                stages.append(f"{lid},mql,{_day(created, 30)},marketing")
            if used:
                acts.append(f"X{n:03d},{_day(created, 5)},marketing,content_download,{lid},C1")
    # distractors on leads that did not use C1 in their first 90 days in awareness
    acts.append(f"X901,{_day('2025-03-01', 11 + 40)},marketing,content_download,L011,C1")   # after its MQL
    acts.append(f"X902,{_day('2025-03-01', 30 + 120)},marketing,content_download,L030,C1")  # 120 days in
    acts += [f"X9{k}0,2025-11-{k + 1:02d}T10:00:00Z,sales,email,L0{k + 41},C3" for k in range(3)]
    acts.append("X950,2025-11-05T10:00:00Z,marketing,web_visit,,C4")
    return {"workspace.yaml": WORKSPACE_YAML, "leads.csv": "\n".join(leads) + "\n",
            "stages.csv": "\n".join(stages) + "\n", "activities.csv": "\n".join(acts) + "\n",
            "content.csv": textwrap.dedent(CONTENT),
            "definitions/personas.marketing.yaml": TINY["definitions/personas.marketing.yaml"],
            "definitions/personas.sales.yaml": TINY["definitions/personas.sales.yaml"]}


@pytest.fixture
def hand(tmp_path):
    tables = load_workspace(write_workspace(tmp_path / "hand", _files()))
    period = periods.resolve("latest", tables)
    inv = content.inventory(tables, period.end, 365)
    choice = content.choose_personas(tables)
    return tables, period, inv, choice


def test_period_of_the_hand_workspace(hand):
    assert str(hand[1]) == "2025Q4"


def test_inventory_classifies_ages_and_places(hand):
    tables, period, inv, _ = hand
    a = inv.assets.set_index("content_id")
    assert inv.metrics()["stale"] == ["C2"]           # updated 2023-01-01; C5 falls back to created_at 2025-01-01
    assert a.at["C5", "age_days"] == (period.end - pd.Timestamp("2025-01-01", tz="UTC")).days
    assert inv.metrics()["unclassified"] == ["C4"]    # no persona; C5 has a stage, just not a buying stage
    assert inv.metrics()["other_stage"] == ["C5"]
    assert a.at["C5", "buying_stage"] is None or pd.isna(a.at["C5", "buying_stage"])
    assert list(a["place"]) == ["CMS", "Google Drive", "example.test", "website", "website", "unknown"]
    html = result_html(inv)
    assert "2026-01-01 00:00" in html and "Europe/Berlin" in html   # the cut-off in the workspace's time zone


def test_place_of():
    got = place_of(pd.Series(["CMS/a/b", "/blog/x", "https://cdn.example.test/x.pdf", None, " Drive /x"]))
    assert list(got) == ["CMS", "website", "cdn.example.test", "unknown", "Drive"]


def test_usage_by_team_quarter_unused_and_lost(hand):
    tables, period, inv, choice = hand
    use = content.usage(tables, inv, choice, period, n_quarters=4)
    m = use.metrics()
    assert m["by_asset"]["C1"] == {"marketing": 22, "sales": 0, "in_period": 0}
    assert m["by_asset"]["C3"] == {"marketing": 0, "sales": 3, "in_period": 3}
    assert m["by_quarter"]["2025Q4"] == {"marketing": 1, "sales": 3}
    assert m["by_quarter"]["2025Q1"] == {"marketing": 10, "sales": 0}
    assert m["by_quarter"]["2025Q2"] == {"marketing": 11, "sales": 0}   # counted once though L001-L010 have 2 personas
    assert m["by_quarter"]["2025Q3"] == {"marketing": 1, "sales": 0}
    assert use.unused == ["C2", "C5", "C6"]
    # no asset is used by both teams, so no type is shareable unless given
    assert use.shareable == () and m["lost"] == {}
    given = content.usage(tables, inv, choice, period, shareable="ebook, case_study")
    assert given.metrics()["lost"] == {"C1": "marketing", "C3": "sales"}
    assert given.lost.set_index("content_id").at["C3", "share_with"] == "marketing"
    # the lead's persona and buying stage at the time: L041-L043 are Sales-department leads with 5,000 or 100 staff
    seg = use.segments[use.segments["quarter"] == "2025Q4"]
    assert seg.groupby("persona")["uses"].sum().to_dict() == {"big_company": 2, "no lead": 1, "unassigned": 1}
    assert set(seg["buying_stage"]) == {"consideration", "no lead"}   # L041-L043 reached MQL in 2025Q2


def test_stage_at_follows_the_latest_funnel_event():
    stages = pd.DataFrame({"lead_id": ["A", "A", "A", "A"], "stage": ["lead", "mql", "rejected", "sql"],
                           "at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"], utc=True)})
    touches = pd.to_datetime(["2024-12-01", "2025-01-15", "2025-02-15", "2025-03-15", "2025-05-01", "2025-05-01"],
                             utc=True)
    got = journey.stage_at(stages, pd.Series(["A", "A", "A", "A", "A", None]), pd.Series(touches))
    assert list(got) == ["unknown", "awareness", "consideration", "awareness", "decision", "no lead"]
    entered = journey.entries(stages)
    assert entered.loc["A", "consideration"] == pd.Timestamp("2025-02-01", tz="UTC")
    assert entered.loc["A", "decision"] == pd.Timestamp("2025-04-01", tz="UTC") and pd.isna(entered.loc["A", "won"])
    assert journey.next_entry(entered, "awareness")["A"] == pd.Timestamp("2025-02-01", tz="UTC")


def test_influence_matches_a_hand_computed_mantel_haenszel_odds_ratio(hand):
    tables, period, inv, choice = hand
    res = content.influence(tables, inv, choice, period, window_days=90, min_leads=20)
    row = res.pairs.set_index(["stage", "content_id"]).loc[("awareness", "C1")]
    assert (row["touched_k"], row["touched_n"]) == (9, 20)
    assert (row["comparable_k"], row["comparable_n"]) == (9, 40)
    # marketer: a=6 b=4 c=5 d=15; unassigned: a=3 b=7 c=4 d=16; n=30 each
    assert row["odds_ratio"] == pytest.approx((6 * 15 / 30 + 3 * 16 / 30) / (4 * 5 / 30 + 7 * 4 / 30))
    assert row["or_low"] < row["odds_ratio"] < row["or_high"] and 0 < row["q"] <= 1
    m = res.metrics()
    assert m["tested"] == 1 and m["pairs"]["C1@awareness"]["touched"]["n"] == 20
    assert "association, not cause" in result_html(res)
    assert content.influence(tables, inv, choice, period, min_leads=21).pairs.empty


def test_matrix_gaps_and_plan(hand, tmp_path):
    tables, period, inv, choice = hand
    use = content.usage(tables, inv, choice, period)
    matrix = content.content_matrix(tables, inv, choice, period)
    gaps = {(p, s): r for p, s, r in zip(matrix.gaps["persona"], matrix.gaps["stage"], matrix.gaps["reason"])}
    assert gaps == {("marketer", "consideration"): "no asset", ("marketer", "decision"): "only stale assets",
                    ("big_company", "awareness"): "no asset"}
    # leads per quarter over 2025Q1-2025Q4: 60 leads created, 18 MQLs, no SQL; big_company = 5,000 staff = odd
    # lead numbers (30 leads); marketer = Marketing department (L001-L030, 11 MQLs)
    cells = matrix.cells.set_index(["persona", "stage"])
    assert cells.at[("big_company", "awareness"), "leads_per_quarter"] == 30 / 4
    assert cells.at[("marketer", "awareness"), "leads_per_quarter"] == 30 / 4
    assert cells.at[("marketer", "consideration"), "leads_per_quarter"] == 11 / 4
    assert cells.at[("marketer", "decision"), "leads_per_quarter"] == 0
    assert list(matrix.gaps["persona"]) == ["big_company", "marketer", "marketer"]   # most leads first, then order
    assert cells.at[("big_company", "decision"), "uses_in_period"] == 3
    path = content.write_gaps(matrix, tmp_path)
    assert path.metrics()["rows"] == 3 and (tmp_path / content.GAPS_FILE).exists()
    plan = content.messaging_plan(matrix, inv, use, choice)
    actions = plan.items.set_index("what")["action"].to_dict()
    assert actions["C2 Old pricing"] == "refresh to fill gap"
    assert actions["consideration content for marketer"] == "fill gap"
    assert actions["C4 Untagged blog"] == "classify"
    assert actions["C6 Unused datasheet"] == "promote or retire"
    assert plan.items.set_index("what").at["awareness content for big_company", "owner"] == "sales"


def test_no_content_table_says_what_it_needs(tiny_workspace):
    tables = load_workspace(tiny_workspace)
    period = periods.resolve("latest", tables)
    with pytest.raises(MissingData) as err:
        content.inventory(tables, period.end)
    for col in TABLES["content"].columns:
        assert col.name in str(err.value)
    assert "needs the 'content' table" in str(err.value)


def test_common_set_maps_team_tags_through_evidence(hand, tmp_path):
    tables, period, inv, _ = hand
    common = PersonaSet.model_validate({"version": 1, "team": "common", "personas": [
        {"id": "marketing_leader", "name": "Marketing leader", "rule": {"field": "department", "in": ["Marketing"]},
         "evidence": {"team_personas": ["marketing.marketer"], "customers": 3}},
        {"id": "enterprise", "name": "Enterprise", "rule": {"field": "employees", "min": 1000},
         "evidence": {"from": "sales persona big_company, segment 2"}}]})
    assert common_tag_map(common, {"marketer": "marketing", "big_company": "sales"}) == {
        "marketing_leader": ("marketing_leader",), "enterprise": ("enterprise",), "marketer": ("marketing_leader",),
        "big_company": ("enterprise",)}
    adopted = tmp_path / "hand" / "definitions" / "personas.common.yaml"
    adopted.write_text(
        "version: 1\nteam: common\npersonas:\n"
        "  - id: marketing_leader\n    name: Marketing leader\n    rule: {field: department, in: [Marketing]}\n"
        "    evidence: {team_persona: marketing.marketer}\n"
        "  - id: enterprise\n    name: Enterprise\n    rule: {field: employees, min: 1000}\n"
        "    evidence: {team_persona: sales.big_company}\n")
    team = content.choose_personas(tables)  # loaded before adoption: the team sets
    assert not team.common and team.ids == ["marketer", "big_company"]
    assert team.leads.loc["L001", "label"] == "marketer+big_company"
    tables = load_workspace(tmp_path / "hand")
    choice = content.choose_personas(tables)
    assert choice.common and choice.ids == ["marketing_leader", "enterprise"]
    assert "adopted" in choice.source
    assert choice.leads.loc["L001", "label"] == "marketing_leader"   # first match: Marketing before 5,000 staff
    matrix = content.content_matrix(tables, inv, choice, period)
    assert matrix.matrix.loc["marketing_leader", "awareness"] == 1      # C1, tagged with the team id 'marketer'
    assert matrix.matrix.loc["enterprise", "decision"] == 1             # C3, tagged 'big_company'
    assert matrix.unknown_tags == {}


def test_notebook_sections_skip_with_reasons_without_content(tiny_workspace, tmp_path):
    ctx = notebook.start("02_content_audit", workspace=str(tiny_workspace), output_dir=str(tmp_path))
    inv = ctx.attempt(content.inventory, ctx.tables, ctx.period.end, key="content_inventory")
    personas = ctx.attempt(content.choose_personas, ctx.tables, key="personas_used")
    matrix = ctx.attempt(content.content_matrix, ctx.tables, inv, personas, ctx.period, key="content_matrix")
    ctx.attempt(content.write_gaps, matrix, ctx.out, key="write_gaps")
    skipped = ctx.metrics
    assert "content_id (required)" in skipped["content_inventory"]["skipped"]
    assert "content" in skipped["content_matrix"]["skipped"] and "skipped" in skipped["write_gaps"]
    assert not (tmp_path / content.GAPS_FILE).exists()
    assert personas.ids == ["marketer", "big_company"]


def _run_all(folder):
    tables = load_workspace(folder)
    period = periods.resolve("latest", tables)
    inv = content.inventory(tables, period.end)
    choice = content.choose_personas(tables)
    use = content.usage(tables, inv, choice, period)
    infl = content.influence(tables, inv, choice, period)
    matrix = content.content_matrix(tables, inv, choice, period)
    plan = content.messaging_plan(matrix, inv, use, choice)
    for result in (inv, choice, use, infl, matrix, plan):
        assert result_html(result) and result.metrics() is not None
    for result in (use, infl, matrix):
        assert result.figure() is not None
    return inv, use, infl, matrix


def test_activities_that_use_no_asset(tmp_path):
    files = _files()
    lines = files["activities.csv"].splitlines()
    files["activities.csv"] = "\n".join([lines[0]] + [row.rsplit(",", 1)[0] + "," for row in lines[1:]]) + "\n"
    inv, use, infl, matrix = _run_all(write_workspace(tmp_path / "ws", files))
    assert use.unused == sorted(inv.assets["content_id"]) and use.metrics()["touches"] == 0
    assert infl.pairs.empty and infl.metrics()["tested"] == 0
    assert len(matrix.gaps) == 3   # the same gaps: they depend on the inventory, not on use


def test_content_with_only_the_required_columns(tmp_path):
    files = _files()
    files["content.csv"] = "content_id,title,type\nC1,Guide,ebook\nC3,Case,case_study\nC4,Blog,blog\n"
    inv, use, infl, matrix = _run_all(write_workspace(tmp_path / "ws", files))
    assert inv.metrics()["unclassified"] == ["C1", "C3", "C4"]
    assert inv.metrics()["stale"] == ["C1", "C3", "C4"]     # no dates: nobody can say they are current
    assert len(matrix.gaps) == len(matrix.cells) == 6
