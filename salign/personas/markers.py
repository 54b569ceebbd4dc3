"""What marks a best customer and what warns of a bad one: every attribute level against best, worst and all,
with lift, a 95% interval and Benjamini-Hochberg control of the false discovery rate."""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as default

import numpy as np
import pandas as pd

from salign.common import plotting
from salign.common.result import Block, Paragraph, Result, Table
from salign.common.stats import Rate, benjamini_hochberg, rates
from salign.core import fmt
from salign.personas.levels import levels
from salign.personas.profiles import PURCHASE_BEHAVIOUR, VALUE_COLUMNS, attribute_columns, left_out
from salign.personas.value import customer_value
from salign.scoring.per_value import by_value
from salign.workspace.tables import MissingData

OUTCOMES = ("best", "worst")
#: the columns of a level table, also when it has no row
COLUMNS = ["attribute", "kind", "level", "condition", "mask", "n"] + [
    f"{o}_{part}" for o in OUTCOMES for part in ("k", "share_with", "share_without", "lift", "share_lo", "share_hi",
                                                   "lift_lo", "lift_hi", "sign", "p", "q", "significant")]
#: derived purchase columns that measure the same as a value component (left out when the value uses it)
SAME_AS_COMPONENT = {"tenure": "tenure_days"}
#: a level held by fewer customers is shown but not tested
MIN_TESTED = 5


def fisher_p(k: np.ndarray, n: np.ndarray, K: int, N: int) -> np.ndarray:
    """Two-sided Fisher exact p-values of ``k`` outcomes among ``n`` with the level, ``K`` among all ``N``.

    The same values as ``scipy.stats.fisher_exact`` (sum of the hypergeometric probabilities not above the
    observed one), computed for all levels at once: a loop over scipy took 0.3 s of the notebook's 10 s.
    """
    from scipy.special import gammaln

    k, n = np.asarray(k, float)[:, None], np.asarray(n, float)[:, None]
    x = np.arange(min(K, N) + 1, dtype=float)[None, :]
    ok = (x >= np.maximum(0, n + K - N)) & (x <= np.minimum(n, K))

    def log_pmf(v):  # hypergeometric: v of the n level customers among the K in the outcome
        return (gammaln(K + 1) - gammaln(v + 1) - gammaln(K - v + 1) + gammaln(N - K + 1) - gammaln(n - v + 1)
                - gammaln(N - K - n + v + 1) - gammaln(N + 1) + gammaln(n + 1) + gammaln(N - n + 1))

    with np.errstate(invalid="ignore"):
        pmf = np.where(ok, np.exp(log_pmf(np.where(ok, x, np.maximum(0, n + K - N)))), 0.0)
        observed = np.exp(log_pmf(k))
    return np.minimum(1.0, (pmf * (pmf <= observed * (1 + 1e-7))).sum(axis=1))


def _holds(cond, customers: pd.DataFrame, field: str) -> np.ndarray:
    """Which customers hold a level: a condition on ``field`` alone is tested once per distinct text."""
    if cond.fields() != {field} or field not in customers.columns:
        return cond.evaluate(customers).to_numpy()
    return by_value(customers[field], lambda c: cond.evaluate(c.to_frame())).to_numpy()


def level_table(customers: pd.DataFrame, attributes: list[str], kinds: dict[str, str], bins: int,
                fdr: float) -> pd.DataFrame:
    """One row per attribute level: counts, shares among best/worst/all, lift with interval, p, q, sign."""
    rows = []
    for field in attributes:
        for label, cond in levels(customers, field, bins):
            rows.append({"attribute": field, "kind": kinds.get(field, ""), "level": label, "condition": cond,
                         "mask": _holds(cond, customers, field)})
    t = pd.DataFrame(rows)
    N = len(customers)
    if t.empty:
        return pd.DataFrame(columns=COLUMNS)
    masks = np.vstack(t["mask"].to_numpy())
    t["n"] = masks.sum(axis=1)
    tested = (t["n"] >= MIN_TESTED) & (t["n"] <= N - MIN_TESTED)
    pvals = []
    for outcome in OUTCOMES:
        y = customers[outcome].to_numpy(bool)
        K = int(y.sum())
        k = (masks & y).sum(axis=1)
        t[f"{outcome}_k"] = k
        t[f"{outcome}_share_with"] = np.where(t["n"] > 0, k / t["n"].clip(lower=1), np.nan)
        t[f"{outcome}_share_without"] = np.where(N - t["n"] > 0, (K - k) / (N - t["n"]).clip(lower=1), np.nan)
        base = K / N if N else np.nan
        ci = rates(pd.Series(k), t["n"])
        t[f"{outcome}_lift"] = t[f"{outcome}_share_with"] / base if base else np.nan
        t[f"{outcome}_share_lo"], t[f"{outcome}_share_hi"] = ci["ci_low"].to_numpy(), ci["ci_high"].to_numpy()
        t[f"{outcome}_lift_lo"] = t[f"{outcome}_share_lo"] / base if base else np.nan
        t[f"{outcome}_lift_hi"] = t[f"{outcome}_share_hi"] / base if base else np.nan
        t[f"{outcome}_sign"] = np.where(t[f"{outcome}_share_with"] > t[f"{outcome}_share_without"], "+", "-")
        p = np.full(len(t), np.nan)
        if 0 < K < N:
            p[tested.to_numpy()] = fisher_p(k[tested.to_numpy()], t.loc[tested, "n"].to_numpy(), K, N)
        t[f"{outcome}_p"] = p
        pvals.append(p)
    allp = np.concatenate(pvals)
    ok = ~np.isnan(allp)
    q = np.full(len(allp), np.nan)
    reject = np.zeros(len(allp), bool)
    if ok.any():
        reject[ok], q[ok] = benjamini_hochberg(allp[ok], fdr)
    for i, outcome in enumerate(OUTCOMES):
        t[f"{outcome}_q"] = q[i * len(t):(i + 1) * len(t)]
        t[f"{outcome}_significant"] = reject[i * len(t):(i + 1) * len(t)]
    return t


@dataclass
class Markers(Result):
    """Attribute levels tested for best and worst customers.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per attribute level: ``attribute``, ``kind``, ``level``, ``condition`` (a rule),
        ``mask`` (which customers hold it), ``n``, and for each outcome (``best``, ``worst``):
        ``_k``, ``_share_with`` (share of the level's customers in the outcome) with ``_share_lo``/
        ``_share_hi`` (Wilson 95%), ``_share_without``,
        ``_lift`` (share_with over the outcome's overall share) with ``_lift_lo``/``_lift_hi``
        (Wilson 95%), ``_sign`` (``+`` raises the chance), ``_p`` (Fisher exact), ``_q``
        (Benjamini-Hochberg over every test of both outcomes) and ``_significant``.
    counts : dict
        Customers, best and worst.
    fdr : float
        The false discovery rate controlled.
    left_out : dict
        Columns that describe customers but are not compared -> why (shown on the page).
    typed : list
        Columns written as text that were read as numbers.
    derived : list
        Behaviour columns derived from the purchases alone (the accounts carry no attribute).
    """

    table: pd.DataFrame
    counts: dict
    fdr: float
    left_out: dict[str, str] = default(default_factory=dict)
    typed: list[str] = default(default_factory=list)
    derived: list[str] = default(default_factory=list)
    title: str = "What marks a best customer, and what warns of a bad one"
    figure_description = ("Bars: lift of the ten strongest marks of a best customer (left) and warning signs (right), "
                          "each with the 95% interval of the level's share; a dotted line at lift 1 (no difference).")

    def found(self, outcome: str, sign: str = "+") -> pd.DataFrame:
        """Significant levels for ``outcome`` with ``sign``, strongest first."""
        t = self.table
        if t.empty:
            return t.reindex(columns=COLUMNS)
        hit = t[t[f"{outcome}_significant"] & (t[f"{outcome}_sign"] == sign)]
        return hit.sort_values([f"{outcome}_q", f"{outcome}_lift"], ascending=[True, sign == "-"])

    @property
    def marks(self) -> pd.DataFrame:
        """Marks of a long-term, profitable relationship: levels that make a best customer more likely."""
        return self.found("best", "+")

    @property
    def warnings(self) -> pd.DataFrame:
        """Warning signs: levels that make a worst customer more likely."""
        return self.found("worst", "+")

    @property
    def relevant_attributes(self) -> list[str]:
        """Attributes with at least one significant level, in the order tested."""
        t = self.table
        if t.empty:
            return []
        sig = t[t["best_significant"] | t["worst_significant"]]
        return list(dict.fromkeys(sig["attribute"]))

    def metrics(self) -> dict:
        t = self.table
        tests = int(t[["best_p", "worst_p"]].notna().sum().sum()) if not t.empty else 0

        def rows(frame, outcome):
            return [{"attribute": r["attribute"], "level": r["level"], "n": int(r["n"]),
                     "k": int(r[f"{outcome}_k"]), "lift": round(float(r[f"{outcome}_lift"]), 4),
                     "q": float(f"{r[f'{outcome}_q']:.4g}")} for _, r in frame.iterrows()]

        return {**self.counts, "fdr": self.fdr, "levels": len(t), "tests": tests,
                "attributes": int(t["attribute"].nunique()) if not t.empty else 0,
                "marks": rows(self.marks, "best"), "warnings": rows(self.warnings, "worst")}

    def headline(self) -> dict:
        return {"best_customer_marks": len(self.marks), "warning_signs": len(self.warnings)}

    def _display(self, frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
        other = "worst" if outcome == "best" else "best"
        out = pd.DataFrame({
            "attribute": frame["attribute"], "kind": frame["kind"], "level": frame["level"],
            "customers": frame["n"],
            f"share {outcome}": [fmt.rate(k, n, lo, hi) for k, n, lo, hi in zip(
                frame[f"{outcome}_k"], frame["n"], frame[f"{outcome}_share_lo"], frame[f"{outcome}_share_hi"])],
            f"share {outcome} without it": [str(Rate(int(self.counts[outcome] - k), int(self.counts["customers"] - n)))
                                            for k, n in zip(frame[f"{outcome}_k"], frame["n"])],
            f"share {other}": [str(Rate(int(k), int(n))) for k, n in zip(frame[f"{other}_k"], frame["n"])],
            "lift": [fmt.number(v, 2) for v in frame[f"{outcome}_lift"]],
        })
        return out

    def blocks(self) -> list[Block]:
        c = self.counts
        m = self.metrics()
        notes = []
        if self.derived:
            notes.append(Paragraph(
                "The accounts carry no attribute to compare, so behaviour is derived from the purchases (won deals) "
                "themselves: " + "; ".join(f"{col}: {PURCHASE_BEHAVIOUR[col]}" for col in self.derived) + ". They "
                "describe how a customer buys, not who the customer is: the first purchase and the first 90 days "
                "tell early which new customers are likely to become best; tenure and recency often go with value "
                "(a longer, more recent relationship tends to hold more purchases)."))
        if self.typed:
            notes.append(Paragraph("Read as numbers (written as text in the data): " + ", ".join(self.typed) + "."))
        if self.left_out:
            notes.append(Paragraph("Not compared: " + "; ".join(f"{col} ({why})" for col, why in
                                                             self.left_out.items()) + "."))
        return notes + [
            Paragraph(f"{fmt.count(m['attributes'])} attributes ({fmt.count(m['levels'])} levels; numbers in quantile "
                      f"bins rounded to 1-2-5 values) compared across {fmt.count(c['customers'])} customers: "
                      f"{fmt.count(c['best'])} best ({fmt.percent(c['best'] / c['customers'])}) and "
                      f"{fmt.count(c['worst'])} worst ({fmt.percent(c['worst'] / c['customers'])}). A level is "
                      "listed when its customers are clearly more often best (or worst) than the other customers "
                      "('share best' vs 'share best without it'), beyond what chance explains when this many levels "
                      "are compared. Lift is the level's share over the overall share: 2.0 means twice as often; the "
                      "figure shows it with the 95% interval of the level's share."),
            Table(self._display(self.marks, "best"), max_rows=25,
                  caption=f"Marks of a long-term, profitable relationship ({fmt.count(len(self.marks))})"),
            Table(self._display(self.warnings, "worst"), max_rows=25,
                  caption=f"Warning signs ({fmt.count(len(self.warnings))})")]

    def methods(self) -> list[Block]:
        m = self.metrics()
        q = pd.concat([pd.DataFrame({"mark": "best", "attribute": self.marks["attribute"], "level": self.marks["level"],
                                     "q-value": [fmt.p_value(x) for x in self.marks["best_q"]]}),
                       pd.DataFrame({"mark": "worst", "attribute": self.warnings["attribute"],
                                     "level": self.warnings["level"],
                                     "q-value": [fmt.p_value(x) for x in self.warnings["worst_q"]]})]) \
            if ({"attribute", "level", "best_q"} <= set(self.marks.columns)
                and {"attribute", "level", "worst_q"} <= set(self.warnings.columns)) else None
        out = [Paragraph(f"Two-sided Fisher exact test per level and outcome ({fmt.count(m['tests'])} tests, levels held "
                         f"by at least {MIN_TESTED} customers), the false discovery rate held at "
                         f"{fmt.percent(self.fdr, 0)} over all tests of both outcomes (Benjamini-Hochberg): a level is "
                         "listed when its q-value is below that. Shares carry Wilson 95% intervals.")]
        return out + ([Table(q, max_rows=50, caption="Marks and warning signs: q-values")] if q is not None and len(q)
                      else [])

    def draw(self):
        """Lift with its interval for the strongest marks (left) and warning signs (right)."""
        fig, axes = plotting.figure(1, 2, size=(10.0, 4.8))
        for ax, frame, outcome, color, title in (
                (axes[0], self.marks, "best", plotting.COLORS["good"], "Marks of a best customer"),
                (axes[1], self.warnings, "worst", plotting.COLORS["bad"], "Warning signs")):
            top = frame.head(10).iloc[::-1]
            y = np.arange(len(top))
            lift = top[f"{outcome}_lift"].to_numpy()
            err = np.vstack([lift - top[f"{outcome}_lift_lo"].to_numpy(), top[f"{outcome}_lift_hi"].to_numpy() - lift])
            ax.barh(y, lift, color=color, alpha=0.8)
            ax.errorbar(lift, y, xerr=err, fmt="none", ecolor=plotting.COLORS["ink"], capsize=2)
            ax.axvline(1.0, color=plotting.COLORS["muted"], linestyle=":")
            ax.set_yticks(y, [f"{a}: {lv}" for a, lv in zip(top["attribute"], top["level"])])
            ax.set_xlabel(f"lift (share {outcome} in the level / overall)")
            ax.set_title(title)
        return fig


def markers(value, fdr: float = 0.05, bins: int = 5) -> Markers:
    """Test every attribute level for best and worst customers.

    Parameters
    ----------
    value : CustomerValue
        Valued customers with ``best``/``worst`` flags.
    fdr : float
        False discovery rate held by Benjamini-Hochberg over all tests of both outcomes.
    bins : int
        Quantile bins per numeric attribute (edges rounded to 1-2-5 values).
    """
    c = value.customers
    if getattr(value, "refused", ""):
        raise MissingData("has no best and no worst customers to compare: every customer has the same value "
                          f"({fmt.count(len(c))} customers)")
    factors = {f for t in value.definition.terms for f in t.factors}
    exclude = VALUE_COLUMNS | factors | {SAME_AS_COMPONENT[f] for f in factors if f in SAME_AS_COMPONENT}
    attrs = attribute_columns(c, exclude)
    table = level_table(c, attrs, value.kinds, bins, fdr)
    if table.empty:
        who = "only one valued customer" if len(c) == 1 else f"{fmt.count(len(c))} valued customers alike in every attribute"
        raise MissingData(f"gives no attribute level to test ({who})")
    counts = {"customers": len(c), "best": int(c["best"].sum()), "worst": int(c["worst"].sum())}
    return Markers(table, counts, fdr, left_out(c, exclude), list(getattr(value, "typed", [])),
                   [col for col in getattr(value, "derived", []) if col in attrs])


def markers_of(tables, best_share: float = 0.2, worst_share: float = 0.2, fdr: float = 0.05,
               bins: int = 5) -> Markers:
    """The personas page's marks of a best customer and warning signs, straight from the tables (the page's
    default settings), for another page to check itself against (see :mod:`salign.qualify.crosscheck`)."""
    from_value = customer_value(tables, best_share, worst_share)
    return markers(from_value, fdr, bins)
