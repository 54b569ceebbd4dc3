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
import pyarrow as pa

from salign.core import fmt

#: the two kinds of feature a scorecard bins
NUMERIC, CATEGORICAL = "numeric", "categorical"
#: at most this many numeric ranges per feature
MAX_NUMERIC_BINS = 10
#: a numeric range or category level needs at least this share of training leads (and MIN_COUNT leads)
MIN_SHARE = 0.01
MIN_COUNT = 30
#: a category value this many training leads hold may have a bin of its own where a card asks for small levels
#: (a landing page code with hundreds of values; the challengers' threshold too)
SMALL_LEVEL = 20
#: a single value held by at least this share of training values is a spike and gets a range of its own
#: (``pdays == -1``, "never contacted before", for 92% of leads: quantile cuts would all fall on it)
SPIKE_SHARE = 1 / MAX_NUMERIC_BINS


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
            e = [fmt.cut(x, 6) for x in self.edges]
            if not e:
                return ["any value", "missing"]
            return [f"below {e[0]}"] + [f"{a} to below {b}" for a, b in zip(e, e[1:])] + [f"{e[-1]} or more", "missing"]
        return list(self.levels) + ["any other value", "missing"]

    def codes(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """Bin number of every value (int32); text is looked at once per distinct value."""
        if self.kind == NUMERIC and is_number(values):
            return self._numeric_codes(np.asarray(values, dtype=float))
        inverse, uniques = distinct(values)
        return np.take(self.codes_of_uniques(uniques), inverse)

    def codes_of_uniques(self, uniques: pd.Series) -> np.ndarray:
        """Bin number of each of :func:`distinct`'s ``uniques``, plus a last entry for missing (``inverse == -1``)."""
        if self.kind == NUMERIC:
            table = self._numeric_codes(_text_to_float(uniques))
        else:
            table = _level_codes(uniques, self.levels)
        return np.append(table, np.int32(self.missing_bin))

    def _numeric_codes(self, x: np.ndarray) -> np.ndarray:
        out = np.searchsorted(np.asarray(self.edges, dtype=float), x, side="right").astype(np.int32)
        out[np.isnan(x)] = self.missing_bin
        return out


def distinct(values) -> tuple[np.ndarray, pd.Series]:
    """``(inverse, uniques)``: ``values == uniques[inverse]``, with ``inverse == -1`` for missing values.

    ``inverse`` is an integer array (int32 or wider) meant for ``numpy.take``.

    Arrow-backed text (as ``salign score`` reads files) is dictionary-encoded by pyarrow; other
    values are factorised by pandas. Either way each distinct value is handled once afterwards.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy(dtype=np.intp), pd.Series(s.cat.categories, dtype=object)
    if isinstance(s.dtype, pd.ArrowDtype) or getattr(s.dtype, "storage", None) in ("pyarrow", "pyarrow_numpy"):
        arrow = pa.chunked_array(s.array.__arrow_array__())
        if pa.types.is_dictionary(arrow.type):  # read dictionary-encoded: the work is done
            arrow = arrow.unify_dictionaries()
        else:
            arrow = arrow.dictionary_encode()
        encoded = arrow.combine_chunks() if arrow.num_chunks != 1 else arrow.chunk(0)
        indices = encoded.indices
        inverse = np.frombuffer(indices.buffers()[1], dtype=indices.type.to_pandas_dtype(),
                                count=indices.offset + len(indices))[indices.offset:]
        if indices.null_count:
            inverse = np.where(indices.is_valid().to_numpy(zero_copy_only=False), inverse, -1)
        return inverse, pd.Series(encoded.dictionary.to_pylist(), dtype=object)
    inverse, uniques = pd.factorize(s, use_na_sentinel=True)
    return inverse.astype(np.intp), pd.Series(np.asarray(uniques, dtype=object), dtype=object)


def min_bin_size(n_train: int) -> int:
    """Fewest training leads a numeric range or category level must hold, out of ``n_train``."""
    return max(MIN_COUNT, int(np.ceil(MIN_SHARE * n_train)))


def fit_spec(field: str, kind: str, train: pd.Series, min_level: int | None = None) -> BinSpec:
    """Learn the bins of one feature from its training values.

    A category value needs ``min_level`` training leads for a bin of its own (default: :func:`min_bin_size`).
    """
    present = train.dropna()
    need = min_bin_size(len(train))
    if kind == NUMERIC:
        return BinSpec(field, kind, edges=_edges(present.to_numpy(dtype=float), need))
    counts = present.astype(str).value_counts()
    levels = sorted(counts[counts >= (need if min_level is None else min_level)].index.tolist())
    return BinSpec(field, kind, levels=tuple(levels))


def _edges(x: np.ndarray, need: int) -> tuple[float, ...]:
    """Cut points, merged so every range holds at least ``need`` training values.

    A feature with few distinct values may cut at any of them; otherwise the cuts are quantiles, and a
    spike (a value with at least ``SPIKE_SHARE`` of the values) is cut on both sides so it is a range
    of its own (see :func:`_candidate_cuts`). Where a range is too small, the cut above it goes, unless
    that cut bounds a spike: then the range joins the one below instead.
    """
    if x.size < 2 * need:
        return ()
    distinct = np.unique(x)
    protected: frozenset = frozenset()
    if distinct.size > 4 * MAX_NUMERIC_BINS:
        distinct, protected = _candidate_cuts(x, distinct)
    edges = [float(e) for e in distinct if e > x.min()]
    kept: list[float] = []
    lower = -np.inf
    for e in edges:  # drop a cut when the range below it would be too small
        if ((x >= lower) & (x < e)).sum() >= need:
            kept.append(e)
            lower = e
        elif e in protected and kept and kept[-1] not in protected:
            kept[-1] = e  # the small range joins the range below; the spike keeps its own
            lower = e
    while kept and (x >= kept[-1]).sum() < need:
        kept.pop()
    while len(kept) >= MAX_NUMERIC_BINS:  # too many small ranges of a discrete feature: keep every other cut
        free = [e for e in kept if e not in protected]
        if not free:
            break
        drop = set(free[0::2])
        kept = [e for e in kept if e not in drop]
    return tuple(_round(e) for e in kept)


def _candidate_cuts(x: np.ndarray, distinct: np.ndarray) -> tuple[np.ndarray, frozenset]:
    """Quantile cuts of a many-valued feature, and the cuts that bound spikes (at a spike, and at the next value).

    When the spikes swallow most quantiles (``pdays == -1`` for 92% of leads leaves no quantile above
    it), the other values are cut by their own quantiles too.
    """
    deciles = np.linspace(0, 1, MAX_NUMERIC_BINS + 1)[1:-1]
    cuts = np.unique(np.quantile(x, deciles, method="lower"))
    values, counts = np.unique(x, return_counts=True)
    spikes = values[counts >= SPIKE_SHARE * x.size]
    if not spikes.size:
        return cuts, frozenset()
    above = np.searchsorted(distinct, spikes, side="right")
    bounds = np.concatenate([spikes, distinct[above[above < distinct.size]]])
    out = [cuts, bounds]
    rest = x[~np.isin(x, spikes)]
    if rest.size and (~np.isin(cuts, spikes)).sum() < MAX_NUMERIC_BINS // 2:
        ranges = max(MAX_NUMERIC_BINS - 2 * spikes.size, 2)
        out.append(np.quantile(rest, np.linspace(0, 1, ranges + 1)[1:-1], method="lower"))
    return np.unique(np.concatenate(out)), frozenset(float(b) for b in bounds)


def _round(x: float) -> float:
    """Cut points with at most 6 significant digits (readable in the signed YAML; values are unchanged)."""
    return float(f"{x:.6g}")


def is_number(values) -> bool:
    """Are the values stored as numbers (not text, not booleans)?"""
    dtype = values.dtype if hasattr(values, "dtype") else np.asarray(values).dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _text_to_float(uniques: pd.Series) -> np.ndarray:
    """Distinct values read as numbers (text that is not a number is missing)."""
    return pd.to_numeric(uniques.astype(str).str.strip(), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _level_codes(uniques: pd.Series, levels: tuple[str, ...]) -> np.ndarray:
    """Bin of each distinct (present) value: exact match first, then ignoring case and surrounding spaces.

    A code read as a number matches its text without a decimal point (101.0 is level "101").
    """
    m = len(levels)
    text = uniques.map(_code_text).astype(str)
    out = pd.Index(levels, dtype=object).get_indexer(text.to_numpy(dtype=object)).astype(np.int32)
    if (out < 0).any():
        loose = {str(v).strip().casefold(): i for i, v in enumerate(levels)}
        out[out < 0] = [loose.get(v.strip().casefold(), m) for v in text[out < 0]]
    return out


def _code_text(v) -> str:
    """A category value as text; a whole number without its decimal point."""
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
        return f"{v:.0f}"
    return str(v)
