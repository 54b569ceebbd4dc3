"""The import report: rows in, loaded, quarantined (with the reason per row), dropped on purpose, repairs.

Every source row a table reads ends up in exactly one of *loaded*, *quarantined* or
*dropped* (each drop has a documented reason), so ``rows_in = loaded + quarantined + dropped``.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from salign.common.pii import EMAIL, PHONE, mask
from salign.core import csvsafe
from salign.workspace.schema import PII_COLUMNS

#: quarantine.csv columns; ``record`` is the source row as JSON, with personal data masked (see :func:`scrub`).
QUARANTINE_COLUMNS = ("table", "file", "line", "rule", "column", "value", "reason", "record")
#: source headers (lower case, letters only) whose values are personal data, whatever the CRM calls them
PERSONAL_HEADERS = {"email", "emailaddress", "email1", "email2", "workemail", "personalemail", "phone",
                    "phonenumber", "mobile", "mobilephone", "mobilephonenumber", "homephone", "otherphone",
                    "workphone", "fax", "firstname", "lastname", "fullname", "contactname",
                    "streetaddress", "street", "mailingstreet", "address"} | {c.replace("_", "") for c in PII_COLUMNS}


def personal(column) -> bool:
    """Whether a source column (as the file names it) holds personal data."""
    return column is not None and re.sub(r"[^a-z0-9]", "", str(column).casefold()) in PERSONAL_HEADERS


def scrub(column, value):
    """A value as quarantine.csv may show it: a personal column's value masked (``an***st``); e-mail
    addresses and phone numbers inside any other text masked too. ``None`` stays ``None``."""
    if value is None:
        return None
    text = str(value)
    if personal(column):
        return mask(text) if text.strip() else text
    if "@" in text or any(c.isdigit() for c in text):
        text = EMAIL.sub(lambda m: mask(m.group()), text)
        text = PHONE.sub(lambda m: mask(m.group()) if sum(c.isdigit() for c in m.group()) >= 8 else m.group(), text)
    return text


@dataclass
class TableCount:
    """What happened to the source rows of one canonical table."""

    source: str
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    dropped: Counter = field(default_factory=Counter)
    rows_out: int = 0
    #: stage events set aside from source rows that were otherwise loaded (a row may give several events)
    events_quarantined: int = 0

    def as_dict(self) -> dict:
        out = {"source": self.source, "rows_in": self.rows_in, "loaded": self.loaded,
               "quarantined": self.quarantined, "dropped": dict(sorted(self.dropped.items())),
               "rows_out": self.rows_out}
        if self.events_quarantined:
            out["events_quarantined"] = self.events_quarantined
        return out

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.loaded + self.quarantined + sum(self.dropped.values())


@dataclass
class Repair:
    """A counted change to source values: what, where, how many times, one example."""

    table: str
    column: str
    rule: str
    count: int
    detail: str = ""

    def as_dict(self) -> dict:
        return {"table": self.table, "column": self.column, "rule": self.rule, "count": self.count,
                "detail": self.detail}


@dataclass
class ImportReport:
    """The whole account of one import; ``as_dict`` is what ``import_report.json`` holds."""

    kind: str
    source: str
    mapping: str | None = None
    files: dict[str, dict] = field(default_factory=dict)
    tables: dict[str, TableCount] = field(default_factory=dict)
    repairs: list[Repair] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: "ok", or "failed" with the problems that stopped the import (then no workspace was written)
    status: str = "ok"
    problems: list[dict] = field(default_factory=list)

    def set_aside(self, table: str, file: str, line: int, rule: str, column, value, reason: str,
                  record: dict) -> None:
        """Record one quarantined source row (or stage event): the one place quarantine rows are made, so
        personal data is masked here for every import path (see :func:`scrub`)."""
        self.quarantine.append({
            "table": table, "file": file, "line": int(line), "rule": rule, "column": column,
            "value": scrub(column, None if value is None or (isinstance(value, float) and pd.isna(value)) else value),
            "reason": scrub(None, reason),
            "record": json.dumps({k: scrub(k, v) for k, v in record.items()}, ensure_ascii=False)})

    def repair(self, table: str, column: str, rule: str, count: int, detail: str = "") -> None:
        if count:
            self.repairs.append(Repair(table, column, rule, int(count), detail))

    def as_dict(self) -> dict:
        by_rule = Counter((q["table"], q["rule"]) for q in self.quarantine)
        out = {
            "kind": self.kind, "source": self.source, "mapping": self.mapping, "status": self.status,
            "files": self.files,
            "tables": {n: t.as_dict() for n, t in self.tables.items()},
            "repairs": [r.as_dict() for r in self.repairs],
            "quarantined_by_rule": [{"table": t, "rule": r, "rows": n} for (t, r), n in sorted(by_rule.items())],
            "notes": self.notes,
        }
        if self.problems:
            out["problems"] = self.problems
        return out

    def write(self, folder, name: str = "import_report.json", quarantine: str = "quarantine.csv") -> None:
        """Write ``import_report.json`` and ``quarantine.csv`` (header only when nothing was quarantined)."""
        folder = Path(folder)
        (folder / name).write_text(json.dumps(self.as_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8")
        frame = pd.DataFrame(self.quarantine, columns=list(QUARANTINE_COLUMNS))
        csvsafe.write_csv(frame, folder / quarantine)

    def write_failed(self, out, problems) -> Path | None:
        """Write the report of an import that stopped with ``problems`` (status ``failed``), without touching
        a workspace already in ``out``: into ``out`` when it holds no workspace (then ``out`` holds only the
        report and quarantine.csv), else as ``import_report.failed.json`` and ``quarantine.failed.csv`` beside
        the previous import's files. A hand-made workspace (no import report) gets nothing. Returns the path
        written, or ``None``."""
        out = Path(out)
        self.status = "failed"
        self.problems = [{"file": p.file, "line": p.line, "column": p.column, "rule": p.rule,
                          "value": scrub(p.column, p.value), "message": scrub(None, p.message)} for p in problems]
        previous = (out / "workspace.yaml").exists()
        if previous and not (out / "import_report.json").exists():
            return None
        if out.is_dir() and not (out / "import_report.json").exists() and foreign_entries(out):
            return None  # the user's own files: an import report there would mark the folder as an import's
        try:
            out.mkdir(parents=True, exist_ok=True)
            name, quarantine = (("import_report.failed.json", "quarantine.failed.csv") if previous else
                                ("import_report.json", "quarantine.csv"))
            self.write(out, name, quarantine)
        except OSError:
            return None
        return out / name

    def text(self, limit: int = 10) -> str:
        """The report as plain lines for the terminal (no PII values)."""
        lines = [f"import ({self.kind}) from {self.source}"]
        for name, t in self.tables.items():
            drops = ", ".join(f"{n} {r}" for r, n in sorted(t.dropped.items()))
            lines.append(f"  {name:<13} rows in {t.rows_in:>8,}  loaded {t.loaded:>8,}  quarantined {t.quarantined:>6,}"
                         f"  dropped {sum(t.dropped.values()):>6,}  -> {t.rows_out:,} rows"
                         + (f"  (dropped: {drops})" if drops else "")
                         + (f"  ({t.events_quarantined:,} stage event{'s' if t.events_quarantined != 1 else ''}"
                            " of loaded rows quarantined)"
                            if t.events_quarantined else ""))
        for key, f in self.files.items():
            extra = [f"{n:,} {what.replace('_', ' ')}" for what, n in f.items()
                     if isinstance(n, int) and what != "rows" and n]
            placeholders = sum(sum(v.values()) for v in f.get("placeholders", {}).values())
            if placeholders:
                extra.append(f"{placeholders:,} placeholder values made missing")
            if extra:
                lines.append(f"  file {key}: " + "; ".join(extra))
        if self.repairs:
            lines.append("  repairs:")
            lines += [f"    {r.table}.{r.column}: {r.rule} x{r.count:,}" + (f" ({r.detail})" if r.detail else "")
                      for r in self.repairs]
        if self.quarantine:
            lines.append(f"  quarantined rows (quarantine.csv), first {min(limit, len(self.quarantine))}:")
            for q in self.quarantine[:limit]:
                value = "(hidden: personal data)" if q["column"] in PII_COLUMNS else q["value"]
                lines.append(f"    {q['file']}:{q['line']} {q['table']} column {q['column']!r} value {value!r}: "
                             f"{q['reason']} [{q['rule']}]")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


#: tables no export holds, added by hand to an import's folder and kept across imports, like definitions/
KEPT_TABLES = ("content",)


def foreign_entries(out: Path) -> list[str]:
    """Entries of the folder ``out`` that neither an import nor the user's preparation for one (definitions/, a
    kept table, a failed import's report, a README) put there: what replacing ``out`` as a whole would lose."""
    ours = {"definitions", "import_report.failed.json", "quarantine.failed.csv"} | {f"{t}.csv" for t in KEPT_TABLES}
    return sorted(p.name for p in out.iterdir() if p.name not in ours and not p.name.lower().startswith("readme"))
