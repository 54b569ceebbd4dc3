"""Loading a workspace: read every table with its declared formats, validate everything, return Tables."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from salign.core import paths
from salign.core.problems import Collector, Problem, WorkspaceError
from salign.core.strictyaml import load_model
from salign.definitions.models import load_definitions
from salign.workspace.checks import validate_tables
from salign.workspace.config import WorkspaceConfig
from salign.workspace.database import read_tables
from salign.workspace.files import read_table
from salign.workspace.schema import TABLES
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


def fingerprint(folder: Path, files: list[Path], extra: bytes = b"") -> str:
    """SHA-256 over the relative names and bytes of ``files`` (and ``extra``, e.g. database rows); 16 hex digits."""
    h = hashlib.sha256(extra)
    for f in sorted(files):
        h.update(str(f.relative_to(folder)).encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def load_workspace(path: str | Path = paths.SAMPLE_WORKSPACE):
    """Load, type and validate a workspace folder (its tables in files or in a database).

    Every problem in ``workspace.yaml``, ``definitions/`` and the tables is
    collected before failing with a :class:`~salign.core.problems.WorkspaceError`.
    Tables the workspace does not have are recorded in ``Tables.missing``.
    """
    folder = paths.resolve(path)
    if not folder.is_dir():
        raise WorkspaceError([Problem(str(folder), "missing-workspace", "workspace folder not found")], str(folder))
    config = load_model(WorkspaceConfig, folder / "workspace.yaml")
    problems = Collector()
    definitions, def_problems = load_definitions(folder / "definitions")
    problems.extend(def_problems)
    frames, used = {}, [folder / "workspace.yaml"]
    used += sorted((folder / "definitions").glob("*.y*ml")) if (folder / "definitions").is_dir() else []
    sources, where, digest = config.sources(), {}, b""
    for name, src in sources.items():
        if src.file is None:
            continue
        file = where[name] = folder / src.file
        if not file.exists():
            problems.add(file, "missing-file", f"table '{name}' is declared in workspace.yaml but the file is missing")
            continue
        frame, read_problems = read_table(file, TABLES[name], src.formats_for(config.formats))
        problems.extend(read_problems)
        if frame is not None:
            frames[name] = frame
            used.append(file)
    if any(src.file is None for src in sources.values()):
        got, labels, digest, db_problems = read_tables(config, {n: s for n, s in sources.items() if s.file is None},
                                                       folder / "workspace.yaml")
        frames.update(got)
        where.update(labels)
        problems.extend(db_problems)
    problems.extend(validate_tables(frames, where, currency=config.currency, rates=config.exchange_rates))
    problems.raise_if_any(str(folder))
    _to_workspace_currency(frames, config)
    missing = {n: "workspace.yaml lists no such table" for n in TABLES if n not in frames}
    return Tables(
        config=config,
        folder=folder,
        definitions=definitions,
        fingerprint=fingerprint(folder, used, digest),
        missing=missing,
        **{n: f.reset_index(drop=True) for n, f in frames.items()},
    )
