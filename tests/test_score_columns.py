"""salign score refuses a file from which most of the scorecard cannot be read, and says what it could not read.

Fixtures: tests/fixtures/score/qualification.yaml is a hand-written card (job_level, employees, industry,
n_webinar; ready at 20, nurture at 10; employees required; source "student" disqualifies). Expected
scores are added up by hand from its bins.
"""
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from salign import cli

FIX = Path(__file__).parent / "fixtures" / "score"
DEFINITION = FIX / "qualification.yaml"
#: by hand: L1 Director 12 + 500 -> 6 + Software 5 + 2 webinars 5; L2 Manager 0 + 50 -> 0 + Retail (other) 1 + 0;
#: L3 VP 12 + 5000 -> 3 + 5 + 5 (source student: disqualified); L4 C-level 8 + no employees 1 + 5 + 5
SCORES = {"L1": 28, "L2": 1, "L3": 25, "L4": 19}
BANDS = {"L1": "sales-ready", "L2": "low", "L3": "disqualified", "L4": "nurture"}


def score(leads: Path, out: Path, *extra: str) -> int:
    return cli.main(["score", "--definition", str(DEFINITION), "--leads", str(leads), "--out", str(out), *extra])


def read(out: Path) -> pd.DataFrame:
    return pd.read_csv(out, dtype=str, keep_default_na=False).set_index("lead_id")


def test_a_good_file_scores_as_added_up_by_hand(tmp_path, capsys):
    assert score(FIX / "leads.csv", tmp_path / "s.csv") == 0
    got = read(tmp_path / "s.csv")
    assert got["score"].astype(int).to_dict() == SCORES and got["band"].to_dict() == BANDS
    assert "note:" not in capsys.readouterr().err


def test_a_semicolon_file_is_refused_naming_the_columns_and_the_delimiter(tmp_path, capsys):
    leads = FIX / "leads_semicolon.csv"
    before = hashlib.sha256(leads.read_bytes()).hexdigest()
    assert score(leads, tmp_path / "s.csv") == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "leads_semicolon.csv" in err and "semicolons" in err and "--allow-missing" in err
    for field in ("job_level", "employees", "industry", "n_webinar"):
        assert f"column '{field}'" in err
    assert not (tmp_path / "s.csv").exists() and hashlib.sha256(leads.read_bytes()).hexdigest() == before


def test_allow_missing_scores_it_anyway_as_missing_values(tmp_path, capsys):
    assert score(FIX / "leads_semicolon.csv", tmp_path / "s.csv", "--allow-missing") == 0
    got = pd.read_csv(tmp_path / "s.csv", dtype=str)
    assert set(got["score"]) == {"5"} and set(got["band"]) == {"low"}  # missing: 4 + 1 + 0 + 0
    err = capsys.readouterr().err
    assert "note: job_level: the file has no such column; counted as missing" in err
    assert "note: employees: required before handoff and absent" in err


def test_columns_present_but_empty_count_as_unreadable(tmp_path, capsys):
    assert score(FIX / "leads_empty_columns.csv", tmp_path / "s.csv") == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "3 of the scorecard's 4 columns cannot be read (job_level, employees, n_webinar)" in err
    assert err.count("[empty-column]") == 3 and "column 'industry'" not in err
    assert not (tmp_path / "s.csv").exists()


def test_one_empty_column_is_a_note_and_scores_as_missing(tmp_path, capsys):
    assert score(FIX / "leads_one_empty_column.csv", tmp_path / "s.csv") == 0
    assert "note: n_webinar: the column is empty; counted as missing" in capsys.readouterr().err
    got = read(tmp_path / "s.csv")  # the webinar points (5, 0, 5, 5) become the missing bin's 0
    assert got["score"].astype(int).to_dict() == {"L1": 23, "L2": 1, "L3": 20, "L4": 14}


def test_numbers_that_are_not_numbers_are_counted_and_the_first_named(tmp_path, capsys):
    assert score(FIX / "leads_numbers_as_text.csv", tmp_path / "s.csv") == 0
    err = capsys.readouterr().err
    assert "employees: 3 of 4 values are not numbers (first at line 2: '1,500')" in err
    assert "n_webinar: 3 of 4 values are not numbers (first at line 2: 'two')" in err
    got = read(tmp_path / "s.csv")  # employees: 1 (missing) except L2 (50 -> 0); webinars: 0 except L2 (0 -> 0)
    assert got["score"].astype(int).to_dict() == {"L1": 12 + 1 + 5, "L2": 1, "L3": 12 + 1 + 5, "L4": 8 + 1 + 5}


def test_a_header_in_other_words_is_refused_with_the_near_names(tmp_path, capsys):
    assert score(FIX / "leads_renamed.csv", tmp_path / "s.csv") == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "the file has 'Job Level'" in err and "the file has 'N Webinar'" in err


def test_a_column_named_twice_is_refused(tmp_path, capsys):
    assert score(FIX / "leads_duplicate_column.csv", tmp_path / "s.csv") == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "column 'job_level'" in err and "[duplicate-column]" in err and "Traceback" not in err


def test_a_parquet_file_is_checked_too(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    pd.DataFrame({"lead_id": ["L1"], "job_level": [None], "employees": [None], "industry": ["x"]},
                 dtype="object").to_parquet(tmp_path / "l.parquet")
    assert score(tmp_path / "l.parquet", tmp_path / "s.parquet") == cli.EXIT_INVALID_INPUT
    err = capsys.readouterr().err
    assert "column 'job_level'" in err and "column 'n_webinar'" in err and "column 'industry'" not in err


def test_a_file_with_the_header_only_scores_nothing(tmp_path, capsys):
    (tmp_path / "l.csv").write_text("lead_id,job_level,employees,industry,n_webinar,source\n", encoding="utf-8")
    assert score(tmp_path / "l.csv", tmp_path / "s.csv") == 0
    assert "0 leads scored" in capsys.readouterr().out


def test_a_category_column_in_codes_the_card_does_not_know_is_a_note(tmp_path, capsys):
    leads = tmp_path / "l.csv"
    leads.write_text("lead_id,job_level,employees,industry,n_webinar,source\nL1,DIR,500,Software,2,web\n"
                     "L2,MGR,50,Retail,0,web\n", encoding="utf-8")
    assert score(leads, tmp_path / "s.csv") == 0
    assert "job_level: none of its 2 distinct values is one the scorecard knows" in capsys.readouterr().err
    assert read(tmp_path / "s.csv")["score"].astype(int).to_dict() == {"L1": 4 + 6 + 5 + 5, "L2": 4 + 0 + 1 + 0}
