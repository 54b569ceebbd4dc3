"""The typed columnar snapshot of a validated workspace: validate once, then open Parquet instead of the CSVs.

A snapshot is a folder holding one Parquet file per table (every dtype kept: categoricals, time-zone-aware
timestamps, nullable integers; each row's line number in its file, for warnings) and ``manifest.json``
(the key, where each table was read, the tables the workspace lacks, the database digest).
The workspace's configuration and definitions are not in it: ``workspace.yaml`` is re-read (its bytes are
part of the key) and the definitions are re-read and re-checked against the data every time, since analysts
edit them between runs.

Its **key** is a digest of ``workspace.yaml`` and every table file (names and bytes), the database rows
if any, the salign, pandas, numpy and pyarrow versions and the source of this package (the code that reads
and validates). It is not the workspace fingerprint, which covers the definitions too; that is recomputed
in the same pass over the files.

Snapshots of file workspaces live in a cache, ``$SALIGN_CACHE`` (``off`` disables it), else
``$XDG_CACHE_HOME/salign`` (else ``~/.cache/salign``), under ``snapshots/<key>/``: written into a
temporary folder and renamed into place (two runs at once: the first rename wins, the other's copy is
dropped), private to the user, the :data:`KEEP` most recently used kept. Nothing is written in the
workspace. Tables read from a database are not cached across runs (whether the rows changed is only known
by querying them again); ``salign review`` writes their snapshot in its own run folder and removes it.

Times are written as microseconds (Parquet ``TIMESTAMP(MICROS)``, which every engine reads; Spark refuses
nanoseconds) and read back as the nanosecond pandas times they were; a time with nanoseconds of its own (never
from a file read with a ``%S`` or ``%f`` format, nor from PostgreSQL) makes the tables :class:`Unsupported`.
The snapshot a kernel opens is also what its engine reads (:func:`open_snapshot`, :mod:`salign.workspace.engine`):
DuckDB or Spark run the event-level expressions over these Parquet files.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache, partial
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from salign.core import paths
from salign.core.problems import Collector
from salign.core.strictyaml import load_yaml, validate
from salign.core.version import __version__
from salign.definitions.models import load_definitions
from salign.workspace import engine as engine_mod
from salign.workspace import load as load_mod
from salign.workspace.config import WorkspaceConfig
from salign.workspace.lazy import LazyFrame
from salign.workspace.tables import Tables

#: the layout of a snapshot folder; a change of layout changes every key
FORMAT = 2
#: tables left on disk until something reads them as a frame (the event-level work runs in the engine)
LAZY = ("activities", "stages")
#: how many snapshots the cache keeps (the most recently used)
KEEP = 3
#: environment variable naming the cache folder (``off``: no cache)
ENV = "SALIGN_CACHE"
MANIFEST = "manifest.json"
#: an unfinished snapshot (``.tmp-*``) older than this many seconds was left by a run that died
STALE_TMP = 3600
#: how a missing value is written in a text column (restored as written; ``None`` is Parquet's own)
_NULLS = {"nan": np.nan, "NA": pd.NA, "NaT": pd.NaT}


class SnapshotError(RuntimeError):
    """A snapshot that cannot be used: unreadable, or it no longer matches the workspace's files."""


class Unsupported(ValueError):
    """A table holds values a snapshot would not give back exactly (the tables are then loaded as before)."""


@dataclass
class Loaded:
    """Validated tables and the snapshot they are in (``path``, ``None`` when none was written or found)."""

    tables: Tables
    key: str
    path: Path | None = None
    hit: bool = False
    #: what writing a snapshot of ``tables`` needs besides them (see :func:`write`)
    lines: dict = field(default_factory=dict, repr=False)
    where: dict = field(default_factory=dict, repr=False)
    digest: bytes = b""


@dataclass(frozen=True)
class Inputs:
    """The files a workspace is made of, and the two digests over them (one read of every byte)."""

    folder: Path
    config: WorkspaceConfig
    key: str
    fingerprint: str
    database: bool


# -- where ------------------------------------------------------------------------------------------------------
def cache_dir() -> Path | None:
    """The cache folder (``$SALIGN_CACHE``, else the XDG cache folder), or ``None`` when ``SALIGN_CACHE=off``."""
    named = os.environ.get(ENV, "").strip()
    if named.lower() in ("off", "none", "0"):
        return None
    if named:
        return Path(named).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    try:
        return (Path(base) if base else Path.home() / ".cache") / "salign"
    except RuntimeError:  # no home folder (a service user without one): no cache
        return None


def snapshots_dir(cache: Path | None = None) -> Path | None:
    """Where the cache keeps snapshots, ``<cache>/snapshots``."""
    cache = cache_dir() if cache is None else cache
    return None if cache is None else Path(cache) / "snapshots"


# -- the key ----------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def code_digest() -> str:
    """Versions and the source of the package that reads and validates workspaces (a new reader, a new key)."""
    h = hashlib.sha256(f"snapshot format {FORMAT}; salign {__version__}".encode())
    for name in ("pandas", "numpy", "pyarrow"):
        h.update(f"; {name} {metadata.version(name)}".encode())
    for src in sorted(Path(__file__).parent.glob("*.py")):
        h.update(src.name.encode() + b"\0" + src.read_bytes())
    return h.hexdigest()


def inputs(path, digest: bytes = b"", code: str = "") -> Inputs | None:
    """The inputs of the workspace in ``path`` with their key and fingerprint, or ``None`` when the folder,
    ``workspace.yaml`` or a table's file is not as it must be (a full load then says what is wrong).

    ``digest`` is the digest of the database rows (a snapshot's, read back): without it a workspace reading
    tables from a database has no key (``database`` is true, ``key`` empty). ``code`` replaces
    :func:`code_digest` (a kernel checks the files against the snapshot its review wrote, whatever the code
    on disk says now).
    """
    folder = paths.resolve(path)
    try:
        load_mod.confined(folder)
        data = load_yaml(folder / "workspace.yaml")
        config = validate(WorkspaceConfig, data, str(folder / "workspace.yaml"))
    except Exception:  # noqa: BLE001 - anything wrong here is reported, located, by the full load
        return None
    problems, data_files = Collector(), [folder / "workspace.yaml"]
    sources = config.sources()
    for name, src in sources.items():
        if src.file is not None:
            data_files.append(load_mod.table_path(folder, name, src.file, data, problems))
    if problems.problems or not all(f.is_file() for f in data_files):
        return None
    database = any(src.file is None for src in sources.values())
    definitions = load_mod.definition_files(folder)
    fp, key = hashlib.sha256(digest), hashlib.sha256((code or code_digest()).encode() + b"\0" + digest)
    for f in sorted(data_files + definitions):  # the order and bytes of load.fingerprint
        name = str(f.relative_to(folder)).encode()
        is_data = f in data_files
        fp.update(name)
        if is_data:
            key.update(name + b"\0" + f.stat().st_size.to_bytes(8, "big"))
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                fp.update(block)
                if is_data:
                    key.update(block)
    return Inputs(folder, config, "" if database and not digest else key.hexdigest()[:24], fp.hexdigest()[:16],
                  database)


# -- loading ----------------------------------------------------------------------------------------------------
def load(path=paths.SAMPLE_WORKSPACE, cache: Path | None | bool = True) -> Loaded:
    """Validated tables of the workspace in ``path``, from its snapshot when the cache has one for these inputs,
    else loaded from the files (every problem reported as :func:`~salign.workspace.load.load_workspace` does)
    and then written to the cache.

    ``cache``: ``True`` for :func:`cache_dir`, a folder, or ``False``/``None`` for no cache. A workspace with
    database tables is always loaded from the database (and not cached).
    """
    folder = snapshots_dir() if cache is True else (snapshots_dir(Path(cache)) if cache else None)
    probe = inputs(path)
    if folder is not None and probe is not None and not probe.database:
        there = folder / probe.key
        if (there / MANIFEST).is_file():
            try:
                tables, lines, where = _read(there, probe)
                _touch(there)
                return Loaded(tables, probe.key, there, True, lines, where)
            except SnapshotError:
                shutil.rmtree(there, ignore_errors=True)  # damaged: built again below
    tables, lines, where, digest = load_mod.read_workspace(path)
    if probe is not None and probe.database:
        probe = inputs(tables.folder, digest)  # the key of these database rows
    if probe is None or probe.fingerprint != tables.fingerprint:
        return Loaded(tables, "", None, False, lines, where, digest)  # the files changed while they were read
    loaded = Loaded(tables, probe.key, None, False, lines, where, digest)
    if folder is None or probe.database:
        return loaded
    try:
        loaded.path = write(loaded, folder)
    except (OSError, Unsupported):
        pass  # the tables are loaded; without a snapshot each kernel loads them again, as before
    return loaded


def open_snapshot(snapshot, path, engine: str = "") -> Tables:
    """The tables in the snapshot folder ``snapshot`` of the workspace in ``path`` (``salign review`` passes it to
    every kernel). The definitions are read again; the workspace's files must still be those the snapshot was
    made from (:class:`SnapshotError` otherwise).

    The tables come with their engine attached (:func:`with_engine`): ``engine`` (a name of
    :data:`salign.workspace.engine.KINDS`), else the workspace's (:func:`salign.workspace.engine.choose`)."""
    there = Path(snapshot)
    manifest = _manifest(there)
    probe = inputs(path, bytes.fromhex(manifest.get("database_digest", "")), manifest.get("code", ""))
    if probe is None or probe.key != manifest.get("key"):
        raise SnapshotError(f"the workspace {paths.resolve(path)} changed after it was validated (its files no "
                            "longer match the snapshot of this run); run the review again")
    tables = _read(there, probe, manifest)[0]
    _touch(there)
    return with_engine(tables, there, engine)


def with_engine(tables: Tables, there: Path | None, engine: str = "") -> Tables:
    """``tables`` (in place) with the engine ``engine`` (else the workspace's) attached: DuckDB or Spark over the
    Parquet files of their snapshot ``there``, or PostgreSQL in the workspace's database; DuckDB without a snapshot
    stays over the frames. :class:`~salign.workspace.engine.EngineError` when that engine cannot be used."""
    kind = engine_mod.choose(tables.config, engine)
    engine_mod.check(kind)
    return engine_mod.attach(tables, kind, there)


# -- writing ----------------------------------------------------------------------------------------------------
def write(loaded: Loaded, parent: Path, keep: int = KEEP) -> Path:
    """Write the snapshot of ``loaded`` as ``parent/<key>`` (atomically; an existing one is kept) and return it.

    Afterwards only the ``keep`` most recently used snapshots stay in ``parent``. :class:`Unsupported` if a
    table holds values Parquet would not give back exactly.
    """
    if not loaded.key:
        raise Unsupported("these inputs have no snapshot key")
    tables = loaded.tables
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = parent / loaded.key
    if (target / MANIFEST).is_file():
        _touch(target)
        return target
    sources = tables.config.sources()
    manifest = {"format": FORMAT, "key": loaded.key, "salign": __version__, "code": code_digest(),
                "workspace": tables.config.name,
                "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "database_digest": loaded.digest.hex(), "missing": tables.missing, "tables": {},
                "order": list(loaded.lines)}  # the order the tables were read in (warnings come in it)
    for name in loaded.lines:
        frame = getattr(tables, name)
        if frame is not None:
            manifest["tables"][name] = {"rows": len(frame), "nulls": _null_kinds(name, frame),
                                        "columns": {str(c): str(t) for c, t in frame.dtypes.items()},
                                        **({"file": sources[name].file} if sources[name].file is not None
                                           else {"label": str(loaded.where[name])})}
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{loaded.key}-", dir=parent))
    try:
        for name in manifest["tables"]:
            frame = getattr(tables, name).copy(deep=False)  # the same columns, with the line numbers as index
            frame.index = pd.Index(loaded.lines[name], name="__line__")
            arrow = pa.Table.from_pandas(frame, preserve_index=True)
            try:  # microseconds: Spark cannot read Parquet's nanosecond times; no time loses a digit (or refused)
                pq.write_table(arrow, tmp / f"{name}.parquet", coerce_timestamps="us")
            except pa.ArrowInvalid as exc:
                raise Unsupported(f"table '{name}' holds times finer than a microsecond ({exc})") from None
            del arrow
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when the rename succeeded
    prune(parent, keep)
    return target


def prune(parent: Path, keep: int = KEEP) -> None:
    """Remove all but the ``keep`` most recently used snapshots in ``parent``, and unfinished ones left by runs
    that died."""
    done, now = [], time.time()
    for p in Path(parent).iterdir():
        try:
            if p.name.startswith(".tmp-"):
                if now - p.stat().st_mtime > STALE_TMP:
                    shutil.rmtree(p, ignore_errors=True)
            elif p.is_dir():
                done.append(((p / MANIFEST).stat().st_mtime if (p / MANIFEST).exists() else 0.0, p))
        except OSError:
            continue
    for _, p in sorted(done, reverse=True)[keep:]:
        shutil.rmtree(p, ignore_errors=True)


def _touch(there: Path) -> None:
    """Mark a snapshot used now (the cache keeps the most recently used)."""
    try:
        os.utime(there / MANIFEST)
    except OSError:
        pass


def _null_kinds(name: str, frame: pd.DataFrame) -> dict[str, str]:
    """How each text column writes a missing value when it is not ``None`` (``nan``, ``NA``, ``NaT``).

    :class:`Unsupported` when a column holds something other than text (Parquet would return another type),
    or mixes two kinds of missing value, or when a column name is not text.
    """
    out = {}
    for col in frame.columns:
        if not isinstance(col, str):
            raise Unsupported(f"table '{name}' has a column named {col!r}, which is not text")
        values = frame[col]
        if values.dtype != object:
            continue
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind not in ("string", "empty"):
            raise Unsupported(f"column '{col}' of table '{name}' holds {kind} values, not only text")
        gone = values[values.isna()]
        if gone.empty:
            continue
        kinds = {("None" if v is None else "nan" if isinstance(v, float) else "NA" if v is pd.NA
                  else "NaT" if v is pd.NaT else repr(v)) for v in gone.drop_duplicates().tolist()}
        if len(kinds) > 1 or not kinds <= {"None", *_NULLS}:
            raise Unsupported(f"column '{col}' of table '{name}' writes missing values as {', '.join(sorted(kinds))}")
        if kinds != {"None"}:
            out[col] = kinds.pop()
    return out


# -- reading ----------------------------------------------------------------------------------------------------
def _manifest(there: Path) -> dict:
    try:
        manifest = json.loads((there / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"cannot read the snapshot {there}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SnapshotError(f"the snapshot {there} was written by another version of salign")
    return manifest


def _read(there: Path, probe: Inputs, manifest: dict | None = None) -> tuple[Tables, dict, dict]:
    """The tables in snapshot ``there`` of the workspace ``probe`` describes, validated against its definitions
    (:class:`~salign.core.problems.WorkspaceError` as a full load would raise), with their line numbers and
    sources."""
    manifest = manifest or _manifest(there)
    if manifest.get("key") != probe.key:
        raise SnapshotError(f"the snapshot {there} belongs to other inputs")
    folder = probe.folder
    problems = Collector()
    definitions, def_problems = load_definitions(folder / "definitions")
    problems.extend(def_problems)
    frames, where, lazy, strings = {}, {}, {}, {}
    try:
        for name in manifest["order"]:
            about = manifest["tables"][name]
            where[name] = folder / about["file"] if "file" in about else about["label"]
            if name not in LAZY:
                frames[name] = _frame(there / f"{name}.parquet", about)
                continue
            # left on disk (:class:`LazyFrame`); the checks below read only its times and activity types
            path = there / f"{name}.parquet"
            times = [c for c, dtype in about["columns"].items() if dtype.startswith("datetime64")]
            frames[name] = _frame(path, about, times)
            if name == "activities" and {"team", "type"} <= set(about["columns"]):
                kinds = pq.read_table(path, columns=["team", "type"])
                strings[name] = {c: kinds.column(c).combine_chunks() for c in ("team", "type")}
            lazy[name] = LazyFrame(path, partial(_frame, about=about, index=False), dtypes=about["columns"])
    except (OSError, KeyError, TypeError, pa.ArrowException) as exc:
        raise SnapshotError(f"cannot read the snapshot {there}: {exc}") from None
    problems.extend(load_mod.rule_problems(folder, definitions, frames, strings))
    problems.raise_if_any(str(folder))
    tables = Tables(config=probe.config, folder=folder, definitions=definitions, fingerprint=probe.fingerprint,
                    missing=dict(manifest.get("missing", {})), **{**frames, **lazy})
    lines = {n: f.index.to_numpy() for n, f in frames.items()}
    tables.warnings = load_mod.future_warnings(tables, frames, where)
    for name, frame in frames.items():
        if name not in lazy:
            frame.index = pd.RangeIndex(len(frame))
    return tables, lines, where


def leave_on_disk(tables: Tables, there: Path) -> None:
    """Replace, in place, the frames of :data:`LAZY` in ``tables`` by :class:`LazyFrame` of the snapshot ``there``
    they were written to: ``salign review`` frees them while its kernels run."""
    manifest = _manifest(Path(there))
    for name in LAZY:
        if getattr(tables, name) is not None and name in manifest["tables"]:
            about = manifest["tables"][name]
            setattr(tables, name, LazyFrame(Path(there) / f"{name}.parquet", partial(_frame, about=about, index=False),
                                            dtypes=about["columns"]))


def _frame(path: Path, about: dict, columns: list | None = None, index: bool = True) -> pd.DataFrame:
    """One table of a snapshot as the load gave it (``columns``: only those); indexed by line number, or by
    position when not ``index``."""
    frame = pq.read_table(path, columns=columns, use_pandas_metadata=True).to_pandas()
    for col, dtype in about["columns"].items():  # times written as microseconds: back to what they were
        if col in frame.columns and dtype.startswith("datetime64") and str(frame[col].dtype) != dtype:
            frame[col] = frame[col].astype(dtype)
    for col, kind in about.get("nulls", {}).items():
        if col in frame.columns:
            frame[col] = frame[col].where(frame[col].notna(), _NULLS[kind])
    if not index:
        frame.index = pd.RangeIndex(len(frame))
    return frame
