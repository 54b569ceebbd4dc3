"""Validated notebook parameters: a wrong type, an unknown period or a misspelled name fails before any work."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ParameterError(ValueError):
    """Parameters that do not fit the notebook."""


class CommonParams(BaseModel):
    """Parameters every notebook takes."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    workspace: str = Field(default="data/sample", min_length=1)
    period: str = Field(default="latest", min_length=1)
    output_dir: str = ""


class PersonasParams(CommonParams):
    best_share: float = Field(default=0.2, gt=0, lt=1)
    worst_share: float = Field(default=0.2, gt=0, lt=1)
    fdr: float = Field(default=0.05, gt=0, lt=1)
    numeric_bins: int = Field(default=5, ge=2, le=20)
    k_min: int = Field(default=2, ge=2)
    k_max: int = Field(default=10, ge=2, le=30)
    coverage_threshold: float = Field(default=0.5, gt=0, le=1)
    random_state: int = 0

    @model_validator(mode="after")
    def _k_range(self) -> "PersonasParams":
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) is above k_max ({self.k_max})")
        return self


class ContentParams(CommonParams):
    stale_after_days: int = Field(default=365, gt=0)
    history_quarters: int = Field(default=4, ge=1, le=20)
    window_days: int = Field(default=90, gt=0)
    shareable_types: str = ""


class QualificationParams(CommonParams):
    outcome: str = Field(default="sql", pattern="^(sql|opportunity|won)$")
    window_days: int = Field(default=90, gt=0)
    random_state: int = 0
    exclude_columns: str = ""


class ReviewParams(CommonParams):
    cohort_window_days: int = Field(default=90, gt=0)
    lookback_quarters: int = Field(default=4, ge=1, le=8)


#: notebook name -> its parameters model
MODELS: dict[str, type[CommonParams]] = {
    "01_personas": PersonasParams,
    "02_content_audit": ContentParams,
    "03_qualification": QualificationParams,
    "04_quarterly_review": ReviewParams,
}


def validate(notebook: str, **values) -> CommonParams:
    """Validate ``values`` for ``notebook``; the error names every bad parameter."""
    model = MODELS.get(notebook)
    if model is None:
        raise ParameterError(f"unknown notebook {notebook!r}; known: {', '.join(MODELS)}")
    try:
        return model(**values)
    except ValidationError as exc:
        lines = [f"  - {'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()]
        raise ParameterError(f"parameters of {notebook} are not valid:\n" + "\n".join(lines)) from None
