"""What an import set aside: one plain-words line for every page built on an imported workspace.

A workspace written by ``salign import`` holds ``import_report.json``; its
``quarantined_by_rule`` counts the source rows (and stage events) that were
quarantined, per table and rule. :func:`set_aside_line` turns that into a line such as
"At import, 37 stage events and 4 leads were set aside: 30 dated before their lead
was created, ...". A workspace without an import report (the sample, a hand-made
one) gives ``None``, and so does an import that set nothing aside.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

#: the report an import writes into the workspace
IMPORT_REPORT = "import_report.json"

#: table -> (one, many): what a quarantined row of that table is, in words
UNITS = {"leads": ("lead", "leads"), "stages": ("stage event", "stage events"),
         "opportunities": ("opportunity", "opportunities"), "accounts": ("account", "accounts"),
         "activities": ("activity", "activities"), "content": ("content item", "content items")}

#: quarantine rule -> why, in words (after a count: "30 closed before created")
REASONS = {
    "before-created": "dated before their lead was created",
    "stage-order": "out of funnel order (a later stage reached before an earlier one)",
    "time-order": "closed before created",
    "orphan-reference": "pointing to a record the export does not have",
    "duplicate-key": "with a repeated id and conflicting values",
    "mangled-id": "with an id a spreadsheet had changed",
    "id-checksum": "with an altered Salesforce id",
    "bad-datetime": "with an unreadable date",
    "not-a-number": "with an unreadable number",
    "boolean-token": "with an unreadable yes/no value",
    "required-value": "missing a required value",
    "vocabulary": "with a value outside the allowed list",
    "unknown-value": "with a value matching no reference value",
    "minimum": "with a value below the allowed minimum",
    "implausible-value": "with an implausible number",
    "implausible-date": "with an implausible date",
    "outcome-closed": "open but with a close date",
}
#: at most this many reasons are named; the rest are summed as "other reasons"
SHOWN_REASONS = 4


def import_report(folder) -> dict | None:
    """The import report of the workspace in ``folder``, or ``None`` (not imported, or unreadable)."""
    if folder is None:
        return None
    path = Path(folder) / IMPORT_REPORT
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def set_aside(report: dict | None) -> tuple[Counter, Counter]:
    """``(per table, per rule)`` counts of what the import quarantined (empty without a report)."""
    tables, rules = Counter(), Counter()
    for entry in (report or {}).get("quarantined_by_rule", []) or []:
        try:
            n = int(entry["rows"])
            tables[str(entry["table"])] += n
            rules[str(entry["rule"])] += n
        except (KeyError, TypeError, ValueError):
            continue
    return tables, rules


def _count(n: int, table: str) -> str:
    one, many = UNITS.get(table, (f"{table} row", f"{table} rows"))
    return f"{n:,} {one if n == 1 else many}"


def set_aside_line(folder) -> str | None:
    """The plain-words line of what the import of the workspace in ``folder`` set aside, or ``None``."""
    tables, rules = set_aside(import_report(folder))
    if not tables:
        return None
    order = [t for t in UNITS if t in tables] + sorted(t for t in tables if t not in UNITS)
    counted = [_count(tables[t], t) for t in order]
    what = counted[0] if len(counted) == 1 else ", ".join(counted[:-1]) + " and " + counted[-1]
    verb = "was" if sum(tables.values()) == 1 else "were"
    reasons = [f"{n:,} {REASONS.get(r, r.replace('-', ' '))}" for r, n in rules.most_common(SHOWN_REASONS)]
    rest = sum(rules.values()) - sum(n for _, n in rules.most_common(SHOWN_REASONS))
    if rest:
        reasons.append(f"{rest:,} for other reasons")
    return (f"At import, {what} {verb} set aside: {', '.join(reasons)}. Every figure here is computed without "
            "them; quarantine.csv in the workspace lists each one with its file and line.")
