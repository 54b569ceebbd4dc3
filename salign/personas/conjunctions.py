"""Short conjunctions of attribute levels ("software companies with 500-1,999 employees whose first contact was
an event") that separate best from worst customers better than any of their parts."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from salign.common.result import Block, Paragraph, Result, Table
from salign.common.stats import Rate
from salign.core import fmt
from salign.definitions.rules import Condition

#: conjunctions kept per search step
BEAM = 30
#: longest conjunction searched
MAX_LENGTH = 3
#: conjunctions describe who a buyer is (what a persona rule can say before a deal), not what happened later
BUYER_KINDS = ("firmographic", "first contact")


@dataclass(frozen=True)
class Item:
    """One attribute level (or a run of adjacent numeric bins) usable in a conjunction."""

    attribute: str
    label: str
    condition: Condition
    mask: np.ndarray


def items(markers, direction: str) -> list[Item]:
    """Buyer levels (firmographic, first contact) significant on their own in ``direction``, plus runs of
    adjacent such numeric bins.

    For ``mark``: levels that make a best customer significantly more likely or a worst one less likely;
    for ``warning`` the reverse.
    """
    t = markers.table
    if t.empty:
        return []
    up, down = ("best", "worst") if direction == "mark" else ("worst", "best")
    ok = ((t[f"{up}_significant"] & (t[f"{up}_sign"] == "+")) | (t[f"{down}_significant"] & (t[f"{down}_sign"] == "-")))
    ok &= ~t["condition"].map(lambda c: c.is_null is not None) & t["kind"].isin(BUYER_KINDS)
    out = []
    for attr, rows in t.groupby("attribute", sort=False):
        good = ok[rows.index].to_numpy()
        for r in rows[good].itertuples():
            out.append(Item(attr, f"{attr}: {r.level}", r.condition, r.mask))
        bounds = [_bounds(c) for c in rows["condition"]]
        if any(b is None for b in bounds):
            continue
        masks = list(rows["mask"])
        for i in range(len(bounds)):  # runs of two or more adjacent significant bins
            j = i
            while j + 1 < len(bounds) and good[i] and good[j + 1]:
                j += 1
                lo, hi = bounds[i][0], bounds[j][1]
                cond = (Condition(field=attr, max=hi) if lo is None else Condition(field=attr, min=lo)
                        if hi is None else Condition(field=attr, between=(lo, hi)))
                out.append(Item(attr, cond.describe(), cond, np.logical_or.reduce(masks[i:j + 1])))
    return out


def _bounds(c: Condition) -> tuple[float | None, float | None] | None:
    if c.between is not None:
        return c.between
    if c.max is not None:
        return None, c.max
    if c.min is not None:
        return c.min, None
    return None


@dataclass
class Conjunctions(Result):
    """The best-separating short conjunctions in both directions.

    Attributes
    ----------
    table : pandas.DataFrame
        ``direction`` (``mark``: best over worst, ``warning``: worst over best), ``rule`` (a
        :class:`~salign.definitions.rules.Condition` with ``all``), ``description``, ``n`` (support), ``best_k``,
        ``worst_k``, ``separation`` (share best - share worst, or the reverse for warnings),
        ``lift`` (share best, or worst, over its overall share) and ``best_part`` (the separation of
        its best single part).
    counts : dict
        Customers, best, worst and the minimum support.
    """

    table: pd.DataFrame
    counts: dict
    title: str = "Short conjunctions that separate best from worst"

    def metrics(self) -> dict:
        return {"min_support": self.counts["min_support"], "found": len(self.table),
                "conjunctions": [{"direction": r.direction, "rule": r.description, "n": int(r.n),
                                  "best": int(r.best_k), "worst": int(r.worst_k),
                                  "separation": round(float(r.separation), 4), "lift": round(float(r.lift), 4),
                                  "best_part": round(float(r.best_part), 4)}
                                 for r in self.table.itertuples()]}

    def blocks(self) -> list[Block]:
        c = self.counts
        out = [Paragraph(
            f"Conjunctions of two or three attribute levels, searched (beam of {BEAM}) among the firmographic and "
            f"first-contact levels that are significant markers on their own, held by at least "
            f"{fmt.count(c['min_support'])} of {fmt.count(c['customers'])} customers. Separation = share of the group "
            "that is best minus the share that is worst (the reverse for warnings); a conjunction is listed only if "
            "it separates better than each of its parts. They are found by search, so treat them as hypotheses to "
            "confirm, not as tested findings.")]
        if self.table.empty:
            return out + [Paragraph("No conjunction separates better than its parts.")]
        for direction, caption in (("mark", "Marks: groups rich in best customers"),
                                   ("warning", "Warnings: groups rich in worst customers")):
            t = self.table[self.table["direction"] == direction]
            if t.empty:
                continue
            shown = pd.DataFrame({
                "rule": t["description"], "customers": t["n"],
                "best": [str(Rate(int(k), int(n))) for k, n in zip(t["best_k"], t["n"])],
                "worst": [str(Rate(int(k), int(n))) for k, n in zip(t["worst_k"], t["n"])],
                "separation": t["separation"].map(lambda x: f"{x:+.2f}"),
                "best single part": t["best_part"].map(lambda x: f"{x:+.2f}"),
                "lift": t["lift"].map(lambda x: fmt.number(x, 2))})
            out.append(Table(shown, caption=caption))
        return out


def conjunctions(value, markers, min_support: int | None = None, top: int = 5) -> Conjunctions:
    """Search conjunctions of up to three levels that separate best from worst better than their parts.

    Parameters
    ----------
    value : CustomerValue
    markers : Markers
        Supplies the levels and which attributes matter.
    min_support : int, optional
        Fewest customers a conjunction must hold; default 5% of customers (at least 10).
    top : int
        Conjunctions kept per direction.
    """
    c = value.customers
    N = len(c)
    best, worst = c["best"].to_numpy(bool), c["worst"].to_numpy(bool)
    support = min_support if min_support is not None else max(10, int(round(0.05 * N)))
    rows = []
    for direction, good, bad in (("mark", best, worst), ("warning", worst, best)):
        rows += _search(items(markers, direction), good, bad, support, top, direction)
    table = pd.DataFrame(rows, columns=["direction", "rule", "description", "n", "best_k", "worst_k", "separation",
                                        "lift", "best_part"])
    if not table.empty:
        base = {"mark": best.mean(), "warning": worst.mean()}
        table["lift"] = [(r.best_k if r.direction == "mark" else r.worst_k) / r.n / base[r.direction]
                         for r in table.itertuples()]
    counts = {"customers": N, "best": int(best.sum()), "worst": int(worst.sum()), "min_support": support}
    return Conjunctions(table, counts)


def _search(pool: list[Item], good: np.ndarray, bad: np.ndarray, support: int, top: int, direction: str) -> list[dict]:
    def score(mask):
        n = mask.sum()
        return (good[mask].sum() - bad[mask].sum()) / n if n else -np.inf

    single = {i: score(it.mask) for i, it in enumerate(pool) if it.mask.sum() >= support}
    beam = sorted(((i,) for i in single), key=lambda k: (-single[k[0]], k))[:BEAM]
    found = {}
    for _ in range(MAX_LENGTH - 1):
        grown = {}
        for key in beam:
            used = {pool[i].attribute for i in key}
            mask = np.logical_and.reduce([pool[i].mask for i in key])
            for j in single:
                if pool[j].attribute in used:
                    continue
                new = tuple(sorted(key + (j,)))
                if new in grown:
                    continue
                m = mask & pool[j].mask
                if m.sum() >= support:
                    grown[new] = score(m)
        beam = sorted(grown, key=lambda k: (-grown[k], k))[:BEAM]
        for key in beam:
            parts = [score(np.logical_and.reduce([pool[i].mask for i in sub])) for sub in _subsets(key)]
            if all(grown[key] > p for p in parts):
                found[key] = grown[key]
    chosen = _distinct(sorted(found, key=lambda k: (-found[k], len(k), k)), pool, top)
    rows = []
    for key in chosen:
        mask = np.logical_and.reduce([pool[i].mask for i in key])
        rule = Condition(all=[pool[i].condition for i in key])
        rows.append({"direction": direction, "rule": rule, "description": rule.describe(), "n": int(mask.sum()),
                     "best_k": int((good if direction == "mark" else bad)[mask].sum()),
                     "worst_k": int((bad if direction == "mark" else good)[mask].sum()),
                     "separation": found[key], "lift": np.nan, "best_part": max(single[i] for i in key)})
    return rows


def _subsets(key: tuple) -> list[tuple]:
    """Every proper, non-empty sub-conjunction."""
    return [sub for r in range(1, len(key)) for sub in combinations(key, r)]


def _distinct(keys: list[tuple], pool: list[Item], top: int) -> list[tuple]:
    """The strongest conjunctions, skipping one that only narrows a range of one already chosen."""
    chosen = []
    for key in keys:
        attrs = tuple(sorted(pool[i].attribute for i in key))
        cats = {pool[i].label for i in key if _bounds(pool[i].condition) is None}
        if any(tuple(sorted(pool[i].attribute for i in k)) == attrs
               and cats == {pool[i].label for i in k if _bounds(pool[i].condition) is None} for k in chosen):
            continue
        chosen.append(key)
        if len(chosen) == top:
            break
    return chosen
