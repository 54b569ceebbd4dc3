"""The signed ``qualification.yaml``: a strict model of the definition of a sales-ready lead.

The file is the model: scorecard points per bin, the calibration, the threshold, the minimum
information, the disqualification rules, the outcome and window, the evaluation figures, a
version and the data fingerprint. Nothing is pickled; scoring reads this file alone.

A numeric feature's bins are ranges ``{from: a, below: b, points: p}`` (the first has no
``from``, the last no ``below``) plus ``{missing: true, points: p}``; a categorical feature's
bins are ``{in: [values], points: p}`` plus ``{other: true, points: p}`` (any value not
listed) and ``{missing: true, points: p}``.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from salign.core.strictyaml import dump_yaml, load_model
from salign.definitions.rules import Condition

FORMAT = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class Bin(_Strict):
    """One bin of a feature and its points."""

    points: int = Field(ge=0)
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)
    other: Literal[True] | None = None
    missing: Literal[True] | None = None
    from_: float | None = Field(default=None, alias="from")
    below: float | None = None

    @property
    def shape(self) -> str:
        if self.in_ is not None:
            return "in"
        if self.other:
            return "other"
        if self.missing:
            return "missing"
        return "range"

    @model_validator(mode="after")
    def _one_kind(self) -> "Bin":
        kinds = [self.in_ is not None, bool(self.other), bool(self.missing),
                 self.from_ is not None or self.below is not None]
        if sum(kinds) != 1:
            raise ValueError("a bin is exactly one of {in: [...]}, {other: true}, {missing: true} or a range "
                             "{from: a, below: b}")
        if self.from_ is not None and self.below is not None and self.from_ >= self.below:
            raise ValueError(f"range from {self.from_} must be below {self.below}")
        return self


class Feature(_Strict):
    """A feature on the card: its bins with points, and the typical (average) points of a lead."""

    field: str = Field(min_length=1)
    kind: Literal["numeric", "categorical"]
    typical_points: float
    bins: list[Bin] = Field(min_length=2)

    @model_validator(mode="after")
    def _complete(self) -> "Feature":
        shapes = [b.shape for b in self.bins]
        if shapes.count("missing") != 1:
            raise ValueError(f"feature '{self.field}' needs exactly one {{missing: true}} bin")
        if self.kind == "numeric":
            ranges = [b for b in self.bins if b.shape == "range"]
            if len(ranges) + 1 != len(self.bins):
                raise ValueError(f"numeric feature '{self.field}' has only ranges and one missing bin")
            if ranges[0].from_ is not None or ranges[-1].below is not None:
                raise ValueError(f"the ranges of '{self.field}' must start without 'from' and end without 'below'")
            for a, b in zip(ranges, ranges[1:]):
                if a.below is None or b.from_ is None or a.below != b.from_:
                    raise ValueError(f"the ranges of '{self.field}' must follow each other "
                                     f"(a range's 'below' is the next one's 'from')")
        else:
            if shapes.count("other") != 1 or shapes.count("range"):
                raise ValueError(f"categorical feature '{self.field}' has {{in: [...]}} bins, one {{other: true}} "
                                 f"and one {{missing: true}}")
            values = [v for b in self.bins if b.in_ for v in b.in_]
            dup = sorted({v for v in values if values.count(v) > 1})
            if dup:
                raise ValueError(f"feature '{self.field}' lists {', '.join(dup)} in more than one bin")
        return self


class Calibration(_Strict):
    """probability = 1 / (1 + exp(-(intercept + slope * score)))."""

    intercept: float
    slope: float
    fitted_on: str


class ScorecardSpec(_Strict):
    points_to_double_odds: int = Field(gt=0)
    features: list[Feature] = Field(min_length=1)
    calibration: Calibration

    @model_validator(mode="after")
    def _unique(self) -> "ScorecardSpec":
        names = [f.field for f in self.features]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"features appear twice: {', '.join(dup)}")
        return self


class Outcome(_Strict):
    stage: Literal["sql", "opportunity", "won"]
    window_days: int = Field(gt=0)


class Threshold(_Strict):
    """A lead with at least ``score`` points is sales-ready; from ``nurture_score`` it is worth nurturing."""

    score: int = Field(ge=0)
    nurture_score: int = Field(ge=0)
    why: str

    @model_validator(mode="after")
    def _order(self) -> "Threshold":
        if self.nurture_score > self.score:
            raise ValueError("nurture_score must not be above score")
        return self


class MinimumField(_Strict):
    """A field a lead must carry before handoff, and the evidence."""

    field: str
    why: str


class Disqualification(_Strict):
    """A segment that (almost) never succeeds: leads matching ``rule`` are not qualified, whatever their score."""

    rule: Condition
    why: str


class ModelFigure(_Strict):
    auc: float
    auc_ci: list[float] = Field(min_length=2, max_length=2)
    brier: float | None = None


class RuleFigure(_Strict):
    precision: float | None
    recall: float | None
    share_flagged: float


class Evaluation(_Strict):
    """How the definition performed on leads it did not learn from."""

    split: Literal["time", "stratified"]
    split_note: str
    training_leads: int
    holdout_leads: int
    holdout_from: dt.date | None = None
    base_rate: float
    scorecard: ModelFigure
    challengers: dict[str, ModelFigure] = Field(default_factory=dict)
    team_rules: dict[Literal["marketing", "sales"], RuleFigure] = Field(default_factory=dict)
    qualified: RuleFigure
    sales_ready_per_quarter: float | None = None


class Candidate(_Strict):
    """A column the study considered as a feature, as the teams signed it.

    ``auc`` is its holdout AUC on its own (``leads_with_value`` of the holdout leads have a value);
    ``recorded`` says when its value is known (``workspace.yaml``'s ``recorded``, or ``not_declared``);
    ``excluded`` is why it never enters a model (absent when it may).
    """

    field: str = Field(min_length=1)
    auc: float | None = None
    leads_with_value: int = Field(ge=0)
    recorded: Literal["before_contact", "after_contact", "not_declared"] = "not_declared"
    excluded: str | None = None


class Data(_Strict):
    """The data the definition was learned from: ``as_of`` is the cut-off (exclusive, workspace time zone).

    ``excluded_as_leaks`` and ``candidates`` are part of what the teams sign: once signed, every later
    study keeps these columns out of every model.
    """

    workspace: str
    fingerprint: str
    as_of: dt.date
    leads: int
    excluded_as_leaks: list[str] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _exclusions_agree(self) -> "Data":
        excluded = set(self.excluded_as_leaks)
        differ = sorted(c.field for c in self.candidates if (c.excluded is not None) != (c.field in excluded))
        if differ:
            raise ValueError(f"excluded_as_leaks and the candidates marked excluded differ on {', '.join(differ)}")
        return self


class Signature(_Strict):
    name: str | None = None
    date: dt.date | None = None


class QualificationDefinition(_Strict):
    """The signed definition of a sales-ready lead, ``qualification.yaml``."""

    format: Literal[1] = FORMAT
    version: int = Field(default=1, ge=1)
    name: str = "Sales-ready lead"
    outcome: Outcome
    scorecard: ScorecardSpec
    threshold: Threshold
    minimum_information: list[MinimumField] = Field(default_factory=list)
    disqualify: list[Disqualification] = Field(default_factory=list)
    evaluation: Evaluation
    data: Data
    signatures: dict[Literal["marketing", "sales"], Signature] = Field(
        default_factory=lambda: {"marketing": Signature(), "sales": Signature()})

    @model_validator(mode="after")
    def _threshold_reachable(self) -> "QualificationDefinition":
        top = sum(max(b.points for b in f.bins) for f in self.scorecard.features)
        if self.threshold.score > top:
            raise ValueError(f"threshold {self.threshold.score} is above the highest possible score {top}")
        return self

    @property
    def signed(self) -> bool:
        return all(s.name and s.date for s in self.signatures.values())

    def to_yaml(self) -> str:
        """The YAML text (keys in model order, rules in the rule language)."""
        data = self.model_dump(mode="python", by_alias=True, exclude_none=True)
        data["signatures"] = {team: {"name": s.name, "date": s.date} for team, s in self.signatures.items()}
        return HEADER + dump_yaml(data, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)


HEADER = ("# The definition of a sales-ready lead, for sign-off by marketing and sales (written by salign).\n"
          "# The file is the model: `salign score --definition qualification.yaml --leads FILE --out FILE`.\n"
          "# Sign by filling in signatures; then copy it into the workspace's definitions/ folder.\n")


def load_definition(path: str | Path) -> QualificationDefinition:
    """Read and strictly validate a ``qualification.yaml``; problems are reported as file:line.

    Raises
    ------
    salign.core.problems.WorkspaceError
        The file is missing, not YAML, or does not fit the model (every problem listed).
    """
    return load_model(QualificationDefinition, Path(path))
