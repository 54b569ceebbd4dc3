"""The rule language: conditions written as data (YAML), interpreted here. No eval, no query strings.

A condition is one of::

    {field: F, in: [a, b]}        value is one of the list
    {field: F, not_in: [a, b]}    value is known and not in the list
    {field: F, eq: v}             value equals v
    {field: F, min: x}            value >= x
    {field: F, max: x}            value <= x
    {field: F, between: [lo, hi]} lo <= value <= hi
    {field: F, contains: "text"}  text occurs in the value
    {field: F, is_null: true}     value is missing (false: value is present)
    {all: [condition, ...]}       every condition holds
    {any: [condition, ...]}       at least one condition holds

Text comparisons ignore case and surrounding white space. A missing value
satisfies no condition except ``is_null: true``. Groups nest at most :data:`MAX_DEPTH` levels deep.
"""
from __future__ import annotations

from typing import Any, Union

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from salign.core import fmt

Scalar = Union[bool, int, float, str]
OPS = ("in_", "not_in", "eq", "min", "max", "between", "contains", "is_null")
#: deepest nesting of all/any groups in one rule
MAX_DEPTH = 20


class RuleError(ValueError):
    """A rule refers to something the data does not have."""


class Condition(BaseModel):
    """One node of a rule (see the module docstring for the language)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    field: str | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    eq: Scalar | None = None
    min: float | None = None
    max: float | None = None
    between: tuple[float, float] | None = None
    contains: str | None = None
    is_null: bool | None = None
    all: list["Condition"] | None = None
    any: list["Condition"] | None = None
    _depth: int = PrivateAttr(default=0)

    @model_validator(mode="after")
    def _one_thing(self) -> "Condition":
        ops = [op for op in OPS if getattr(self, op) is not None]
        groups = [g for g in ("all", "any") if getattr(self, g) is not None]
        if groups:
            if len(groups) > 1 or self.field is not None or ops:
                raise ValueError("a condition is either {all: [...]}, {any: [...]} or {field: ..., <op>: ...}, not a mix")
            if not getattr(self, groups[0]):
                raise ValueError(f"'{groups[0]}' needs at least one condition")
            self._depth = 1 + max(c._depth for c in getattr(self, groups[0]))
            if self._depth > MAX_DEPTH:
                raise ValueError(f"all/any groups nest more than {MAX_DEPTH} levels deep here; write the rule flatter")
            return self
        if self.field is None:
            raise ValueError("a condition needs 'field' (or 'all'/'any')")
        if len(ops) != 1:
            names = ", ".join(op.rstrip("_") for op in OPS)
            raise ValueError(f"field '{self.field}' needs exactly one operator of: {names}")
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError(f"between: lower bound {self.between[0]} is above upper bound {self.between[1]}")
        return self

    # -- interpretation --------------------------------------------------------------
    def fields(self) -> set[str]:
        """Every field this condition reads."""
        if self.field is not None:
            return {self.field}
        return set().union(*(c.fields() for c in (self.all or self.any)))

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """Boolean Series: which rows satisfy the condition."""
        if self.all is not None:
            out = pd.Series(True, index=frame.index)
            for c in self.all:
                out &= c.evaluate(frame)
            return out
        if self.any is not None:
            out = pd.Series(False, index=frame.index)
            for c in self.any:
                out |= c.evaluate(frame)
            return out
        if self.field not in frame.columns:
            raise RuleError(f"rule uses field '{self.field}', which the data does not have "
                            f"(available: {', '.join(sorted(map(str, frame.columns)))})")
        col = frame[self.field]
        present = col.notna()
        if self.is_null is not None:
            return ~present if self.is_null else present
        if self.in_ is not None or self.not_in is not None or self.eq is not None:
            values = self.in_ if self.in_ is not None else self.not_in if self.not_in is not None else [self.eq]
            hit = _isin(col, values)
            return (present & ~hit) if self.not_in is not None else (present & hit)
        if self.contains is not None:
            text = col.astype("string").str.casefold()
            return present & text.str.contains(self.contains.strip().casefold(), regex=False).fillna(False).astype(bool)
        num = _numeric(col, self.field)
        if self.min is not None:
            return (num >= self.min).fillna(False).astype(bool)
        if self.max is not None:
            return (num <= self.max).fillna(False).astype(bool)
        lo, hi = self.between
        return ((num >= lo) & (num <= hi)).fillna(False).astype(bool)

    def describe(self) -> str:
        """The condition in plain words, for reports and sign-off pages."""
        if self.all is not None:
            return " and ".join(_paren(c) for c in self.all)
        if self.any is not None:
            return " or ".join(_paren(c) for c in self.any)
        f = self.field
        if self.in_ is not None:
            return f"{f} is {_list(self.in_)}"
        if self.not_in is not None:
            return f"{f} is not {_list(self.not_in)}"
        if self.eq is not None:
            return f"{f} = {self.eq}"
        if self.min is not None:
            return f"{f} >= {fmt.exact(self.min)}"
        if self.max is not None:
            return f"{f} <= {fmt.exact(self.max)}"
        if self.between is not None:
            return f"{f} between {fmt.exact(self.between[0])} and {fmt.exact(self.between[1])}"
        if self.contains is not None:
            return f"{f} contains '{self.contains}'"
        return f"{f} is {'missing' if self.is_null else 'present'}"


def _paren(c: Condition) -> str:
    text = c.describe()
    return f"({text})" if (c.all or c.any) else text


def _list(values) -> str:
    return "one of " + ", ".join(map(str, values)) if len(values) > 1 else str(values[0])


def _isin(col: pd.Series, values: list) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return col.isin(values).fillna(False).astype(bool)
    norm = {str(v).strip().casefold() for v in values}
    text = col.astype("string").str.strip().str.casefold()
    return text.isin(norm).fillna(False).astype(bool)


def _numeric(col: pd.Series, field: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.astype(float)
    num = pd.to_numeric(col, errors="coerce")
    bad = col.notna() & num.isna()
    if bad.any():
        raise RuleError(f"rule compares field '{field}' with a number, but it holds text such as {col[bad].iloc[0]!r}")
    return num.astype(float)


def evaluate(condition: Condition | dict | Any, frame: pd.DataFrame) -> pd.Series:
    """Evaluate a condition (a :class:`Condition` or its YAML form) on a frame."""
    cond = condition if isinstance(condition, Condition) else Condition.model_validate(condition)
    return cond.evaluate(frame)


__all__ = ["Condition", "RuleError", "evaluate"]
