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
from salign.workspace.load import load_workspace
from salign.workspace.schema import TABLES

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def write_workspace(built: Built, out: Path, name: str | None = None):
    """Write ``built`` as a workspace folder ``out`` and return the loaded :class:`~salign.workspace.tables.Tables`."""

    out = Path(out)
    if out.exists() and (out / "workspace.yaml").exists() and not (out / "import_report.json").exists():
        raise WorkspaceError([Problem(str(out), "out-exists", "this folder holds a workspace that was not written by "
                                      "'salign import'; choose another --out (it is never overwritten)")], str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.importing-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        tables = {}
        for table, frame in built.frames.items():  # data salign reads back: values kept as they are, no csvsafe
            _frame_to_csv(table, frame).to_csv(stage / f"{table}.csv", index=False)
            tables[table] = f"{table}.csv"
        (stage / "workspace.yaml").write_text(_workspace_yaml(built, tables, name), encoding="utf-8")
        built.report.write(stage)
        if (out / "definitions").is_dir():
            shutil.copytree(out / "definitions", stage / "definitions")
        loaded = load_workspace(stage)
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


def _frame_to_csv(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    spec = TABLES[table]
    for col in frame.columns:
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
    if w.exchange_rates:
        doc["exchange_rates"] = dict(w.exchange_rates)
    doc["formats"] = {"delimiter": ",", "decimal": ".", "encoding": "utf-8", "datetime_format": DATETIME_FORMAT,
                      "date_format": "%Y-%m-%d", "timestamps_timezone": "UTC", "null_values": [""]}
    doc["tables"] = tables
    head = (f"# Written by 'salign import' ({built.report.kind}) from {built.report.source}\n"
            "# What happened to every source row: import_report.json and quarantine.csv.\n")
    return head + dump_yaml(doc, sort_keys=False, allow_unicode=True)
