"""Work on a text column once per distinct value, not once per row.

A million leads carry a few hundred job titles: stripping, case-folding or testing a rule on each row's text
is a Python call per row, on each distinct value it is a few hundred. :func:`by_value` runs a function on one
row of each distinct value (with the column's own dtype and values) and spreads the answers back to every row,
so the result is the one the function gives on the whole column.

It applies only to text columns (object dtype whose present values are all ``str``): text values are equal only
when they are the same text. Anything else (numbers, where ``1`` and ``1.0`` hash alike; mixed objects) runs the
function on the whole column.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def text_groups(col: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``(first, inverse)`` for a text column: the position of the first row of each distinct value (missing
    values are one group, represented by their first row) and each row's group, so that
    ``col.iloc[first].iloc[inverse]`` holds the column's values. None when the column is not text."""
    if col.dtype != object:
        return None
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    if not all(type(u) is str for u in uniques):
        return None
    if len(codes) and (codes < 0).any():
        codes = np.where(codes < 0, len(uniques), codes)
        missing = col.iloc[np.flatnonzero(codes == len(uniques))]
        if missing.map(type).nunique() > 1:  # None and NaN both missing, yet told apart by some functions
            return None
    return _first_rows(codes)


def _first_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first, inverse)`` for group numbers ``codes`` (0 to k - 1, each used): the first row of each group, and
    ``codes`` as the inverse. Hashing, not sorting: linear in the rows."""
    codes = np.asarray(codes, dtype=np.intp)
    firsts = pd.Series(codes).drop_duplicates()
    first = np.empty(len(firsts), dtype=np.intp)
    first[firsts.to_numpy()] = firsts.index.to_numpy()
    return first, codes


def by_value(col: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``fn(col)`` for an element-wise ``fn`` (each row's answer depends on its value only), computed once per
    distinct value of a text column (:func:`text_groups`); index and name of ``col`` kept."""
    return _once_per_group(col, text_groups(col), fn)


def row_groups(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """``(first, inverse)`` over the rows of ``frame``: rows with the same value in every column are one group
    (``first``: the position of each group's first row; ``inverse``: each row's group). Text columns group as in
    :func:`text_groups`, numbers and times by their exact bits; None when a column is neither."""
    codes, sizes = [], []
    for name in frame.columns:
        col = frame[name]
        if col.dtype == object:
            groups = text_groups(col)
            if groups is None:
                return None
            code = groups[1]
        elif pd.api.types.is_float_dtype(col.dtype) and isinstance(col.dtype, np.dtype):
            code = pd.factorize(col.to_numpy().view(np.int64))[0]  # -0.0 is not 0.0; every NaN alike
        elif (pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)
              or pd.api.types.is_datetime64_any_dtype(col.dtype)) and isinstance(col.dtype, (np.dtype,
                                                                                         pd.DatetimeTZDtype)):
            code = pd.factorize(col, use_na_sentinel=True)[0]
        else:
            return None
        code = np.asarray(code, dtype=np.int64) + 1  # a missing value (-1) is 0
        codes.append(code)
        sizes.append(int(code.max()) + 1 if len(code) else 1)
    if not codes:
        return None
    if float(np.prod([float(s) for s in sizes])) < 2.0 ** 62:
        key = np.zeros(len(frame), dtype=np.int64)
        for code, size in zip(codes, sizes):
            key = key * size + code
        return _first_rows(pd.factorize(key)[0])
    _, first, inverse = np.unique(np.column_stack(codes), axis=0, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def by_rows(frame: pd.DataFrame, fn: Callable[[pd.DataFrame], pd.Series | pd.DataFrame]):
    """``fn(frame)`` for a row-wise ``fn`` (each row's answer depends on that row's values only), computed once per
    distinct row (:func:`row_groups`); the answer carries ``frame``'s index."""
    return _once_per_group(frame, row_groups(frame), fn)


def _once_per_group(data, groups, fn):
    """``fn(data)`` computed on the first row of each group and copied to its other rows (``groups``:
    ``(first, inverse)``; ``None``: on every row); the answer carries ``data``'s index."""
    if groups is None:
        return fn(data)
    first, inverse = groups
    out = fn(data.iloc[first]).iloc[inverse]
    out.index = data.index
    return out


def rules_frame(frame: pd.DataFrame, fields) -> pd.DataFrame:
    """The columns of ``frame`` a rule reads, when it has them all, else the whole frame (so that a rule naming a
    missing field fails with the same message)."""
    fields = list(dict.fromkeys(fields))
    return frame[fields] if set(fields) <= set(frame.columns) else frame
