"""The two real third-party datasets import through the committed mapping files and load as workspaces."""
import hashlib
import json

import pandas as pd
import pytest

from salign import cli
from salign.core import paths
from salign.imports import import_mapping
from salign.workspace import load_workspace

MAPPINGS = paths.PROJECT_ROOT / "data" / "mappings"


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


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
    assert len(loaded.accounts) == 85 and len(loaded.opportunities) == 8300
    assert loaded.config.currency == "USD" and loaded.as_of == pd.Timestamp("2018-01-01", tz="UTC")
    opp = loaded.opportunities
    assert opp["outcome"].value_counts().to_dict() == {"won": 4238, "lost": 2473, "open": 1589}
    assert set(opp["product"]) == set(pd.read_csv(src / "products.csv")["product"])  # GTXPro reconciled
    assert opp.loc[opp["outcome"] == "lost", "amount"].isna().all()  # a lost deal's 0 is not its size
    assert opp.loc[opp["opportunity_id"] == "1C1I7A6R", "account_id"].item() == "cancity"
    assert opp.loc[opp["opportunity_id"] == "1C1I7A6R", "created_at"].item() == pd.Timestamp("2016-10-20", tz="UTC")
    assert opp["account_id"].isna().sum() == 1088  # engaging deals without an account stay unassigned
    assert "technolgy" not in set(loaded.accounts["industry"])
    data = json.loads((tmp_path / "maven" / "import_report.json").read_text())
    _balanced(data)
    assert data["tables"]["opportunities"]["dropped"] == {
        "prospecting deal without engage_date (the export holds no date for it, so it belongs to no period)": 500}
    repairs = {(r["column"], r["rule"]): r["count"] for r in data["repairs"] if r["rule"] != "value-map"}
    assert repairs == {("amount", "made-missing"): 2473, ("product", "reconciled"): 1400}


@pytest.mark.real_data
def test_x_education_imports_and_loads(real_data, tmp_path):
    src = real_data / "x_education_leads"
    before = _digest(src)
    tables, report = import_mapping(MAPPINGS / "x_education.yaml", tmp_path / "xed")
    assert _digest(src) == before
    loaded = load_workspace(tmp_path / "xed")
    leads, stages = loaded.leads, loaded.stages
    assert len(leads) == 9240
    assert leads["created_at"].nunique() == 1  # no dates: one declared constant
    converted = pd.read_csv(src / "Leads.csv", usecols=["Prospect ID", "Converted"])
    won = set(converted.loc[converted["Converted"] == 1, "Prospect ID"])
    assert set(stages.loc[stages["stage"] == "won", "lead_id"]) == won
    assert set(stages.loc[stages["stage"] == "sql", "lead_id"]) == won
    assert (stages["stage"] == "lead").sum() == 9240
    for leaky in ("tags", "lead_quality", "last_activity", "last_notable_activity"):
        assert leaky in leads.columns
    assert "converted" not in leads.columns  # the outcome is in stages, not an attribute
    assert not leads.isin(["Select"]).any().any()
    data = json.loads((tmp_path / "xed" / "import_report.json").read_text())
    _balanced(data)
    placeholders = data["files"]["leads"]["placeholders"]
    assert placeholders["Specialization"] == {"Select": 1942} and placeholders["City"] == {"Select": 2249}
    assert {r["rule"]: r["count"] for r in data["repairs"] if r["column"] == "source"} == {"value-map": 5, "default": 36}
    assert any("constant 2020-01-01" in n for n in data["notes"])


@pytest.mark.real_data
def test_cli_import_from_another_directory(real_data, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the mapping's relative source path must not depend on the current directory
    out = tmp_path / "ws"
    assert cli.main(["import", "--mapping", str(MAPPINGS / "maven_crm.yaml"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "opportunities rows in    8,800" in text and "quarantined" in text
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
    m = funnel.cohort_funnel(tables, periods.Quarter.parse("2020Q1")).metrics()
    assert m["lead"]["n"] == 9240 and m["sql"]["k"] == m["won"]["k"] == 3561


@pytest.mark.real_data
def test_stage_conversion_figure_on_x_education(real_data, tmp_path):
    """Every sql lead is won there: a 100% rate whose interval must still contain it (error bars >= 0)."""
    from salign.common import periods
    from salign.review import funnel

    tables, _ = import_mapping(MAPPINGS / "x_education.yaml", tmp_path / "xed")
    funnel.stage_conversion(tables, periods.Quarter.parse("2020Q1")).figure()
