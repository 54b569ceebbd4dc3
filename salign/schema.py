"""The canonical data model: which tables exist, their columns, types, keys and vocabularies."""
from __future__ import annotations

from dataclasses import dataclass, field

STAGES = ("lead", "mql", "sal", "sql", "opportunity", "won", "lost", "rejected", "recycled", "disqualified")
TEAMS = ("marketing", "sales")
OUTCOMES = ("won", "lost", "open")
PII_COLUMNS = ("email", "phone", "first_name", "last_name", "full_name")


@dataclass(frozen=True)
class Column:
    """A declared column: ``kind`` is one of id, text, int, number, datetime, category."""

    name: str
    kind: str = "text"
    required: bool = False
    vocabulary: tuple[str, ...] = ()
    min: float | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    references: dict[str, str] = field(default_factory=dict)  # column -> table it points into

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _c(name, kind="text", required=False, vocabulary=(), min=None):
    return Column(name, kind, required, tuple(vocabulary), min)


TABLES: dict[str, TableSpec] = {
    "accounts": TableSpec("accounts", ("account_id",), (
        _c("account_id", "id", True), _c("name"), _c("industry"), _c("employees", "int", min=0),
        _c("annual_revenue", "number", min=0), _c("region"), _c("country"), _c("created_at", "datetime"),
        _c("tier"), _c("churned_at", "datetime"), _c("gross_margin", "number"),
    )),
    "leads": TableSpec("leads", ("lead_id",), (
        _c("lead_id", "id", True), _c("created_at", "datetime", True), _c("source", "text", True),
        _c("account_id", "id"), _c("campaign"), _c("job_title"), _c("job_level"), _c("department"),
        _c("industry"), _c("employees", "int", min=0), _c("region"), _c("country"),
        _c("marketing_persona"), _c("owner"),
    ), references={"account_id": "accounts"}),
    "stages": TableSpec("stages", ("lead_id", "stage", "at"), (
        _c("lead_id", "id", True), _c("stage", "category", True, STAGES), _c("at", "datetime", True),
        _c("team", "category", vocabulary=TEAMS), _c("actor"), _c("reason"), _c("opportunity_id", "id"),
    ), references={"lead_id": "leads", "opportunity_id": "opportunities"}),
    "activities": TableSpec("activities", ("activity_id",), (
        _c("activity_id", "id", True), _c("at", "datetime", True), _c("team", "category", True, TEAMS),
        _c("type", "text", True), _c("lead_id", "id"), _c("account_id", "id"), _c("content_id", "id"), _c("actor"),
    ), references={"lead_id": "leads", "account_id": "accounts", "content_id": "content"}),
    "opportunities": TableSpec("opportunities", ("opportunity_id",), (
        _c("opportunity_id", "id", True), _c("created_at", "datetime", True), _c("stage", "text", True),
        _c("outcome", "category", True, OUTCOMES), _c("account_id", "id"), _c("lead_id", "id"),
        _c("closed_at", "datetime"), _c("amount", "number", min=0), _c("loss_reason"), _c("owner"), _c("product"),
    ), references={"account_id": "accounts", "lead_id": "leads"}),
    "content": TableSpec("content", ("content_id",), (
        _c("content_id", "id", True), _c("title", "text", True), _c("type", "text", True), _c("personas"),
        _c("stage"), _c("owner_team", "category", vocabulary=TEAMS), _c("created_at", "datetime"),
        _c("updated_at", "datetime"), _c("location"),
    )),
}

#: What each analysis needs; the report names what is skipped and why.
NEEDS: dict[str, tuple[str, ...]] = {
    "personas": ("accounts", "leads", "opportunities"),
    "content_audit": ("content", "activities"),
    "qualification": ("leads", "stages"),
    "funnel": ("leads", "stages"),
    "sla": ("leads", "stages", "activities"),
    "handoff": ("leads", "stages"),
    "winloss": ("opportunities",),
}


def validate_tables(frames: dict, files: dict) -> list:
    """Check typed frames against the data model; return every problem (never raises).

    Rules: required columns present and filled, vocabularies, minimums, unique keys,
    references into other tables.
    """
    from salign.problems import Problem

    problems: list[Problem] = []

    def first(mask, limit=20):
        return list(mask[mask].index[:limit])

    for name, frame in frames.items():
        spec, file = TABLES[name], str(files[name])
        missing = [c for c in spec.required if c not in frame.columns]
        for c in missing:
            problems.append(Problem(file, "required-column", f"table '{name}' needs this column "
                                    f"(has: {', '.join(map(str, frame.columns))})", column=c, line=1))
        for col in spec.columns:
            if col.name not in frame.columns:
                continue
            values = frame[col.name]
            if col.required:
                for i in first(values.isna()):
                    problems.append(Problem(file, "required-value", "this column must not be empty", column=col.name, line=int(i)))
            if col.vocabulary:
                bad = values.notna() & ~values.isin(col.vocabulary)
                for i in first(bad):
                    problems.append(Problem(file, "vocabulary", f"must be one of {', '.join(col.vocabulary)}",
                                            column=col.name, line=int(i), value=values[i]))
            if col.min is not None:
                bad = values.notna() & (values < col.min)
                for i in first(bad):
                    problems.append(Problem(file, "minimum", f"must be at least {col.min:g}", column=col.name,
                                            line=int(i), value=values[i]))
        if all(k in frame.columns for k in spec.key):
            dup = frame.duplicated(list(spec.key), keep="first")
            for i in first(dup):
                key = ", ".join(f"{k}={frame.at[i, k]}" for k in spec.key)
                problems.append(Problem(file, "duplicate-key", f"the key ({key}) appears more than once",
                                        column=spec.key[0], line=int(i), value=frame.at[i, spec.key[0]]))
    for name, frame in frames.items():
        spec, file = TABLES[name], str(files[name])
        for col, target in spec.references.items():
            if col not in frame.columns or target not in frames:
                continue
            key = TABLES[target].key[0]
            if key not in frames[target].columns:
                continue
            orphan = frame[col].notna() & ~frame[col].isin(set(frames[target][key].dropna()))
            for i in first(orphan):
                problems.append(Problem(file, "orphan-reference", f"no {target} row has {key} = this value",
                                        column=col, line=int(i), value=frame.at[i, col]))
            if orphan.sum() > 20:
                problems.append(Problem(file, "orphan-reference", f"{int(orphan.sum()) - 20} more orphan values", column=col))
    return problems
