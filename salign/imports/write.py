"""Writing an imported workspace: canonical CSVs, ``workspace.yaml``, the import report and quarantine.

The workspace is written to a staging folder next to ``out``, loaded back with
:func:`salign.load_workspace` (so an import never hands over a workspace that
does not validate), and only then swapped in. A ``definitions/`` folder already in
``out`` is kept. A folder holding a workspace that was not written by an import is
never replaced.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from salign.core.problems import Problem, WorkspaceError
from salign.core.strictyaml import dump_yaml
from salign.imports.mapping import Built
from salign.imports.report import KEPT_TABLES, foreign_entries
from salign.workspace.load import load_workspace
from salign.workspace.schema import PII_COLUMNS, TABLES

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: canonical tables a CRM export does not hold (the content inventory): a file of one already in ``out`` is kept


def write_workspace(built: Built, out: Path, name: str | None = None):
    """Write ``built`` as a workspace folder ``out`` and return the loaded :class:`~salign.workspace.tables.Tables`."""

    out = Path(out)
    if out.exists() and (out / "workspace.yaml").exists() and not (out / "import_report.json").exists():
        raise WorkspaceError([Problem(str(out), "out-exists", "this folder holds a workspace that was not written by "
                                      "'salign import'; choose another --out (it is never overwritten)")], str(out))
    if out.is_dir() and not (out / "import_report.json").exists() and (foreign := foreign_entries(out)):
        raise WorkspaceError([Problem(str(out), "out-not-empty", (
            f"this folder holds files an import did not write ({', '.join(foreign[:5])}"
            f"{', ...' if len(foreign) > 5 else ''}); an import replaces its --out folder as a whole, so choose an "
            "empty or a new folder (definitions/ and kept tables such as content.csv may be put there first)"))],
            str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.importing-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        tables = {}
        for table, frame in built.frames.items():  # data salign reads back: values kept as they are, no csvsafe
            _frame_to_csv(table, frame).to_csv(stage / f"{table}.csv", index=False)
            tables[table] = f"{table}.csv"
        if (out / "definitions").is_dir():
            shutil.copytree(out / "definitions", stage / "definitions")
        for table in KEPT_TABLES:  # tables no export holds, added by hand: kept like definitions/
            kept = out / f"{table}.csv"
            if table not in tables and kept.is_file():
                shutil.copyfile(kept, stage / kept.name)
                tables[table] = kept.name
                built.report.notes.append(f"{kept.name} was kept from {out} (the {built.report.kind} export has no "
                                          f"{table} table; it is not part of this import)")
        (stage / "workspace.yaml").write_text(_workspace_yaml(built, tables, name), encoding="utf-8")
        built.report.write(stage)
        try:
            loaded = load_workspace(stage)
        except WorkspaceError as exc:  # name the user's file and line, not the staging copy's
            raise WorkspaceError(to_sources(exc.problems, stage, built, tables, out), built.report.source) from None
        old = out.parent / f".{out.name}.replaced-{os.getpid()}"
        if out.exists():
            out.rename(old)
        stage.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    loaded.folder = out
    return loaded


def to_sources(problems: list[Problem], stage: Path, built: Built, tables: dict[str, str], out: Path
               ) -> list[Problem]:
    """Problems found in the staged workspace, located in the source files the rows came from.

    A problem on line ``n`` of a staged table file is the table's row ``n - 2`` (line 1 is the header):
    its source file, line and the header that file uses for the column. The message says which canonical
    table and column it became. A problem about a whole staged file (no line) names the source files it was built
    from; a problem in a file kept from ``out`` (``definitions/``, ``content.csv``) names it there; any other
    problem is kept as it is.
    """
    by_file = {str(stage / f): t for t, f in tables.items()}
    origins = built.origins or {}
    found = []
    for p in problems:
        table = by_file.get(p.file)
        origin = origins.get(table) if table is not None else None
        if origin is None:
            inside = p.file.startswith(str(stage) + os.sep)
            found.append(Problem(str(out / p.file[len(str(stage)) + 1:]), p.rule, p.message, p.column, p.line, p.value)
                         if inside else p)
            continue
        row = p.line - 2 if p.line is not None else None
        if row is not None and 0 <= row < len(origin):
            o = origin.iloc[row]
            column = o["columns"].get(p.column, p.column) if p.column is not None else None
            found.append(Problem(o["file"], p.rule, f"{p.message} (in the imported {table}.{p.column})"
                               if p.column else f"{p.message} (in the imported {table} table)",
                               column=column, line=int(o["line"]), value=p.value))
        else:
            files = ", ".join(sorted({Path(f).name for f in origin["file"]})) or "its source files"
            found.append(Problem(str(built.report.source), p.rule, f"the imported {table} table (from {files}): "
                               f"{p.message}", column=p.column, value=p.value))
    return found


def _frame_to_csv(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The table as written: the data model's columns in its order, then personal data, then the rest as mapped
    (so the same data gives the same file whichever export it came from)."""
    out = pd.DataFrame(index=frame.index)
    spec = TABLES[table]
    first = [c.name for c in spec.columns] + [c for c in PII_COLUMNS if spec.column(c) is None]
    for col in [c for c in first if c in frame.columns] + [c for c in frame.columns if c not in first]:
        s = frame[col]
        kind = spec.column(col).kind if spec.column(col) is not None else "text"
        if pd.api.types.is_datetime64_any_dtype(s):  # DATETIME_FORMAT, written by numpy (strftime is slow)
            text = np.datetime_as_string(s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[s]"),
                                         unit="s")
            out[col] = pd.Series(text, index=s.index).add("Z").where(s.notna(), None)
        elif kind in ("int", "number") and pd.api.types.is_numeric_dtype(s):
            whole = s.dropna().mod(1).eq(0).all()
            out[col] = s.round(0).astype("Int64") if whole else s.round(6)
        else:
            out[col] = s
    return out


def _workspace_yaml(built: Built, tables: dict[str, str], name: str | None) -> str:
    w = built.mapping.workspace
    doc = {
        "name": name or w.name or built.mapping.name,
        "timezone": w.timezone,
        "fiscal_year_start_month": w.fiscal_year_start_month,
        "currency": w.currency,
    }
    if w.as_of is not None:
        doc["as_of"] = w.as_of.isoformat()
    if w.outcome is not None:
        doc["outcome"] = w.outcome
    if w.exchange_rates:
        doc["exchange_rates"] = dict(w.exchange_rates)
    doc["formats"] = {"delimiter": ",", "decimal": ".", "encoding": "utf-8", "datetime_format": DATETIME_FORMAT,
                      "date_format": "%Y-%m-%d", "timestamps_timezone": "UTC", "null_values": [""]}
    doc["tables"] = tables
    recorded = getattr(built, "recorded", None)
    if recorded:  # the mapping's 'recorded:' declarations, as WorkspaceConfig.recorded reads them
        doc["recorded"] = {t: dict(sorted(cols.items())) for t, cols in sorted(recorded.items())}
    head = (f"# Written by 'salign import' ({built.report.kind}) from {built.report.source}\n"
            "# What happened to every source row: import_report.json and quarantine.csv.\n")
    return head + dump_yaml(doc, sort_keys=False, allow_unicode=True)
