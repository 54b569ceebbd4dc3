"""Issue 13 item 2: a quarter's report is true to its period.

A workspace cut by hand at the end of 2026Q2 (what an export made on 2026-07-01 would hold) and the full sample
(data to 2026-10-01) give the same 2026Q2 figures in metrics.json, apart from the ones labelled as cohort
follow-up (``*_followed_up``, each with ``followed_up_to``), which only the full sample has.

The cut is made here with plain CSV filtering (the csv module, strings compared as written), independent of
salign's own cut (:func:`salign.common.periods.known_at`).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from salign import cli
from salign.common import periods
from salign.core import paths
from salign.workspace import snapshot

pytestmark = pytest.mark.slow

SAMPLE = paths.SAMPLE_WORKSPACE
TZ = ZoneInfo("Europe/Berlin")  # the sample's workspace time zone (workspace.yaml)
CUT_DAY = "2026-07-01"  # the first day after 2026Q2, local
#: the cut-off as the sample writes times ("%Y-%m-%dT%H:%M:%SZ", UTC): 2026-07-01 00:00 in Berlin
CUT = dt.datetime(2026, 7, 1, tzinfo=TZ).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
#: figures that describe the run, not the quarter
NOT_FIGURES = ("workspace_fingerprint",)


def read(folder: Path, name: str) -> tuple[list[str], list[dict]]:
    with open(folder / f"{name}.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
        return list(rows[0].keys()) if rows else [], rows


def write(folder: Path, name: str, columns: list[str], rows: list[dict]) -> None:
    with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def late(value: str, bound: str = CUT) -> bool:
    """A non-empty time or date at or after the cut (both as the sample writes them, so strings compare)."""
    return value != "" and value >= bound


def cut_workspace(dest: Path) -> Path:
    """data/sample as an export made at the end of 2026Q2 would hold it."""
    dest.mkdir(parents=True)
    shutil.copytree(SAMPLE / "definitions", dest / "definitions")
    yaml = (SAMPLE / "workspace.yaml").read_text(encoding="utf-8")
    assert 'as_of: "2026-10-01"' in yaml
    (dest / "workspace.yaml").write_text(yaml.replace('as_of: "2026-10-01"', f'as_of: "{CUT_DAY}"'), encoding="utf-8")

    cols, acts = read(SAMPLE, "activities")
    # the owner of a lead is known at the cut only if the lead was assigned to that owner before it
    assigned = {}
    for a in acts:
        if a["type"] == "assignment" and a["lead_id"]:
            assigned.setdefault((a["lead_id"], a["actor"]), []).append(a["at"])
    write(dest, "activities", cols, [a for a in acts if not late(a["at"])])

    cols, leads = read(SAMPLE, "leads")
    kept = []
    for r in leads:
        if late(r["created_at"]):
            continue
        if late(r["lead_quality_set_at"]):
            r["lead_quality"] = r["lead_quality_set_at"] = ""
        times = assigned.get((r["lead_id"], r["owner"]))
        if r["owner"] and times and min(times) >= CUT:
            r["owner"] = ""
        kept.append(r)
    write(dest, "leads", cols, kept)

    cols, stages = read(SAMPLE, "stages")
    write(dest, "stages", cols, [r for r in stages if not late(r["at"])])

    cols, opps = read(SAMPLE, "opportunities")
    kept = []
    for r in opps:
        if late(r["created_at"]):
            continue
        if late(r["closed_at"]):  # still open at the cut
            r["closed_at"], r["outcome"], r["loss_reason"] = "", "open", ""
        kept.append(r)
    write(dest, "opportunities", cols, kept)

    for name, stamp in (("accounts", "churned_at"), ("content", "updated_at")):  # dates, local
        cols, rows = read(SAMPLE, name)
        kept = [r for r in rows if not late(r["created_at"], CUT_DAY)]
        for r in kept:
            if late(r[stamp], CUT_DAY):
                r[stamp] = ""
        write(dest, name, cols, kept)
    return dest


def flat(doc, path=()):
    """Every leaf of a metrics document as (path, value)."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from flat(v, path + (str(k),))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from flat(v, path + (str(i),))
    else:
        yield path, doc


def figures(doc) -> dict:
    """The quarter's figures: every leaf except follow-up ones and those describing the run."""
    return {"/".join(p): v for p, v in flat(doc)
            if not any("followed_up" in k for k in p) and p[-1] not in NOT_FIGURES}


def unequal(cut: dict, full: dict) -> list[str]:
    a, b = figures(cut), figures(full)
    return sorted(k for k in a.keys() | b.keys() if a.get(k, "<absent>") != b.get(k, "<absent>"))


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """(metrics of the cut workspace, metrics of the full sample), each reviewed for 2026Q2."""
    root = tmp_path_factory.mktemp("true-to-period")
    ws = cut_workspace(root / "cut")
    out = {}
    for label, folder in (("cut", ws), ("full", SAMPLE)):
        assert cli.main(["review", "--workspace", str(folder), "--out", str(root / f"reports-{label}"),
                         "--period", "2026Q2"]) == 0
        out[label] = json.loads((root / f"reports-{label}" / "2026Q2" / "metrics.json").read_text(encoding="utf-8"))
    return out["cut"], out["full"]


def test_the_cut_drops_what_came_after_the_quarter(tmp_path):
    ws = cut_workspace(tmp_path / "cut")
    _, leads = read(ws, "leads")
    _, stages = read(ws, "stages")
    _, opps = read(ws, "opportunities")
    assert leads and max(r["created_at"] for r in leads) < CUT
    assert max(r["at"] for r in stages) < CUT
    assert {r["outcome"] for r in opps if r["closed_at"] == ""} == {"open"}
    _, full = read(SAMPLE, "leads")
    assert len(leads) < len(full)  # the sample goes on after 2026Q2


def test_a_quarter_rerun_after_more_data_gives_the_same_figures(both):
    cut, full = both
    differ = unequal(cut, full)
    assert not differ, f"{len(differ)} figures of 2026Q2 differ between the cut and the full sample: {differ[:20]}"
    # the comparison is not vacuous: every notebook reports figures, and the review's main ones are there
    assert set(full["notebooks"]) == {"01_personas", "02_content_audit", "03_qualification", "04_quarterly_review"}
    f = figures(full)
    assert len(f) > 500
    assert "notebooks/04_quarterly_review/sections/stuck_leads/stuck" in f


def test_cohort_follow_up_is_labelled_and_only_where_there_is_later_data(both):
    cut, full = both
    sections = full["notebooks"]["04_quarterly_review"]["sections"]
    followed = {k for k in sections if k.endswith("_followed_up")}
    assert followed == {"cohort_funnel_followed_up", "stage_conversion_followed_up", "deal_conversion_followed_up"}
    assert all(sections[k]["followed_up_to"] == "2026-10-01" for k in followed)
    assert not any(k.endswith("_followed_up") for k in cut["notebooks"]["04_quarterly_review"]["sections"])
    # followed up, the 2026Q2 cohorts have had their window: more of them converted than by the quarter's end
    at_end = sections["stage_conversion"]["conversion"]["mql_to_sal"]
    later = sections["stage_conversion_followed_up"]["conversion"]["mql_to_sal"]
    assert at_end["n"] == later["n"] and later["k"] > at_end["k"]
    assert later["mature"] == later["n"] > at_end["mature"]


def test_leads_waiting_with_no_owner_are_counted_at_the_quarters_end(both):
    """The issue's example: the 2026Q2 review quoted leads waiting with no owner at 2026-10-01."""
    _, full = both
    sections = full["notebooks"]["04_quarterly_review"]["sections"]
    stuck = [i for i in sections["fix_list"]["items"] if i["kind"] == "stuck_leads"]
    assert stuck and all("at 2026-07-01 00:00" in i["evidence"] for i in stuck)
    assert sections["stage_conversion"]["cutoff"].startswith("2026-07-01T00:00:00")
    assert sections["stage_conversion_followed_up"]["cutoff"].startswith("2026-10-01T00:00:00")


def test_the_tables_as_known_at_the_quarters_end_are_the_cut_workspaces(tmp_path):
    """salign's own cut (:func:`salign.common.periods.known_at`) of the full sample holds what the hand-cut export
    holds, table by table and cell by cell; the latest period is not cut at all."""
    full = snapshot.load(str(SAMPLE)).tables
    cut = snapshot.load(str(cut_workspace(tmp_path / "cut"))).tables
    q2 = periods.Quarter.parse("2026Q2", 1, "Europe/Berlin")
    known = periods.known_at(full, periods.cutoff(q2, full))
    assert known.as_of == cut.as_of == full.as_of - (full.as_of - q2.end)
    for name in ("accounts", "leads", "stages", "activities", "opportunities", "content"):
        ours, theirs = getattr(known, name).reset_index(drop=True), getattr(cut, name).reset_index(drop=True)
        assert list(ours.columns) == list(theirs.columns), name
        assert ours.shape == theirs.shape, name
        for col in ours.columns:
            a, b = ours[col].astype(object), theirs[col].astype(object)
            same = (a == b) | (a.isna() & b.isna())
            assert same.all(), f"{name}.{col}: {int((~same).sum())} cells differ"
    q3 = periods.Quarter.parse("2026Q3", 1, "Europe/Berlin")
    assert periods.known_at(full, periods.cutoff(q3, full)) is full
