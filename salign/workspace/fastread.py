"""The fast way to read a clean CSV table: pyarrow's multithreaded reader and vectorised conversions.

:func:`read_clean` returns the same frame and problems as :func:`salign.workspace.files.read_table`, or ``None``
when the file is not one it can vouch for; the caller then reads it the slow, diagnosing way. It vouches only
for what it checks:

- UTF-8 (``utf-8`` or ``utf-8-sig``, its byte-order mark), a one-character delimiter, null tokens without
  surrounding spaces, a plain ``.csv``/``.txt``/``.tsv`` file (not gzip);
- a header that names every column once, with no other delimiter splitting it better;
- one record per line (no quoted line break, no lone carriage return, no field-count mismatch: pyarrow refuses
  the file and the slow reader reports it), a last line that does not end inside a quoted value, and at least
  one row.

Per column, the values it can convert exactly without Python (fixed-width dates and times, whole numbers, ASCII
ids and categories) are converted with Arrow and NumPy; every other value (including every bad one) goes through
the same :func:`~salign.workspace.files.convert` as the slow reader, on just those rows, so the values and the
problems (file, line, column, value, hint) are those the slow reader gives. Lines are the file's: the header is
line 1 and each record is one line.
"""
from __future__ import annotations

import csv
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from salign.core.problems import Problem
from salign.workspace.schema import TableSpec

#: What Python's ``str.strip()`` removes from an ASCII string (``str.isspace``).
_PY_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
#: Whole numbers this reader converts itself (exactly representable as floats); others go the slow way.
_INT = re.compile(r"^-?[0-9]{1,15}$")
#: Candidates for the slow id check (the patterns of ``salign.workspace.files``, in RE2).
_SCIENTIFIC = r"^[+-]?[0-9](?:[.,][0-9]{1,14})?[eE][+-]?[0-9]{1,3}$"
_FLOATY = r"^[0-9]+\.0+$"
#: strftime directives of fixed width (digits) this reader converts itself, with their widths.
_FIXED = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}
#: Columns converted at a time.
_THREADS = 2
#: Rows of dates converted at a time.
_ROWS = 1 << 16
#: Rows looked at to decide whether a column's strings are mostly distinct.
_SAMPLE = 10_000


def _utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig", "utf8-sig")


def read_clean(path: Path, spec: TableSpec, formats, files, strings: dict | None = None
               ) -> tuple[pd.DataFrame, list[Problem]] | None:
    """The typed frame and its problems, as :func:`salign.workspace.files.read_table` gives them, or ``None`` when
    the file needs the slow reader (see the module's documentation). ``files`` is that module (passed in, to use
    its conversions without importing it back).

    ``strings``, if given, receives the text columns (ids, categories, text) as Arrow strings where they hold
    exactly the frame's values (null where the frame has ``None``), for checks that are faster on Arrow."""
    suffix = path.suffix.lower()
    nulls = list(formats.null_values)
    if suffix not in (".csv", ".txt", ".tsv") or not _utf8(formats.encoding) or len(formats.delimiter) != 1 \
            or formats.delimiter in ('"', "\n", "\r") or any(v.strip() != v or not v.isascii() for v in nulls):
        return None
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    table, lines = _parse(raw, path, formats, [c.name for c in spec.columns if c.required], files)
    del raw
    if table is None:
        return None
    where = str(path)
    tokens = list(getattr(formats, "placeholders", []) or [])
    columns, placeheld = {}, {}
    for name in table.column_names:
        arr = table.column(name).combine_chunks()
        if tokens:
            hit = pc.fill_null(pc.is_in(arr, value_set=pa.array(tokens, pa.string())), False)
            if pc.any(hit).as_py():
                placeheld[name] = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
                arr = pc.if_else(hit, pa.scalar(None, pa.string()), arr)
        columns[name] = arr
    del table

    def one(name: str, arr: pa.Array):
        column = spec.column(name)
        kind = column.kind if column is not None else "text"
        values, rest, arrow = _convert(arr, kind, formats)
        found = []
        if rest is not None and rest.any():
            original = pd.Series(arr.filter(pa.array(rest)).to_numpy(zero_copy_only=False), index=lines[rest],
                                 name=name, dtype=object)
            conv = files.convert(original, kind, formats)
            if kind == "datetime":
                values[rest] = conv.values.dt.tz_convert("UTC").dt.as_unit("ns").array.asi8
            else:
                values[rest] = conv.values.to_numpy()
            found = conv.problems(where)
            arrow = None
        if kind == "datetime":
            values = _utc(values)
        elif name in placeheld and kind in ("text", "id"):
            values[placeheld[name]] = np.nan  # as DataFrame.mask leaves them in the slow reader
        return values, found, (arrow if kind not in ("int", "number", "datetime") else False)

    # two at a time: while one column's strings become Python objects (which holds the interpreter), Arrow and
    # NumPy work on another's
    with ThreadPoolExecutor(_THREADS) as pool:
        done = dict(zip(columns, pool.map(one, columns, columns.values())))
    del columns
    out = {name: values for name, (values, _, _) in done.items()}
    found = {name: problems for name, (_, problems, _) in done.items()}
    typed_arrow = {name: arrow for name, (_, _, arrow) in done.items() if arrow is not False}
    del done
    problems = [p for c in spec.columns for p in found.get(c.name, [])]
    frame = pd.DataFrame(out, index=lines, copy=False)
    problems.extend(_placeholder_problems(frame, typed_arrow, where, files.PLACEHOLDERS))
    if strings is not None:
        strings.update({name: arr for name, arr in typed_arrow.items() if arr is not None and name not in placeheld})
    return frame, problems


def _placeholder_problems(frame: pd.DataFrame, arrows: dict, where: str, placeholders) -> list[Problem]:
    """:func:`salign.workspace.files.undeclared_placeholders` on the frame, using the columns' Arrow strings."""
    out = []
    for col, arr in arrows.items():
        if frame[col].dtype != object:
            continue
        if arr is None:
            arr = pa.array(frame[col].to_numpy(), type=pa.string(), from_pandas=True)
        rows = np.flatnonzero(_could_be(arr, placeholders))
        folded = pc.utf8_lower(pc.utf8_trim_whitespace(arr.take(pa.array(rows, pa.int64()))))
        hit = rows[_mask(pc.is_in(folded, value_set=pa.array(placeholders)))]
        if len(hit):
            first = int(hit[0])
            out.append(Problem(where, "undeclared-placeholder", f"{len(hit)} value(s) look like a placeholder "
                               "for 'missing'; declare the token in formats.placeholders (treated as missing and "
                               "counted) or formats.null_values", column=str(col), line=int(frame.index[first]),
                               value=frame[col].iloc[first]))
    return out


#: Bytes that may start or end Unicode whitespace in UTF-8: ASCII whitespace (as Python and Arrow see it); every
#: byte of a multi-byte character counts too.
_EDGE_SPACE = np.zeros(256, dtype=bool)
_EDGE_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_EDGE_SPACE[0x80:] = True


def _could_be(arr: pa.Array, tokens) -> np.ndarray:
    """The values that may, stripped and lowercased, be one of ``tokens`` (ASCII): those starting or ending with
    a byte of possible whitespace or of a multi-byte character, and short ones whose first and last characters
    are a token's first and last (in either case). Read from Arrow's buffers, no string is built."""
    n = len(arr)
    if not n or arr.null_count == n:
        return np.zeros(n, dtype=bool)
    present = _present(arr) if arr.null_count else None
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    size = np.diff(offsets)
    filled = present & (size > 0) if arr.null_count else size > 0
    if filled.all():
        head, tail = data.take(offsets[:-1]), data.take(offsets[1:] - 1)
    else:
        head, tail = data.take(np.where(filled, offsets[:-1], 0)), data.take(np.where(filled, offsets[1:] - 1, 0))
    starts = np.zeros(256, dtype=bool)
    ends = np.zeros(256, dtype=bool)
    for t in tokens:
        for ch in {t[0].lower(), t[0].upper()}:
            starts[ord(ch)] = True
        for ch in {t[-1].lower(), t[-1].upper()}:
            ends[ord(ch)] = True
    longest = 4 * max(map(len, tokens))  # characters of up to 4 bytes (a Kelvin sign lowercases to k)
    return filled & (_EDGE_SPACE[head] | _EDGE_SPACE[tail] | ((size <= longest) & starts[head] & ends[tail]))


# -- parsing ----------------------------------------------------------------------------------------------------
def _parse(raw: bytes, path: Path, formats, expected: list[str], files):
    """The file as an Arrow table of strings (nulls for the declared null tokens and, where values are padded,
    for what is blank once stripped) without its blank rows, and each row's line; ``(None, None)`` if the slow
    reader must read it."""
    start = 0
    if raw.startswith(b"\xef\xbb\xbf"):
        if formats.encoding.lower().replace("_", "-") not in ("utf-8-sig", "utf8-sig"):
            return None, None
        start = 3
    if not raw[start:] or raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4096]:
        return None, None
    end = raw.find(b"\n", start)
    try:
        first = raw[start: end if end >= 0 else len(raw)].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        return None, None
    d = formats.delimiter
    header = next(csv.reader([first], delimiter=d), []) if first.strip() else []
    if not header or len(set(header)) != len(header) or any(not c.strip() for c in header) \
            or files._wrong_delimiter(header, first, d, expected) is not None:
        return None, None
    physical = raw.count(b"\n", start) + (0 if raw.endswith(b"\n") else 1)
    try:
        table = pcsv.read_csv(
            pa.py_buffer(raw[start:] if start else raw),
            read_options=pcsv.ReadOptions(skip_rows=1, column_names=header, block_size=1 << 23),
            parse_options=pcsv.ParseOptions(delimiter=d, quote_char='"', double_quote=True, escape_char=False,
                                            newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                                null_values=list(formats.null_values), strings_can_be_null=True,
                                                quoted_strings_can_be_null=True, check_utf8=True))
    except (pa.ArrowException, ValueError):
        return None, None
    if table.num_rows == 0 or physical != table.num_rows + 1 or _ends_in_quote(raw, d):
        return None, None
    if _padded(raw, start, d):
        table = pa.table({c: _stripped(table.column(c).combine_chunks()) for c in header})
    lines = pd.RangeIndex(2, table.num_rows + 2)
    blank = None
    for c in header:
        null = table.column(c).is_null()
        blank = null if blank is None else pc.and_(blank, null)
    if pc.any(blank).as_py():
        keep = pc.invert(blank)
        lines = pd.Index(np.asarray(lines)[keep.to_numpy(zero_copy_only=False)])
        table = table.filter(keep)
        if table.num_rows == 0:
            return None, None
    return table, lines


def _ends_in_quote(raw: bytes, delimiter: str) -> bool:
    """Whether the last record (one line) ends inside a quoted value: the file was cut short."""
    end = len(raw)
    while end and raw[end - 1] in b"\r\n":
        end -= 1
    last = raw[raw.rfind(b"\n", 0, end) + 1: end]  # slices of the tail only: no copy of the file
    if b'"' not in last:
        return False
    try:
        list(csv.reader([last.decode("utf-8")], delimiter=delimiter, strict=True))
    except (csv.Error, UnicodeDecodeError):
        return True
    return False


def _padded(raw: bytes, start: int, delimiter: str) -> bool:
    """Whether a space or tab starts or ends a field as written: the slow reader's search
    ``(^|d)[ \\t]|[ \\t](d|\\r?$)`` (multiline) of the text, done on the UTF-8 bytes in blocks (an ASCII byte
    is a whole character in UTF-8)."""
    d = ord(delimiter)
    data = np.frombuffer(raw, dtype=np.uint8)[start:]
    if not len(data):
        return False
    if data[0] in (32, 9) or data[-1] in (32, 9) or (len(data) > 1 and data[-1] == 13 and data[-2] in (32, 9)):
        return True
    block = 1 << 24
    for lo in range(0, len(data), block):
        chunk = data[max(lo - 1, 0): lo + block + 2]
        at = np.flatnonzero((chunk == 32) | (chunk == 9))
        at = at[(at > 0) & (at < len(chunk) - 1)]
        before, after = chunk[at - 1], chunk[at + 1]
        if ((before == d) | (before == 10) | (after == d) | (after == 10)).any():
            return True
        cr = at[(after == 13) & (at < len(chunk) - 2)]
        if (chunk[cr + 2] == 10).any():
            return True
    return False


def _stripped(arr: pa.Array) -> pa.Array:
    """Values stripped as the slow reader strips padded files (Arrow's whitespace), blank ones missing."""
    trimmed = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


# -- converting -------------------------------------------------------------------------------------------------
def _convert(arr: pa.Array, kind: str, formats) -> tuple[np.ndarray, np.ndarray | None, pa.Array | None]:
    """``(values, rest, arrow)``: the column converted where that is exact, the rows (a boolean mask) the slow
    conversion must do (``None``: none), and the converted strings as Arrow (``None`` for other kinds)."""
    if kind == "datetime":
        values, rest = _datetimes(arr, formats)
        return values, rest, None
    if kind in ("int", "number"):
        if formats.thousands or formats.decimal != ".":
            return np.full(len(arr), np.nan), _present(arr), None
        ok = pc.fill_null(pc.match_substring_regex(arr, _INT.pattern), False)
        values = pc.cast(pc.if_else(ok, arr, pa.scalar(None, pa.string())), pa.float64())
        return values.to_numpy(zero_copy_only=False).copy(), _present(arr) & ~_mask(ok), None
    if kind == "category":
        offsets, data = _buffers(arr)
        if _ascii(data):  # (the usual case, decided on the bytes: no string is built)
            head, tail, filled = _ends(arr, offsets, data)
            if not (_SPACE_BYTE[head] | _SPACE_BYTE[tail])[filled].any() and not ((data >= 65) & (data <= 90)).any():
                return _objects(arr), None, arr  # nothing to strip or lowercase
            conv = pc.ascii_lower(pc.utf8_trim(arr, _PY_ASCII_SPACE))
            return _objects(conv), None, conv
        ascii_ = pc.fill_null(pc.string_is_ascii(arr), True)
        conv = pc.ascii_lower(pc.utf8_trim(arr, _PY_ASCII_SPACE))
        conv = pc.if_else(ascii_, conv, pa.scalar(None, pa.string()))
        return _objects(conv), _present(arr) & ~_mask(ascii_), conv
    if kind == "id":  # ids a spreadsheet mangled, and non-ASCII ones (\\d is wider in Python), go the slow way
        offsets, data = _buffers(arr)
        odd = np.zeros(len(arr), dtype=bool) if _ascii(data) else \
            ~_mask(pc.fill_null(pc.string_is_ascii(arr), True))
        head, _, filled = _ends(arr, offsets, data)
        maybe = np.flatnonzero(filled & _NUMBER_START[head])  # both patterns start with a digit or a sign
        if len(maybe):
            some = arr.take(pa.array(maybe, pa.int64()))
            odd[maybe[_mask(pc.or_(pc.match_substring_regex(some, _SCIENTIFIC),
                                   pc.match_substring_regex(some, _FLOATY)))]] = True
        return _objects(arr), odd, arr
    return _objects(arr), None, arr


#: Bytes that start a value the id patterns (:data:`_SCIENTIFIC`, :data:`_FLOATY`) may match.
_NUMBER_START = np.zeros(256, dtype=bool)
_NUMBER_START[list(b"+-0123456789")] = True
#: The bytes of :data:`_PY_ASCII_SPACE`.
_SPACE_BYTE = np.zeros(256, dtype=bool)
_SPACE_BYTE[list(_PY_ASCII_SPACE.encode())] = True


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The value offsets of a string array (``len(arr) + 1`` of them) and its bytes, as NumPy views."""
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + n + 1]
    data = arr.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return offsets, data[offsets[0]: offsets[-1]] if n else data[:0]


def _ascii(data: np.ndarray) -> bool:
    """Whether the bytes (:func:`_buffers`) are all ASCII, so every value is."""
    return not len(data) or int(data.max()) < 128


def _ends(arr: pa.Array, offsets: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first and last byte of each value (0 where it has none) and which values have bytes (not missing, not
    empty); ``data`` as :func:`_buffers` gives it (starting at the first value)."""
    size = np.diff(offsets)
    filled = (size > 0) & _present(arr) if arr.null_count else size > 0
    if not len(data):
        return np.zeros(len(arr), dtype=np.uint8), np.zeros(len(arr), dtype=np.uint8), filled
    start = offsets[:-1] - offsets[0]
    end = offsets[1:] - offsets[0] - 1
    if filled.all():
        return data.take(start), data.take(end), filled
    return data.take(np.where(filled, start, 0)), data.take(np.where(filled, end, 0)), filled


def _datetimes(arr: pa.Array, formats) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (UTC, nanoseconds) of the values written exactly in the declared ``datetime_format`` (or, for the
    others, ``date_format``) with fixed-width numbers, and the rows left to the slow conversion."""
    zone = formats.timestamps_timezone
    ns = np.full(len(arr), np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    rest = _present(arr)
    fmt = formats.datetime_format
    if _fixed_fields(fmt) is None or not rest.any():
        return ns, rest
    got, ok = _fixed_parse(arr, fmt)
    if not re.search(r"(?<!%)Z$", fmt) and zone != "UTC":
        local = pd.DatetimeIndex(np.where(ok, got, np.iinfo(np.int64).min).view("M8[ns]"))
        got = local.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").asi8
        ok &= got != np.iinfo(np.int64).min
    ns[ok] = got[ok]
    return ns, rest & ~ok


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC")


def _fixed_fields(fmt: str) -> tuple[int, list[tuple[str, int]], list[tuple[int, int]]] | None:
    """The width of ``fmt``'s values written with every number at full width, each directive's ``(letter,
    offset)`` and each literal's ``(offset, byte)``; ``None`` if ``fmt`` has a directive of another kind."""
    fields, literals, pos, i = [], [], 0, 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            if i + 1 >= len(fmt):
                return None
            letter = fmt[i + 1]
            if letter == "%":
                literals.append((pos, ord("%")))
                pos += 1
            elif letter in _FIXED:
                fields.append((letter, pos))
                pos += _FIXED[letter]
            else:
                return None
            i += 2
            continue
        if not ch.isascii() or ch.isspace() and ch != " ":
            return None
        literals.append((pos, ord(ch)))
        pos, i = pos + 1, i + 1
    if not fields or {"Y", "m", "d"} - {f for f, _ in fields} or len({f for f, _ in fields}) != len(fields):
        return None
    return pos, fields, literals


def _fixed_parse(arr: pa.Array, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Naive nanoseconds of the values written exactly as ``fmt`` with every number at full width and naming a
    real date and time (in the years pandas holds in nanoseconds), and which those are; other rows are left alone.

    The values are read as bytes from Arrow's buffers: a value of the right length whose digit places hold ASCII
    digits and whose other places the format's characters."""
    width, fields, literals = _fixed_fields(fmt)
    n = len(arr)
    out = np.zeros(n, dtype=np.int64)
    if arr.null_count == n:
        return out, np.zeros(n, dtype=bool)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    ok = (np.diff(offsets) == width) & _present(arr)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return out, ok
    if len(idx) == n and offsets[-1] - offsets[0] == n * width:
        block = data[offsets[0]: offsets[-1]].reshape(n, width)
    else:
        block = data[offsets[idx][:, None] + np.arange(width)]
    low = np.full(width, 48, dtype=np.uint8)  # each place: a digit, or the format's character
    span = np.full(width, 9, dtype=np.uint8)
    for at, byte in literals:
        low[at], span[at] = byte, 0
    good = np.empty(len(idx), dtype=bool)
    part = {f: np.empty(len(idx), dtype=np.int64) for f, _ in fields}
    for lo in range(0, len(idx), _ROWS):  # in blocks of rows, small enough to stay in the processor's cache
        rows = block[lo: lo + _ROWS] - low  # a digit's value at a digit's place (bytes below wrap round, above 9)
        good[lo: lo + _ROWS] = (rows <= span).all(axis=1)
        for letter, at in fields:
            value = rows[:, at].astype(np.int64)
            for k in range(1, _FIXED[letter]):
                value = value * 10 + rows[:, at + k]
            part[letter][lo: lo + _ROWS] = value
    y, m, d = part["Y"], part["m"], part["d"]
    hh, mm, ss = part.get("H", 0), part.get("M", 0), part.get("S", 0)
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    good &= (y >= 1678) & (y <= 2261) & (m >= 1) & (m <= 12) & (d >= 1) & (hh <= 23) & (mm <= 59) & (ss <= 59)
    good &= d <= _MONTH_DAYS[np.clip(m, 0, 12)] + (leap & (m == 2))
    ns = (((_days(y, m, d) * 24 + hh) * 60 + mm) * 60 + ss)
    out[idx] = ns * 1_000_000_000
    ok[idx] = good
    return out, ok


#: Days of each month (index 1 .. 12) in a year that is not a leap year.
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of the proleptic Gregorian dates (years from 1 on), in integer arithmetic."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(m > 2, m - 3, m + 9) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _objects(arr: pa.Array) -> np.ndarray:
    """Python strings (``None`` where missing), as pandas keeps text; a value repeated in the column is one object
    (as pandas' own reader makes it) unless the column's first rows are mostly distinct, where sharing saves
    little and costs time."""
    head = arr.slice(0, _SAMPLE)
    if len(head) and pc.count_distinct(head).as_py() > len(head) // 2:
        return arr.to_numpy(zero_copy_only=False)
    return pa.chunked_array([arr]).to_pandas(deduplicate_objects=True).to_numpy()


def _mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _present(arr: pa.Array) -> np.ndarray:
    return _mask(arr.is_valid())
