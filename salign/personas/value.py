"""Customer value from named components (``definitions/value.yaml``), and the best and worst customers."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from salign.common import plotting
from salign.common.result import Block, Paragraph, Result, Strong, Table
from salign.core import fmt
from salign.definitions.models import ValueDefinition
from salign.personas.profiles import attribute_kinds, profiles_with_notes
from salign.workspace.tables import MissingData

#: used when the workspace has no ``definitions/value.yaml``
DEFAULT = ValueDefinition(terms=[{"factors": ["won_revenue", "gross_margin"]}])
#: components computed by salign (any numeric account column is a component too)
BUILT_IN = {
    "won_revenue": "sum of the amounts of the customer's won deals",
    "won_deals": "number of won deals",
    "gross_margin": "the account's gross margin (a fraction of revenue)",
    "tenure": "years from the first won deal to churn, or to the data cut-off",
    "churn": "1 if the customer churned, else 0",
}


class ValueDefinitionError(ValueError):
    """``value.yaml`` names a component the data does not have or cannot be a number."""


def components(customers: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, pd.Series]:
    """The built-in value components of each customer (see :data:`BUILT_IN`)."""
    none = pd.Series(pd.NaT, index=customers.index, dtype=customers["first_won_at"].dtype)
    churned = customers["churned_at"] if "churned_at" in customers.columns else none
    end = churned.where(churned.notna(), as_of)
    margin = customers["gross_margin"] if "gross_margin" in customers.columns else pd.Series(np.nan, customers.index)
    return {"won_revenue": customers["won_revenue"].astype(float).fillna(0.0),
            "won_deals": customers["won_deals"].astype(float),
            "gross_margin": margin.astype(float),
            "tenure": ((end - customers["first_won_at"]).dt.total_seconds() / (365.25 * 86400)).clip(lower=0),
            "churn": churned.notna().astype(float)}


def compute_value(customers: pd.DataFrame, definition: ValueDefinition,
                  as_of: pd.Timestamp) -> tuple[pd.Series, dict[str, int]]:
    """Value = sum over the definition's terms of weight x product of its factors.

    A factor missing for a customer takes the definition's ``if_missing`` value; otherwise the
    customer's value is missing (and the customer is left out of the ranking).

    Returns
    -------
    (pandas.Series, dict)
        The value, and per component how many customers got the ``if_missing`` value.

    Raises
    ------
    ValueDefinitionError
        If a factor is neither a built-in component nor a numeric column of the customers, or no
        customer has it and ``if_missing`` gives no value for it.
    """
    known = components(customers, as_of)
    value = pd.Series(0.0, index=customers.index)
    filled: dict[str, int] = {}
    for term in definition.terms:
        product = pd.Series(term.weight, index=customers.index, dtype=float)
        for name in term.factors:
            if name in known:
                factor = known[name]
            elif name in customers.columns and pd.api.types.is_numeric_dtype(customers[name]) \
                    and not pd.api.types.is_bool_dtype(customers[name]):
                factor = customers[name].astype(float)
            else:
                numeric = sorted(c for c in customers.columns if pd.api.types.is_numeric_dtype(customers[c])
                                 and not pd.api.types.is_bool_dtype(customers[c]) and c not in known)
                raise ValueDefinitionError(
                    f"value.yaml names the component '{name}', which this workspace does not have; known: "
                    + ", ".join(sorted(known)) + (f"; numeric account columns: {', '.join(numeric)}" if numeric else ""))
            if name in definition.if_missing:
                filled[name] = int(factor.isna().sum())
                factor = factor.fillna(definition.if_missing[name])
            elif len(factor) and factor.isna().all():
                raise ValueDefinitionError(f"no customer has a value for the component '{name}'; give one in "
                                           f"value.yaml, e.g. if_missing: {{{name}: 1}}")
            product = product * factor
        value = value + product
    return value, filled


def describe(definition: ValueDefinition) -> str:
    """The definition in words, e.g. ``won_revenue x gross_margin - 10,000 x churn``."""
    parts = []
    for i, t in enumerate(definition.terms):
        factors = " x ".join(t.factors)
        w = abs(t.weight)
        text = factors if w == 1 else f"{fmt.number(w, 0 if float(w).is_integer() else 2)} x {factors}"
        parts.append(("- " if t.weight < 0 else ("+ " if i else "")) + text)
    return " ".join(parts)


@dataclass
class CustomerValue(Result):
    """Customers with their value and best/worst flags.

    Attributes
    ----------
    customers : pandas.DataFrame
        :func:`customer_profiles` plus ``value``, ``best`` and ``worst`` (customers without a value dropped).
    best_share, worst_share : float
        Shares of customers by value called best and worst.
    definition : ValueDefinition
        How value was computed.
    source : str
        Where the definition came from.
    unvalued : int
        Customers left out because a component was missing.
    kinds : dict
        Attribute -> ``firmographic``, ``first contact`` or ``behaviour``.
    filled : dict
        Component -> customers that took its ``if_missing`` value (only components where that happened).
    refused : str
        Why best and worst were not split (every customer has the same value), else empty.
    ties : dict
        ``best``/``worst`` -> the tie that straddles that cut-off: ``value``, ``customers`` at it and how many
        of them were ``assigned`` to the group (by the smaller account id); only cut-offs with such a tie.
    typed : list
        Columns written as text that were read as numbers.
    derived : list
        Behaviour columns derived from the purchases (the accounts carry no attribute), else empty.
    """

    customers: pd.DataFrame
    best_share: float
    worst_share: float
    definition: ValueDefinition = DEFAULT
    source: str = "default (no definitions/value.yaml)"
    unvalued: int = 0
    kinds: dict[str, str] = field(default_factory=dict)
    filled: dict[str, int] = field(default_factory=dict)
    refused: str = ""
    ties: dict[str, dict] = field(default_factory=dict)
    typed: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)
    #: the workspace currency when the value is an amount (won revenue, times a margin), else ""
    currency: str = ""
    #: the workspace currency (won revenue is always an amount)
    revenue_currency: str = ""
    title: str = "Customers ranked by value"
    figure_description = ("Bars: every customer's value, highest first, best in green and worst in red (left); "
                          "line: cumulative share of the positive value by share of customers, most valuable first, "
                          "up to the last customer with a positive value (customers with a negative value are not "
                          "on it: the text gives their number and sum), top decile dotted (right).")

    @property
    def churned(self) -> pd.Series:
        c = self.customers
        return c["churned_at"].notna() if "churned_at" in c.columns else pd.Series(False, index=c.index)

    def top_decile_share(self) -> float | None:
        """The share of the positive value (the summed value of the customers whose value is positive) that the top
        decile of customers holds; between 0 and 1 (a share of the net total would pass 100% when negative values
        follow). None when no customer has a positive value."""
        positive = self.customers["value"].clip(lower=0)
        total = positive.sum()
        top = positive.nlargest(max(1, len(positive) // 10)).sum()
        return float(min(top / total, 1.0)) if total > 0 else None

    def value_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """The right-hand curve: ``(x, y)`` with x the share of all customers, most valuable first, and y the
        cumulative share of the positive value, over the customers whose value is positive only (so y rises to
        exactly 1 at the last of them and never passes it). Empty when no customer has a positive value."""
        v = np.sort(self.customers["value"].to_numpy(float))[::-1]
        pos = v[v > 0]
        if not len(pos):
            return np.array([]), np.array([])
        cum = np.cumsum(pos)
        return np.arange(1, len(pos) + 1) / len(v), cum / cum[-1]

    def metrics(self) -> dict:
        c = self.customers
        share = self.top_decile_share()
        out = {"customers": len(c), "best": int(c["best"].sum()), "worst": int(c["worst"].sum()),
               "churned": int(self.churned.sum()), "unvalued": self.unvalued,
               "negative_value": int((c["value"] < 0).sum()),
               "negative_value_total": round(float(c["value"][c["value"] < 0].sum()), 2),
               "positive_value_total": round(float(c["value"][c["value"] > 0].sum()), 2),
               "value_total": round(float(c["value"].sum()), 2),
               "value_definition": describe(self.definition), "filled": self.filled,
               "top_decile_positive_value_share": round(share, 6) if share is not None else None}
        # only where they apply, so a workspace without them keeps its metrics
        extra = {"refused": self.refused, "ties": self.ties, "typed": self.typed, "derived": self.derived}
        return {**out, **{k: v for k, v in extra.items() if v}}

    def headline(self) -> dict:
        return {"customers": int(len(self.customers))}

    def blocks(self) -> list[Block]:
        m = self.metrics()
        c = self.customers
        n = len(c)
        churned_best = ", churned customers excluded" if m["churned"] else ""
        churned_worst = ", plus churned customers" if self.definition.churned_is_worst and m["churned"] else ""
        if self.refused:
            return [Paragraph("Value = ", Strong(m["value_definition"]), f" ({self.source}). {fmt.count(n)} customers "
                              "(accounts with at least one won deal)."),
                    Paragraph(Strong("No best and no worst customers: "), self.refused)]
        out = [Paragraph(
            "Value = ", Strong(m["value_definition"]), f" ({self.source}). {fmt.count(n)} customers (accounts with at "
            f"least one won deal). Best: {fmt.count(m['best'])} (the top {fmt.percent(self.best_share, 0)} by value"
            f"{churned_best}); worst: {fmt.count(m['worst'])} (the bottom {fmt.percent(self.worst_share, 0)}"
            f"{churned_worst}). {fmt.count(m['churned'])} of {fmt.count(n)} churned; "
            f"{self._negative(m)}.")]
        out += [Paragraph(Strong(f"A tie at the cut-off for {group}: "), _tie_text(group, t))
                for group, t in self.ties.items()]
        out += [Paragraph(f"{fmt.count(k)} of {fmt.count(n)} customers have no {name}; they count with "
                          f"{name} = {fmt.cut(self.definition.if_missing[name])}.") for name, k in self.filled.items()]
        if m["unvalued"]:
            out.append(Paragraph(f"{fmt.count(m['unvalued'])} customers have no value (a component is missing) and "
                                 "are left out."))
        share = m["top_decile_positive_value_share"]
        positive = int((c["value"] > 0).sum())
        held = (f"the top decile ({fmt.count(max(1, n // 10))} customers) holds {fmt.percent(share)} of the positive "
                f"value, {self._amount(m['positive_value_total'])} from the {fmt.count(positive)} customers whose value "
                "is positive" if share is not None else "no customer has a positive value")
        minus = (f"; the {fmt.count(m['negative_value'])} with a negative value take "
                 f"{self._amount(-m['negative_value_total'])} off it" if m["negative_value"] else "")
        out.append(Paragraph(f"Concentration: {held}{minus}, for a total value of {self._amount(m['value_total'])}."))
        cols = [col for col in ("account_id", "industry", "employees", "won_revenue", "gross_margin", "value", "best",
                                "worst") if col in c.columns]
        top = c.sort_values("value", ascending=False)[cols].head(10).round(3)
        for col in ("employees", "won_revenue"):
            if col in top.columns:
                top[col] = top[col].map(fmt.number if col == "employees" else self._revenue)
        if self.currency and "value" in top.columns:
            top["value"] = top["value"].map(self._amount)
        return out + [Table(top, caption=f"The ten most valuable of {fmt.count(n)} customers")]

    def _negative(self, m: dict) -> str:
        """How many customers have a negative value, and their summed value."""
        k = m["negative_value"]
        return (f"{fmt.count(k)} have a negative value ({self._amount(m['negative_value_total'])} in all)" if k else
                "none has a negative value")

    def _amount(self, x) -> str:
        """A value: in the workspace currency when it is an amount, else a plain number."""
        return fmt.money(x, self.currency) if self.currency else fmt.number(x)

    def _revenue(self, x) -> str:
        """Won revenue: always an amount in the workspace currency."""
        return fmt.money(x, self.revenue_currency)

    def draw(self):
        """Sorted customer value (best and worst coloured) and the cumulative share of value."""
        c = self.customers.sort_values("value", ascending=False).reset_index(drop=True)
        fig, (ax, ax2) = plotting.figure(1, 2, width_ratios=[1.6, 1])
        colors = np.where(c["best"], plotting.COLORS["good"], np.where(c["worst"], plotting.COLORS["bad"],
                                                                      plotting.COLORS["muted"]))
        ax.vlines(c.index, 0, c["value"], colors=colors, linewidth=max(0.5, 300 / max(len(c), 1)))
        ax.axhline(0, color=plotting.COLORS["ink"], linewidth=0.5)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:,.0f}"))
        ax.set_title("Customer value, highest first")
        ax.set_xlabel(f"{len(c):,} customers ranked by value (green: best, red: worst)")
        ax.set_ylabel("value")
        x, y = self.value_curve()
        if len(x):
            ax2.plot(x, y, color=plotting.COLORS["common"])
            ax2.axvline(0.1, color=plotting.COLORS["muted"], linestyle=":")
            ax2.set_xlim(0, 1)
            ax2.set_ylim(0, 1.02)
            plotting.percent_axis(ax2, "x")
            plotting.percent_axis(ax2, "y")
        m = self.metrics()
        ax2.set_title("Cumulative share of the positive value")
        k = m["negative_value"]
        ax2.set_xlabel("customers, most valuable first" + (
            f"\n{fmt.count(k)} with a negative value ({self._amount(m['negative_value_total'])} in all) not on it"
            if k else ""))
        return fig


def customer_value(tables, best_share: float = 0.2, worst_share: float = 0.2) -> CustomerValue:
    """Rank customers by value and flag the best and worst.

    Value comes from ``definitions/value.yaml`` when the workspace has one, else won revenue x gross
    margin (won revenue alone where the margin is unknown). Best: the top ``best_share`` by value
    (rounded to whole customers; ties go to the smaller account id), churned customers excluded. Worst:
    the bottom ``worst_share``, plus every churned customer when the definition says so (the default).
    A tie that straddles a cut-off is recorded in ``ties`` (and told on the page). When every customer has
    the same value, nobody is best or worst and ``refused`` says why.
    """
    prof, typed, derived = profiles_with_notes(tables)
    if prof.empty:
        raise MissingData("has no customers (no account with a won deal)")
    definition = tables.definitions.get("value.yaml")
    source = "definitions/value.yaml" if definition is not None else "default: no definitions/value.yaml"
    definition = definition or DEFAULT
    prof["value"], filled = compute_value(prof, definition, tables.as_of)
    unvalued = int(prof["value"].isna().sum())
    prof = prof[prof["value"].notna()].reset_index(drop=True)
    n = len(prof)
    order = np.lexsort((prof["account_id"].astype(str).to_numpy(), -prof["value"].to_numpy()))
    position = np.empty(n, int)
    position[order] = np.arange(n)  # 0 = most valuable; ties: the smaller account id ranks higher
    churned = prof["churned_at"].notna() if "churned_at" in prof.columns else pd.Series(False, index=prof.index)
    n_best, n_worst = int(round(best_share * n)), int(round(worst_share * n))
    prof["best"] = (position < n_best) & ~churned
    prof["worst"] = (position >= n - n_worst) | (churned & definition.churned_is_worst)
    refused, ties = "", {}
    if n > 1 and prof["value"].nunique() == 1:
        refused = (f"every one of the {fmt.count(n)} customers has the same value, {fmt.value(float(prof['value'].iloc[0]))}, so none is better or worse than another and "
                   "best and worst are not split; the markers, segments and personas built on them are skipped. "
                   "A value definition (definitions/value.yaml) with a component that differs between customers "
                   "gives a ranking.")
        prof["best"] = prof["worst"] = False
    else:
        ranked = prof["value"].to_numpy()[order]
        for group, k in (("best", n_best), ("worst", n - n_worst)):
            if 0 < k < n and ranked[k - 1] == ranked[k]:
                tied = (prof["value"] == ranked[k]).to_numpy()
                members = prof["best"] if group == "best" else prof["worst"]
                ties[group] = {"value": float(ranked[k]), "customers": int(tied.sum()),
                               "assigned": int((tied & members.to_numpy()).sum())}
    currency = getattr(tables.config, "currency", "")
    return CustomerValue(prof, best_share, worst_share, definition, source, unvalued,
                         attribute_kinds(tables, list(prof.columns)), {k: v for k, v in filled.items() if v},
                         refused, ties, typed, derived, currency if is_amount(definition) else "", currency)


def _tie_text(group: str, tie: dict) -> str:
    """A tie that straddles the cut-off of ``group``, in words."""
    k, m = tie["assigned"], tie["customers"]
    return (f"{fmt.count(m)} customers have exactly the value {fmt.value(tie['value'])} where the {group} "
            f"customers end; {fmt.count(k)} of them count as {group} (the smaller account ids: ties go by account id) "
            f"and the other {fmt.count(m - k)} do not. Customers alike in value are split by their id, so read the "
            f"markers with that in mind, or move the cut-off off the tie ({group}_share).")


#: components that are amounts, and those that only scale one (shares, counts of one)
MONEY_COMPONENTS = {"won_revenue"}
SCALE_COMPONENTS = {"gross_margin"}


def is_amount(definition: ValueDefinition) -> bool:
    """Is the value an amount of money: every term one amount, times shares only (the default, won revenue x
    gross margin, is)?"""
    return all(sum(f in MONEY_COMPONENTS for f in t.factors) == 1
               and set(t.factors) <= MONEY_COMPONENTS | SCALE_COMPONENTS for t in definition.terms)
