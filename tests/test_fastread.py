"""Issue 14: the fast reader (pyarrow + vectorised conversions) gives exactly what the slow, diagnosing reader gives.

Every case is a small CSV file. The oracle is the slow reader (``read_raw`` + ``type_frame``, the code that read
every table before issue 14 and that the bad-input tests pin): same typed frame (values, dtypes, line numbers) and
the same problems, word for word. Cases the fast reader must take itself say so (``fast=True``), so that a
regression that sends every file the slow way fails here rather than only in the benchmark; a few expectations are
written out by hand as well.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from salign.core.problems import WorkspaceError
from salign.workspace import fastread, files
from salign.workspace.config import Formats
from salign.workspace.load import load_workspace
from salign.workspace.schema import TABLES
from tests.conftest import TINY, write_workspace

LEADS = "lead_id,created_at,source,account_id,employees,job_title\n"
STAGES = "lead_id,stage,at,team\n"


def slow(path: Path, table: str, formats: Formats):
    frame, problems = files.read_raw(path, formats, expected=TABLES[table].required)
    if frame is None:
        return None, problems
    typed, more = files.type_frame(frame, TABLES[table], formats, str(path))
    return typed, problems + more


CASES = {
    # name: (table, file bytes, formats, must the fast reader take it?)
    "clean": ("leads", LEADS + "L1,2024-01-02T03:04:05Z,web,A1,12,CEO\nL2,2024-02-29T23:59:59Z,ads,,,\n", {}, True),
    "crlf and quotes": ("leads", (LEADS + 'L1,2024-01-02T03:04:05Z,web,A1,12,"Head of ""Ops"", EMEA"\n').replace(
        "\n", "\r\n"), {}, True),
    "bad values": ("leads", LEADS + "L1,2024-02-30T00:00:00Z,web,A1,1e5,x\n1.2E+05,05/01/2024,web,A1,12.5,x\n"
                   "123.0,2024-1-05T01:00:00Z,web,A1,N/A,x\nL4,2024-01-01T00:00:60Z,web,A1,-7,x\n", {}, True),
    "undeclared placeholder": ("leads", LEADS + "L1,2024-01-02T03:04:05Z,--None--,A1,1,x\n"
                               "L2,2024-01-02T03:04:05Z,web,A1,1, N/A \n", {}, True),
    "declared placeholder": ("leads", LEADS + "L1,2024-01-02T03:04:05Z,Select,A1,1,x\nSelect,2024-01-02T03:04:05Z,web"
                             ",Select,Select,Select\n", {"placeholders": ["Select"]}, True),
    "padded values": ("leads", LEADS + "L1, 2024-01-02T03:04:05Z ,web , A1,12 ,\t\nL2,2024-01-02T03:04:05Z,web,,,\n",
                      {}, True),
    "quoted delimiter next to a space": ("leads", LEADS + 'L1,2024-01-02T03:04:05Z,web,A1,1,"Smith, John"\n', {},
                                         True),
    "blank row": ("leads", LEADS + "L1,2024-01-02T03:04:05Z,web,A1,1,x\n,,,,,\nL3,2024-01-02T03:04:05Z,web,A1,1,x\n",
                  {}, True),
    "categories": ("stages", STAGES + "L1,Lead ,2024-01-02T03:04:05Z,MARKETING\nL1,MQL,2024-01-03T03:04:05Z,sälës\n",
                   {}, True),
    "local times": ("stages", STAGES + "L1,lead,2024-03-31T02:30:00,sales\nL1,mql,2024-10-27T02:30:00,sales\n"
                    "L1,sal,2024-07-01T12:00:00,sales\n",
                    {"datetime_format": "%Y-%m-%dT%H:%M:%S", "timestamps_timezone": "Europe/Berlin"}, True),
    "decimal comma": ("leads", LEADS + 'L1,2024-01-02T03:04:05Z,web,A1,"1.200",x\nL2,2024-01-02T03:04:05Z,web,A1,'
                      '"3,5",x\n', {"decimal": ",", "thousands": "."}, True),
    "byte-order mark declared": ("leads", "\ufeff" + LEADS + "L1,2024-01-02T03:04:05Z,web,A1,1,x\n",
                                 {"encoding": "utf-8-sig"}, True),
    # files the slow reader must diagnose
    "byte-order mark undeclared": ("leads", "\ufeff" + LEADS + "L1,2024-01-02T03:04:05Z,web,A1,1,x\n", {}, False),
    "field count": ("leads", LEADS + "L1,2024-01-02T03:04:05Z,web,A1,1\n", {}, False),
    "cut short in a quote": ("leads", LEADS + 'L1,2024-01-02T03:04:05Z,web,A1,1,"x', {}, False),
    "quoted line break": ("leads", LEADS + 'L1,2024-01-02T03:04:05Z,web,A1,1,"x\ny"\n', {}, False),
    "header only": ("leads", LEADS, {}, False),
    "duplicate header": ("leads", "lead_id,lead_id,created_at,source\nL1,L1,2024-01-02T03:04:05Z,web\n", {}, False),
}


@pytest.mark.parametrize("case", CASES)
def test_fast_reader_matches_slow_reader(tmp_path, case):
    table, text, formats, fast = CASES[case]
    path = tmp_path / f"{table}.csv"
    path.write_bytes(text.encode("utf-8"))
    formats = Formats(**formats)
    got = fastread.read_clean(path, TABLES[table], formats, files)
    assert (got is not None) == fast
    want = slow(path, table, formats)
    got = files.read_table(path, TABLES[table], formats)
    assert [str(p) for p in got[1]] == [str(p) for p in want[1]]
    if want[0] is None:
        assert got[0] is None
    else:
        assert_frame_equal(got[0], want[0], check_exact=True)
        assert list(got[0].index) == list(want[0].index)


def test_fast_reader_by_hand(tmp_path):
    """Values, types and lines written out: UTC timestamps, a float count, lines past a blank row."""
    path = tmp_path / "leads.csv"
    path.write_text(LEADS + "L1,2024-01-02T03:04:05Z,web,A1,12,CEO\n,,,,,\nL3,2024-02-29T23:59:59Z,ads,,,\n")
    frame, problems = fastread.read_clean(path, TABLES["leads"], Formats(), files)
    assert problems == []
    assert list(frame.index) == [2, 4]
    assert list(frame["created_at"]) == [pd.Timestamp("2024-01-02 03:04:05", tz="UTC"),
                                         pd.Timestamp("2024-02-29 23:59:59", tz="UTC")]
    assert str(frame["created_at"].dtype) == "datetime64[ns, UTC]"
    assert frame["employees"].tolist()[0] == 12.0 and np.isnan(frame["employees"].tolist()[1])
    assert frame["account_id"].tolist() == ["A1", None] and frame["lead_id"].dtype == object


def test_bad_dates_named_with_line_and_value(tmp_path):
    """A calendar date that does not exist and a second of 60 go the slow way and are named as before."""
    path = tmp_path / "stages.csv"
    path.write_text(STAGES + "L1,lead,2024-02-30T00:00:00Z,sales\nL1,mql,2024-03-01T00:00:00Z,sales\n")
    frame, problems = files.read_table(path, TABLES["stages"], Formats())
    assert [(p.rule, p.line, p.column, p.value) for p in problems] == [("bad-datetime", 2, "at",
                                                                       "2024-02-30T00:00:00Z")]
    assert pd.isna(frame.loc[2, "at"]) and frame.loc[3, "at"] == pd.Timestamp("2024-03-01", tz="UTC")


def test_missing_ids_of_two_kinds_are_not_one_duplicate_key(tmp_path):
    """A lead_id a spreadsheet mangled (missing: None) and a declared placeholder (missing: NaN) are not the same
    key for the duplicate check, as pandas has it; both are reported as missing, neither as a duplicate."""
    files_ = dict(TINY)
    files_["workspace.yaml"] = TINY["workspace.yaml"].replace('null_values: [""]',
                                                              'null_values: [""]\n          placeholders: ["Select"]')
    folder = write_workspace(tmp_path / "ws", files_)
    lines = (folder / "leads.csv").read_text().splitlines()
    lines[1] = "1.2E+05" + lines[1][lines[1].index(","):]
    lines[2] = "Select" + lines[2][lines[2].index(","):]
    (folder / "leads.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(WorkspaceError) as err:
        load_workspace(folder)
    rules = [(p.rule, p.line) for p in err.value.problems if str(p.file).endswith("leads.csv")]
    assert ("mangled-id", 2) in rules and ("required-value", 2) in rules and ("required-value", 3) in rules
    assert not [r for r in rules if r[0] == "duplicate-key"]
