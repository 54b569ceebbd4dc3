"""Attribute levels as rules: each value of a text attribute, and readable bins of a numeric one."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from salign.core import fmt
from salign.definitions.rules import Condition


def nice(x: float) -> float:
    """The nearest number of the form 1, 2 or 5 x 10^k (on a log scale); 0 stays 0, the sign is kept."""
    if x == 0 or not math.isfinite(x):
        return x
    mag = abs(x)
    exp = math.floor(math.log10(mag))
    candidates = [m * 10.0 ** e for e in (exp - 1, exp, exp + 1) for m in (1, 2, 5)]
    best = min(candidates, key=lambda c: abs(math.log10(c) - math.log10(mag)))
    best = float(f"{best:.12g}")
    return math.copysign(best, x)


def _int_valued(s: pd.Series) -> bool:
    v = s.dropna().to_numpy(dtype=float)
    return bool(len(v)) and bool(np.all(v == np.round(v)))


def numeric_edges(s: pd.Series, bins: int) -> list[float]:
    """Inner bin edges: quantiles of ``s`` rounded to 1-2-5 numbers, strictly inside the data's range."""
    v = s.dropna().to_numpy(dtype=float)
    if len(v) == 0:
        return []
    qs = np.quantile(v, np.linspace(0, 1, bins + 1)[1:-1])
    lo, hi = v.min(), v.max()
    rounded = {nice(q) for q in qs}
    if np.all(v == np.round(v)):  # whole numbers get whole edges
        rounded = {float(math.ceil(e)) for e in rounded}
    edges = [e for e in sorted(rounded) if lo < e <= hi]
    if not edges and lo < hi:  # most values equal the minimum (counts that are mostly 0): split above it
        edges = [float(v[v > lo].min())]
    return edges


def numeric_levels(s: pd.Series, field: str, bins: int) -> list[tuple[str, Condition]]:
    """Bins of a numeric attribute as (label, condition).

    Integer columns get half-open bins that do not overlap (``100-499``); for other columns a value
    exactly on an edge belongs to both neighbouring bins (the rule language has no strict comparison).
    """
    edges = numeric_edges(s, bins)
    if not edges:
        return []
    step = 1.0 if _int_valued(s) else 0.0
    first = f"under {fmt.cut(edges[0])}" if step else f"{fmt.cut(edges[0])} or less"
    if step and edges[0] - step == s.min():
        first = fmt.cut(edges[0] - step)
    out = [(first, Condition(field=field, max=edges[0] - step))]
    for lo, hi in zip(edges, edges[1:]):
        label = fmt.cut(lo) if lo == hi - step else f"{fmt.cut(lo)}-{fmt.cut(hi - step)}"
        out.append((label, Condition(field=field, between=(lo, hi - step))))
    out.append((f"{fmt.cut(edges[-1])} or more", Condition(field=field, min=edges[-1])))
    if s.isna().any():
        out.append(("missing", Condition(field=field, is_null=True)))
    return out


def text_levels(s: pd.Series, field: str) -> list[tuple[str, Condition]]:
    """Each distinct value of a text attribute (and ``missing``) as (label, condition)."""
    seen, out = set(), []
    for v in sorted(s.dropna().astype(str).str.strip().unique()):
        if v and v.casefold() not in seen:  # rules compare text ignoring case
            seen.add(v.casefold())
            out.append((v, Condition(field=field, eq=v)))
    if s.isna().any():
        out.append(("missing", Condition(field=field, is_null=True)))
    return out


def levels(frame: pd.DataFrame, field: str, bins: int = 5) -> list[tuple[str, Condition]]:
    """The levels of one attribute: numeric columns binned, text columns by value."""
    s = frame[field]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return numeric_levels(s, field, bins)
    return text_levels(s, field)
