"""The generic mapping importer: a mapping file plus source files become typed canonical tables.

Row-level problems (a value that does not convert, a required value missing, an
unknown category, an orphan reference, a conflicting duplicate key, a stage history
that goes backwards) quarantine the source row with its reason; structural problems
(files, headers, encodings, the mapping itself) are collected and raised together.
Source files are only read.
"""
from __future__ import annotations

import datetime as dt
import re
import string
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from salign.core.problems import Collector, Problem, WorkspaceError
from salign.core.strictyaml import load_model
from salign.imports.ids import lost_zeros
from salign.imports.report import ImportReport, TableCount
from salign.imports.sources import Source, read_source
from salign.imports.spec import ColumnMap, Mapping, TableMap
from salign.workspace.checks import (
    SHOWN,
    currency_checks,
    key_checks,
    reference_checks,
    row_checks,
    stage_order_checks,
)
from salign.workspace.files import convert
from salign.workspace.schema import TABLES

#: Tables are built in this order so that a lookup into a canonical table finds it built.
ORDER = ("accounts", "content", "leads", "opportunities", "activities", "stages")


@dataclass
class Built:
    """The result of applying a mapping: typed canonical tables and the import report."""

    frames: dict[str, pd.DataFrame]
    report: ImportReport
    mapping: Mapping
    #: when each column's value is known, as workspace.yaml's ``recorded`` ({table: {column: after_contact}})
    recorded: dict | None = None
    #: per table, one row per row of ``frames[table]``: the source ``file`` and ``line`` it came from and
    #: ``columns`` (canonical column -> that file's header), to name the user's file in a later problem
    origins: dict | None = None


def load_mapping(path: Path) -> Mapping:
    """Load and strictly validate a mapping file (unknown keys are errors, reported as file:line).

    YAML 1.1 reads an unquoted ``yes``, ``no``, ``on``, ``off``, ``true`` or ``false`` as a boolean. Where the
    mapping expects a yes/no that is what it means (``optional: yes``, ``keep_other_columns: no``); where it
    expects text (``true_values: [Yes]``, a value map's ``No:``) the error says how to quote it."""
    try:
        return load_model(Mapping, Path(path))
    except WorkspaceError as exc:
        raise WorkspaceError([_boolean_hint(p) for p in exc.problems], str(path)) from None


def _boolean_hint(p: Problem) -> Problem:
    if p.value not in ("True", "False") or p.rule in ("unknown-key", "missing-key") or str(p.column).endswith(
            "keep_other_columns"):
        return p
    return Problem(p.file, p.rule, f"{p.message}: YAML reads an unquoted yes, no, on, off, true or false as "
                   f"{p.value.lower()} (a boolean), not as text; quote it as written, e.g. \"Yes\" or 'no'",
                   p.column, p.line, p.value)


def source_folder(mapping: Mapping, mapping_path: Path, source: str | Path | None = None) -> Path:
    """Where the source files are: ``source`` if given, else ``mapping.source`` relative to the mapping file's
    folder, else the mapping file's folder. Never the current directory."""
    if source is not None:
        return Path(source).expanduser().resolve()
    base = Path(mapping_path).resolve().parent
    return (base / mapping.source).resolve() if mapping.source else base


def build(mapping: Mapping, folder: Path, *, kind: str = "mapping", mapping_file: str | None = None,
          tidy=None, prepare=None, derived: dict[str, set[str]] | None = None, hint: str = "") -> Built:
    """Apply ``mapping`` to the files in ``folder``.

    Parameters
    ----------
    tidy : callable, optional
        ``(key, frame) -> (frame, counts)`` applied to each source file as read (vendor header
        labels, report footers); ``counts`` go into the file's entry of the report.
    prepare : callable, optional
        ``(sources, report, problems) -> None`` run after reading, before mapping (vendor-specific
        repairs; it may add derived columns, flag rows in ``Source.bad_rows`` or add structural problems).
    derived : dict, optional
        Per file, the columns ``prepare`` adds: the mapping may use them; the file need not have them.
    hint : str
        Added to every missing-column message (which header names the vendor's exports may use).

    Raises
    ------
    WorkspaceError
        Listing every structural problem found in the mapping's files.
    """
    problems = Collector()
    needed = needed_columns(mapping)
    sources: dict[str, Source] = {}
    report = ImportReport(kind, str(folder), mapping_file)
    for key, f in mapping.files.items():
        if f.optional and not (folder / f.path).is_file():
            report.notes.append(f"optional file {f.path} is absent; what is built from it is skipped")
            continue
        fmt = mapping.formats.merged(f.formats, f.format_fields)
        wanted = {c: w for c, w in needed.get(key, {}).items() if c not in (derived or {}).get(key, set())}
        src = read_source(key, folder / f.path, fmt, f.booleans, wanted, problems, tidy, hint,
                          whitespace=f.whitespace)
        if src is not None:
            sources[key] = src
    _raise_if_any(problems, folder, report)
    report.files = {k: s.info for k, s in sources.items()}
    if prepare is not None:
        prepare(sources, report, problems)
        _raise_if_any(problems, folder, report)
    builders: dict[str, _Table] = {}
    for name in [n for n in ORDER if n in mapping.tables]:
        parts = [t for t in [mapping.tables[name], *mapping.tables[name].also] if t.from_ in sources]
        if not parts:
            continue
        b = _Table(name, [_Part(name, t, sources, builders, report, problems) for t in parts], report)
        b.build()
        builders[name] = b
    _raise_if_any(problems, folder, report)
    _cross_table_checks(builders)
    _currencies(builders, mapping, problems)
    _raise_if_any(problems, folder, report)
    for b in builders.values():
        b.finish()
    _note_constants(mapping, report)
    _emptied(builders, report, problems)
    _raise_if_any(problems, folder, report)
    return Built({n: b.frame_final for n, b in builders.items()}, report, mapping, _recorded(mapping, builders),
                 {n: b.origin for n, b in builders.items()})


def _raise_if_any(problems: Collector, folder: Path, report: ImportReport) -> None:
    """Fail with every problem found; the report so far goes with the error (a failed import writes it)."""
    try:
        problems.raise_if_any(str(folder))
    except WorkspaceError as exc:
        exc.report = report
        raise


def _emptied(builders: dict, report: ImportReport, problems: Collector) -> None:
    """A table whose every source row was quarantined: an error naming the first such row (a workspace with an
    empty table cannot be used, and a mapping mistake, such as a wrong lookup, is the likely cause)."""
    for name, b in builders.items():
        c = b.count
        if c.rows_in and not c.rows_out and c.quarantined:
            q = next(q for q in report.quarantine if q["table"] == name)
            rules = Counter(x["rule"] for x in report.quarantine if x["table"] == name)
            problems.add(q["file"], "all-quarantined", f"all {c.quarantined:,} source rows of table {name} were "
                         f"quarantined ({', '.join(f'{r}: {n:,}' for r, n in rules.most_common())}), so the table "
                         f"would be empty; the first: {q['reason']}. Check the mapping (e.g. a lookup's match and "
                         "take); quarantine.csv next to the import report lists every row",
                         column=q["column"], line=q["line"], value=q["value"])


def _recorded(mapping: Mapping, builders: dict) -> dict:
    """``recorded:`` declarations by canonical table and written column name (those the table really has)."""
    out: dict[str, dict[str, str]] = {}
    for name, b in builders.items():
        columns = set(b.frame_final.columns)
        for p in b.parts:
            for col in p.tmap.columns:
                spec = p.tmap.column(col)
                if spec.recorded is not None and col in columns:
                    out.setdefault(name, {})[col] = spec.recorded
            mapped = {p.tmap.column(c).from_: c for c in p.tmap.columns if p.tmap.column(c).from_ is not None}
            for src_col, when in p.tmap.recorded.items():
                written = p.kept.get(src_col, mapped.get(src_col))  # kept as is, or mapped to a named column
                if written in columns:
                    out.setdefault(name, {})[written] = when
    return out


def needed_columns(mapping: Mapping) -> dict[str, dict[str, str]]:
    """For each source file, the columns the mapping reads and where (for a clear 'missing column' message)."""
    need: dict[str, dict[str, str]] = {}

    def add(file: str, cols, where: str) -> None:
        for c in cols:
            need.setdefault(file, {}).setdefault(c, where)

    for name, whole in mapping.tables.items():
        for table in [whole, *whole.also]:
            for col in table.columns:
                spec = table.column(col)
                where = f"tables.{name}.columns.{col}"
                if not spec.optional:
                    add(table.from_, _origin_fields(spec), where)
                if spec.missing_when is not None:
                    add(table.from_, spec.missing_when.fields(), where)
                if spec.lookup is not None and spec.lookup.file:
                    add(spec.lookup.file, [spec.lookup.match, spec.lookup.take], where + ".lookup")
                if spec.reconcile is not None:
                    add(spec.reconcile.file, [spec.reconcile.column], where + ".reconcile")
            for i, d in enumerate(table.drop):
                add(table.from_, d.when.fields(), f"tables.{name}.drop[{i}]")
            add(table.from_, [c for c in table.recorded if c not in table.leave_out], f"tables.{name}.recorded")
            for i, e in enumerate(table.events):
                at = e.at if isinstance(e.at, ColumnMap) else ColumnMap(**{"from": e.at})
                if not e.optional:
                    add(table.from_, _origin_fields(at), f"tables.{name}.events[{i}].at")
                if e.when is not None:
                    add(table.from_, e.when.fields(), f"tables.{name}.events[{i}].when")
    return need


def _origin_fields(spec: ColumnMap) -> list[str]:
    if spec.row_number:
        return []
    if spec.from_ is not None:
        return [spec.from_]
    if spec.template is not None:
        return [f for _, f, _, _ in string.Formatter().parse(spec.template) if f]
    return []


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).casefold()).strip("_") or "column"


def _norm(value: str) -> str:
    return re.sub(r"[\W_]+", "", str(value).casefold())


class _Part:
    """The rows of one canonical table that come from one source file, with their quarantine."""

    def __init__(self, name: str, tmap: TableMap, sources: dict, built: dict, report: ImportReport,
                 problems: Collector):
        self.name, self.tmap, self.sources, self.built = name, tmap, sources, built
        self.src: Source = sources[tmap.from_]
        self.report, self.problems = report, problems
        self.count = TableCount(source=tmap.from_, rows_in=len(self.src.frame))
        #: line -> (rule, column, value, reason) for a whole source row; (line, stage) -> the same for one
        #: stage event of a row (a stages part: the row's other events are kept)
        self.quarantined: dict[int | tuple, tuple] = {}
        self.frame = pd.DataFrame()
        self.line = pd.Series(dtype=int)
        #: stages parts: how many events each source line gave, and each stage's 'at' source column
        self.events_of_line: Counter = Counter()
        self.at_column: dict[str, str] = {}
        #: keep_other_columns: source column -> the name it was written under
        self.kept: dict[str, str] = {}

    # -- quarantine -----------------------------------------------------------------------------------------------
    def flag_lines(self, lines, rule: str, column: str | None, reason: str, detail: dict | None = None,
                   values: dict | None = None, stage: str | None = None) -> None:
        """Quarantine source ``lines`` (first reason wins); ``column`` is a canonical column name.

        With ``stage`` (a stages part), only that stage event of each line is quarantined; ``lines`` may also
        hold ``(line, stage)`` keys. ``detail`` and ``values`` are keyed like ``lines``."""
        for key in lines:
            if stage is not None and not isinstance(key, tuple):
                key = (key, stage)
            line, event = key if isinstance(key, tuple) else (key, None)
            if line in self.quarantined or key in self.quarantined:
                continue
            source_col = self.at_column.get(event) if event and column in ("at", "stage") else None
            source_col = source_col or self._source_column(column)
            value = (values or {}).get(key)
            for frame in (self.src.raw, self.src.frame):  # as read, else derived by the vendor step
                if value is None and frame is not None and source_col in frame.columns and line in frame.index:
                    value = frame.at[line, source_col]
            self.quarantined[key] = (rule, self._as_written(source_col), value, reason + (detail or {}).get(key, ""))

    def flag_rows(self, mask: pd.Series, rule: str, column: str | None, reason: str, detail: dict | None = None) -> None:
        """Quarantine the source lines of the frame rows in ``mask`` (``detail`` keyed by frame row); in a
        stages part, only the stage events of those rows."""
        rows = mask[mask.fillna(False).astype(bool)].index
        if not len(rows):
            return
        lines = self.line.loc[rows]
        events = bool(self.tmap.events) and "stage" in self.frame.columns
        keys = {r: (int(lines[r]), self.frame.at[r, "stage"]) if events else int(lines[r]) for r in rows}
        by_key = {keys[r]: (detail or {}).get(r, "") for r in rows}
        values = {}
        if column in self.frame.columns and self._source_column(column) not in self.src.frame.columns and not (
                events and column in ("at", "stage")):
            values = {keys[r]: self.frame.at[r, column] for r in rows}
        self.flag_lines(list(by_key), rule, column, reason, by_key, values)
        self._drop_quarantined()

    def _source_column(self, column: str | None) -> str | None:
        if column is None:
            return None
        spec = self.tmap.column(column)
        return spec.from_ if spec is not None and spec.from_ is not None else column

    def _as_written(self, source_col: str | None) -> str | None:
        """The header the file itself uses for a (possibly renamed) source column."""
        return self.src.renamed.get(source_col, source_col)

    def _drop_quarantined(self) -> None:
        keep = ~self.line.isin([k for k in self.quarantined if not isinstance(k, tuple)])
        events = [k for k in self.quarantined if isinstance(k, tuple)]
        if events and "stage" in self.frame.columns:
            pairs = pd.Series(list(zip(self.line, self.frame["stage"])), index=self.frame.index)
            keep &= ~pairs.isin(events)
        self.frame, self.line = self.frame[keep], self.line[keep]

    # -- building -------------------------------------------------------------------------------------------------
    def build(self) -> None:
        rows = self.src.frame
        keep = pd.Series(True, index=rows.index)
        for d in self.tmap.drop:
            hit = d.when.evaluate(rows) & keep
            self.count.dropped[d.reason] += int(hit.sum())
            keep &= ~hit
        rows = rows[keep]
        for line, (rule, col, value, msg) in self.src.bad_rows.items():
            if line in rows.index:
                self.quarantined.setdefault(line, (rule, col, value, msg))
        out, absent = pd.DataFrame(index=rows.index), []
        for col in self.tmap.columns:
            spec = self.tmap.column(col)
            if spec.optional and any(f not in rows.columns for f in _origin_fields(spec)):
                absent.append(f"{col} ({', '.join(_origin_fields(spec))})")
                continue
            out[col] = self.column(col, spec, rows)
        if absent:
            self.report.notes.append(f"{self.name} from {self.src.path.name}: optional columns absent, left out: "
                                     + "; ".join(absent))
        if self.tmap.keep_other_columns != "no":
            self._keep_others(out, rows)
        if self.tmap.events:
            out = self._events(out, rows)
        else:
            self.frame, self.line = out, pd.Series(out.index, index=out.index)
        self._drop_quarantined()
        for check in row_checks(self.name, self.frame):
            self.flag_rows(check.mask, check.rule, check.column, check.message, check.detail)

    def column(self, col: str, spec: ColumnMap, rows: pd.DataFrame, kind: str | None = None,
               stage: str | None = None) -> pd.Series:
        """One canonical column through the pipeline: origin, values, transform, reconcile, lookup,
        missing_when, default, type conversion, scale. Failures quarantine the row (with ``stage``: only
        that stage event of the row)."""
        where, rep = self.name, self.report
        if spec.row_number:
            position = pd.Series(range(1, len(self.src.frame) + 1), index=self.src.frame.index)
            s = position.loc[rows.index].astype(str).astype(object)
        elif spec.from_ is not None:
            s = rows[spec.from_].copy()
        elif spec.template is not None:
            s = _template(spec.template, rows)
        elif isinstance(spec.constant, (dt.date, dt.datetime)):
            s = pd.Series(pd.Timestamp(spec.constant), index=rows.index)
        else:
            s = pd.Series([spec.constant] * len(rows), index=rows.index, dtype=object)
        if spec.values or spec.other is not None:
            hit = s.isin(list(spec.values))
            for k, n in s[hit].value_counts().items():
                rep.repair(where, col, "value-map", n, f"{k!r} -> {spec.values[k]!r}")
            rest = s.notna() & ~hit if spec.other is not None else pd.Series(False, index=s.index)
            for k, n in s[rest].value_counts().items():
                rep.repair(where, col, "value-map", n, f"{k!r} -> {spec.other!r} (not listed)")
            s = s.where(~hit, s.map(lambda v: spec.values.get(v, v))).where(~rest, spec.other)
        if spec.transform is not None:
            before = s
            s = _transform(s, spec.transform)
            if spec.transform == "first":
                rep.repair(where, col, "first-of-list", int((before.notna() & (before != s)).sum()),
                           "several ';'-separated values: the first is kept")
        if spec.reconcile is not None:
            s = self._reconcile(col, spec, s)
        if spec.lookup is not None:
            s = self._lookup(col, spec, s)
        if spec.missing_when is not None:
            hit = spec.missing_when.evaluate(rows) & s.notna()
            rep.repair(where, col, "made-missing", int(hit.sum()),
                       f"{spec.missing_when.describe()}" + (f": {spec.why}" if spec.why else ""))
            s = s.where(~hit, None)
        if spec.default is not None:
            gap = s.isna()
            rep.repair(where, col, "default", int(gap.sum()), f"missing -> {spec.default!r}"
                       + (f": {spec.why}" if spec.why else ""))
            s = s.where(~gap, spec.default)
        column_spec = TABLES[self.name].column(col)
        kind = kind or (column_spec.kind if column_spec is not None else "text")
        scaled_int = kind == "int" and spec.scale is not None  # whole numbers after scaling (2.5 thousand)
        if kind in ("datetime", "int", "number", "id", "category"):
            s = self._convert(col, s, "number" if scaled_int else kind, stage)
        if kind == "id" and spec.width is not None:
            short = lost_zeros(s, spec.width)
            self.flag_lines(list(short[short].index), "mangled-id", col, "this id was changed by a spreadsheet",
                            {i: f" ({len(str(s[i]))} digits where the mapping declares ids of {spec.width} "
                                "characters: a spreadsheet dropped the leading zeros; export ids as text)"
                             for i in short[short].index})
            s = s.where(~short, None)
        if spec.scale is not None:
            s = s * spec.scale
            if scaled_int:
                frac = s.notna() & (s % 1 != 0)
                self.flag_lines(list(frac[frac].index), "not-a-number", col,
                                f"expected a whole number after scaling by {spec.scale:g}")
        return s.rename(col)

    def _convert(self, col: str, s: pd.Series, kind: str, stage: str | None = None) -> pd.Series:
        conv = convert(s.rename(col), kind, self.src.formats)
        bad = conv.bad
        if bad.any():
            lines = list(bad[bad].index)
            key = (lambda i: (i, stage)) if stage is not None else (lambda i: i)
            self.flag_lines([key(i) for i in lines], conv.rule, col, conv.message,
                            {key(i): conv.hints.get(i, "") for i in lines}, {key(i): s[i] for i in lines})
        return conv.values

    def _reconcile(self, col: str, spec: ColumnMap, s: pd.Series) -> pd.Series:
        r = spec.reconcile
        ref = self.sources[r.file].frame[r.column].dropna().unique()
        by_norm: dict[str, str] = {}
        for v in ref:
            if _norm(v) in by_norm and by_norm[_norm(v)] != v:
                self.problems.add(self.sources[r.file].path, "ambiguous-reference", f"{by_norm[_norm(v)]!r} and {v!r} "
                                  "differ only in case, spaces or punctuation, so values cannot be matched to one",
                                  column=r.column, value=v)
            by_norm.setdefault(_norm(v), v)
        exact = s.isin(set(ref))
        fixed = s.map(lambda v: by_norm.get(_norm(v)) if v is not None else None)
        repaired = s.notna() & ~exact & fixed.notna()
        for (a, b), n in Counter(zip(s[repaired], fixed[repaired])).items():
            self.report.repair(self.name, col, "reconciled", n, f"{a!r} -> {b!r} (as in {r.file}.{r.column})")
        unknown = s.notna() & ~exact & fixed.isna()
        if r.required and unknown.any():
            self.flag_lines(list(unknown[unknown].index), "unknown-value", col,
                            f"matches no value of {r.file}.{r.column}, even ignoring case, spaces and punctuation")
        return s.where(~repaired, fixed)

    def _lookup(self, col: str, spec: ColumnMap, s: pd.Series) -> pd.Series:
        lk = spec.lookup
        if lk.file is not None:
            table, where = self.sources[lk.file].frame, f"file {lk.file}"
        else:
            table, where = self.built[lk.table].frame, f"table {lk.table}"
        if lk.match not in table.columns or lk.take not in table.columns:
            self.problems.add(where, "lookup", f"{self.name}.{col} looks up {lk.match} -> {lk.take}, which {where} "
                              f"does not have")
            return s
        # built column by column: 'match' and 'take' may be the same column (a lookup that only checks that
        # the value exists there), and table[[a, a]] would hold two columns of one name
        pairs = pd.DataFrame({"match": table[lk.match].to_numpy(), "take": table[lk.take].to_numpy()})
        pairs = pairs.dropna(subset=["match"]).drop_duplicates()
        clash = pairs["match"].duplicated(keep=False)
        if clash.any():
            v = pairs.loc[clash, "match"].iloc[0]
            self.problems.add(where if lk.table else self.sources[lk.file].path, "ambiguous-lookup",
                              f"{lk.match} = {v!r} has several {lk.take} values, so {self.name}.{col} cannot be "
                              "looked up", column=lk.match, value=v)
            return s
        found = s.map(dict(zip(pairs["match"], pairs["take"])))
        miss = s.notna() & found.isna()
        if miss.any():
            if lk.required:
                self.flag_lines(list(miss[miss].index), "orphan-reference", col,
                                f"no row of {where} has {lk.match} = this value")
            else:
                self.report.repair(self.name, col, "lookup-missed", int(miss.sum()),
                                   f"no {lk.match} match in {where}; left missing")
        return found.astype(object).where(found.notna(), None)

    def _keep_others(self, out: pd.DataFrame, rows: pd.DataFrame) -> None:
        used = set(self.tmap.leave_out)
        for col in self.tmap.columns:
            used.update(_origin_fields(self.tmap.column(col)))
        for e in self.tmap.events:
            used.update(e.when.fields() if e.when else ())
        for col in rows.columns:
            if col in used:
                continue
            name = _snake(col) if self.tmap.keep_other_columns == "snake_case" else str(col)
            if name in out.columns:
                name = f"source_{name}"
            out[name] = rows[col]
            self.kept[str(col)] = name

    def _events(self, base: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
        parts = []
        for e in self.tmap.events:
            at_spec = e.at if isinstance(e.at, ColumnMap) else ColumnMap(**{"from": e.at})
            if e.optional and any(f not in rows.columns for f in _origin_fields(at_spec)):
                self.report.notes.append(f"{self.src.path.name} has no {', '.join(_origin_fields(at_spec))}: "
                                         f"no '{e.stage}' events from it")
                continue
            if at_spec.from_ is not None:
                self.at_column.setdefault(e.stage, at_spec.from_)
            hit = e.when.evaluate(rows) if e.when is not None else pd.Series(True, index=rows.index)
            # only where the event applies: a date the event does not use cannot spoil the row
            at = self.column("at", at_spec, rows[hit], kind="datetime", stage=e.stage).reindex(rows.index)
            spoilt = pd.Series([(i, e.stage) in self.quarantined for i in rows.index], index=rows.index, dtype=bool)
            self.events_of_line.update(int(i) for i in hit[hit & (at.notna() | spoilt)].index)
            hit &= at.notna()
            part = base[hit].copy()
            part["stage"], part["at"] = e.stage, at[hit]
            if e.team is not None:
                part["team"] = e.team
            part["_line"] = part.index
            parts.append(part)
        events = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["stage", "at", "_line"])
        events["stage"] = events["stage"].astype(object)
        self.line = events.pop("_line").astype(int)
        self.frame = events
        return events

    def finish(self) -> None:
        whole = {k for k in self.quarantined if not isinstance(k, tuple)}
        events = Counter(k[0] for k in self.quarantined if isinstance(k, tuple) and k[0] not in whole)
        # a source row counts as quarantined when nothing of it was loaded: the row itself, or every stage
        # event it gave; a row that lost some of its events is loaded, and its lost events are counted apart
        gone = {line for line, n in events.items() if n >= self.events_of_line.get(line, 0)}
        self.count.quarantined = len(whole | gone)
        self.count.events_quarantined = sum(n for line, n in events.items() if line not in gone)
        self.count.loaded = self.count.rows_in - self.count.quarantined - sum(self.count.dropped.values())
        self.count.rows_out = len(self.frame)
        src = self.src.raw if self.src.raw is not None else self.src.frame
        for key, (rule, col, value, reason) in sorted(self.quarantined.items(), key=lambda kv: _order(kv[0])):
            line = key[0] if isinstance(key, tuple) else key
            record = {str(k): (None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
                      for k, v in src.loc[line].items()} if line in src.index else {}
            if isinstance(key, tuple) and line not in gone:
                reason = f"only the '{key[1]}' event of this row is set aside (the rest of the row is kept): {reason}"
            self.report.set_aside(self.name, str(self.src.path), int(line), rule, col, value, reason, record)


class _Table:
    """One canonical table: the union of its parts (one per source file)."""

    def __init__(self, name: str, parts: list[_Part], report: ImportReport):
        self.name, self.parts, self.report = name, parts, report
        self.count = TableCount(source=" + ".join(p.tmap.from_ for p in parts))
        report.tables[name] = self.count

    @property
    def frame(self) -> pd.DataFrame:
        """All loaded rows; the index is (part number, row label within the part)."""
        return pd.concat({i: p.frame for i, p in enumerate(self.parts)}, names=["_part", "_row"])

    def build(self) -> None:
        for p in self.parts:
            p.build()
        self._keys()

    def flag_rows(self, mask: pd.Series, rule: str, column: str | None, reason: str, detail: dict | None = None) -> None:
        detail = detail or {}
        for i, p in enumerate(self.parts):
            if i not in mask.index.get_level_values(0):
                continue
            part_mask = mask.xs(i, level=0)
            p.flag_rows(part_mask, rule, column, reason,
                        {r: detail.get((i, r), "") for r in part_mask[part_mask.fillna(False).astype(bool)].index})

    def gone_keys(self, column: str) -> set[str]:
        """Values of ``column`` in the quarantined source rows (to explain orphans they leave behind)."""
        out = set()
        for p in self.parts:
            src_col = p._source_column(column)
            raw = p.src.raw if p.src.raw is not None else p.src.frame
            if src_col in raw.columns:
                out |= {str(raw.at[line, src_col]) for line in p.quarantined if line in raw.index}
        return out

    def _keys(self) -> None:
        frame = self.frame
        for check in key_checks(self.name, frame):
            if self.name == "stages":  # the same event twice adds nothing: keep the first
                self.report.repair("stages", "at", "duplicate-event", int(check.mask.sum()), "same lead, stage and time")
                self._remove(check.mask)
                continue
            key = list(TABLES[self.name].key)
            exact = frame.astype(str).duplicated(keep="first") & check.mask
            for i, p in enumerate(self.parts):
                if i in exact.index.get_level_values(0):
                    p.count.dropped["exact repeat of an earlier row"] += int(exact.xs(i, level=0).sum())
            self._remove(exact)
            frame = self.frame
            clash = frame.duplicated(key, keep=False)
            lines = pd.Series([self.parts[i].line[r] for i, r in frame.index], index=frame.index)
            first_line = lines[clash].groupby([frame.loc[clash, k] for k in key]).transform("min")
            detail = {r: f" (also on line {first_line[r]}, with different values)" if first_line[r] != lines[r]
                      else " (repeated later with different values)" for r in clash[clash].index}
            self.flag_rows(clash, "duplicate-key", key[0], "the key appears more than once with different values; "
                           "all rows with it are quarantined because none can be trusted", detail)

    def _remove(self, mask: pd.Series) -> None:
        for i, p in enumerate(self.parts):
            if i in mask.index.get_level_values(0):
                m = mask.xs(i, level=0).reindex(p.frame.index, fill_value=False)
                p.frame, p.line = p.frame[~m], p.line[~m]

    def finish(self) -> None:
        for p in self.parts:
            p.finish()
        c = self.count
        c.rows_in = sum(p.count.rows_in for p in self.parts)
        c.quarantined = sum(p.count.quarantined for p in self.parts)
        c.dropped = sum((p.count.dropped for p in self.parts), Counter())
        c.loaded = sum(p.count.loaded for p in self.parts)
        c.rows_out = sum(p.count.rows_out for p in self.parts)
        c.events_quarantined = sum(p.count.events_quarantined for p in self.parts)
        self.frame_final = pd.concat([p.frame for p in self.parts], ignore_index=True)
        self.origin = pd.concat([pd.DataFrame({
            "file": str(p.src.path), "line": p.line.to_numpy(dtype=int),
            "columns": [{c: p._as_written(p._source_column(c)) for c in p.frame.columns}] * len(p.frame)})
            for p in self.parts], ignore_index=True)


def _cross_table_checks(builders: dict[str, _Table]) -> None:
    """Orphans and backward stage histories, repeated until quarantining one row orphans no other."""
    while True:
        frames = {n: b.frame for n, b in builders.items()}
        changed = False
        for check in stage_order_checks(frames):
            # one bad event (a win dated before the first contact) sets aside that event only: the lead and
            # its other events stay, so stage counts do not silently lose the whole lead
            stages = builders["stages"]
            mask = check.mask.reindex(stages.frame.index, fill_value=False)
            if not mask.any():
                continue
            stages.flag_rows(mask, check.rule, check.column, check.message, check.detail)
            changed = True
        for check in reference_checks({n: b.frame for n, b in builders.items()}):
            b = builders[check.table]
            bf = b.frame
            # a row orphaned twice (its lead and its opportunity both quarantined) left with the first check
            mask = check.mask.reindex(bf.index, fill_value=False)
            if mask.any():
                target = TABLES[check.table].references[check.column]
                gone = builders[target].gone_keys(TABLES[target].key[0]) if target in builders else set()
                detail = {r: (f" (that {target} row was quarantined)" if str(bf.at[r, check.column]) in gone
                              else check.detail.get(r, "")) for r in mask[mask].index}
                b.flag_rows(mask, check.rule, check.column, check.message, detail)
                changed = True
        if not changed:
            return


def _currencies(builders: dict[str, _Table], mapping: Mapping, problems: Collector) -> None:
    """Amounts in a currency with no declared exchange rate: an error naming the source rows (no row can be
    compared with the others, so none is quietly set aside)."""
    w = mapping.workspace
    for check in currency_checks({n: b.frame for n, b in builders.items()}, w.currency, w.exchange_rates):
        b = builders[check.table]
        for i, r in list(check.mask[check.mask].index)[:SHOWN]:
            part = b.parts[i]
            line = int(part.line[r])
            col = part._as_written(part._source_column("currency"))
            problems.add(part.src.path, check.rule, check.message.replace("workspace.yaml", "the mapping's workspace "
                         "settings"), column=col, line=line, value=part.frame.at[r, "currency"])


def _note_constants(mapping: Mapping, report: ImportReport) -> None:
    for name, table in [(n, t) for n, whole in mapping.tables.items() for t in [whole, *whole.also]]:
        for col in table.columns:
            spec = table.column(col)
            if spec.constant is not None:
                report.notes.append(f"{name}.{col} is the declared constant {spec.constant!s} for every row"
                                    + (f": {spec.why}" if spec.why else ""))
        dated = [e.stage for e in table.events if isinstance(e.at, ColumnMap) and e.at.constant is not None]
        if dated:
            at = next(e.at for e in table.events if isinstance(e.at, ColumnMap) and e.at.constant is not None)
            report.notes.append(f"stage events {', '.join(dated)} are dated with the declared constant {at.constant!s}"
                                + (f": {at.why}" if at.why else ""))


def _order(key) -> tuple:
    """Quarantine keys in file order: a whole row before the events of the same row."""
    return (key[0], 1, key[1]) if isinstance(key, tuple) else (key, 0, "")


def _template(template: str, rows: pd.DataFrame) -> pd.Series:
    out = pd.Series("", index=rows.index, dtype=object)
    missing = pd.Series(False, index=rows.index)
    for literal, field, _, _ in string.Formatter().parse(template):
        out = out + literal
        if field:
            missing |= rows[field].isna()
            out = out + rows[field].fillna("").astype(str)
    return out.where(~missing, None)


def _transform(s: pd.Series, how: str) -> pd.Series:
    text = s.astype("string")
    if how == "first":
        text = text.str.split(";").str[0]
    elif how == "slug":
        text = text.str.casefold().str.replace(r"[^0-9a-z]+", "_", regex=True).str.strip("_")
    elif how in ("lower", "upper", "title"):
        text = getattr(text.str, how)()
    text = text.str.strip()
    return text.astype(object).where(text.notna() & (text != ""), None)


def apply(mapping_path: str | Path, source: str | Path | None = None) -> Built:
    """Load a mapping file and apply it to its source folder (see :func:`source_folder`)."""
    mapping_path = Path(mapping_path).resolve()
    mapping = load_mapping(mapping_path)
    folder = source_folder(mapping, mapping_path, source)
    if not folder.is_dir():
        raise WorkspaceError([_folder_problem(folder, mapping_path, source)], str(mapping_path))
    return build(mapping, folder, mapping_file=str(mapping_path))


def _folder_problem(folder: Path, mapping_path: Path, source):

    how = "given with --source" if source is not None else "named by the mapping's 'source' (relative to the mapping file)"
    return Problem(str(folder), "missing-source", f"the source folder {how} does not exist")
