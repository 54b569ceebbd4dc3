"""The import report: rows in, loaded, quarantined (with the reason per row), dropped on purpose, repairs.

Every source row a table reads ends up in exactly one of *loaded*, *quarantined* or
*dropped* (each drop has a documented reason), so ``rows_in = loaded + quarantined + dropped``.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from salign.core import csvsafe
from salign.workspace.schema import PII_COLUMNS

#: quarantine.csv columns; ``record`` is the source row as JSON, so nothing is lost.
QUARANTINE_COLUMNS = ("table", "file", "line", "rule", "column", "value", "reason", "record")


@dataclass
class TableCount:
    """What happened to the source rows of one canonical table."""

    source: str
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    dropped: Counter = field(default_factory=Counter)
    rows_out: int = 0

    def as_dict(self) -> dict:
        return {"source": self.source, "rows_in": self.rows_in, "loaded": self.loaded,
                "quarantined": self.quarantined, "dropped": dict(sorted(self.dropped.items())),
                "rows_out": self.rows_out}

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

    def repair(self, table: str, column: str, rule: str, count: int, detail: str = "") -> None:
        if count:
            self.repairs.append(Repair(table, column, rule, int(count), detail))

    def as_dict(self) -> dict:
        by_rule = Counter((q["table"], q["rule"]) for q in self.quarantine)
        return {
            "kind": self.kind, "source": self.source, "mapping": self.mapping, "files": self.files,
            "tables": {n: t.as_dict() for n, t in self.tables.items()},
            "repairs": [r.as_dict() for r in self.repairs],
            "quarantined_by_rule": [{"table": t, "rule": r, "rows": n} for (t, r), n in sorted(by_rule.items())],
            "notes": self.notes,
        }

    def write(self, folder) -> None:
        """Write ``import_report.json`` and ``quarantine.csv`` (header only when nothing was quarantined)."""
        (folder / "import_report.json").write_text(json.dumps(self.as_dict(), indent=2, sort_keys=False) + "\n",
                                                   encoding="utf-8")
        frame = pd.DataFrame(self.quarantine, columns=list(QUARANTINE_COLUMNS))
        csvsafe.write_csv(frame, folder / "quarantine.csv")

    def text(self, limit: int = 10) -> str:
        """The report as plain lines for the terminal (no PII values)."""
        lines = [f"import ({self.kind}) from {self.source}"]
        for name, t in self.tables.items():
            drops = ", ".join(f"{n} {r}" for r, n in sorted(t.dropped.items()))
            lines.append(f"  {name:<13} rows in {t.rows_in:>8,}  loaded {t.loaded:>8,}  quarantined {t.quarantined:>6,}"
                         f"  dropped {sum(t.dropped.values()):>6,}  -> {t.rows_out:,} rows"
                         + (f"  (dropped: {drops})" if drops else ""))
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
