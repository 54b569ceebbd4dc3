"""``salign score`` file handling: read a leads file as text, write the scored copy atomically.

The leads file is read, never written: every value is kept as its text (identifiers with
leading zeros stay intact) and the output is a new file carrying the input columns plus the
score columns, written to a temporary file next to ``out`` and renamed into place. In a CSV,
text a spreadsheet would run as a formula gets a leading quote (:mod:`salign.core.csvsafe`).

Before anything is scored the columns are checked (:func:`check_columns`): a file from which most of
the scorecard cannot be read (saved with semicolons, exported without those fields, or with the
columns present but empty) is refused, naming the columns, because every lead would otherwise get
the points of missing values and come out "low" without a word. ``allow_missing`` scores it anyway.
A column the file repeats is refused (which one is meant?). Smaller gaps are notes: a column
absent or empty, numbers that are not numbers (counted, the first one named with its line), a
category column none of whose values the scorecard knows, a field required before handoff that
no lead carries.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from salign.core import csvsafe
from salign.core.problems import Problem, WorkspaceError
from salign.definitions.qualification import load_definition
from salign.scoring.bins import NUMERIC, distinct, is_number
from salign.scoring.score import Scorer

PARQUET = (".parquet", ".pq")
#: every CSV column is read as dictionary-encoded text: values stay exactly as written, and each
#: distinct value is stored (and later looked at by the scorer) once
TEXT = pa.dictionary(pa.int32(), pa.string())
#: bytes parsed per block: few blocks, so few per-block dictionaries to unify when scoring
BLOCK = 64 << 20


#: a file is refused when more than this share of the scorecard's features cannot be read from it
MOST = 0.5
#: delimiters a one-column header gives away (a spreadsheet's "CSV" in many locales uses ';')
OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def read_leads(path: Path) -> pd.DataFrame:
    """A CSV (UTF-8, comma-separated, header row) or Parquet file of leads, CSV values as text.

    Columns are Arrow-backed and dictionary-encoded (pyarrow reads the file), which is also what
    makes scoring fast.
    """
    if not path.is_file():
        raise WorkspaceError([Problem(str(path), "missing-file", "file not found")], str(path))
    if path.suffix.lower() in PARQUET:
        return pd.read_parquet(path, dtype_backend="pyarrow")
    try:
        names = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
        convert = pacsv.ConvertOptions(column_types={name: TEXT for name in names}, null_values=[""],
                                       strings_can_be_null=True)
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=BLOCK), convert_options=convert)
    except (UnicodeDecodeError, pd.errors.ParserError, pa.ArrowInvalid) as exc:
        raise WorkspaceError([Problem(str(path), "unreadable", f"not a UTF-8 comma-separated file ({exc})")],
                             str(path)) from None
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def write_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write CSV or Parquet (by suffix) to a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if path.suffix.lower() in PARQUET:
            pq.write_table(table, tmp)
        else:  # dictionary-encoded text back to plain text, no formulas; quotes only where a value needs them
            table = csvsafe.safe_table(table.cast(pa.schema([
                pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
                for f in table.schema])))
            pacsv.write_csv(table, tmp, write_options=pacsv.WriteOptions(quoting_style="needed"))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _loose(name: str) -> str:
    return "".join(ch for ch in str(name).casefold() if ch.isalnum())


def _line(path: Path, row: int) -> str:
    """Where row ``row`` (0-based) of the file is, for a message: its line in a CSV, its row in Parquet."""
    return f"row {row + 1}" if path.suffix.lower() in PARQUET else f"line {row + 2}"


def check_columns(scorer: Scorer, frame: pd.DataFrame, path: Path, allow_missing: bool = False) -> list[str]:
    """Can the definition be read from ``frame``? Refuse the file when it cannot; else the notes to print.

    A scorecard feature is *unusable* when its column is absent, empty in every row, or (numeric)
    holds no value that reads as a number. More than :data:`MOST` of the features unusable, or a
    column of the definition that appears twice, raise :class:`WorkspaceError` naming the columns
    (``allow_missing`` lets the first case through, as notes).

    Returns
    -------
    list of str
        Notes for the user, one per column worth a word.
    """
    file = str(path)
    columns = [str(c) for c in frame.columns]
    features = scorer.card.specs
    needed = list(dict.fromkeys([s.field for s in features] + scorer.required
                                + [f for r in scorer.rules for f in sorted(r.fields())]))
    twice = [f for f in needed if columns.count(f) > 1]
    if twice:
        raise WorkspaceError([Problem(file, "duplicate-column", f"the column appears {columns.count(f)} times in the "
                                      "header; keep one (which one the definition should read is not clear)",
                                      column=f, line=1) for f in twice], file)
    loose = {}
    for c in columns:
        loose.setdefault(_loose(c), c)
    n = len(frame)
    unusable: dict[str, Problem] = {}
    notes: list[str] = []
    for spec in features:
        field = spec.field
        if field not in frame.columns:
            near = loose.get(_loose(field))
            hint = f" (the file has '{near}': columns are matched by exact name)" if near else ""
            unusable[field] = Problem(file, "missing-column", "the scorecard reads this column; the file has none"
                                      + hint, column=field, line=1)
            continue
        if n == 0:
            continue
        inverse, uniques = distinct(frame[field])
        blank = np.array([isinstance(v, str) and not v.strip() for v in uniques], dtype=bool)
        present = (inverse >= 0) & ~np.append(blank, True)[inverse]
        if not present.any():
            unusable[field] = Problem(file, "empty-column", f"the column is empty in all {n:,} rows", column=field)
            continue
        if spec.kind == NUMERIC and not is_number(frame[field]):
            numbers = pd.to_numeric(uniques.astype(str).str.strip(), errors="coerce").notna().to_numpy()
            bad = present & ~np.append(numbers, True)[inverse]
            if not (present & ~bad).any():
                first = int(np.flatnonzero(bad)[0])
                unusable[field] = Problem(file, "not-a-number", "no value of this column reads as a number "
                                          "(write plain numbers: 1500, not 1,500)", column=field,
                                          line=first + 2 if path.suffix.lower() not in PARQUET else None,
                                          value=str(frame[field].iloc[first]))
            elif bad.any():
                first = int(np.flatnonzero(bad)[0])
                notes.append(f"{field}: {int(bad.sum()):,} of {n:,} values are not numbers (first at "
                             f"{_line(path, first)}: {str(frame[field].iloc[first])!r}); scored as missing")
        elif spec.kind != NUMERIC:
            known = {_loose(v) for v in spec.levels}
            if spec.levels and not any(_loose(v) in known for v, b in zip(uniques, blank) if not b):
                notes.append(f"{field}: none of its {int((~blank).sum()):,} distinct values is one the scorecard "
                             f"knows ({', '.join(spec.levels[:4])}{' ...' if len(spec.levels) > 4 else ''}); "
                             "every lead gets the points of 'any other value'")
    if unusable and len(unusable) > MOST * len(features) and not allow_missing:
        header = ", ".join(columns[:8]) + (" ..." if len(columns) > 8 else "")
        delimiter = next((name for d, name in OTHER_DELIMITERS.items() if len(columns) == 1 and d in columns[0]), None)
        why = (f"the header is one column holding {delimiter}: salign score reads comma-separated files; save the "
               "file as CSV with commas (or as Parquet)" if delimiter else f"the header reads: {header}")
        summary = Problem(file, "scorecard-columns-missing", f"{len(unusable)} of the scorecard's {len(features)} "
                          f"columns cannot be read ({', '.join(unusable)}); every lead would get the points of "
                          f"missing values. {why[0].upper() + why[1:]}. Give --allow-missing to score it anyway.",
                          line=1)
        raise WorkspaceError([summary, *unusable.values()], file)
    what = {"missing-column": "the file has no such column", "empty-column": "the column is empty",
            "not-a-number": "no value reads as a number"}
    notes = [f"{field}: {what[p.rule]}; counted as missing" for field, p in unusable.items()] + notes
    on_card = {s.field for s in features}
    for field in needed:
        gone = field not in frame.columns or bool(n and frame[field].isna().all())
        state = "absent" if field not in frame.columns else "empty"
        if gone and field in scorer.required:
            notes.append(f"{field}: required before handoff and {state}; no lead can be qualified "
                         "(the sales-ready ones are 'incomplete')")
        elif gone and field not in on_card:
            notes.append(f"{field}: read by a disqualification rule and {state}; counted as missing")
    return notes


def score_file(definition: Path, leads: Path, out: Path,
               allow_missing: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Score the leads in ``leads`` with ``definition`` and write them with their scores to ``out``.

    The file is refused (:class:`WorkspaceError`, nothing written) when most of the scorecard's
    columns cannot be read from it, unless ``allow_missing`` (see :func:`check_columns`).

    Returns
    -------
    (pandas.DataFrame, list of str)
        The scored frame and notes on the columns (absent or empty ones count as missing).
    """
    if Path(out).resolve() == Path(leads).resolve():
        raise ValueError("--out must differ from --leads: the leads file is never modified")
    scorer = Scorer(load_definition(definition))
    frame = read_leads(Path(leads))
    notes = check_columns(scorer, frame, Path(leads), allow_missing)
    scored = scorer.score(frame)
    scored["qualified"] = scored["qualified"].map({True: "yes", False: "no"})
    result = pd.concat([frame, scored.drop(columns=[c for c in scored.columns if c in frame.columns])], axis=1)
    write_atomic(result, Path(out))
    return result, notes
