"""Reading the source files a mapping names, with their declared formats, as text.

Structural problems (unreadable file, wrong encoding or delimiter, duplicate or
missing columns, empty file) are collected for every file before failing; row-level
problems (a yes/no token outside the accepted set) are returned per row for quarantine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from salign.core.problems import Collector
from salign.workspace.files import placeholder_counts, read_raw


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
                problems: Collector, tidy=None, hint: str = "") -> Source | None:
    """Read one source file; add structural problems to ``problems``.

    ``needed`` maps each column the mapping reads to where the mapping reads it (for the message).
    ``hint`` is added to a missing-column message (e.g. which header names a vendor export may use).
    ``tidy`` optionally adapts a vendor export before anything is checked (header labels, report
    footers): ``tidy(key, frame) -> (frame, counts)``; the counts go into the file's report entry.
    """
    if not path.is_file():
        problems.add(path, "missing-file", f"the mapping names source file '{key}' but it does not exist")
        return None
    frame, read_problems = read_raw(path, formats, expected=list(needed))
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
