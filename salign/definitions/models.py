"""What people agree on: the strict models of the files in a workspace's ``definitions/`` folder."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from salign.core.problems import Problem, WorkspaceError
from salign.core.strictyaml import load_model
from salign.definitions.qualification import QualificationDefinition
from salign.definitions.rules import Condition

Team = Literal["marketing", "sales", "common"]


#: The persona of a lead or customer that matches no persona rule.
UNASSIGNED = "unassigned"

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Persona(_Strict):
    """One persona: an id, a readable name and the rule that says who belongs."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    description: str = ""
    rule: Condition
    evidence: dict[str, str | int | float | list[str]] = Field(default_factory=dict)


class PersonaSet(_Strict):
    """A team's (or the common) persona set, ``personas.<team>.yaml``."""

    version: int = 1
    team: Team
    personas: list[Persona] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> "PersonaSet":
        ids = [p.id for p in self.personas]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"persona ids must be unique; repeated: {', '.join(dup)}")
        return self

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Boolean membership frame, one column per persona id (a row may match several)."""
        return pd.DataFrame({p.id: p.rule.evaluate(frame) for p in self.personas}, index=frame.index)

    def first_match(self, frame: pd.DataFrame, unassigned: str = UNASSIGNED) -> pd.Series:
        """The first persona (in file order) each row matches, or ``unassigned``."""
        member = self.assign(frame)
        out = pd.Series(unassigned, index=frame.index, dtype=object)
        for pid in reversed(member.columns):
            out[member[pid]] = pid
        return out


class QualificationRule(_Strict):
    """A team's current definition of a qualified lead, ``qualification.<team>.yaml``."""

    version: int = 1
    team: Literal["marketing", "sales"]
    name: str
    rule: Condition


class MarketingSLA(_Strict):
    """Marketing's commitments. The volume is committed per quarter, per month, or both (the playbook allows
    either): ``sales_ready_leads_per_month`` alone commits three months' worth a quarter and paces each month."""

    sales_ready_leads_per_quarter: int | None = Field(default=None, gt=0)
    sales_ready_leads_per_month: int | None = Field(default=None, gt=0)
    min_fields_at_handoff: list[str] = Field(default_factory=list)
    min_fields_share_target: float = Field(default=0.95, ge=0, le=1)

    @model_validator(mode="after")
    def _volume_committed(self) -> "MarketingSLA":
        if self.sales_ready_leads_per_quarter is None and self.sales_ready_leads_per_month is None:
            raise ValueError("commit a volume: sales_ready_leads_per_quarter, sales_ready_leads_per_month or both")
        return self

    @property
    def quarterly_volume(self) -> int:
        """The committed sales-ready leads of a quarter: the quarterly target, else three monthly ones."""
        if self.sales_ready_leads_per_quarter is not None:
            return self.sales_ready_leads_per_quarter
        return 3 * self.sales_ready_leads_per_month


class SalesSLA(_Strict):
    max_hours_to_first_follow_up: float = Field(gt=0)
    follow_up_attainment_target: float = Field(default=0.9, ge=0, le=1)
    feedback_days_on_rejected: float = Field(gt=0)
    expected_acceptance_rate: float = Field(default=0.7, ge=0, le=1)


class SLA(_Strict):
    """Both teams' commitments, ``sla.yaml``.

    ``review_days_after_quarter``: when the teams review a quarter, in days after it ends (0: on its last day).
    The fixes a review lists are due at the next review: the last day of the next quarter plus these days.
    """

    version: int = 1
    marketing: MarketingSLA
    sales: SalesSLA
    review_days_after_quarter: int = Field(default=0, ge=0, le=92)


class Handoff(_Strict):
    """How leads reach sales, ``handoff.yaml``."""

    version: int = 1
    routing: Literal["queue", "direct"]
    queue: str | None = None
    max_hours_to_route: float = Field(default=4, gt=0)
    recycle_after_days: float = Field(default=90, gt=0)
    contacts: dict[Literal["marketing", "sales"], str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _queue_named(self) -> "Handoff":
        if self.routing == "queue" and not self.queue:
            raise ValueError("routing: queue needs the queue's name in 'queue'")
        return self


class ValueTerm(_Strict):
    """One term of customer value: ``weight`` times the product of the named components."""

    factors: list[str] = Field(min_length=1)
    weight: float = 1.0

    @model_validator(mode="after")
    def _names(self) -> "ValueTerm":
        bad = [f for f in self.factors if not f or not f.replace("_", "a").isalnum()]
        if bad:
            raise ValueError(f"component names are column-like words; got {', '.join(map(repr, bad))}")
        return self


class ValueDefinition(_Strict):
    """How customers are valued, ``value.yaml``: value = sum over ``terms`` of weight x product of factors.

    Components: ``won_revenue``, ``won_deals``, ``gross_margin``, ``tenure`` (years), ``churn`` (1 if
    churned) or any numeric account column (see :mod:`salign.personas.value`). Absent file: won revenue
    x gross margin, churned customers count as worst.
    """

    version: int = 1
    terms: list[ValueTerm] = Field(min_length=1)
    if_missing: dict[str, float] = Field(default_factory=lambda: {"gross_margin": 1.0})
    churned_is_worst: bool = True


#: file name -> model; ``qualification.yaml`` (the signed definition) is defined in salign.definitions.qualification.
FILES: dict[str, type[BaseModel]] = {
    "qualification.yaml": QualificationDefinition,
    "personas.marketing.yaml": PersonaSet,
    "personas.sales.yaml": PersonaSet,
    "personas.common.yaml": PersonaSet,
    "qualification.marketing.yaml": QualificationRule,
    "qualification.sales.yaml": QualificationRule,
    "sla.yaml": SLA,
    "handoff.yaml": Handoff,
    "value.yaml": ValueDefinition,
}


def load_definitions(folder: Path) -> tuple[dict[str, BaseModel], list[Problem]]:
    """Load every known definitions file in ``folder``; collect problems instead of stopping at the first.

    Files with unknown names are reported too (a misspelled file name would otherwise be silently ignored).
    """
    folder = Path(folder)
    defs: dict[str, BaseModel] = {}
    problems: list[Problem] = []
    if not folder.is_dir():
        return defs, problems
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".yaml", ".yml"):
            continue
        model = FILES.get(path.name)
        if model is None:
            problems.append(Problem(str(path), "unknown-file", "not a definitions file salign knows; expected one of "
                                    + ", ".join(sorted(FILES))))
            continue
        try:
            defs[path.name] = load_model(model, path)
        except WorkspaceError as exc:
            problems.extend(exc.problems)
    return defs, problems
