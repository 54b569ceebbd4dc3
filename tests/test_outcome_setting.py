"""The outcome setting (issue 12, item 1): ``outcome:`` in workspace.yaml, its default from the stages the data
records, and one rule for "reached" shared by the qualification study and the review's funnel.

Expectations are computed from the fixture's construction (tests/stages_only.py filters data/sample's CSVs)
with plain pandas, never with salign's own functions.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from salign import cli
from salign.common import facts
from salign.core import paths
from salign.qualify import prepare
from salign.qualify.target import outcomes
from salign.review import funnel
from salign.runner import params
from salign.workspace.load import load_workspace
from salign.workspace.tables import MissingData
from tests import stages_only
from tests.conftest import TINY, write_workspace

AS_OF = pd.Timestamp("2026-10-01", tz="Europe/Berlin")  # the sample's as_of (workspace.yaml), midnight local time
WINDOW = pd.Timedelta(days=90)


def expected_reached(stages_kept=stages_only.KEPT, reached_by=("won",)) -> tuple[int, int]:
    """(mature leads, those reaching any of ``reached_by`` within 90 days), from the sample's CSVs by hand."""
    leads = pd.read_csv(paths.SAMPLE_WORKSPACE / "leads.csv", usecols=["lead_id", "created_at"])
    st = pd.read_csv(paths.SAMPLE_WORKSPACE / "stages.csv", usecols=["lead_id", "stage", "at"])
    st = st[st["stage"].isin(stages_kept)]
    created = pd.to_datetime(leads.set_index("lead_id")["created_at"], utc=True)
    first = pd.to_datetime(st[st["stage"].isin(reached_by)].groupby("lead_id")["at"].min(), utc=True)
    mature = created + WINDOW <= AS_OF
    hit = first.reindex(created.index) <= created + WINDOW
    return int(mature.sum()), int((mature & hit).sum())


@pytest.fixture(scope="module")
def stages_only_ws(tmp_path_factory):
    return stages_only.build(tmp_path_factory.mktemp("d1") / "stages_only")


@pytest.fixture(scope="module")
def stages_only_tables(stages_only_ws):
    return load_workspace(stages_only_ws)


# --------------------------------------------------------------------------- the one rule for "reached"

def test_passed_is_the_earliest_of_the_stage_or_any_later_one():
    t = pd.Timestamp
    firsts = pd.DataFrame({
        "lead": ["2026-01-01"] * 3,
        "mql": ["2026-01-02", None, "2026-01-02"],
        "sal": [None] * 3,
        "sql": [None, "2026-01-05", None],
        "opportunity": [None, "2026-01-06", None],
        "won": ["2026-02-01", None, None],
    }, index=["won_without_sql", "sql_without_mql", "mql_only"]).apply(pd.to_datetime, utc=True)
    at = facts.passed(firsts)
    # won without an sql event: it passed sal, sql and opportunity when it was won
    assert at.loc["won_without_sql", "sql"] == t("2026-02-01", tz="UTC")
    assert at.loc["won_without_sql", "sal"] == t("2026-02-01", tz="UTC")
    # an sql without an mql: it passed mql at its sql
    assert at.loc["sql_without_mql", "mql"] == t("2026-01-05", tz="UTC")
    assert pd.isna(at.loc["sql_without_mql", "won"])
    assert at.loc["mql_only"].notna().tolist() == [True, True, False, False, False, False]


def test_study_and_funnel_count_the_same_leads_past_each_stage(stages_only_tables):
    """Before issue 12, lead_facts read raw first events: the study saw 0 leads reach sql where the funnel saw
    every won lead pass it."""
    t = stages_only_tables
    lf = facts.lead_facts(t).set_index("lead_id")
    at = funnel.stage_entries(t).at
    for s in ("mql", "sal", "sql", "opportunity", "won"):
        assert lf[f"at_{s}"].notna().sum() == at[s].notna().sum(), s
    st = pd.read_csv(paths.SAMPLE_WORKSPACE / "stages.csv", usecols=["lead_id", "stage"])
    assert lf["at_sql"].notna().sum() == st.loc[st["stage"] == "won", "lead_id"].nunique() == 581


def test_outcome_on_leads_and_stages_only_is_won_and_counts_hand_computed(stages_only_tables):
    n, k = expected_reached()
    assert (n, k) == (16_938, 190)  # the fixture's figures (the report quotes them)
    frame = outcomes(stages_only_tables, None)
    assert (len(frame), int(frame["y"].sum())) == (n, k)
    # sql is not recorded, but under the rule a won lead reached sql too: same successes, not 0
    assert int(outcomes(stages_only_tables, "sql")["y"].sum()) == k


# --------------------------------------------------------------------------- the setting and its default

def test_default_outcome_is_the_furthest_recorded_qualifying_stage(stages_only_tables):
    setting = facts.outcome_setting(stages_only_tables)
    assert (setting.stage, setting.source) == ("won", "data")
    assert "581 leads have an event at won" in setting.reason  # 581 won leads in data/sample/stages.csv
    assert facts.recorded_stages(stages_only_tables) == ("lead", "mql", "won")


def test_sample_declares_sql_and_would_default_to_won():
    t = load_workspace(paths.SAMPLE_WORKSPACE)
    assert (facts.outcome_setting(t).stage, facts.outcome_setting(t).source) == ("sql", "workspace.yaml")
    undeclared = t.config.model_copy(update={"outcome": None})
    assert facts.outcome_setting(replace(t, config=undeclared)).stage == "won"  # the furthest it records
    assert facts.recorded_stages(t) == ("lead", "mql", "sal", "sql", "opportunity", "won")


def test_default_is_opportunity_when_the_data_records_it_but_not_won(tmp_path):
    t = load_workspace(stages_only.build(tmp_path / "ws", kept=("lead", "mql", "opportunity")))
    assert facts.outcome_setting(t).stage == "opportunity"
    n, k = expected_reached(("lead", "mql", "opportunity"), ("opportunity",))
    frame = outcomes(t, None)
    assert (len(frame), int(frame["y"].sum())) == (n, k)


def test_a_few_stray_events_do_not_make_a_stage_recorded(tmp_path):
    ws = stages_only.build(tmp_path / "ws")
    st = pd.read_csv(ws / "stages.csv", dtype=str, keep_default_na=False)
    won = set(st.loc[st["stage"] == "won", "lead_id"])
    mql = st[(st["stage"] == "mql") & ~st["lead_id"].isin(won)].drop_duplicates("lead_id").head(5)
    stray = mql.assign(stage="sql", at=(pd.to_datetime(mql["at"]) + pd.Timedelta(hours=1))
                       .dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    pd.concat([st, stray]).to_csv(ws / "stages.csv", index=False)
    t = load_workspace(ws)
    assert facts.stage_records(t)["sql"].events == 5
    assert facts.outcome_setting(t).stage == "won"


def test_workspace_setting_wins_over_the_default_and_the_parameter_over_both(tmp_path):
    t = load_workspace(stages_only.build(tmp_path / "ws", extra_yaml="outcome: sql\n"))
    setting = facts.outcome_setting(t)
    assert (setting.stage, setting.source) == ("sql", "workspace.yaml")
    assert "no sql events" in setting.reason
    assert facts.outcome_setting(t, "won").stage == "won"


def test_no_recorded_qualifying_stage_skips_the_study_naming_the_setting(tmp_path):
    t = load_workspace(stages_only.build(tmp_path / "ws", kept=("lead", "mql")))
    assert facts.outcome_setting(t).stage is None
    with pytest.raises(MissingData, match="set outcome: in workspace.yaml"):
        prepare(t)


@pytest.mark.parametrize("value", ["mql", "Won", "closed"])
def test_a_bad_outcome_is_refused_naming_workspace_yaml(tmp_path, capsys, value):
    ws = write_workspace(tmp_path / "tiny", {**TINY, "workspace.yaml": TINY["workspace.yaml"] + f"outcome: {value}\n"})
    assert cli.main(["validate", "--workspace", str(ws)]) != 0
    err = capsys.readouterr().err
    assert "workspace.yaml" in err and "'outcome'" in err and f"'{value}'" in err
    assert "sql, opportunity, won" in err
    assert "Traceback" not in err


def test_the_notebook_parameter_defaults_to_the_workspace():
    assert params.QualificationParams().outcome == ""
    assert params.validate("03_qualification", outcome="won").outcome == "won"
    with pytest.raises(params.ParameterError, match="outcome"):
        params.validate("03_qualification", outcome="mql")
