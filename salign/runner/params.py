"""Validated notebook parameters: a wrong type, an unknown period or a misspelled name fails before any work."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ParameterError(ValueError):
    """Parameters that do not fit the notebook."""


class CommonParams(BaseModel):
    """Parameters every notebook takes.

    Each field is declared here once: name, type, default, bounds and help (``description``). A notebook's
    ``parameters`` cell repeats them as ``name: type = default  # help`` because papermill reads that
    cell; tests/test_notebook_conventions.py checks that the cell says exactly what the model says.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    workspace: str = Field(default="data/sample", min_length=1,
                           description="workspace folder, relative to the project root or absolute")
    period: str = Field(default="latest", min_length=1, description="fiscal quarter such as 2026Q3, or latest "
                                                                    "(the latest complete quarter in the data)")
    output_dir: str = Field(default="", description="where metrics and artifacts are written, empty for build/lab")
    snapshot: str = Field(default="", description="the validated tables salign review wrote for this run, empty "
                                                  "reuses the cached snapshot or builds it")
    engine: str = Field(default="", pattern="^(|duckdb|postgres|spark)$",
                        description="where the event-level facts are computed: duckdb, postgres or spark; empty takes "
                                    "engine in workspace.yaml, else postgres for a workspace in a database, else duckdb")


class PersonasParams(CommonParams):
    best_share: float = Field(default=0.2, gt=0, lt=1, description="share of customers, by value, called best "
                                                                   "(churned customers are never best)")
    worst_share: float = Field(default=0.2, gt=0, lt=1, description="share called worst, churned customers also "
                                                                    "count as worst unless value.yaml says otherwise")
    fdr: float = Field(default=0.05, gt=0, lt=1,
                       description="false discovery rate held over all marker tests (Benjamini-Hochberg)")
    numeric_bins: int = Field(default=5, ge=2, le=20,
                              description="quantile bins per numeric attribute, edges rounded to 1-2-5 values")
    k_min: int = Field(default=2, ge=2, description="fewest data-driven segments tried")
    k_max: int = Field(default=10, ge=2, le=30,
                       description="most data-driven segments tried, the highest mean silhouette wins")
    coverage_threshold: float = Field(default=0.5, gt=0, le=1,
                                      description="share of a segment a team must claim to cover it")
    random_state: int = Field(default=0, description="seed of k-means, the silhouette sample, the rule tree and "
                                                     "the bootstrap")

    @model_validator(mode="after")
    def _k_range(self) -> "PersonasParams":
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) is above k_max ({self.k_max})")
        return self


class ContentParams(CommonParams):
    stale_after_days: int = Field(default=365, gt=0, description="an asset not updated for this many days is stale")
    history_quarters: int = Field(default=4, ge=1, le=20,
                                  description="quarters shown in usage trends and averaged to rank gaps")
    window_days: int = Field(default=90, gt=0, description="days after entering a buying stage in which use and "
                                                           "conversion are counted")
    shareable_types: str = Field(default="", description="comma-separated asset types either team could use, "
                                                         "empty derives them from use")


class QualificationParams(CommonParams):
    outcome: str = Field(default="", pattern="^(|sql|opportunity|won)$",
                         description="success means reaching this stage: sql, opportunity or won; empty takes "
                                     "outcome in workspace.yaml, else the furthest of these the data records")
    window_days: int = Field(default=90, gt=0, description="within this many days of the creation of the lead")
    random_state: int = Field(default=0, description="seed for every random step")
    exclude_columns: str = Field(default="", description="comma-separated lead columns known only after the "
                                                         "outcome (besides those the leakage check finds)")


class ReviewParams(CommonParams):
    cohort_window_days: int = Field(default=90, gt=0,
                                    description="how long each lead cohort is followed through the funnel")
    lookback_quarters: int = Field(default=4, ge=1, le=8, description="quarters of history for the sales cycle, "
                                                                      "key accounts and recycled leads")


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
