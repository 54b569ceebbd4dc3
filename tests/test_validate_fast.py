"""Issue 14, "validate vectorised": the faster ``salign validate`` gives the same problems, word for word.

The checks read text columns as Arrow strings (ids as 64-bit words, vocabularies, missing values), the tables
are read at once, the files are hashed while the rows are checked and the database driver is imported only
when a workspace names a database; each test below fails if one of these changes a result.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from salign.core.problems import WorkspaceError
from salign.workspace import checks, fastread, files
from salign.workspace.config import Formats
from salign.workspace.load import load_workspace
from salign.workspace.schema import TABLES
from tests.conftest import TINY, write_workspace


def test_ids_as_words_are_equal_exactly_where_the_strings_are():
    """Codes by first appearance, written out by hand: a missing id is one value, 'A1' and 'A1\\x00' differ,
    'é' (two bytes) is not 'e', and ids of 8 bytes encode as themselves."""
    short = [pa.array(["A1", "A2", None, "A1", ""]), pa.array(["A2", None, "x", "A1\x00", "é", "e"])]
    assert checks._encode(short).tolist() == [0, 1, 2, 0, 3, 1, 2, 4, 5, 6, 7]
    eight = [pa.array(["L0000001", "L0000002"]), pa.array([None, "L0000002", "L0000003", None])]
    assert checks._words(eight) is not None
    assert checks._encode(eight).tolist() == [0, 1, 2, 1, 3, 2]
    mixed = [pa.array(["L0000001", "L00000020", "L0000001"])]  # 8 and 9 bytes: no words, strings hashed
    assert checks._words(mixed) is None and checks._encode(mixed).tolist() == [0, 1, 0]
    sliced = pa.array(["zz", "a", "bb", "a"]).slice(1)
    assert checks._encode([sliced]).tolist() == [0, 1, 0]


@pytest.mark.parametrize("text, ok", [
    ("2024-02-29T23:59:59Z", True), ("2023-02-29T00:00:00Z", False), ("1900-02-29T00:00:00Z", False),
    ("2000-02-29T00:00:00Z", True), ("2024-04-31T00:00:00Z", False), ("2024-12-31T23:59:59Z", True),
    ("1677-12-31T00:00:00Z", False), ("2024-13-01T00:00:00Z", False), ("2024-01-01T24:00:00Z", False),
    ("2024-01-01 00:00:00Z", False), ("2024-01-0a00:00:00Z", False)])
def test_fixed_width_dates_by_the_calendar(text, ok):
    """Leap years and month lengths by the Gregorian rules; a valid value is the instant pandas gives."""
    got, good = fastread._fixed_parse(pa.array([text]), "%Y-%m-%dT%H:%M:%SZ")
    assert bool(good[0]) == ok
    if ok:
        assert got[0] == pd.Timestamp(text.rstrip("Z")).value


def _bad_workspace(tmp_path):
    """TINY with one problem of each kind the Arrow checks see, each at a known line."""
    ws = dict(TINY)
    ws["stages.csv"] = TINY["stages.csv"].rstrip() + textwrap.indent(textwrap.dedent("""
        L1,lead,2025-10-02T09:00:00Z,marketing,automation,,
        L4,Funnel,2025-11-21T08:00:00Z,marketing,automation,,
        ,mql,2025-11-22T08:00:00Z,marketing,automation,,
        L9,mql,2025-11-23T08:00:00Z,marketing,automation,,
        """), "        ")
    ws["activities.csv"] = TINY["activities.csv"].rstrip() + "\n        X2,2025-11-03T11:00:00Z,other,call,L3,A3,,R1\n"
    return write_workspace(tmp_path / "ws", ws)


def test_bad_rows_named_as_before(tmp_path):
    """Lines of the rows added by hand (the header is line 1; TINY's stages end at line 17)."""
    folder = _bad_workspace(tmp_path)
    with pytest.raises(WorkspaceError) as err:
        load_workspace(folder)
    got = {(p.file.rsplit("/", 1)[-1], p.rule, p.line, p.column) for p in err.value.problems}
    assert ("stages.csv", "duplicate-key", 18, "lead_id") in got  # an exact repeat of line 2
    assert ("stages.csv", "vocabulary", 19, "stage") in got  # 'Funnel' lowercased is still no stage
    assert ("stages.csv", "required-value", 20, "lead_id") in got
    assert ("stages.csv", "orphan-reference", 21, "lead_id") in got  # no lead L9
    assert ("activities.csv", "duplicate-key", 6, "activity_id") in got
    assert ("activities.csv", "vocabulary", 6, "team") in got


def test_arrow_checks_match_the_object_checks(tmp_path):
    """The same problems, in the same order and words, with the Arrow strings as without them."""
    folder = _bad_workspace(tmp_path)
    frames, strings, where = {}, {}, {}
    for name in ("accounts", "leads", "stages", "activities", "opportunities"):
        where[name] = folder / f"{name}.csv"
        strings[name] = {}
        frames[name], _ = files.read_table(where[name], TABLES[name], Formats(), strings[name])
    assert set(strings["stages"]) >= {"lead_id", "stage", "team", "opportunity_id"}
    slow = checks.validate_tables(frames, where, currency="EUR")
    fast = checks.validate_tables(frames, where, currency="EUR", strings=strings)
    assert [str(p) for p in fast] == [str(p) for p in slow] and len(slow) >= 6


def test_duplicated_on_codes_is_pandas_duplicated():
    """Keys of several columns with missing values (which equal each other, as in pandas) and repeated times."""
    rng = np.random.default_rng(3)
    n = 5000
    frame = pd.DataFrame({
        "lead_id": rng.choice(["L1", "L2", None], n).astype(object),
        "stage": rng.choice(["lead", "mql", None], n).astype(object),
        "at": pd.to_datetime(rng.choice([0, 1, 2], n) * 10**9, utc=True).where(rng.random(n) > 0.1)})
    ids = checks.Ids({})  # no id table: every column by value
    strings = {"stage": pa.array(frame["stage"].to_numpy(), pa.string())}
    want = frame.duplicated(["lead_id", "stage", "at"], keep="first")
    got = checks._duplicated("stages", frame, ["lead_id", "stage", "at"], ids, strings)
    assert got.tolist() == want.tolist() and want.sum() > 0


def test_problems_in_the_order_of_workspace_yaml(tmp_path):
    """Tables are read at once, but their problems come in the order workspace.yaml lists them: a bad leads file,
    a missing stages file, a bad activities file."""
    ws = dict(TINY)
    ws["leads.csv"] = TINY["leads.csv"].replace("2025-10-05T10:00:00Z", "yesterday")
    ws["activities.csv"] = TINY["activities.csv"].replace("2025-10-08T11:00:00Z", "tomorrow")
    del ws["stages.csv"]
    with pytest.raises(WorkspaceError) as err:
        load_workspace(write_workspace(tmp_path / "ws", ws))
    order = [(p.file.rsplit("/", 1)[-1], p.rule) for p in err.value.problems]
    firsts = [order.index(item) for item in [("leads.csv", "bad-datetime"), ("stages.csv", "missing-file"),
                                             ("activities.csv", "bad-datetime")]]
    assert firsts == sorted(firsts)


def test_files_workspace_does_not_import_the_database_driver():
    """Loading a workspace of files imports neither psycopg nor sqlglot (a tenth of a second at every start)."""
    code = ("import sys; from salign.workspace.load import load_workspace; load_workspace('data/sample'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'sqlglot')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(files.Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == "[]"
