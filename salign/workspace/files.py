"""Reading tables with the formats the workspace declares, into typed frames.

Nothing is guessed: the delimiter, encoding, decimal mark, date formats and
null tokens are declared. What *is* detected is a declaration that cannot be
right (a UTF-16 file declared UTF-8, a byte-order mark, one column where a
different delimiter gives several, dates that only parse another way), and
each such problem is reported with file, column, line and value.

Timestamps are local to ``timestamps_timezone`` unless they say otherwise: a format
with ``%z`` keeps each value's offset, and a format ending in a literal ``Z`` (as
``%Y-%m-%dT%H:%M:%SZ``) is read as UTC whatever ``timestamps_timezone`` says, since
``Z`` means UTC. A local time that does not exist (the daylight-saving gap) or exists
twice (the hour repeated in autumn) is reported as such.

A frame's index is the line number in its file (the header is line 1), so every
later check can say where a value came from. Parquet rows are numbered from 1.
Input files are only ever opened for reading.

A clean UTF-8 CSV file (one record per line, a sound header) is read by
:mod:`salign.workspace.fastread` (pyarrow, vectorised conversions); it hands every value it cannot convert
exactly, and every file it cannot vouch for, to the code here, so the frame and the problems are the same
either way (``tests/test_fastread.py``).
"""
from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from salign.core.problems import Problem
from salign.workspace import fastread
from salign.workspace.schema import TableSpec

#: Delimiters tried when the declared one leaves the header in one piece.
DELIMITERS = (",", ";", "\t", "|")
#: Values CRMs write for "nothing here"; if one appears undeclared it is reported, never silently kept.
PLACEHOLDERS = ("select", "--none--", "n/a", "#n/a", "null", "none", "nan", "-", "--", "(blank)")
#: Shown at most this many times per column and rule; a summary line counts the rest.
SHOWN = 50


def read_table(path: Path, spec: TableSpec, formats, strings: dict | None = None
               ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read one canonical table file and convert declared columns to their types.

    Returns the frame (``None`` if the file cannot be read at all) and the problems found. A clean CSV file
    takes the fast way (:func:`salign.workspace.fastread.read_clean`), with the same result; ``strings`` (a dict)
    then receives its text columns as Arrow strings (see there).
    """
    path = Path(path)
    if (clean := fastread.read_clean(path, spec, formats, sys.modules[__name__], strings)) is not None:
        return clean
    frame, problems = read_raw(path, formats, expected=[c.name for c in spec.columns if c.required])
    if frame is None:
        return None, problems
    frame, typed_problems = type_frame(frame, spec, formats, str(path))
    return frame, problems + typed_problems


def type_frame(frame: pd.DataFrame, spec: TableSpec, formats, where: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Declared placeholders made missing, declared columns converted to their types; the problems found.

    ``where`` names the source in problems (a file, or a database table).
    """
    problems: list[Problem] = []
    tokens = list(getattr(formats, "placeholders", []) or [])
    if tokens:
        frame = frame.mask(frame.isin(tokens))
    if frame.empty:
        problems.append(Problem(where, "empty-table", "the table has no rows" if not where.endswith(
            (".csv", ".gz", ".txt", ".tsv", ".parquet")) else "the file has a header but no rows"))
    for column in spec.columns:
        if column.name in frame.columns:
            conv = convert(frame[column.name], column.kind, formats)
            frame[column.name] = conv.values
            problems.extend(conv.problems(where))
    problems.extend(undeclared_placeholders(frame, spec, where))
    return frame, problems


# -- raw reading ------------------------------------------------------------------------------------------------
def read_raw(path: Path, formats, expected: list[str] | None = None) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a CSV or Parquet file as text (``None`` for missing values), index = line number.

    ``formats`` needs ``delimiter``, ``encoding`` and ``null_values``; ``expected`` names
    columns the caller needs (used to explain a wrong delimiter). Declared placeholders are
    still in the frame: count them with :func:`placeholder_counts`, then mask them.
    """
    path = Path(path)
    name = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if name.lower() in (".csv", ".csv.gz", ".txt", ".tsv"):
        frame, problems = _read_csv(path, formats, expected or [])
    elif name.lower() == ".parquet":
        frame, problems = _read_parquet(path)
    else:
        return None, [Problem(str(path), "file-type", f"unsupported file type {name or '(none)'!r}; use .csv, .csv.gz "
                              "or .parquet")]
    return frame, problems


def placeholder_counts(frame: pd.DataFrame, tokens) -> dict[str, dict[str, int]]:
    """``{column: {token: count}}`` of declared placeholder values, before they become missing."""
    out: dict[str, dict[str, int]] = {}
    tokens = list(tokens or [])
    if not tokens:
        return out
    for col in frame.columns:
        hits = frame[col][frame[col].isin(tokens)].value_counts()
        if len(hits):
            out[str(col)] = {str(k): int(v) for k, v in hits.items()}
    return out


def _decode(path: Path, formats) -> tuple[str | None, list[Problem]]:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        import gzip

        raw = gzip.decompress(raw)
    if not raw:
        return None, [Problem(str(path), "empty-file", "the file is empty (0 bytes, no header line)")]
    enc = formats.encoding.lower().replace("_", "-")
    if raw.startswith(b"\xef\xbb\xbf") and enc != "utf-8-sig":
        return None, [Problem(str(path), "byte-order-mark", "the file starts with a UTF-8 byte-order mark (EF BB BF, "
                              f"as Excel writes it) but the declared encoding is {formats.encoding}; declare "
                              "encoding: utf-8-sig", line=1)]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) and not enc.startswith("utf-16"):
        return None, [Problem(str(path), "encoding", f"the file is UTF-16 (byte-order mark {raw[:2].hex(' ').upper()}) "
                              f"but the declared encoding is {formats.encoding}; declare encoding: utf-16", line=1)]
    if b"\x00" in raw[:4096] and not enc.startswith(("utf-16", "utf-32")):
        return None, [Problem(str(path), "encoding", "the file holds NUL bytes, so it is UTF-16 without a byte-order "
                              f"mark or not text at all, not {formats.encoding}", line=1)]
    try:
        return raw.decode(formats.encoding), []
    except UnicodeDecodeError as exc:
        return None, [_decode_problem(path, raw, exc, formats)]
    except LookupError:
        return None, [Problem(str(path), "encoding", f"unknown encoding {formats.encoding!r}")]


def _decode_problem(path: Path, raw: bytes, exc: UnicodeDecodeError, formats) -> Problem:
    line = raw.count(b"\n", 0, exc.start) + 1
    start = raw.rfind(b"\n", 0, exc.start) + 1
    end = raw.find(b"\n", exc.start)
    text = raw[start: end if end >= 0 else len(raw)].decode("cp1252", errors="replace").rstrip("\r")
    header = raw[: raw.find(b"\n") if b"\n" in raw else len(raw)].decode("cp1252", errors="replace").rstrip("\r")
    cells = next(csv.reader([text], delimiter=formats.delimiter), [])
    names = next(csv.reader([header], delimiter=formats.delimiter), [])
    offset = exc.start - start
    column, value, pos = None, text, 0
    for i, cell in enumerate(cells):
        pos = text.find(cell, pos)
        if pos <= offset < pos + len(cell) + 1:
            column, value = (names[i] if i < len(names) else None), cell
            break
        pos += len(cell)
    hint = "it reads as cp1252 (Windows Western); declare encoding: cp1252" if _is_cp1252(raw) else \
        "declare the file's encoding in formats.encoding"
    return Problem(str(path), "encoding", f"byte 0x{raw[exc.start]:02X} cannot be read as {formats.encoding}; {hint}",
                   column=column, line=line, value=value)


def _is_cp1252(raw: bytes) -> bool:
    try:
        raw.decode("cp1252")
        return True
    except UnicodeDecodeError:
        return False


def _read_csv(path: Path, formats, expected: list[str]) -> tuple[pd.DataFrame | None, list[Problem]]:
    try:
        text, problems = _decode(path, formats)
    except OSError as exc:
        return None, [Problem(str(path), "unreadable", str(exc))]
    if text is None:
        return None, problems
    if text.startswith("\ufeff"):
        text = text[1:]
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first.strip():
        return None, [Problem(str(path), "empty-file", "the first line is empty, so the file has no header", line=1)]
    header = next(csv.reader([first], delimiter=formats.delimiter), [])
    wrong = _wrong_delimiter(header, first, formats.delimiter, expected)
    if wrong:
        return None, [Problem(str(path), "delimiter", wrong, column=header[0] if header else None, line=1,
                              value=first)]
    for i, col in enumerate(header):
        if col in header[:i]:
            problems.append(Problem(str(path), "duplicate-header", "the header names this column twice "
                                    f"(positions {header.index(col) + 1} and {i + 1})", column=col, line=1, value=col))
        elif not col.strip():
            problems.append(Problem(str(path), "blank-header", f"column {i + 1} has no name", line=1))
    if problems:
        return None, problems
    if (cut := _cut_short(path, text, formats.delimiter, header)) is not None:
        return None, [cut]
    try:
        frame = pd.read_csv(io.StringIO(text), sep=formats.delimiter, dtype=str, keep_default_na=False,
                            na_values=list(formats.null_values), quotechar='"', skip_blank_lines=False,
                            skipinitialspace=False)
    except (pd.errors.ParserError, ValueError):
        return None, _field_count_problems(path, text, formats.delimiter, header)
    frame.index = _line_numbers(text, len(frame))
    d = re.escape(formats.delimiter)
    padded = re.search(rf"(^|{d})[ \t]|[ \t]({d}|\r?$)", text, flags=re.M) is not None
    nulls = [v for v in formats.null_values if v.strip() != v]  # null tokens only visible after stripping
    for col in frame.columns:
        values = frame[col]
        if padded:
            values = values.astype("string[pyarrow]").str.strip()
            gone = values.eq("").fillna(False) | (values.isin(list(formats.null_values)) if nulls else False)
            values = values.astype(object).where(~gone & values.notna(), None)
        frame[col] = values.astype(object).where(values.notna(), None)
    blank = frame.isna().all(axis=1)
    return frame[~blank], problems


def _wrong_delimiter(header: list[str], first: str, declared: str, expected: list[str]) -> str | None:
    if len(header) > 1:
        return None
    splits = {d: next(csv.reader([first], delimiter=d)) for d in DELIMITERS if d != declared}
    best = max(splits, key=lambda d: len(splits[d]))
    n = len(splits[best])
    if n > 1 and (not expected or len(expected) > 1 or any(c in splits[best] for c in expected)):
        shown = {"\t": "a tab", ",": "','", ";": "';'", "|": "'|'"}
        return (f"the header is one column with the declared delimiter {shown.get(declared, repr(declared))}, but "
                f"{shown[best]} splits it into {n} columns ({', '.join(splits[best][:8])}"
                f"{', ...' if n > 8 else ''}); declare delimiter: {best!r}" if best != "\t" else
                f"the header is one column with the declared delimiter {shown.get(declared, repr(declared))}, but a "
                f"tab splits it into {n} columns; declare delimiter: \"\\t\"")
    return None


def _line_numbers(text: str, n_rows: int) -> pd.Index:
    """The 1-based line each record starts on (quoted fields may span lines)."""
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    if physical == n_rows + 1:
        return pd.RangeIndex(2, n_rows + 2)
    reader = csv.reader(io.StringIO(text))
    starts, line = [], 1
    next(reader, None)
    line = reader.line_num + 1
    for _ in reader:
        starts.append(line)
        line = reader.line_num + 1
    return pd.Index(starts[:n_rows]) if len(starts) >= n_rows else pd.RangeIndex(2, n_rows + 2)


def _cut_short(path: Path, text: str, delimiter: str, header: list[str]) -> Problem | None:
    """A problem when the file ends in the middle of a record (an interrupted download or copy), else ``None``:
    inside a quoted value, or on a last line with fewer fields than the header and no line ending."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    next(reader, None)
    line, last, start = reader.line_num + 1, None, None
    try:
        for row in reader:
            if row:
                last, start = row, line
            line = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" not in str(exc):
            return None  # another quoting mistake: reported when the file is parsed
        return Problem(str(path), "truncated", "the file ends inside a quoted value: it was cut short (an "
                       "interrupted download or copy?); export it again", line=line,
                       value="\n".join(text.split("\n")[line - 1:])[:120])
    if last is not None and len(last) < len(header) and not text.endswith(("\n", "\r")):
        return Problem(str(path), "truncated", f"the last line has {len(last)} of the header's {len(header)} fields "
                       "and no line ending: the file was cut short (an interrupted download or copy?); export it "
                       "again", line=start, value=delimiter.join(last)[:120])
    return None


def _field_count_problems(path: Path, text: str, delimiter: str, header: list[str]) -> list[Problem]:
    out = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(reader, None)
    line = reader.line_num + 1
    for row in reader:
        if row and len(row) != len(header):
            out.append(Problem(str(path), "field-count", f"this line has {len(row)} fields, the header has "
                               f"{len(header)} (an unquoted delimiter or a wrong delimiter declaration)",
                               line=line, value=delimiter.join(row)[:120]))
            if len(out) >= SHOWN:
                break
        line = reader.line_num + 1
    return out or [Problem(str(path), "csv-syntax", "cannot be parsed as CSV (unbalanced quotes?)")]


def _read_parquet(path: Path) -> tuple[pd.DataFrame | None, list[Problem]]:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        return None, [Problem(str(path), "unreadable", f"cannot be read as Parquet: {exc}")]
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame, []


# -- typing -----------------------------------------------------------------------------------------------------
class Converted:
    """A column converted to its declared kind, with the values that could not be converted.

    Attributes
    ----------
    values : pd.Series
        The typed column (missing where conversion failed).
    bad : pd.Series
        Boolean mask of present values that could not be converted.
    rule, message : str
        The rule that was broken and its explanation.
    hints : dict
        Per-line extra explanation (e.g. the other date format a value matches).
    """

    def __init__(self, values, bad=None, rule="", message="", hints=None):
        self.values, self.original = values, values
        self.bad = bad if bad is not None else pd.Series(False, index=values.index)
        self.rule, self.message, self.hints = rule, message, hints or {}

    def problems(self, file: str, limit: int = SHOWN) -> list[Problem]:
        """The failures as located problems, at most ``limit`` plus a count of the rest."""
        lines = list(self.bad.index[self.bad.to_numpy()])
        col = self.values.name
        out = [Problem(file, self.rule, self.message + self.hints.get(i, ""), column=col, line=int(i),
                       value=self.original[i]) for i in lines[:limit]]
        if len(lines) > limit:
            out.append(Problem(file, self.rule, f"{len(lines) - limit} more values break this rule", column=col))
        return out


def convert(col: pd.Series, kind: str, formats) -> Converted:
    """Convert one column to ``kind`` (id, text, int, number, datetime, category) with the declared formats."""
    if kind in ("int", "number"):
        out = _to_number(col, formats, integer=kind == "int")
    elif kind == "datetime":
        out = _to_datetime(col, formats)
    elif kind == "category":
        out = Converted(col.astype("string").str.strip().str.lower().astype(object).where(col.notna(), None))
    elif kind == "id":
        out = _to_id(col)
    else:
        out = Converted(col)
    out.original = col
    return out


#: what a spreadsheet writes for a number it shows in scientific notation: one digit, at most 14 decimals, an
#: exponent of at most 3 digits (1.2E+05, 4.01013E+31). A hex id such as 401013266745e5661589292315434968 is not.
_SCIENTIFIC = re.compile(r"^[+-]?[0-9](?:[.,][0-9]{1,14})?[eE][+-]?[0-9]{1,3}$")
_FLOATY = re.compile(r"^\d+\.0+$")


def _to_id(col: pd.Series) -> Converted:
    if pd.api.types.is_float_dtype(col):  # ids written as floats in Parquet
        frac = col.notna() & (col % 1 != 0)
        values = col.where(~frac).astype("Int64").astype("string").astype(object).where(col.notna() & ~frac, None)
        return Converted(values.rename(col.name), frac, "mangled-id", "an id stored as a fractional number")
    if pd.api.types.is_numeric_dtype(col):  # ids written as integers in Parquet
        return Converted(col.astype("Int64").astype("string").astype(object).where(col.notna(), None))
    text = col.astype("string[pyarrow]")
    sci = text.str.match(_SCIENTIFIC.pattern).fillna(False).astype(bool)
    floaty = text.str.match(_FLOATY.pattern).fillna(False).astype(bool)
    bad = sci | floaty
    hints = {i: (" (scientific notation: a spreadsheet turned the id into a number and lost digits; export ids as "
                 "text)" if sci[i] else " (a '.0' suffix: a spreadsheet turned the id into a number; export ids as text)")
             for i in col.index[bad.to_numpy()][:SHOWN]}
    return Converted(col.where(~bad, None), bad, "mangled-id", "this id was changed by a spreadsheet", hints)


def _to_number(col: pd.Series, formats, integer: bool = False) -> Converted:
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        num = col.astype(float)
        text = col.astype(object)
    else:
        text = col.astype("string")
        if formats.thousands:
            text = text.str.replace(formats.thousands, "", regex=False)
        if formats.decimal != ".":  # a point that is not the declared thousands separator makes the value fail
            text = text.str.replace(".", "\x00", regex=False).str.replace(formats.decimal, ".", regex=False)
        num = pd.to_numeric(text, errors="coerce").astype(float)
    nonfinite = ~np.isfinite(num.fillna(0.0))
    num = num.where(~nonfinite)
    bad = col.notna() & num.isna()
    sep = (f", thousands separator {formats.thousands!r})" if formats.thousands else ")")
    frac = num.notna() & (num % 1 != 0) if integer else pd.Series(False, index=col.index)
    bad |= frac
    hints = {}
    for i in col.index[bad.to_numpy()][:SHOWN]:
        v = str(col[i]).strip()
        if frac[i]:
            hints[i] = "; this column holds whole numbers"
        elif v.casefold() in PLACEHOLDERS:
            hints[i] = "; it looks like a placeholder: declare it in formats.null_values or formats.placeholders"
        elif re.fullmatch(r"[+-]?\d+([.,]\d+)+", v):
            hints[i] = (f"; it has a {'comma' if ',' in v else 'point'}: declare the decimal mark and thousands "
                        "separator this file uses (formats.decimal, formats.thousands)")
        elif re.fullmatch(r"[A-Z]{3}\s*[+-]?[\d.,]+|[+-]?[\d.,]+\s*[A-Z]{3}|[$€£¥][\d.,]+", v):
            hints[i] = "; it carries a currency: put the currency in its own column and the amount here"
        elif v.casefold() in ("inf", "-inf", "infinity", "nan"):
            hints[i] = "; not a finite number"
    return Converted(num, bad, "not-a-number", f"expected a number (decimal mark {formats.decimal!r}" + sep, hints)


def _to_datetime(col: pd.Series, formats) -> Converted:
    zone = ZoneInfo(_zone(formats))
    if pd.api.types.is_datetime64_any_dtype(col):
        parsed = col if col.dt.tz is not None else col.dt.tz_localize(zone)
        return Converted(parsed.dt.tz_convert("UTC"))
    text = col.astype("string")
    out = _parse(text, formats.datetime_format, zone)
    rest = out.isna() & col.notna()
    if rest.any():
        out = out.where(~rest, _parse(text.where(rest), formats.date_format, zone))
    bad = col.notna() & out.isna()
    hints = {i: date_hint(str(col[i]), formats) for i in col.index[bad.to_numpy()][:SHOWN]}
    return Converted(out, bad, "bad-datetime", f"does not match the declared datetime_format "
                     f"{formats.datetime_format!r} or date_format {formats.date_format!r}", hints)


#: Formats tried only to explain a value that does not match the declared one (never to read it).
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
                "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M",
                "%m/%d/%Y %I:%M %p", "%d/%m/%y", "%m/%d/%y", "%d %b %Y", "%b %d, %Y", "%Y/%m/%d", "%Y%m%d")


def date_hint(value: str, formats) -> str:
    """Explain why ``value`` failed: which other format it matches, whether it parses two ways, or no date at all."""
    import datetime as dt

    if hint := _local_time_hint(value, formats):
        return hint
    hits = []
    for f in DATE_FORMATS:
        try:
            hits.append((f, dt.datetime.strptime(value.strip(), f)))
        except ValueError:
            continue
    days = {d for _, d in hits}
    if len(days) > 1:
        ways = "; ".join(f"{f} gives {d:%d %b %Y}" for f, d in hits[:3])
        return f"; it parses two ways ({ways}): declare date_format with the day/month order this file uses"
    if hits:
        return f"; it matches {hits[0][0]!r}: the column mixes date formats or the declaration is wrong"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", value.strip()):
        return "; not a calendar date"
    if value.strip().casefold() in PLACEHOLDERS:
        return "; it looks like a placeholder: declare it in formats.null_values or formats.placeholders"
    return ""


def _parse(text: pd.Series, fmt: str, zone: ZoneInfo) -> pd.Series:
    """Parse with one format; values with an offset (``%z``) keep it, a literal ``Z`` means UTC, others are local
    to ``zone``; UTC out."""
    if "%z" in fmt:
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    out = pd.to_datetime(text, format=fmt, errors="coerce")
    if _says_utc(fmt):
        return out.dt.tz_localize("UTC")
    return out.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")


def _says_utc(fmt: str) -> bool:
    """Whether a datetime format ends in a literal ``Z`` (not ``%Z``): its values are UTC."""
    return re.search(r"(?<!%)Z$", fmt) is not None


def _local_time_hint(value: str, formats) -> str:
    """'; it falls in the daylight-saving gap ...' when ``value`` matches the datetime format but names a local
    time of ``timestamps_timezone`` that does not exist or exists twice; else ''."""
    fmt = formats.datetime_format
    if "%z" in fmt or _says_utc(fmt):
        return ""
    naive = pd.to_datetime(pd.Series([value.strip()]), format=fmt, errors="coerce")
    if naive.isna().all():
        return ""
    zone = _zone(formats)
    if naive.dt.tz_localize(zone, ambiguous=np.array([True]), nonexistent="NaT").isna().all():
        return (f"; it falls in the daylight-saving gap of {zone}: clocks jumped forward over this local time, so "
                "it never happened (an export that shifted times, or times that are really UTC: declare "
                "timestamps_timezone: UTC or write them with an offset)")
    return (f"; it falls in the hour {zone} repeats when clocks go back, so it names two instants: write "
            "timestamps in UTC or with an offset")


def _zone(formats) -> str:
    return formats.timestamps_timezone


def undeclared_placeholders(frame: pd.DataFrame, spec: TableSpec, file: str) -> list[Problem]:
    """Text columns holding a typical placeholder ('Select', '--None--', 'N/A') that nobody declared.

    Such a value would otherwise count as a real category. One problem per column (first line, count).
    """
    out = []
    typed = {c.name for c in spec.columns if c.kind in ("int", "number", "datetime")}
    for col in frame.columns:
        if col in typed or frame[col].dtype != object:
            continue
        values = frame[col].dropna()
        if values.empty:
            continue
        folded = values.astype("string[pyarrow]").str.strip().str.lower()
        hit = folded.isin(PLACEHOLDERS).fillna(False).astype(bool)
        if hit.any():
            first = hit.idxmax()
            out.append(Problem(file, "undeclared-placeholder", f"{int(hit.sum())} value(s) look like a placeholder "
                               "for 'missing'; declare the token in formats.placeholders (treated as missing and "
                               "counted) or formats.null_values", column=str(col), line=int(first),
                               value=values[first]))
    return out
