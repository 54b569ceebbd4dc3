"""Readable rules for groups: a shallow decision tree turned into conditions of the salign rule language."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from salign.definitions.rules import Condition

#: a leaf holding less than this share of its group's members is left out of the group's rule (readability)
MINOR_LEAF = 0.1


def tree_features(frame: pd.DataFrame, numeric: list[str], text: list[str]) -> tuple[pd.DataFrame, list[tuple]]:
    """Raw numbers plus one indicator per text level, and what each column means: ``(field, level or None)``."""
    cols, meaning = {}, []
    for f in numeric:
        cols[f"{f}"] = frame[f].astype(float).fillna(frame[f].median())
        meaning.append((f, None))
    for f in text:
        s = frame[f].astype("string").str.strip()
        for level in sorted(s.dropna().unique()):
            cols[f"{f}={level}"] = (s == level).fillna(False).astype(float)
            meaning.append((f, level))
    return pd.DataFrame(cols, index=frame.index), meaning


def _roundest_between(lo: float, hi: float) -> float | None:
    """The number with the fewest significant digits strictly between ``lo`` and ``hi`` (None if none)."""
    for digits in range(1, 16):
        c = _round_up(lo, digits)
        if lo < c < hi:
            return c
    return None


def _round_up(x: float, digits: int) -> float:
    """The smallest multiple of ``x``'s ``digits``-th significant digit strictly above ``x``."""
    if x == 0:
        return 10.0 ** (1 - digits)
    scale = 10.0 ** (math.floor(math.log10(abs(x))) - digits + 1)
    return float(f"{math.floor(x / scale + 1) * scale:.12g}")


def cut_bounds(below: float, above: float, whole: bool) -> tuple[float, float]:
    """(max bound, min bound) that split the data between two adjacent values at a round number.

    ``x <= below`` becomes ``x <= max bound`` and ``x >= above`` becomes ``x >= min bound``, for every
    value in the data (no data value lies strictly between ``below`` and ``above``). Whole-number
    data get bounds that do not overlap (``<= 1,999`` and ``>= 2,000``).
    """
    c = _roundest_between(below, above)
    if c is None or (whole and not float(c).is_integer()):
        return below, above
    return (c - 1, c) if whole else (c, c)


def path_rules(tree, X: pd.DataFrame, meaning: list[tuple]) -> dict[int, list[list[Condition]]]:
    """Leaf id -> conditions on its path, with each numeric cut moved to a round number between data values."""
    t = tree.tree_
    values = {i: np.sort(X.iloc[:, i].unique()) for i, (_, level) in enumerate(meaning) if level is None}
    out = {}

    def walk(node, conds):
        if t.children_left[node] == -1:
            out[node] = conds
            return
        i, thr = t.feature[node], t.threshold[node]
        field, level = meaning[i]
        if level is None:
            v = values[i]
            hi_bound, lo_bound = cut_bounds(float(v[v <= thr].max()), float(v[v > thr].min()),
                                            bool(np.all(v == np.round(v))))
            left, right = Condition(field=field, max=hi_bound), Condition(field=field, min=lo_bound)
        else:
            left, right = Condition(field=field, not_in=[level]), Condition(field=field, in_=[level])
        walk(t.children_left[node], conds + [left])
        walk(t.children_right[node], conds + [right])

    walk(0, [])
    return out


def simplify(conds: list[Condition]) -> Condition:
    """Merge a path's conditions field by field: numeric bounds into one range, levels into in/not_in."""
    by_field: dict[str, list[Condition]] = {}
    for c in conds:
        by_field.setdefault(c.field, []).append(c)
    parts = []
    for field, cs in by_field.items():
        ins = [set(c.in_) for c in cs if c.in_ is not None]
        if ins:
            keep = set.intersection(*ins) - {v for c in cs if c.not_in for v in c.not_in}
            parts.append(Condition(field=field, in_=sorted(keep, key=str)))
            continue
        outs = sorted({v for c in cs if c.not_in for v in c.not_in}, key=str)
        if outs:
            parts.append(Condition(field=field, not_in=outs))
            continue
        lo = max((c.min for c in cs if c.min is not None), default=None)
        hi = min((c.max for c in cs if c.max is not None), default=None)
        parts.append(Condition(field=field, min=lo) if hi is None else Condition(field=field, max=hi) if lo is None
                     else Condition(field=field, between=(lo, hi)))
    return parts[0] if len(parts) == 1 else Condition(all=parts)


def group_rules(labels: np.ndarray, frame: pd.DataFrame, numeric: list[str], text: list[str], max_leaves: int,
                random_state: int = 0) -> dict[int, Condition | None]:
    """A short rule per group label: the leaves of a shallow tree that predict it (``any`` when several,
    largest first; leaves with less than :data:`MINOR_LEAF` of the group's members are dropped).

    A label that no leaf predicts gets ``None``.
    """
    from sklearn.tree import DecisionTreeClassifier

    X, meaning = tree_features(frame, numeric, text)
    tree = DecisionTreeClassifier(max_leaf_nodes=max_leaves, min_samples_leaf=max(3, len(X) // 100),
                                  random_state=random_state).fit(X.to_numpy(), labels)
    paths = path_rules(tree, X, meaning)
    predicted = {leaf: tree.classes_[int(np.argmax(tree.tree_.value[leaf][0]))] for leaf in paths}
    leaf_of = tree.apply(X.to_numpy())
    out: dict[int, Condition | None] = {}
    for label in np.unique(labels):
        size = {leaf: int(((leaf_of == leaf) & (labels == label)).sum()) for leaf in paths
                if predicted[leaf] == label and paths[leaf]}
        total = (labels == label).sum()
        kept = sorted((leaf for leaf in size if size[leaf] >= MINOR_LEAF * total), key=lambda lf: (-size[lf], lf))
        if not kept and size:
            kept = [max(size, key=lambda lf: (size[lf], -lf))]
        leaves = [simplify(paths[leaf]) for leaf in kept]
        out[int(label)] = None if not leaves else leaves[0] if len(leaves) == 1 else Condition(any=leaves)
    return out
