"""Loading a workspace: read every table with its declared formats, validate everything, return Tables."""
from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc

from salign.core import paths
from salign.core.problems import Collector, Problem, WorkspaceError
from salign.core.strictyaml import load_yaml, validate
from salign.definitions.models import load_definitions
from salign.workspace.checks import future_problems, validate_tables
from salign.workspace.config import WorkspaceConfig
from salign.workspace.database import read_tables
from salign.workspace.files import read_table
from salign.workspace.schema import FUNNEL, TABLES
from salign.workspace.tables import Tables


def _to_workspace_currency(frames: dict, config: WorkspaceConfig) -> None:
    """Amounts written in another currency (a ``currency`` column) become workspace currency with the declared
    rates; the amount as written is kept in ``amount_original``."""
    for frame in frames.values():
        if "currency" not in frame.columns or "amount" not in frame.columns:
            continue
        code = frame["currency"].astype("string").str.strip().str.upper()
        rate = code.map(lambda c: 1.0 if c is None or c is pd.NA or c == config.currency.upper()
                        else config.exchange_rates[c]).astype(float)
        frame["amount_original"] = frame["amount"]
        frame["amount"] = frame["amount"] * rate
        frame["currency"] = code.where(code.isna(), config.currency.upper()).astype(object)


#: Tables read at once.
READERS = 2


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0


def _outside(folder: Path, file: Path) -> bool:
    """Whether ``file`` (its links followed) lies outside ``folder``."""
    return not file.resolve().is_relative_to(folder.resolve())


def confined(folder: Path) -> None:
    """Refuse, before reading them, a ``workspace.yaml`` or definitions file that links outside ``folder``."""
    files = [folder / "workspace.yaml"] + sorted((folder / "definitions").glob("*.y*ml"))
    outside = [Problem(str(f), "outside-workspace", "links to a file outside the workspace folder; copy the file "
                       "into the workspace instead") for f in files if _outside(folder, f)]
    if outside:
        raise WorkspaceError(outside, str(folder))


def table_path(folder: Path, name: str, file: str, data, problems: Collector) -> Path | None:
    """The path of table ``name``'s file, or ``None`` (with a problem at its line of workspace.yaml) when the file
    is outside the workspace folder: an absolute path, ``..``, or a link."""
    path = folder / file
    if not _outside(folder, path):
        return path
    named_inside = Path(os.path.normpath(path)).is_relative_to(folder)
    where = "links to a file outside the workspace folder" if named_inside else "is outside the workspace folder"
    problems.add(folder / "workspace.yaml", "outside-workspace", f"table '{name}': {file!r} {where}; table files must "
                 "be inside it", line=data["tables"].key_lines.get(name))
    return None


#: Definitions files holding rules, and what each rule is evaluated on (see salign.common.facts).
RULE_FILES = {"personas.marketing.yaml": "persona", "personas.sales.yaml": "persona",
              "personas.common.yaml": "persona", "qualification.marketing.yaml": "qualification",
              "qualification.sales.yaml": "qualification"}
_NUMERIC_OPS = ("min", "max", "between")


def _rule_columns(kind: str, frames: dict, strings: dict | None = None) -> dict[str, pd.Series | None]:
    """The fields a rule of ``kind`` may name, each with a sample column (``None``: derived, numeric or a time).

    Persona rules run on leads with their accounts joined in; qualification rules on leads with their first stage
    times (``at_<stage>``), decision time and counts of marketing activities by type (``n_<type>``). ``strings``
    (table -> column -> Arrow strings of exactly the frame's values) makes finding the types faster.
    """
    leads = frames.get("leads", pd.DataFrame())
    cols = dict(leads.items())
    if kind == "persona":
        return {**dict(frames.get("accounts", pd.DataFrame()).items()), **cols}
    acts = frames.get("activities")
    arrow = (strings or {}).get("activities", {})
    if "team" in arrow and "type" in arrow:
        types = pc.unique(pc.filter(arrow["type"], pc.equal(arrow["team"], "marketing"))).drop_null().to_pylist()
    else:
        types = (acts.loc[acts["team"] == "marketing", "type"].dropna().astype(str).unique()
                 if acts is not None and {"team", "type"} <= set(acts.columns) else [])
    derived = [f"at_{s}" for s in FUNNEL] + ["decided_at"] + [f"n_{t}" for t in types]
    return {**dict.fromkeys(derived), **cols}


def _conditions(node):
    """Every ``{field: ...}`` mapping in raw YAML (a :class:`~salign.core.strictyaml.LineDict`), depth first."""
    if isinstance(node, dict):
        if isinstance(node.get("field"), str):
            yield node
        for value in node.values():
            yield from _conditions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _conditions(value)


def _text_value(col: pd.Series | None) -> str | None:
    """A value of ``col`` that is not a number (as the rule language reads it), or ``None``."""
    if col is None or (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
        return None
    values = col.dropna()
    bad = values[pd.to_numeric(values, errors="coerce").isna()]
    return None if bad.empty else str(bad.iloc[0])


def rule_problems(folder: Path, definitions: dict, frames: dict, strings: dict | None = None) -> list[Problem]:
    """Rules naming a field the data does not have, or comparing a text field with a number; file and line.

    Only files that loaded (``definitions``) are checked; their raw YAML gives the lines. ``strings``: see
    :func:`_rule_columns`.
    """
    out = []
    for name, kind in RULE_FILES.items():
        if name not in definitions or "leads" not in frames:
            continue
        path = folder / "definitions" / name
        columns = _rule_columns(kind, frames, strings)
        for cond in _conditions(load_yaml(path)):
            field, line = cond["field"], cond.key_lines.get("field", cond.line)
            if field not in columns:
                near = ", ".join(sorted(map(str, columns)))
                out.append(Problem(str(path), "unknown-field", f"the {kind} rule names a field the data does not "
                                   f"have (available: {near})", column="field", line=line, value=field))
                continue
            ops = [op for op in _NUMERIC_OPS if op in cond]
            text = _text_value(columns[field]) if ops else None
            if text is not None:
                out.append(Problem(str(path), "rule-type", f"'{ops[0]}' compares {field} with a number, but {field} "
                                   f"holds text such as {text!r}; use in/eq/contains, or a numeric field",
                                   column="field", line=cond.key_lines.get(ops[0], line), value=field))
    return out


def fingerprint(folder: Path, files: list[Path], extra: bytes = b"", stop: threading.Event | None = None) -> str:
    """SHA-256 over the relative names and bytes of ``files`` (and ``extra``, e.g. database rows); 16 hex digits.

    ``stop``, once set, ends the hashing early (the result is then meaningless): the workspace had problems."""
    h = hashlib.sha256(extra)
    for f in sorted(files):
        h.update(str(f.relative_to(folder)).encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                if stop is not None and stop.is_set():
                    return ""
                h.update(block)
    return h.hexdigest()[:16]


def definition_files(folder: Path) -> list[Path]:
    """The definitions files of the workspace in ``folder`` (part of its fingerprint), sorted."""
    return sorted((folder / "definitions").glob("*.y*ml")) if (folder / "definitions").is_dir() else []


def load_workspace(path: str | Path = paths.SAMPLE_WORKSPACE):
    """Load, type and validate a workspace folder (its tables in files or in a database).

    Every problem in ``workspace.yaml``, ``definitions/`` and the tables is
    collected before failing with a :class:`~salign.core.problems.WorkspaceError`.
    Tables the workspace does not have are recorded in ``Tables.missing``.
    (:func:`salign.workspace.snapshot.load` does the same once and reuses a typed snapshot while the
    inputs are unchanged.)
    """
    return read_workspace(path)[0]


def read_workspace(path: str | Path) -> tuple[Tables, dict, dict, bytes]:
    """:func:`load_workspace`, also returning what a snapshot keeps besides the tables: each table's line numbers
    (its rows' lines in the file, or row numbers in a database result; warnings name them), where each
    table was read (a file path, or the label of a database table or query) and the digest of the database
    rows (empty without a database).
    """
    folder = paths.resolve(path)
    if not folder.is_dir():
        raise WorkspaceError([Problem(str(folder), "missing-workspace", "workspace folder not found")], str(folder))
    confined(folder)
    data = load_yaml(folder / "workspace.yaml")
    config = validate(WorkspaceConfig, data, str(folder / "workspace.yaml"))
    problems = Collector()
    definitions, def_problems = load_definitions(folder / "definitions")
    problems.extend(def_problems)
    frames, used = {}, [folder / "workspace.yaml"]
    used += definition_files(folder)
    sources, where, digest = config.sources(), {}, b""
    reads, early = {}, {}  # the files to read; the problems found before reading, per table
    for name, src in sources.items():
        if src.file is None:
            continue
        early[name] = Collector()
        file = table_path(folder, name, src.file, data, early[name])
        if file is None:
            continue
        where[name] = file
        if file.exists():
            reads[name] = (file, TABLES[name], src.formats_for(config.formats))
        else:
            early[name].add(file, "missing-file", f"table '{name}' is declared in workspace.yaml but the file is "
                            "missing")
    # the tables at once, the largest files first: Arrow parses and converts without holding the interpreter,
    # so one table's Python work overlaps another's
    order = sorted(reads, key=lambda n: -_size(reads[n][0]))
    strings = {name: {} for name in reads}  # text columns as Arrow strings, for faster checks
    with ThreadPoolExecutor(READERS) as pool:
        done = dict(zip(order, pool.map(lambda n: read_table(*reads[n], strings[n]), order)))
    for name in early:  # problems in the order workspace.yaml lists the tables, as when read one by one
        problems.extend(early[name].problems)
        if name not in done:
            continue
        frame, read_problems = done.pop(name)
        problems.extend(read_problems)
        if frame is not None:
            frames[name] = frame
            used.append(reads[name][0])
    if any(src.file is None for src in sources.values()):
        got, labels, digest, db_problems = read_tables(config, {n: s for n, s in sources.items() if s.file is None},
                                                       folder / "workspace.yaml")
        frames.update(got)
        where.update(labels)
        problems.extend(db_problems)
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:  # the files are hashed (without the interpreter) while the rows are checked
        hashed = pool.submit(fingerprint, folder, used, digest, stop)
        try:
            problems.extend(validate_tables(frames, where, currency=config.currency, rates=config.exchange_rates,
                                            strings=strings))
            problems.extend(rule_problems(folder, definitions, frames, strings))
            strings.clear()  # (their memory back before the tables are finished)
            problems.raise_if_any(str(folder))
        except BaseException:  # problems (or an interrupt): the fingerprint is not needed, stop hashing
            stop.set()
            raise
        _to_workspace_currency(frames, config)
        fp = hashed.result()
    missing = {n: "workspace.yaml lists no such table" for n in TABLES if n not in frames}
    tables = Tables(
        config=config,
        folder=folder,
        definitions=definitions,
        fingerprint=fp,
        missing=missing,
        **frames,
    )
    lines = {n: f.index.to_numpy() for n, f in frames.items()}
    tables.warnings = future_warnings(tables, frames, where)
    for frame in frames.values():  # in place: a reset_index copy would double the memory the tables take
        frame.index = pd.RangeIndex(len(frame))
    return tables, lines, where, digest


def future_warnings(tables: Tables, frames: dict, where: dict) -> list[Problem]:
    """The warnings about rows dated at or after the cut-off: the declared ``as_of``, else now.

    ``frames`` are the tables indexed by line number (the warnings name lines); ``where`` names each table's
    file or label.
    """
    declared = tables.config.as_of is not None
    cutoff = tables.as_of if declared else pd.Timestamp.now(tz="UTC")
    return future_problems(frames, where, cutoff.tz_convert(tables.config.timezone), declared)
