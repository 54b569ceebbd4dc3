"""The two real third-party datasets import through the committed mapping files and load as workspaces.

Expected counts are read from the raw export files with the csv module, never through salign.
"""
import csv
import hashlib
import json
import re
from collections import Counter

import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

from salign import cli
from salign.core import paths
from salign.imports import import_mapping
from salign.workspace import load_workspace

MAPPINGS = paths.PROJECT_ROOT / "data" / "mappings"


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _rows(path) -> list[dict[str, str]]:
    """A raw CSV file of an export, as text."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _maven_kept(pipeline: list[dict]) -> list[dict]:
    """The pipeline rows the mapping keeps: all but prospecting deals without an engage_date."""
    return [r for r in pipeline if not (r["deal_stage"] == "Prospecting" and not r["engage_date"])]


def _balanced(report: dict) -> None:
    for name, t in report["tables"].items():
        assert t["rows_in"] == t["loaded"] + t["quarantined"] + sum(t["dropped"].values()), name


@pytest.mark.real_data
def test_maven_crm_imports_and_loads(real_data, tmp_path):
    src = real_data / "maven_crm"
    before = _digest(src)
    tables, report = import_mapping(MAPPINGS / "maven_crm.yaml", tmp_path / "maven")
    assert _digest(src) == before  # the inputs are never modified
    loaded = load_workspace(tmp_path / "maven")
    pipeline = _rows(src / "sales_pipeline.csv")
    kept = _maven_kept(pipeline)
    stages = Counter(r["deal_stage"] for r in kept)
    products = {r["product"] for r in _rows(src / "products.csv")}
    assert len(loaded.accounts) == len(_rows(src / "accounts.csv")) and len(loaded.opportunities) == len(kept)
    assert loaded.config.currency == "USD" and loaded.as_of == pd.Timestamp("2018-01-01", tz="UTC")
    opp = loaded.opportunities
    assert opp["outcome"].value_counts().to_dict() == {"won": stages["Won"], "lost": stages["Lost"],
                                                      "open": stages["Engaging"] + stages["Prospecting"]}
    assert set(opp["product"]) == products  # GTXPro reconciled
    assert opp.loc[opp["outcome"] == "lost", "amount"].isna().all()  # a lost deal's 0 is not its size
    first = next(r for r in kept if r["opportunity_id"] == "1C1I7A6R")  # at Cancity: one word, its id in lower case
    assert opp.loc[opp["opportunity_id"] == first["opportunity_id"], "account_id"].item() == first["account"].lower()
    assert opp.loc[opp["opportunity_id"] == first["opportunity_id"], "created_at"].item() == pd.Timestamp(
        first["engage_date"], tz="UTC")
    # engaging deals without an account stay unassigned
    assert opp["account_id"].isna().sum() == sum(not r["account"] for r in kept) > 0
    assert "technolgy" not in set(loaded.accounts["industry"])
    data = json.loads((tmp_path / "maven" / "import_report.json").read_text())
    _balanced(data)
    assert data["tables"]["opportunities"]["dropped"] == {
        "prospecting deal without engage_date (the export holds no date for it, so it belongs to no period)":
            len(pipeline) - len(kept)}
    repairs = {(r["column"], r["rule"]): r["count"] for r in data["repairs"] if r["rule"] != "value-map"}
    assert repairs == {
        ("amount", "made-missing"): sum(r["deal_stage"] == "Lost" and r["close_value"] == "0" for r in kept),
        ("product", "reconciled"): sum(r["product"] not in products for r in kept)}


@pytest.mark.real_data
def test_x_education_imports_and_loads(real_data, tmp_path):
    src = real_data / "x_education_leads"
    before = _digest(src)
    tables, report = import_mapping(MAPPINGS / "x_education.yaml", tmp_path / "xed")
    assert _digest(src) == before
    loaded = load_workspace(tmp_path / "xed")
    leads, stages = loaded.leads, loaded.stages
    raw = _rows(src / "Leads.csv")
    assert len(leads) == len(raw)
    assert leads["created_at"].nunique() == 1  # no dates: one declared constant
    converted = pd.read_csv(src / "Leads.csv", usecols=["Prospect ID", "Converted"])
    won = set(converted.loc[converted["Converted"] == 1, "Prospect ID"])
    assert set(stages.loc[stages["stage"] == "won", "lead_id"]) == won
    assert set(stages.loc[stages["stage"] == "sql", "lead_id"]) == won
    assert (stages["stage"] == "lead").sum() == len(raw)
    for leaky in ("tags", "lead_quality", "last_activity", "last_notable_activity"):
        assert leaky in leads.columns
    assert "converted" not in leads.columns  # the outcome is in stages, not an attribute
    assert not leads.isin(["Select"]).any().any()
    data = json.loads((tmp_path / "xed" / "import_report.json").read_text())
    _balanced(data)
    placeholders = data["files"]["leads"]["placeholders"]
    for column in ("Specialization", "City"):
        assert placeholders[column] == {"Select": sum(r[column] == "Select" for r in raw)}, column
    assert {r["rule"]: r["count"] for r in data["repairs"] if r["column"] == "source"} == {
        "value-map": sum(r["Lead Source"] == "google" for r in raw), "default": sum(not r["Lead Source"] for r in raw)}
    assert any("constant 2020-01-01" in n for n in data["notes"])


@pytest.mark.real_data
def test_cli_import_from_another_directory(real_data, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the mapping's relative source path must not depend on the current directory
    out = tmp_path / "ws"
    assert cli.main(["import", "--mapping", str(MAPPINGS / "maven_crm.yaml"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    rows_in = len(_rows(real_data / "maven_crm" / "sales_pipeline.csv"))
    assert re.search(rf"opportunities rows in +{rows_in:,}\b", text) and "quarantined" in text
    assert (out / "quarantine.csv").exists() and (out / "import_report.json").exists()


def test_the_documented_mapping_example_is_valid():
    """The mapping language example in docs/bring-your-own-data.md parses against the model."""
    import re

    import yaml

    from salign.imports.spec import Mapping

    doc = (paths.PROJECT_ROOT / "docs" / "bring-your-own-data.md").read_text()
    block = re.search(r"### The mapping language\s+```yaml\n(.*?)```", doc, flags=re.S).group(1)
    mapping = Mapping.model_validate(yaml.safe_load(block))
    assert mapping.tables["stages"].also[0].from_ == "status_history"
    for name in ("maven_crm", "x_education"):
        Mapping.model_validate(yaml.safe_load((MAPPINGS / f"{name}.yaml").read_text()))


@pytest.mark.real_data
def test_funnel_runs_on_x_education(real_data, tmp_path):
    """X Education has no mql, sal or opportunity events; the funnel still runs and converted leads reach sql and won."""
    from salign.common import periods
    from salign.review import funnel

    tables, _ = import_mapping(MAPPINGS / "x_education.yaml", tmp_path / "xed")
    raw = _rows(real_data / "x_education_leads" / "Leads.csv")
    m = funnel.cohort_funnel(tables, periods.Quarter.parse("2020Q1")).metrics()
    assert m["lead"]["n"] == len(raw) and m["sql"]["k"] == m["won"]["k"] == sum(r["Converted"] == "1" for r in raw)


@pytest.mark.real_data
def test_stage_conversion_figure_on_x_education(real_data, tmp_path):
    """Every sql lead is won there: a 100% rate whose interval must still contain it (error bars >= 0)."""
    from salign.common import periods
    from salign.review import funnel

    tables, _ = import_mapping(MAPPINGS / "x_education.yaml", tmp_path / "xed")
    raw = _rows(real_data / "x_education_leads" / "Leads.csv")
    converted = sum(r["Converted"] == "1" for r in raw)
    result = funnel.stage_conversion(tables, periods.Quarter.parse("2020Q1"))
    # the mapping records lead, sql and won: the funnel shows those steps only (lead -> sql -> won)
    assert [(r.k, r.n) for r in result.table.itertuples()] == [(converted, len(raw)), (converted, converted)]
    ax = result.figure().axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == pytest.approx([converted / len(raw), 1.0])
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segments = bars.lines[2][0].get_segments()  # one vertical line per bar: [(x, low), (x, high)]
    assert all(low <= height <= high for ((_, low), (_, high)), height in zip(segments, heights))
