"""Reading the source files a mapping names, with their declared formats, as text.

Structural problems (unreadable file, wrong encoding or delimiter, duplicate or
missing columns, empty file) are collected for every file before failing; row-level
problems (a yes/no token outside the accepted set) are returned per row for quarantine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from salign.core.problems import Collector, Problem
from salign.workspace.files import SHOWN, placeholder_counts, read_raw


def csv_files(folder: Path, names) -> dict[str, str]:
    """Name -> file name of each ``<name>.csv`` present in ``folder`` (matched case-insensitively)."""
    present = {p.name.lower(): p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}
    return {n: present[f"{n.lower()}.csv"] for n in names if f"{n.lower()}.csv" in present}


@dataclass
class Source:
    """One source file read as text; index = line number in the file."""

    key: str
    path: Path
    frame: pd.DataFrame
    formats: object
    #: the rows exactly as read (before placeholders and yes/no tokens were normalised), for quarantine records
    raw: pd.DataFrame | None = None
    #: header as the mapping reads it -> header as written in the file (vendor labels renamed by ``tidy``)
    renamed: dict = field(default_factory=dict)
    #: line -> (rule, column, value, message): rows to quarantine in every table built from this file
    bad_rows: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def read_source(key: str, path: Path, formats, booleans: list[str], needed: dict[str, str],
                problems: Collector, tidy=None, hint: str = "", whitespace: bool = False) -> Source | None:
    """Read one source file; add structural problems to ``problems``.

    ``needed`` maps each column the mapping reads to where the mapping reads it (for the message).
    ``hint`` is added to a missing-column message (e.g. which header names a vendor export may use).
    ``tidy`` optionally adapts a vendor export before anything is checked (header labels, report
    footers): ``tidy(key, frame) -> (frame, counts)``; the counts go into the file's report entry.
    ``whitespace``: fields are separated by runs of spaces and tabs (``delimiter: whitespace``).
    """
    if not path.is_file():
        problems.add(path, "missing-file", f"the mapping names source file '{key}' but it does not exist")
        return None
    frame, read_problems = (read_whitespace(path, formats) if whitespace else
                            read_raw(path, formats, expected=list(needed)))
    problems.extend(read_problems)
    if frame is None:
        return None
    info: dict = {"path": str(path), "rows": 0}
    renamed = {}
    if tidy is not None:
        frame, counts = tidy(key, frame)
        renamed = counts.pop("renamed", {})
        info.update(counts)
    raw = frame
    counts = placeholder_counts(frame, getattr(formats, "placeholders", []))
    if counts:
        info["placeholders"] = counts
    tokens = list(getattr(formats, "placeholders", []) or [])
    if tokens:
        frame = frame.mask(frame.isin(tokens))
    info["rows"] = len(frame)
    if frame.empty:
        problems.add(path, "empty-table", "the file has a header but no rows", line=1)
    missing = [c for c in needed if c not in frame.columns]
    written = [renamed.get(c, c) for c in map(str, frame.columns)]
    for col in missing:
        problems.add(path, "required-column", f"the mapping reads this column ({needed[col]}) but the file's header "
                     f"does not have it (has: {', '.join(written[:12])}{', ...' if len(written) > 12 else ''})" +
                     ("; most mapped columns are missing: is this the right file?" if len(missing) > len(needed) / 2
                      else "") + hint, column=col, line=1, value=",".join(written))
    source = Source(key, path, frame, formats, raw=raw, info=info, renamed=renamed)
    for col in booleans:
        if col not in frame.columns:
            problems.add(path, "required-column", "declared as a yes/no column, but the file does not have it",
                         column=col, line=1)
            continue
        _normalise_booleans(source, col)
    return source


def read_whitespace(path: Path, formats) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a text file whose fields are separated by runs of spaces or tabs (``delimiter: whitespace``), as
    text with ``None`` for the declared null values; index = line number (blank lines are skipped). A value
    cannot hold a space, and no field may be left empty: a line with another number of fields than the
    header is reported with its line number."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(str(path), "unreadable", str(exc))]
    try:
        text = raw.decode(formats.encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, [Problem(str(path), "encoding", f"byte 0x{raw[exc.start]:02X} cannot be read as "
                              f"{formats.encoding}; declare the file's encoding in formats.encoding", line=line)]
    except LookupError:
        return None, [Problem(str(path), "encoding", f"unknown encoding {formats.encoding!r}")]
    text = text.removeprefix("\ufeff")
    lines = [(i, line.split()) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        return None, [Problem(str(path), "empty-file", "the file has no header line")]
    (head_line, header), rows = lines[0], lines[1:]
    problems = [Problem(str(path), "duplicate-header", "the header names this column twice", column=c, line=head_line,
                        value=c) for i, c in enumerate(header) if c in header[:i]]
    for line, fields in rows:
        if len(fields) != len(header) and len(problems) < SHOWN:
            problems.append(Problem(str(path), "field-count", f"this line has {len(fields)} fields, the header has "
                                    f"{len(header)} (delimiter: whitespace: a value cannot hold a space and no value "
                                    "may be left empty; write a declared null value such as NA instead)",
                                    line=line, value=" ".join(fields)[:120]))
    if problems:
        return None, problems
    frame = pd.DataFrame([f for _, f in rows], columns=header, index=[i for i, _ in rows], dtype=object)
    nulls = set(formats.null_values)
    return frame.mask(frame.isin(nulls)).astype(object).where(lambda f: f.notna(), None), []


def _normalise_booleans(source: Source, col: str) -> None:
    f = source.formats
    true = {t.strip().lower() for t in f.true_values}
    false = {t.strip().lower() for t in f.false_values}
    values = source.frame[col]
    folded = values.astype("string[pyarrow]").str.strip().str.lower()
    is_true, is_false = folded.isin(true), folded.isin(false)
    bad = values.notna() & ~is_true & ~is_false
    accepted = f"accepted: {', '.join(f.true_values)} for yes; {', '.join(f.false_values)} for no"
    for i in bad[bad.fillna(False).astype(bool)].index:
        source.bad_rows.setdefault(i, ("boolean-token", col, values[i], f"not a yes/no token ({accepted})"))
    out = pd.Series(None, index=values.index, dtype=object)
    out[is_true.fillna(False).astype(bool)] = "true"
    out[is_false.fillna(False).astype(bool)] = "false"
    source.frame = source.frame.copy() if source.frame is source.raw else source.frame
    source.frame[col] = out
