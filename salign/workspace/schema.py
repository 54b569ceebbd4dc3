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


#: The one funnel, in the order a lead moves forward: the first time it reaches each stage may not go back in time.
FUNNEL = ("lead", "mql", "sal", "sql", "opportunity", "won")
#: Stage events that take a lead out of the funnel stage it is in.
EXITS = ("rejected", "recycled", "disqualified", "lost")
