"""Loading and validating workspaces: typed tables, declared formats, every problem named."""
import pandas as pd
import pytest

from salign import cli
from salign.core.problems import WorkspaceError
from salign.workspace.load import load_workspace
from tests.conftest import write_workspace


def test_tiny_workspace_loads_typed(tiny_workspace):
    t = load_workspace(tiny_workspace)
    assert len(t.leads) == 4 and len(t.stages) == 16
    assert str(t.leads["created_at"].dt.tz) == "UTC"
    assert t.leads.loc[0, "created_at"] == pd.Timestamp("2025-10-02T09:00:00Z")
    assert t.accounts["employees"].dtype == float
    assert t.content is None and "content" in t.missing
    assert "sla.yaml" in t.definitions and t.definitions["sla.yaml"].sales.max_hours_to_first_follow_up == 24
    assert len(t.fingerprint) == 16


def test_fingerprint_changes_with_data(tiny_workspace):
    a = load_workspace(tiny_workspace).fingerprint
    p = tiny_workspace / "leads.csv"
    p.write_text(p.read_text().replace("Ann,Lee", "Ann,Leigh"))
    assert load_workspace(tiny_workspace).fingerprint != a


def test_date_only_values_use_the_declared_date_format(tiny_workspace):
    t = load_workspace(tiny_workspace)
    assert t.accounts.loc[1, "churned_at"] == pd.Timestamp("2025-09-01T00:00:00Z")


def _broken(tmp_path, tiny_files):
    files = dict(tiny_files)
    files["leads.csv"] = files["leads.csv"].replace("2025-10-05T10:00:00Z", "05/10/2025 10:00")
    files["stages.csv"] = files["stages.csv"].replace("L2,rejected", "L2,rejectd").replace("L3,won", "L9,won")
    files["opportunities.csv"] = files["opportunities.csv"].replace(",50000,", ",-50000,").replace(",120000,", ",12O000,")
    files["accounts.csv"] = files["accounts.csv"].replace("A3,Gamma", "A1,Gamma")
    files["definitions/sla.yaml"] = files["definitions/sla.yaml"].replace("feedback_days_on_rejected", "feedback_days_on_rejectd")
    return write_workspace(tmp_path / "broken", files)


def test_every_problem_is_reported_together_with_location(tmp_path):
    from tests.conftest import TINY

    ws = _broken(tmp_path, TINY)
    with pytest.raises(WorkspaceError) as err:
        load_workspace(ws)
    problems = err.value.problems
    rules = {p.rule for p in problems}
    assert {"bad-datetime", "vocabulary", "orphan-reference", "minimum", "not-a-number", "duplicate-key",
            "unknown-key"} <= rules, rules
    by_rule = {p.rule: p for p in problems}
    dt = by_rule["bad-datetime"]
    assert dt.file.endswith("leads.csv") and dt.column == "created_at" and dt.line == 3 and dt.value == "05/10/2025 10:00"
    voc = by_rule["vocabulary"]
    assert voc.file.endswith("stages.csv") and voc.column == "stage" and voc.line == 10 and voc.value == "rejectd"
    orphan = next(p for p in problems if p.rule == "orphan-reference" and p.column == "lead_id")
    assert orphan.file.endswith("stages.csv") and orphan.value == "L9" and orphan.line == 16
    assert by_rule["minimum"].value == "-50000" and by_rule["minimum"].line == 2
    assert by_rule["not-a-number"].value == "12O000" and by_rule["not-a-number"].line == 3
    assert by_rule["duplicate-key"].value == "A1" and by_rule["duplicate-key"].line == 4
    key = by_rule["unknown-key"]
    assert key.file.endswith("sla.yaml") and key.line == 7
    text = str(err.value)
    assert "leads.csv:3, column 'created_at', value '05/10/2025 10:00'" in text


def test_cli_validate_exit_code_and_message(tmp_path, capsys):
    from tests.conftest import TINY

    ws = _broken(tmp_path, TINY)
    assert cli.main(["validate", "--workspace", str(ws)]) == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "problems found" in err and "stages.csv:10" in err and "rejectd" in err


def test_missing_required_column_and_file(tmp_path):
    from tests.conftest import TINY

    files = dict(TINY)
    files["leads.csv"] = files["leads.csv"].replace("lead_id,created_at,source", "lead_id,created_at,origin")
    ws = write_workspace(tmp_path / "ws", files)
    (ws / "activities.csv").unlink()
    with pytest.raises(WorkspaceError) as err:
        load_workspace(ws)
    found = {(p.rule, p.column) for p in err.value.problems}
    assert ("required-column", "source") in found
    assert any(p.rule == "missing-file" and p.file.endswith("activities.csv") for p in err.value.problems)


def test_duplicate_header_is_named(tmp_path):
    from tests.conftest import TINY

    files = dict(TINY)
    files["accounts.csv"] = files["accounts.csv"].replace("region,gross_margin", "region,region")
    with pytest.raises(WorkspaceError) as err:
        load_workspace(write_workspace(tmp_path / "ws", files))
    assert any(p.rule == "duplicate-header" and p.column == "region" and p.line == 1 for p in err.value.problems)


def test_wrong_encoding_is_reported(tmp_path):
    from tests.conftest import TINY

    ws = write_workspace(tmp_path / "ws", TINY)
    (ws / "accounts.csv").write_bytes((ws / "accounts.csv").read_text().replace("Alpha", "Älpha").encode("cp1252"))
    with pytest.raises(WorkspaceError, match="encoding"):
        load_workspace(ws)


def test_declared_decimal_comma_and_semicolon(tmp_path):
    from tests.conftest import TINY

    files = dict(TINY)
    files["workspace.yaml"] = files["workspace.yaml"].replace('delimiter: ","', 'delimiter: ";"').replace(
        'decimal: "."', 'decimal: ","')
    files["accounts.csv"] = files["accounts.csv"].replace(",", ";").replace("0.", "0,")
    for name in ("leads.csv", "stages.csv", "activities.csv", "opportunities.csv"):
        files[name] = files[name].replace(",", ";")
    t = load_workspace(write_workspace(tmp_path / "ws", files))
    assert t.accounts["gross_margin"].tolist() == [0.6, 0.1, 0.5]


def test_unknown_definitions_file_is_reported(tiny_workspace):
    (tiny_workspace / "definitions" / "persona.sales.yaml").write_text("version: 1\n")
    with pytest.raises(WorkspaceError, match="not a definitions file"):
        load_workspace(tiny_workspace)


def test_bad_rule_in_persona_file_names_line(tiny_workspace):
    p = tiny_workspace / "definitions" / "personas.sales.yaml"
    p.write_text(p.read_text().replace("rule: {field: employees, min: 1000}", "rule: {field: employees, at_least: 1000}"))
    with pytest.raises(WorkspaceError) as err:
        load_workspace(tiny_workspace)
    assert any(pr.file.endswith("personas.sales.yaml") and pr.line == 6 for pr in err.value.problems)


def test_inputs_are_not_modified(tiny_workspace):
    before = {p: p.read_bytes() for p in tiny_workspace.rglob("*") if p.is_file()}
    load_workspace(tiny_workspace)
    assert before == {p: p.read_bytes() for p in tiny_workspace.rglob("*") if p.is_file()}


def test_cli_paths_are_relative_to_the_current_directory(tiny_workspace, monkeypatch, capsys):
    monkeypatch.chdir(tiny_workspace.parent)
    assert cli.main(["validate", "--workspace", tiny_workspace.name]) == 0
    assert "Tiny test workspace" in capsys.readouterr().out


def test_rule_fields_are_checked_against_the_data_with_file_and_line(tiny_workspace, capsys):
    """A persona rule naming an unknown column, or comparing text with a number, fails validate (was: ok)."""
    (tiny_workspace / "definitions" / "personas.marketing.yaml").write_text(
        "version: 1\nteam: marketing\npersonas:\n  - id: marketer\n    name: Marketing leader\n"
        "    rule:\n      all:\n        - {field: departmnet, in: [Marketing]}\n        - {field: job_level, min: 3}\n")
    with pytest.raises(WorkspaceError) as exc:
        load_workspace(tiny_workspace)
    got = {(p.rule, p.line, p.value) for p in exc.value.problems}
    assert got == {("unknown-field", 8, "departmnet"), ("rule-type", 9, "job_level")}
    assert all(p.file.endswith("personas.marketing.yaml") for p in exc.value.problems)
    assert cli.main(["validate", "--workspace", str(tiny_workspace)]) == 3
    assert "personas.marketing.yaml:8" in capsys.readouterr().err


def test_qualification_rule_fields_know_the_derived_features(tiny_workspace):
    """qualification.<team>.yaml may name n_<marketing activity type> and at_<stage>; anything else is a problem."""
    rule = ("version: 1\nteam: {team}\nname: {team} rule\nrule:\n  all:\n"
            "    - {{field: n_content_download, min: 1}}\n    - {{field: {field}, min: 100}}\n")
    for team, field in (("marketing", "employees"), ("sales", "headcount")):
        (tiny_workspace / "definitions" / f"qualification.{team}.yaml").write_text(rule.format(team=team, field=field))
    with pytest.raises(WorkspaceError) as exc:
        load_workspace(tiny_workspace)
    [p] = exc.value.problems
    assert (p.file.endswith("qualification.sales.yaml"), p.rule, p.line, p.value) == (True, "unknown-field", 7,
                                                                                      "headcount")
