"""Bins of one feature: numeric ranges or category levels, plus an "other" and a "missing" bin.

A feature's bins are learned from training leads and then turn any value into a bin number
(vectorised). Layout of the bin numbers of a feature:

- numeric with edges ``e_1 < ... < e_k``: ``0`` is below ``e_1``, ``i`` is ``[e_i, e_{i+1})``,
  ``k`` is ``e_k`` and above; ``k + 1`` is missing;
- categorical with levels ``l_0 .. l_{m-1}``: ``i`` is ``l_i``, ``m`` is any other value
  (rare in training, or new), ``m + 1`` is missing.

Text is matched exactly first, then ignoring case and surrounding spaces.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.qualify.features import NUMERIC

#: at most this many numeric ranges per feature
MAX_NUMERIC_BINS = 10
#: a numeric range or category level needs at least this share of training leads (and MIN_COUNT leads)
MIN_SHARE = 0.01
MIN_COUNT = 30


@dataclass(frozen=True)
class BinSpec:
    """How one feature is cut into bins (see the module docstring for the bin numbers)."""

    field: str
    kind: str
    edges: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()

    @property
    def n_bins(self) -> int:
        return (len(self.edges) + 2) if self.kind == NUMERIC else (len(self.levels) + 2)

    @property
    def missing_bin(self) -> int:
        return self.n_bins - 1

    def labels(self) -> list[str]:
        """A readable label for every bin."""
        if self.kind == NUMERIC:
            e = [_fmt(x) for x in self.edges]
            if not e:
                return ["any value", "missing"]
            return [f"below {e[0]}"] + [f"{a} to below {b}" for a, b in zip(e, e[1:])] + [f"{e[-1]} or more", "missing"]
        return list(self.levels) + ["any other value", "missing"]

    def codes(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """Bin number of every value (int32)."""
        if self.kind == NUMERIC:
            x = _as_float(values)
            out = np.searchsorted(np.asarray(self.edges, dtype=float), x, side="right").astype(np.int32)
            out[np.isnan(x)] = self.missing_bin
            return out
        return _level_codes(values, self.levels)


def fit_spec(field: str, kind: str, train: pd.Series) -> BinSpec:
    """Learn the bins of one feature from its training values."""
    present = train.dropna()
    need = max(MIN_COUNT, int(np.ceil(MIN_SHARE * len(train))))
    if kind == NUMERIC:
        return BinSpec(field, kind, edges=_edges(present.to_numpy(dtype=float), need))
    counts = present.astype(str).value_counts()
    levels = sorted(counts[counts >= need].index.tolist())
    return BinSpec(field, kind, levels=tuple(levels))


def _edges(x: np.ndarray, need: int) -> tuple[float, ...]:
    """Quantile cut points, merged so every range holds at least ``need`` training values."""
    if x.size < 2 * need:
        return ()
    distinct = np.unique(x)
    if distinct.size > 4 * MAX_NUMERIC_BINS:
        distinct = np.unique(np.quantile(x, np.linspace(0, 1, MAX_NUMERIC_BINS + 1)[1:-1], method="lower"))
    edges = [float(e) for e in distinct if e > x.min()]
    kept: list[float] = []
    lower = -np.inf
    for e in edges:  # drop a cut when the range below it would be too small
        if ((x >= lower) & (x < e)).sum() >= need:
            kept.append(e)
            lower = e
    while kept and (x >= kept[-1]).sum() < need:
        kept.pop()
    while len(kept) >= MAX_NUMERIC_BINS:  # too many small ranges of a discrete feature: keep every other cut
        kept = kept[1::2]
    return tuple(_round(e) for e in kept)


def _round(x: float) -> float:
    """Cut points with at most 6 significant digits (readable in the signed YAML; values are unchanged)."""
    return float(f"{x:.6g}")


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.6g}"


def _as_float(values) -> np.ndarray:
    if isinstance(values, pd.Series):
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            return values.to_numpy(dtype=float, na_value=np.nan)
        return pd.to_numeric(values.astype("string").str.strip(), errors="coerce").to_numpy(dtype=float,
                                                                                              na_value=np.nan)
    return np.asarray(values, dtype=float)


def _level_codes(values, levels: tuple[str, ...]) -> np.ndarray:
    """Exact match first; unmatched distinct values are retried ignoring case and spaces."""
    m = len(levels)
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat_codes = _level_codes(pd.Series(s.cat.categories.astype(str)), levels)
        out = np.where(s.cat.codes.to_numpy() < 0, m + 1, cat_codes[np.maximum(s.cat.codes.to_numpy(), 0)])
        return out.astype(np.int32)
    index = pd.Index(levels, dtype=object)
    out = index.get_indexer(s.to_numpy(dtype=object)).astype(np.int32)
    missing = s.isna().to_numpy()
    unmatched = (out < 0) & ~missing
    if unmatched.any():
        loose = {str(v).strip().casefold(): i for i, v in enumerate(levels)}
        odd = pd.unique(s[unmatched].astype(str))
        found = {v: loose.get(v.strip().casefold(), m) for v in odd}
        out[unmatched] = s[unmatched].astype(str).map(found).to_numpy(dtype=np.int32)
    out[missing] = m + 1
    return out
