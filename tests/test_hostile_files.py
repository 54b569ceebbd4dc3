"""Hostile files (issue 15): formulas in the CSVs people open, YAML bombs, paths out of the workspace and
output folders salign must not write into."""
from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from salign import cli
from salign.content.gaps import ContentMatrix
from salign.core import csvsafe, paths, strictyaml
from salign.core.problems import WorkspaceError
from salign.definitions.rules import MAX_DEPTH, Condition
from salign.imports.report import ImportReport
from salign.scoring.files import read_leads, write_atomic
from salign.workspace.load import load_workspace
from tests.conftest import TINY, write_workspace

FORMULAS = ['=HYPERLINK("http://evil.example/C009","C009")', "+cmd|' /C calc'!A0", "-2+A1", "@SUM(A1:A9)",
            "\t=1+1", "\r=1+1"]
#: how they read back; a carriage return in a cell becomes a line feed (a bare one would start a new row)
NEUTRAL = ["'" + v.replace("\r", "\n") for v in FORMULAS]


def formula_cells(path: Path) -> list[str]:
    """Cells of a CSV that a spreadsheet would run as a formula."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row
                if cell.startswith(csvsafe.TRIGGERS) and csvsafe.neutralise(cell) != cell]


# --------------------------------------------------------------------------- CSV formula injection

def test_a_formula_cell_gets_a_quote_and_a_number_stays():
    assert [csvsafe.neutralise(v) for v in FORMULAS] == NEUTRAL
    assert csvsafe.neutralise("a\r=cmd()\r\nb") == "a\n=cmd()\nb"
    inert = ["-3.5", "+49", "-1e-3", "+33 1 9686948", "+1 (555) 123-4567", "plain", "a=b"]
    assert [csvsafe.neutralise(v) for v in inert] == inert
    assert csvsafe.neutralise("=1") == "'=1" and csvsafe.neutralise("+1 (555) DIAL") == "'+1 (555) DIAL"
    assert csvsafe.neutralise(-3.5) == -3.5 and csvsafe.neutralise(None) is None


def test_content_gaps_csv_holds_no_formula(tmp_path):
    cells = pd.DataFrame({"persona": FORMULAS, "stage": "awareness", "current_assets": 0, "stale_assets": 1,
                          "current_ids": [[]] * 6, "stale_ids": [["=C1", "C2"]] * 6, "uses_in_period": -1.5,
                          "leads_per_quarter": 2.0, "gap": True, "reason": "no asset", "rank": range(1, 7)})
    matrix = ContentMatrix(cells=cells, persona_source="test", quarter_labels=["2026Q3"], unknown_tags={})
    path = matrix.write_csv(tmp_path)
    assert formula_cells(path) == []
    frame = pd.read_csv(path, keep_default_na=False)
    assert list(frame["persona"]) == NEUTRAL and list(frame["uses_in_period"]) == [-1.5] * 6


def test_quarantine_csv_holds_no_formula(tmp_path):
    report = ImportReport("mapping", "src", quarantine=[
        {"table": "leads", "file": "leads.csv", "line": n + 2, "rule": "bad-value", "column": "source", "value": v,
         "reason": v, "record": "{}"} for n, v in enumerate(FORMULAS)])
    report.write(tmp_path)
    assert formula_cells(tmp_path / "quarantine.csv") == []
    assert list(pd.read_csv(tmp_path / "quarantine.csv")["line"]) == [2, 3, 4, 5, 6, 7]


def test_scored_csv_holds_no_formula_and_keeps_numbers(tmp_path):
    titles = FORMULAS[:-1]   # pyarrow reads no line breaks inside values
    leads = tmp_path / "leads.csv"
    pd.DataFrame({"lead_id": [f"L{n}" for n in range(5)], "job_title": titles,
                  "delta": ["-3.5", "+4", "-1", "", "+33 1 9686948"]}).to_csv(leads, index=False)
    frame = read_leads(leads).assign(score=[-10, 5, 0, 1, 2])
    write_atomic(frame, tmp_path / "scored.csv")
    assert formula_cells(tmp_path / "scored.csv") == []
    back = pd.read_csv(tmp_path / "scored.csv", dtype=str, keep_default_na=False)
    assert list(back["job_title"]) == ["'" + v for v in titles]
    assert list(back["delta"]) == ["-3.5", "+4", "-1", "", "+33 1 9686948"] and list(back["score"]) == ["-10", "5", "0", "1", "2"]

# --------------------------------------------------------------------------- YAML bombs

def alias_bomb() -> str:
    lines = ["version: 1", "team: marketing", "anchors:", "  - &c0 {field: department, in: [Marketing]}"]
    lines += [f"  - &c{i} {{any: [{', '.join([f'*c{i - 1}'] * 9)}]}}" for i in range(1, 10)]
    return "\n".join(lines + ["personas:", "  - {id: x, name: X, rule: *c9}", ""])


def problems_of(folder: Path) -> list:
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(folder)
    return caught.value.problems


def test_an_alias_bomb_is_refused_at_once_with_its_line(tmp_path):
    folder = write_workspace(tmp_path / "ws", TINY)
    (folder / "definitions" / "personas.marketing.yaml").write_text(alias_bomb(), encoding="utf-8")
    t0 = time.perf_counter()
    (problem,) = problems_of(folder)
    assert time.perf_counter() - t0 < 10
    assert (problem.rule, problem.line) == ("yaml-alias", 4) and "personas.marketing.yaml" in problem.file


def test_an_alias_in_workspace_yaml_is_refused(tmp_path):
    path = tmp_path / "workspace.yaml"
    path.write_text("name: &n x\ncurrency: *n\n", encoding="utf-8")
    with pytest.raises(WorkspaceError) as caught:
        strictyaml.load_yaml(path)
    assert (caught.value.problems[0].rule, caught.value.problems[0].line) == ("yaml-alias", 1)


def test_a_huge_yaml_file_is_refused_unread(tmp_path):
    folder = write_workspace(tmp_path / "ws", TINY)
    big = folder / "definitions" / "personas.marketing.yaml"
    big.write_text("version: 1\nteam: marketing\npersonas: []\n" + "# padding\n" * 120_000, encoding="utf-8")
    (problem,) = problems_of(folder)
    assert problem.rule == "too-large" and "1,048,576 bytes" in problem.message


def nested_rule(depth: int) -> str:
    rule = "{field: department, in: [Marketing]}"
    for _ in range(depth):
        rule = "{all: [" + rule + "]}"
    return rule


@pytest.mark.parametrize("depth, rule", [(MAX_DEPTH + 1, "value_error"), (300, "too-deep"), (2000, "too-deep")])
def test_deep_rules_are_a_located_problem_not_a_recursion_error(tmp_path, depth, rule, capsys):
    folder = write_workspace(tmp_path / "ws", TINY)
    path = folder / "definitions" / "personas.marketing.yaml"
    path.write_text(f"version: 1\nteam: marketing\npersonas:\n  - id: m\n    name: M\n    rule: {nested_rule(depth)}\n",
                    encoding="utf-8")
    assert cli.main(["validate", "--workspace", str(folder)]) == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "personas.marketing.yaml:6" in err and f"[{rule}]" in err and "Traceback" not in err


def test_rules_as_deep_as_allowed_still_work():
    cond = Condition.model_validate(strictyaml.yaml.safe_load(nested_rule(MAX_DEPTH)))
    assert cond.evaluate(pd.DataFrame({"department": ["Marketing", "Sales"]})).tolist() == [True, False]


# --------------------------------------------------------------------------- paths out of the workspace

def table_line(folder: Path, table: str) -> int:
    lines = (folder / "workspace.yaml").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.strip().startswith(f"{table}:"))


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_a_table_outside_the_workspace_is_refused_unread(tmp_path, capsys, how):
    folder = write_workspace(tmp_path / "ws", TINY)
    secret = tmp_path / "outside" / "leads.csv"
    secret.parent.mkdir()
    secret.write_text("root:$6$SECRETHASH:19000:0:99999:7:::\n", encoding="utf-8")
    yaml_path = folder / "workspace.yaml"
    if how == "symlink":
        (folder / "leads.csv").unlink()
        (folder / "leads.csv").symlink_to(secret)
    else:
        target = "../outside/leads.csv" if how == "dotdot" else str(secret)
        yaml_path.write_text(yaml_path.read_text(encoding="utf-8").replace("leads: leads.csv", f"leads: {target}"),
                             encoding="utf-8")
    assert cli.main(["validate", "--workspace", str(folder)]) == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert f"workspace.yaml:{table_line(folder, 'leads')}" in err and "[outside-workspace]" in err
    assert "SECRETHASH" not in err and "Traceback" not in err


def test_a_definitions_file_linked_outside_is_refused_unread(tmp_path, capsys):
    folder = write_workspace(tmp_path / "ws", TINY)
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$SECRETHASH:19000:0:99999:7:::\n", encoding="utf-8")
    (folder / "definitions" / "personas.marketing.yaml").unlink()
    (folder / "definitions" / "personas.marketing.yaml").symlink_to(secret)
    assert cli.main(["validate", "--workspace", str(folder)]) == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "[outside-workspace]" in err and "SECRETHASH" not in err


# --------------------------------------------------------------------------- output folders

def review(folder: Path, out: Path | str, *extra: str) -> int:
    return cli.main(["review", "--workspace", str(folder), "--period", "2025Q4", "--out", str(out), *extra])


def bad_out(*argv: str) -> str | None:
    return cli._bad_out(cli._absolute(cli._parser().parse_args(list(argv))))


def test_review_refuses_root_home_and_the_workspace(tmp_path, capsys, monkeypatch):
    folder = write_workspace(tmp_path / "ws", TINY)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert "root folder" in bad_out("review", "--workspace", str(folder), "--out", "/", "--force")  # never run it
    for out, says in [(home, "home folder"), (folder, "is the workspace"), (folder / "reports", "inside the workspace")]:
        assert review(folder, out, "--force") == cli.EXIT_USAGE
        assert says in capsys.readouterr().err
    assert not (home / "2025Q4").exists() and not (folder / "reports").exists()


def test_review_refuses_a_foreign_folder_unless_forced(tmp_path, capsys):
    folder = write_workspace(tmp_path / "ws", TINY)
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "letter.txt").write_text("dear", encoding="utf-8")
    assert review(folder, foreign) == cli.EXIT_USAGE
    assert "--force" in capsys.readouterr().err and sorted(p.name for p in foreign.iterdir()) == ["letter.txt"]
    assert bad_out("review", "--workspace", str(folder), "--out", str(foreign), "--force") is None
    (foreign / "2025Q4").mkdir()
    assert bad_out("review", "--workspace", str(folder), "--out", str(foreign)) is None


def test_the_checkouts_own_reports_folder_is_accepted(tmp_path):
    """A fresh clone's reports/ holds only its README: `make review` must publish there (it once refused)."""
    folder = write_workspace(tmp_path / "ws", TINY)
    fresh = tmp_path / "reports"
    fresh.mkdir()
    shutil.copy(paths.PROJECT_ROOT / "reports" / "README.md", fresh / "README.md")
    assert bad_out("review", "--workspace", str(folder), "--out", str(fresh)) is None
    (fresh / "notes.txt").write_text("mine", encoding="utf-8")
    assert "--force" in bad_out("review", "--workspace", str(folder), "--out", str(fresh))


def test_out_of_the_wrong_kind_is_a_usage_error(tmp_path, capsys):
    folder = write_workspace(tmp_path / "ws", TINY)
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    assert review(folder, afile) == cli.EXIT_USAGE
    assert "is a file" in capsys.readouterr().err
    assert cli.main(["import", "--mapping", str(tmp_path / "m.yaml"), "--out", str(afile)]) == cli.EXIT_USAGE
    assert cli.main(["sample", "--out", str(afile), "--leads", "10"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err.count("is a file") == 2 and afile.read_text(encoding="utf-8") == "x"
    assert "root folder" in bad_out("import", "--mapping", "m.yaml", "--out", "/")
    code = cli.main(["score", "--definition", str(tmp_path / "q.yaml"), "--leads", str(folder / "leads.csv"),
                     "--out", str(tmp_path)])
    assert code == cli.EXIT_USAGE and "is a folder" in capsys.readouterr().err
