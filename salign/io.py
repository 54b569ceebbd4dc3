"""Reading tables with the formats the workspace declares, into typed frames.

A frame's index is the line number in its file (the header is line 1), so every
later check can say where a value came from. Parquet rows are numbered from 1.
"""
from __future__ import annotations

import csv
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from salign.problems import Problem
from salign.schema import TableSpec


def read_table(path: Path, spec: TableSpec, formats) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read one table file and convert declared columns to their types.

    Returns the frame (``None`` if the file cannot be read at all) and the problems found.
    """
    path = Path(path)
    name = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if name in (".csv", ".csv.gz", ".txt"):
        frame, problems = _read_csv(path, formats)
    elif name == ".parquet":
        frame, problems = _read_parquet(path)
    else:
        return None, [Problem(str(path), "file-type", "unsupported file type; use .csv, .csv.gz or .parquet")]
    if frame is None:
        return None, problems
    if frame.empty:
        problems.append(Problem(str(path), "empty-table", "the file has a header but no rows"))
    for column in spec.columns:
        if column.name in frame.columns:
            frame[column.name], col_problems = _convert(frame[column.name], column.kind, formats, str(path))
            problems.extend(col_problems)
    return frame, problems


def _read_csv(path: Path, formats) -> tuple[pd.DataFrame | None, list[Problem]]:
    problems: list[Problem] = []
    try:
        with open(path, newline="", encoding=formats.encoding) as fh:
            header = next(csv.reader(fh, delimiter=formats.delimiter), None)
    except UnicodeDecodeError as exc:
        return None, [Problem(str(path), "encoding", f"cannot be read as {formats.encoding} "
                              f"(byte {exc.start}); declare the file's encoding in workspace.yaml formats.encoding")]
    except OSError as exc:
        return None, [Problem(str(path), "unreadable", str(exc))]
    if header is None:
        return None, [Problem(str(path), "empty-file", "the file is empty (no header line)")]
    seen = set()
    for col in header:
        if col in seen:
            problems.append(Problem(str(path), "duplicate-header", "the header names this column twice", column=col, line=1))
        seen.add(col)
    if problems:
        return None, problems
    try:
        frame = pd.read_csv(
            path, sep=formats.delimiter, encoding=formats.encoding, dtype=str, keep_default_na=False,
            na_values=list(formats.null_values), quotechar='"', skipinitialspace=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        return None, [Problem(str(path), "csv-syntax", f"cannot be parsed as CSV: {exc}")]
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    for col in frame.columns:
        frame[col] = frame[col].str.strip().replace("", pd.NA) if frame[col].dtype == object else frame[col]
    return frame, problems


def _read_parquet(path: Path) -> tuple[pd.DataFrame | None, list[Problem]]:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        return None, [Problem(str(path), "unreadable", f"cannot be read as Parquet: {exc}")]
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame, []


def _convert(col: pd.Series, kind: str, formats, file: str) -> tuple[pd.Series, list[Problem]]:
    if kind in ("int", "number"):
        return _to_number(col, formats, file)
    if kind == "datetime":
        return _to_datetime(col, formats, file)
    if kind == "category":
        return col.astype("string").str.strip().str.lower().astype(object).where(col.notna()), []
    if pd.api.types.is_numeric_dtype(col):  # ids written as numbers in Parquet
        return col.astype("Int64").astype("string").astype(object).where(col.notna()), []
    return col, []


def _to_number(col: pd.Series, formats, file: str) -> tuple[pd.Series, list[Problem]]:
    if pd.api.types.is_numeric_dtype(col):
        return col.astype(float), []
    text = col.astype("string")
    if formats.thousands:
        text = text.str.replace(formats.thousands, "", regex=False)
    if formats.decimal != ".":
        text = text.str.replace(formats.decimal, ".", regex=False)
    num = pd.to_numeric(text, errors="coerce")
    bad = col.notna() & num.isna()
    problems = [
        Problem(file, "not-a-number", f"expected a number (decimal mark {formats.decimal!r}"
                + (f", thousands separator {formats.thousands!r})" if formats.thousands else ")"),
                column=col.name, line=int(i), value=col[i])
        for i in col.index[bad][:50]
    ]
    if bad.sum() > 50:
        problems.append(Problem(file, "not-a-number", f"{int(bad.sum()) - 50} more values are not numbers", column=col.name))
    return num.astype(float), problems


def _to_datetime(col: pd.Series, formats, file: str) -> tuple[pd.Series, list[Problem]]:
    if pd.api.types.is_datetime64_any_dtype(col):
        parsed = col if col.dt.tz is not None else col.dt.tz_localize(ZoneInfo(formats.timestamps_timezone))
        return parsed.dt.tz_convert("UTC"), []
    text = col.astype("string")
    out = pd.to_datetime(text, format=formats.datetime_format, errors="coerce")
    rest = out.isna() & col.notna()
    if rest.any():
        out = out.where(~rest, pd.to_datetime(text.where(rest), format=formats.date_format, errors="coerce"))
    if getattr(out.dt, "tz", None) is None:
        out = out.dt.tz_localize(ZoneInfo(formats.timestamps_timezone), ambiguous="NaT", nonexistent="NaT")
    out = out.dt.tz_convert("UTC")
    bad = col.notna() & out.isna()
    problems = [
        Problem(file, "bad-datetime", f"does not match the declared datetime_format {formats.datetime_format!r} "
                f"or date_format {formats.date_format!r}", column=col.name, line=int(i), value=col[i])
        for i in col.index[bad][:50]
    ]
    if bad.sum() > 50:
        problems.append(Problem(file, "bad-datetime", f"{int(bad.sum()) - 50} more values do not match", column=col.name))
    return out, problems
