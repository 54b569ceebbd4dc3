"""The bad-input contract: every fixture in tests/fixtures/bad_inputs/ gets its expected, located error.

Each case folder holds a small workspace (``entry: workspace``, read with
``salign.load_workspace``), a small export with a mapping (``entry: mapping``,
read with ``salign import --mapping``) or a vendor export (``entry: salesforce`` /
``hubspot``), and ``expected.yaml``: the rule, file, column,
line and value the message must name. ``outcome`` says what must happen:

- ``error``: nothing is loaded or written; the error lists the problem;
- ``quarantine``: the import succeeds, the row is in quarantine.csv with the reason,
  is absent from the workspace, and rows in = loaded + quarantined + dropped;
- ``counted``: a declared placeholder became missing and the report counts it;
- ``loaded``: the import succeeds with nothing quarantined, and ``table.column`` holds ``value`` as written
  (values that look odd but are right, e.g. a hex id that is not scientific notation).

A quarantined stage event (``event: {lead_id, stage}``) is set aside alone: ``kept`` names the lead that
stays loaded. A failed import writes no workspace; its ``import_report.json`` (status ``failed``) says why.

Input files are never modified (every case compares their bytes before and after).
"""
import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from salign import cli
from salign.core.problems import WorkspaceError
from salign.imports import import_hubspot, import_mapping, import_salesforce
from salign.workspace.load import load_workspace
from salign.workspace.schema import TABLES

FIXTURES = Path(__file__).parent / "fixtures" / "bad_inputs"
CASES = sorted(p for p in FIXTURES.iterdir() if (p / "expected.yaml").is_file())


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(case: Path, entry: str, out: Path):
    if entry == "workspace":
        return load_workspace(case)
    if entry in ("salesforce", "hubspot"):
        run = import_salesforce if entry == "salesforce" else import_hubspot
        return run(case, out, settings=case / "settings.yaml" if (case / "settings.yaml").exists() else None)
    return import_mapping(case / "mapping.yaml", out)


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_bad_input_case(case, tmp_path):
    exp = yaml.safe_load((case / "expected.yaml").read_text(encoding="utf-8"))
    before = _digest(case)
    out = tmp_path / "out"
    if exp["outcome"] == "error":
        with pytest.raises(WorkspaceError) as err:
            _run(case, exp["entry"], out)
        _assert_named(err.value, exp)
        assert not (out / "workspace.yaml").exists()  # no workspace written
        if (out / "import_report.json").exists():  # only the failed import's own report
            assert sorted(p.name for p in out.iterdir()) == ["import_report.json", "quarantine.csv"]
            assert json.loads((out / "import_report.json").read_text())["status"] == "failed"
        assert exp.get("report") != "failed" or (out / "import_report.json").exists()
    elif exp["outcome"] == "quarantine":
        _run(case, exp["entry"], out)
        _assert_quarantined(out, exp)
    elif exp["outcome"] == "loaded":
        tables, report = _run(case, exp["entry"], out)
        assert report.quarantine == [], report.quarantine
        assert exp["value"] in set(getattr(tables, exp["table"])[exp["column"]].astype(str))
        written = pd.read_csv(out / f"{exp['table']}.csv", dtype=str, keep_default_na=False)
        assert exp["value"] in set(written[exp["column"]])
    else:
        _run(case, exp["entry"], out)
        report = json.loads((out / "import_report.json").read_text())
        assert report["files"]["people"]["placeholders"][exp["column"]] == {exp["value"]: exp["count"]}
        leads = load_workspace(out).leads
        assert exp["value"] not in set(leads.astype(str).to_numpy().ravel())
    assert _digest(case) == before  # inputs never modified


def _assert_named(err: WorkspaceError, exp: dict) -> None:
    hits = [p for p in err.problems if p.rule == exp["rule"] and Path(p.file).name == exp["file"]
            and p.column == exp.get("column", p.column) and p.line == exp.get("line", p.line)
            and p.value == (None if exp.get("value") is None else str(exp["value"])) or
            (p.rule == exp["rule"] and Path(p.file).name == exp["file"] and "value" not in exp
             and p.column == exp.get("column", p.column) and p.line == exp.get("line", p.line))]
    assert hits, f"expected {exp} among:\n{err}"
    shown = str(hits[0])
    assert exp["file"] in shown
    if "line" in exp:
        assert f"{exp['file']}:{exp['line']}" in shown
    if "column" in exp:
        assert f"column '{exp['column']}'" in shown
    if "value" in exp:
        assert repr(str(exp["value"])[:60]) in shown
    if "says" in exp:
        assert exp["says"] in shown, shown
    assert shown in str(err)  # and the whole error lists it


def _assert_quarantined(out: Path, exp: dict) -> None:
    q = pd.read_csv(out / "quarantine.csv", dtype=str, keep_default_na=False)
    row = q[(q["table"] == exp["table"]) & (q["rule"] == exp["rule"]) & (q["line"] == str(exp["line"]))]
    assert len(row) == 1, q.to_string()
    row = row.iloc[0]
    assert Path(row["file"]).name == exp["file"] and row["column"] == exp["column"] and row["value"] == exp["value"]
    if "says" in exp:
        assert exp["says"] in row["reason"], row["reason"]
    record = json.loads(row["record"])
    assert record[exp["column"]] == exp["value"]  # the source row is kept whole
    report = json.loads((out / "import_report.json").read_text())
    for name, t in report["tables"].items():
        assert t["rows_in"] == t["loaded"] + t["quarantined"] + sum(t["dropped"].values()), name
    tables = load_workspace(out)
    if "loaded" in exp:  # a value that looks odd but is right is loaded as written
        ok = exp["loaded"]
        assert str(ok["value"]) in set(getattr(tables, ok["table"])[ok["column"]].astype(str))
    kept = getattr(tables, exp["table"])
    assert len(kept) == report["tables"][exp["table"]]["rows_out"]
    key = TABLES[exp["table"]].key[0]
    if "event" in exp:  # only that stage event is gone; the lead stays
        ev = exp["event"]
        assert not ((kept["lead_id"] == ev["lead_id"]) & (kept["stage"] == ev["stage"])).any()
        assert (kept["lead_id"] == ev["lead_id"]).any()  # its other events are kept
        still = getattr(tables, exp["kept"]["table"])
        assert (still["lead_id"] == exp["kept"]["lead_id"]).any()
        assert report["tables"]["stages"].get("events_quarantined", 0) >= 1
        if "kept_events" in exp:
            assert sorted(kept.loc[kept["lead_id"] == ev["lead_id"], "stage"]) == sorted(exp["kept_events"])
        return
    if exp["rule"] != "duplicate-key":  # the quarantined row produced nothing
        assert not set(record.values()) & set(kept[key].astype(str))
    assert report["tables"][exp["table"]]["quarantined"] >= 1


def test_the_untouched_bases_load():
    tables = load_workspace(FIXTURES / "_valid")
    assert len(tables.leads) == 2 and len(tables.opportunities) == 2


def test_the_untouched_mapping_base_imports(tmp_path):
    tables, report = import_mapping(FIXTURES / "_valid_mapping" / "mapping.yaml", tmp_path / "ws")
    assert len(tables.leads) == 3 and sorted(tables.stages["stage"]) == ["lead", "lead", "lead", "won"]
    assert tables.leads.loc[tables.leads["lead_id"] == "P1", "created_at"].item() == pd.Timestamp("2025-10-01T22:00Z")
    assert report.quarantine == [] and all(t.balanced for t in report.tables.values())


def test_cli_exit_code_3_names_the_problem(capsys, tmp_path):
    assert cli.main(["validate", "--workspace", str(FIXTURES / "cp1252_file")]) == cli.EXIT_INVALID_INPUT
    assert "accounts.csv:2, column 'name', value 'Älpha GmbH'" in capsys.readouterr().err
    code = cli.main(["import", "--mapping", str(FIXTURES / "map_missing_source_column" / "mapping.yaml"),
                     "--out", str(tmp_path / "ws")])
    assert code == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "column 'Lead Source'" in err and not (tmp_path / "ws" / "workspace.yaml").exists()
    # the failed import's report is written, and the error says where
    assert f"the failed import's report: {tmp_path / 'ws' / 'import_report.json'}" in err
    report = json.loads((tmp_path / "ws" / "import_report.json").read_text())
    assert report["status"] == "failed" and report["problems"][0]["column"] == "Lead Source"


def test_all_problems_of_a_run_come_together(tmp_path):
    """Two broken files in one workspace: one error lists both."""
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(FIXTURES / "_valid", ws)
    (ws / "accounts.csv").write_bytes((FIXTURES / "utf8_bom" / "accounts.csv").read_bytes())
    (ws / "stages.csv").write_bytes((FIXTURES / "stages_backwards" / "stages.csv").read_bytes())
    (ws / "opportunities.csv").write_bytes((FIXTURES / "negative_amount" / "opportunities.csv").read_bytes())
    with pytest.raises(WorkspaceError) as err:
        load_workspace(ws)
    assert {"byte-order-mark", "minimum"} <= {p.rule for p in err.value.problems}


def _problems(folder: Path) -> list:
    with pytest.raises(WorkspaceError) as exc:
        load_workspace(folder)
    return exc.value.problems


def test_a_header_with_stray_spaces_says_so(tiny_workspace):
    leads = tiny_workspace / "leads.csv"
    leads.write_text(leads.read_text().replace("created_at,source,", "created_at, source ,", 1))
    [p] = _problems(tiny_workspace)
    assert (p.rule, p.column, p.line) == ("required-column", "source", 1)
    assert "the header has ' source ', with spaces around the name" in p.message


def test_implausible_magnitudes_are_flagged(tiny_workspace):
    accounts = tiny_workspace / "accounts.csv"
    accounts.write_text(accounts.read_text().replace("A1,Alpha GmbH,software,500,", "A1,Alpha GmbH,software,"
                                                     "1000000000000,", 1))
    [p] = _problems(tiny_workspace)
    assert (p.rule, p.column, p.line, p.value) == ("implausible-value", "employees", 2, "1000000000000")


@pytest.mark.parametrize("tail, message", [
    ('L9,2025-10-05T10:00:00Z,paid_soc', "the last line has 3 of the header's 13 fields and no line ending"),
    ('L9,2025-10-05T10:00:00Z,paid_social,A2,"Manag', "the file ends inside a quoted value"),
])
def test_a_truncated_csv_names_the_line(tiny_workspace, tail, message):
    with open(tiny_workspace / "leads.csv", "a") as fh:
        fh.write(tail)
    [p] = _problems(tiny_workspace)
    assert (p.rule, p.line, p.value) == ("truncated", 6, tail)
    assert message in p.message and "cut short" in p.message


def _declare(folder: Path, **formats) -> None:
    text = re.sub(rf"^  ({'|'.join(formats)}):.*\n", "", (folder / "workspace.yaml").read_text(), flags=re.M)
    lines = "".join(f"  {k}: {v!r}\n" for k, v in formats.items())
    (folder / "workspace.yaml").write_text(text.replace("formats:\n", "formats:\n" + lines, 1))


def test_a_literal_z_is_utc_whatever_the_declared_time_zone(tiny_workspace):
    _declare(tiny_workspace, timestamps_timezone="Europe/Berlin")
    t = load_workspace(tiny_workspace)
    assert t.leads.loc[t.leads["lead_id"] == "L1", "created_at"].iloc[0] == pd.Timestamp("2025-10-02T09:00:00Z")


@pytest.mark.parametrize("value, says", [
    ("2025-03-30 02:30:00", "it falls in the daylight-saving gap of Europe/Berlin"),
    ("2025-10-26 02:30:00", "it falls in the hour Europe/Berlin repeats when clocks go back"),
])
def test_a_local_time_that_does_not_exist_or_exists_twice_says_so(tiny_workspace, value, says):
    _declare(tiny_workspace, timestamps_timezone="Europe/Berlin", datetime_format="%Y-%m-%d %H:%M:%S")
    for name in ("leads", "stages", "activities", "opportunities", "accounts"):
        path = tiny_workspace / f"{name}.csv"
        path.write_text(re.sub(r"(\d{2})T(\d{2}:\d{2}:\d{2})Z", r"\1 \2", path.read_text()))
    leads = tiny_workspace / "leads.csv"
    leads.write_text(leads.read_text().replace("2025-10-02 09:00:00", value, 1))
    [p] = [p for p in _problems(tiny_workspace) if p.rule == "bad-datetime"]
    assert (p.column, p.line, p.value) == ("created_at", 2, value)
    assert says in p.message and "it matches" not in p.message


#: the exit codes README.md documents for validate and import
DOCUMENTED = {0, 2, 3}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_the_command_line_ends_every_case_with_a_documented_exit_code(case, tmp_path, capsys):
    """No bad input makes ``salign validate`` or ``salign import`` end in a traceback (exit 1)."""
    exp = yaml.safe_load((case / "expected.yaml").read_text(encoding="utf-8"))
    out = tmp_path / "out"
    if exp["entry"] == "workspace":
        argv = ["validate", "--workspace", str(case)]
    elif exp["entry"] in ("salesforce", "hubspot"):
        settings = ["--settings", str(case / "settings.yaml")] if (case / "settings.yaml").exists() else []
        argv = ["import", exp["entry"], str(case), "--out", str(out), *settings]
    else:
        argv = ["import", "--mapping", str(case / "mapping.yaml"), "--out", str(out)]
    code = cli.main(argv)  # an unexpected exception fails the test here, with its traceback
    assert code in DOCUMENTED
    assert (code == 3) == (exp["outcome"] == "error"), capsys.readouterr().err
