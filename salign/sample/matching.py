"""Vectorised evaluation of the rule language used in ``definitions/``.

The generator needs it to assign marketing personas to leads and to measure, for the
truth file, which segments each persona covers and how each team's qualification rule
performs.  A condition is ``{field: F, <op>: V}`` with op one of ``in``, ``not_in``,
``eq``, ``min``, ``max``, ``between``, ``contains``, ``is_null``; ``{all: [...]}`` and
``{any: [...]}`` combine conditions.  Null values never satisfy a comparison.
"""

import numpy as np
import pandas as pd


def rule_mask(rule, frame):
    """Rows of ``frame`` that satisfy ``rule``.

    Parameters
    ----------
    rule : dict
        A condition or an ``all``/``any`` combination.
    frame : pandas.DataFrame
        One column per field the rule uses.

    Returns
    -------
    numpy.ndarray
        Boolean array, one value per row.
    """
    if "all" in rule:
        return np.logical_and.reduce([rule_mask(r, frame) for r in rule["all"]] + [np.ones(len(frame), bool)])
    if "any" in rule:
        return np.logical_or.reduce([rule_mask(r, frame) for r in rule["any"]] + [np.zeros(len(frame), bool)])
    (op, value), = ((k, v) for k, v in rule.items() if k != "field")
    column = frame[rule["field"]]
    known = column.notna().to_numpy()
    if op == "is_null":
        return ~known if value else known
    if op == "in":
        return column.isin(value).to_numpy()
    if op == "not_in":
        return known & ~column.isin(value).to_numpy()
    if op == "eq":
        return (column == value).to_numpy()
    if op == "contains":
        return column.astype("string").str.lower().str.contains(str(value).lower(), regex=False).fillna(False) \
            .to_numpy(bool)
    numbers = pd.to_numeric(column).to_numpy(float)
    lo, hi = {"min": lambda: (value, np.inf), "max": lambda: (-np.inf, value), "between": lambda: tuple(value)}[op]()
    with np.errstate(invalid="ignore"):
        return (numbers >= lo) & (numbers <= hi)
