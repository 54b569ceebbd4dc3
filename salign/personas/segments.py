"""Data-driven customer segments: k-means on mixed data, k chosen by silhouette, each segment described by a
short rule, its size, value and share of best and worst customers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.common import plotting
from salign.common.result import Block, Em, Paragraph, Result, Strong, Table
from salign.core import fmt
from salign.definitions.rules import Condition
from salign.personas.conjunctions import BUYER_KINDS
from salign.personas.groups import group_stats, stats_table
from salign.personas.tree_rules import group_rules
from salign.workspace.tables import MissingData

#: fewest customers worth segmenting
MIN_CUSTOMERS = 20
#: a text level held by a smaller share of customers is pooled into "other" for clustering
RARE = 0.02
#: silhouettes are scored on at most this many customers (a fixed random sample)
SILHOUETTE_ROWS = 2000
#: correlation above which a numeric attribute counts as a duplicate of an earlier one
REDUNDANT = 0.9


def scaled(x: pd.Series) -> np.ndarray:
    """A numeric column standardised, on a log10 scale when positive and spanning two orders of magnitude."""
    x = x.astype(float)
    x = x.fillna(x.median())
    if x.min() > 0 and x.max() / x.min() >= 100:
        x = np.log10(x)
    sd = x.std()
    return ((x - x.mean()) / (sd if sd > 0 else 1.0)).to_numpy()


def distinct_numeric(customers: pd.DataFrame, numeric: list[str]) -> list[str]:
    """Numeric attributes in order, leaving out one that nearly duplicates an earlier one (|r| >= REDUNDANT
    on the clustering scale), so that one property (such as company size) is not counted twice."""
    kept: list[str] = []
    for f in numeric:
        x = scaled(customers[f])
        if all(abs(np.corrcoef(x, scaled(customers[g]))[0, 1]) < REDUNDANT for g in kept):
            kept.append(f)
    return kept


def design(customers: pd.DataFrame, numeric: list[str], text: list[str]) -> np.ndarray:
    """Mixed data as numbers: numeric columns through :func:`scaled`; text columns one-hot, scaled so that
    two different levels are one standard deviation apart."""
    parts = [scaled(customers[f])[:, None] for f in numeric]
    for f in text:
        s = customers[f].astype("string").str.strip().fillna("missing")
        share = s.value_counts(normalize=True)
        s = s.where(s.map(share) >= RARE, "other")
        parts.append(pd.get_dummies(s).to_numpy(float) / np.sqrt(2))
    return np.hstack(parts) if parts else np.zeros((len(customers), 0))


def choose_k(X: np.ndarray, k_min: int, k_max: int, random_state: int) -> tuple[int, dict[int, float], dict]:
    """Fit k-means for each k in the range; return the k with the highest silhouette, every silhouette, the fits."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(random_state)
    rows = rng.choice(len(X), SILHOUETTE_ROWS, replace=False) if len(X) > SILHOUETTE_ROWS else np.arange(len(X))
    fits, sil = {}, {}
    # one thread: on a busy 2-core machine OpenMP threads spin and make these small fits 20-40x slower
    with threadpool_limits(limits=1):
        for k in range(k_min, k_max + 1):
            fits[k] = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit(X)
            labels = fits[k].labels_[rows]
            sil[k] = float(silhouette_score(X[rows], labels)) if len(np.unique(labels)) > 1 else -1.0
    best = max(sil, key=lambda k: (round(sil[k], 6), -k))
    return best, sil, fits


@dataclass
class Segments(Result):
    """Customer segments with their rules and evidence.

    Attributes
    ----------
    labels : pandas.Series
        Segment name (``S1`` = highest value per customer) of each customer, by account_id.
    table : pandas.DataFrame
        One row per segment: ``segment``, ``rule`` (Condition or None), ``description``, group
        statistics of its members (see :func:`~salign.personas.groups.group_stats`), ``rule_recall``
        (share of members the rule matches), ``rule_precision`` (share of rule matches that are members)
        and ``target`` (holds a larger share of all value than of all worst customers).
    silhouettes : dict
        k -> mean silhouette.
    k : int
        The chosen number of segments.
    features : list
        Attributes clustered on.
    """

    labels: pd.Series
    table: pd.DataFrame
    silhouettes: dict
    k: int
    features: list
    #: the workspace currency when customer value is an amount (see CustomerValue.currency)
    currency: str = ""
    title: str = "Data-driven customer segments"
    figure_description = ("Line: how well separated the segments are for each number of segments k tried, the chosen "
                          "k dotted (left); "
                          "bars: each segment's share of all value and of all worst customers (right).")

    def metrics(self) -> dict:
        return {"k": self.k, "features": self.features,
                "silhouettes": {str(k): round(v, 4) for k, v in self.silhouettes.items()},
                "segments": {r["segment"]: {"rule": r["description"], "customers": int(r["customers"]),
                                            "best": int(r["best"]), "worst": int(r["worst"]),
                                            "value_share": round(float(r["value_share"]), 4),
                                            "rule_recall": round(float(r["rule_recall"]), 4),
                                            "rule_precision": round(float(r["rule_precision"]), 4),
                                            "target": bool(r["target"])}
                             for _, r in self.table.iterrows()}}

    def headline(self) -> dict:
        return {"customer_segments": self.k}

    def blocks(self) -> list[Block]:
        t = self.table
        shown = stats_table(t, currency=self.currency).drop(columns=["group"])
        shown.insert(0, "segment", t["segment"].to_numpy())
        shown.insert(1, "rule", t["description"].to_numpy())
        shown["rule fit"] = [f"matches {fmt.percent(r, 0)} of members; {fmt.percent(p, 0)} of matches are members"
                             for r, p in zip(t["rule_recall"], t["rule_precision"])]
        shown["target"] = np.where(t["target"], "yes", "no")
        return [
            Paragraph(f"Customers are grouped by the {len(self.features)} attributes that mark best or worst "
                      f"customers ({', '.join(self.features)}) into ", Strong(str(self.k)), " segments: the number "
                      "that keeps the segments most clearly apart. Each segment's rule comes from a shallow "
                      "decision tree; 'rule fit' says how many members it matches and how many others it also "
                      "matches. A segment is a ", Em("target"), " when it holds a larger share of all value than of "
                      "all worst customers."),
            Table(shown)]

    def methods(self) -> list[Block]:
        sil = ", ".join(f"k={k}: {fmt.number(v, 3)}" for k, v in self.silhouettes.items())
        return [Paragraph(f"K-means (10 starts, fixed seed) on {', '.join(self.features)}: numbers standardised (log "
                          "scale when they span orders of magnitude), text one-hot. The number of segments k is the "
                          f"one with the highest mean silhouette ({sil}).")]

    def draw(self):
        """Silhouette by k (left); share of all value vs share of all worst customers per segment (right)."""
        fig, (ax, ax2) = plotting.figure(1, 2, width_ratios=[1, 1.6])
        ks = list(self.silhouettes)
        ax.plot(ks, [self.silhouettes[k] for k in ks], marker="o", color=plotting.COLORS["common"])
        ax.axvline(self.k, color=plotting.COLORS["muted"], linestyle=":")
        ax.set_xlabel("number of segments k")
        ax.set_ylabel("how clearly apart (silhouette)")
        ax.set_title("Choosing k")
        t = self.table.iloc[::-1]
        y = np.arange(len(t))
        ax2.barh(y + 0.2, t["value_share"], height=0.4, color=plotting.COLORS["good"], label="share of all value")
        ax2.barh(y - 0.2, t["worst_capture"], height=0.4, color=plotting.COLORS["bad"],
                 label="share of all worst customers")
        ax2.set_yticks(y, t["segment"])
        plotting.percent_axis(ax2, "x")
        ax2.set_title("Value vs worst customers per segment")
        ax2.legend(loc="center right")
        return fig


def segments(value, markers, k_min: int = 2, k_max: int = 10, random_state: int = 0) -> Segments:
    """Cluster customers on the buyer attributes that mark best or worst customers.

    Parameters
    ----------
    value : CustomerValue
    markers : Markers
        Its significant attributes (firmographic and first contact) are the clustering features, so
        attributes unrelated to value (noise) do not shape the segments; a numeric one that duplicates
        an earlier one (see :func:`distinct_numeric`) is left out.
    k_min, k_max : int
        Range of the number of segments; the highest mean silhouette wins (ties: the smaller k).
    random_state : int
        Seed of k-means, the silhouette sample and the rule tree.

    Raises
    ------
    MissingData
        Fewer than :data:`MIN_CUSTOMERS` customers, or no attribute marks best or worst customers.
    """
    c = value.customers
    if len(c) < MIN_CUSTOMERS:
        raise MissingData(f"has {len(c):,} customers; segments need at least {MIN_CUSTOMERS}")
    features = [a for a in markers.relevant_attributes if value.kinds.get(a) in BUYER_KINDS]
    if not features:
        raise MissingData("has no firmographic or first-contact attribute that marks best or worst customers")
    numeric = [f for f in features if pd.api.types.is_numeric_dtype(c[f])]
    text = [f for f in features if f not in numeric]
    numeric = distinct_numeric(c, numeric)
    features = [f for f in features if f in numeric or f in text]
    X = design(c, numeric, text)
    k_max = max(k_min, min(k_max, len(c) // 5))
    k, sil, fits = choose_k(X, k_min, k_max, random_state)
    raw = fits[k].labels_
    order = _by_value(raw, c["value"].to_numpy())
    labels = np.array([order[r] for r in raw])
    rules = group_rules(labels, c, numeric, text, max_leaves=k + 4, random_state=random_state)
    rows = []
    for i in range(k):
        member = pd.Series(labels == i, index=c.index)
        rule = rules.get(i)
        matched = membership(rule, c)
        hit = int((matched & member).sum())
        rows.append({"segment": f"S{i + 1}", "rule": rule,
                     "description": rule.describe() if rule is not None else "no short rule",
                     **group_stats(member, c),
                     "rule_recall": hit / member.sum(), "rule_precision": hit / matched.sum() if matched.any() else 0.0})
    table = pd.DataFrame(rows)
    table["target"] = table["value_share"] > table["worst_capture"]
    names = pd.Series([f"S{i + 1}" for i in labels], index=c["account_id"].to_numpy())
    return Segments(names, table, sil, k, features, currency=getattr(value, "currency", ""))


def _by_value(raw: np.ndarray, value: np.ndarray) -> dict[int, int]:
    """Cluster number -> rank by mean value per customer (0 = highest)."""
    means = {r: value[raw == r].mean() for r in np.unique(raw)}
    return {r: i for i, r in enumerate(sorted(means, key=lambda r: (-means[r], r)))}


def membership(rule: Condition | None, customers: pd.DataFrame) -> pd.Series:
    """Rows a rule matches (none for a missing rule)."""
    return rule.evaluate(customers) if rule is not None else pd.Series(False, index=customers.index)
