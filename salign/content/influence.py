"""Influence, honestly: conversion of leads who used an asset at a buying stage vs comparable leads who did not.

Comparable means the same persona and the same buying stage, entered in the same span of time.
The odds ratio is pooled over personas (Mantel-Haenszel), tested with the Cochran-Mantel-Haenszel
test and the false discovery rate is controlled over every asset and stage tested. It is an
association: leads who read more are often further along already, and nothing here is a cause.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from statsmodels.stats.contingency_tables import StratifiedTable

from salign.common import plotting
from salign.common import touches as touch_rows
from salign.common.result import Block, Paragraph, Result, Strong, Table
from salign.common.stats import Rate, benjamini_hochberg, rates
from salign.content import journey
from salign.content.journey import BUYING_STAGES, ENTRY, STAGE_OF
from salign.content.touches import known_assets
from salign.core import fmt
from salign.definitions.models import UNASSIGNED

#: What converting from each buying stage means.
OUTCOME = {"awareness": "reached consideration (MQL or later)", "consideration": "reached decision (SQL or later)",
           "decision": "won"}
PER_STAGE = 8
TICKS = (0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass
class Influence(Result):
    """Per asset and buying stage: touched vs comparable leads, with a persona-adjusted odds ratio.

    Attributes
    ----------
    pairs : pandas.DataFrame
        One row per (``stage``, ``content_id``) with at least ``min_leads`` touched leads: ``title``,
        ``touched_k``/``touched_n``, ``comparable_k``/``comparable_n``, ``odds_ratio`` with ``or_low``/
        ``or_high``, ``p`` and ``q`` (Benjamini-Hochberg).
    cohorts : dict
        Stage -> (first entry, last entry, leads) of the cohort each stage was measured on.
    """

    pairs: pd.DataFrame
    cohorts: dict
    window_days: int
    min_leads: int
    alpha: float = 0.05
    title: str = "Influence: conversion of leads who used an asset vs comparable leads"
    figure_description = ("Dots: persona-adjusted odds ratio of converting, leads who used the asset vs comparable "
                          "leads who did not, with 95% intervals on a log scale, for the most used assets of each "
                          "stage; green where clear after false discovery rate control.")

    def _notable(self) -> pd.DataFrame:
        p = self.pairs
        return p[p["q"] < self.alpha] if len(p) else p

    def metrics(self) -> dict:
        note = self._notable()
        pairs = {f"{r.content_id}@{r.stage}": {
            "touched": Rate(r.touched_k, r.touched_n).as_dict(),
            "comparable": Rate(r.comparable_k, r.comparable_n).as_dict(),
            "odds_ratio": _r(r.odds_ratio), "or_ci": [_r(r.or_low), _r(r.or_high)], "q": _r(r.q)}
            for r in self.pairs.itertuples()}
        return {"window_days": self.window_days, "min_leads": self.min_leads, "tested": len(self.pairs),
                "higher": int((note["odds_ratio"] > 1).sum()), "lower": int((note["odds_ratio"] < 1).sum()),
                "cohorts": {s: {"from": a, "to": b, "leads": n} for s, (a, b, n) in self.cohorts.items()},
                "pairs": pairs}

    def blocks(self) -> list[Block]:
        m = self.metrics()
        cohorts = "; ".join(f"{s}: {fmt.count(n)} leads entering it {a} to {b}" for s, (a, b, n) in self.cohorts.items())
        outcomes = "; ".join(f"{k} {v}" for k, v in OUTCOME.items())
        out = [Paragraph(
            Strong("This is association, not cause."), " Leads who use content are often more engaged or further "
            "along already; an asset that looks strong may simply be the one sales sends to promising leads. For each "
            f"buying stage, leads who used an asset in their first {self.window_days} days in that stage are compared "
            "with leads of the same persona who entered the same stage in the same span and did not use it. "
            f"Conversion: {outcomes}, within {self.window_days} days. Cohorts: {cohorts}. The odds ratio compares "
            "the odds of converting with and without the asset among leads of the same persona (2.0: twice the odds)."
            f" {fmt.count(m['tested'])} asset-stage pairs with at least {self.min_leads} leads who used the asset are "
            "compared."),
            Paragraph(f"{fmt.count(m['higher'])} pairs go with clearly higher conversion, {fmt.count(m['lower'])} with "
                      "clearly lower (beyond what chance would produce across this many pairs).")]
        if not len(self.pairs):
            return out
        p = self.pairs.sort_values(["q", "odds_ratio"], ascending=[True, False])
        shown = pd.DataFrame({
            "stage": p["stage"], "asset": p["content_id"], "title": p["title"],
            "used it: converted": [fmt.rate(k, n, lo, hi) for k, n, lo, hi in
                                   zip(p["touched_k"], p["touched_n"], p["touched_lo"], p["touched_hi"])],
            "comparable, did not: converted": [fmt.rate(k, n, lo, hi) for k, n, lo, hi in
                                               zip(p["comparable_k"], p["comparable_n"], p["comparable_lo"],
                                                   p["comparable_hi"])],
            "odds ratio (95% CI)": [_or_text(o, lo, hi) for o, lo, hi in
                                    zip(p["odds_ratio"], p["or_low"], p["or_high"])],
            "clear difference?": [_clear_text(q, o, self.alpha) for q, o in zip(p["q"], p["odds_ratio"])]})
        return out + [Table(shown, caption="Asset and stage pairs, clearest association first", max_rows=40)]

    def methods(self) -> list[Block]:
        m = self.metrics()
        p = self.pairs.sort_values(["q", "odds_ratio"], ascending=[True, False]).head(40) if len(self.pairs) else None
        out = [Paragraph("The odds ratio is pooled over personas (Mantel-Haenszel) with its 95% interval, and tested "
                         "with the Cochran-Mantel-Haenszel test; the p-values of all "
                         f"{fmt.count(m['tested'])} asset-stage pairs are corrected for their number "
                         f"(Benjamini-Hochberg): a pair is clear when its q-value is below {self.alpha}. Conversion "
                         "shares carry Wilson 95% intervals.")]
        if p is not None:
            out.append(Table(pd.DataFrame({"stage": p["stage"], "asset": p["content_id"],
                                           "q-value": p["q"].map(fmt.p_value)}),
                             caption="Asset and stage pairs: q-values", max_rows=40))
        return out

    def draw(self):
        """Persona-adjusted odds ratios with 95% intervals for the most used asset-stage pairs of each stage."""
        p = self.pairs.dropna(subset=["odds_ratio", "or_low", "or_high"])
        p = p[(p["odds_ratio"] > 0) & (p["or_low"] > 0) & np.isfinite(p["or_high"])]
        p = p.sort_values(["touched_n", "content_id"], ascending=[False, True]).groupby("stage").head(PER_STAGE)
        p = p.assign(o=p["stage"].map(BUYING_STAGES.index)).sort_values(["o", "odds_ratio"], ascending=[False, True])
        fig, ax = plotting.figure(size=(8.0, 0.28 * max(len(p), 4) + 1.4))
        if p.empty:
            ax.text(0.5, 0.5, f"No asset was used by {self.min_leads} or more leads at one stage",
                    ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return fig
        y = np.arange(len(p))
        clear = (p["q"] < self.alpha).to_numpy()
        ratio, lo, hi = (p[c].to_numpy() for c in ("odds_ratio", "or_low", "or_high"))
        ax.errorbar(ratio, y, xerr=np.vstack([ratio - lo, hi - ratio]), fmt="none", ecolor=plotting.COLORS["muted"])
        ax.scatter(ratio, y, color=np.where(clear, plotting.COLORS["common"], plotting.COLORS["muted"]),
                   zorder=3)
        ax.axvline(1.0, color=plotting.COLORS["ink"], lw=0.8)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(TICKS))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(min(TICKS[0], p["or_low"].min() * 0.9), max(TICKS[-1], p["or_high"].max() * 1.1))
        ax.set_yticks(y, [f"{c} at {s}" for c, s in zip(p["content_id"], p["stage"])])
        ax.set_xlabel("odds ratio of converting, used vs did not (same persona and stage)")
        ax.set_title(f"Use and conversion, {PER_STAGE} most used assets per stage (green: clear after FDR)")
        return fig


def _r(v):
    return None if v is None or not np.isfinite(v) else round(float(v), 6)


def _clear_text(q, odds_ratio, alpha: float) -> str:
    """Whether a pair's conversion clearly differs, with its direction."""
    if q is None or q != q or q >= alpha:
        return "no clear difference"
    return "yes, higher with it" if odds_ratio > 1 else "yes, lower with it"


def _or_text(o, lo, hi) -> str:
    if not np.isfinite(o):
        return fmt.NO_CASES
    ci = f"{fmt.number(lo, 2)}-{fmt.number(hi, 2)}" if np.isfinite(lo) and np.isfinite(hi) else fmt.NO_CASES
    return f"{fmt.number(o, 2)} ({ci})"


def _pooled(a: np.ndarray, n_a: np.ndarray, c: np.ndarray, n_c: np.ndarray) -> tuple[float, float, float, float]:
    """Mantel-Haenszel odds ratio over strata, its 95% interval and the CMH p-value (NaN when undefined).

    ``a`` of ``n_a`` leads who used the asset converted, ``c`` of ``n_c`` comparable leads who did not,
    one entry per persona stratum.
    """
    keep = n_c > 0
    if not keep.any():
        return np.nan, np.nan, np.nan, np.nan
    stack = np.array([[a[keep], n_a[keep] - a[keep]], [c[keep], n_c[keep] - c[keep]]], dtype=float)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        st = StratifiedTable(stack)
        ratio = float(st.oddsratio_pooled)
        lo, hi = (float(x) for x in st.oddsratio_pooled_confint())
        p = float(st.test_null_odds(correction=True).pvalue)
    return ratio, lo, hi, p


def influence(tables, inventory, choice, period, window_days: int = 90, min_leads: int = 20) -> Influence:
    """Compare conversion of leads who used each asset at a buying stage with comparable leads who did not.

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
        Needs leads, stages and activities.
    inventory : salign.content.inventory.Inventory
    choice : salign.content.personas.PersonaChoice
        The persona set; leads are compared within the same persona (label).
    period : salign.common.periods.Quarter
        Cohorts are leads that entered the stage before ``period.end - window_days``, so each had the
        full window to convert by the end of the period.
    window_days : int
        Days after entering the stage within which the use and the conversion are counted.
    min_leads : int
        Pairs with fewer leads who used the asset are not tested.
    """
    tables.require("leads", "stages", "activities")
    known = known_assets(tables, inventory)
    entered = touch_rows.entry_times(tables, ENTRY)
    label = choice.leads["label"]
    titles = inventory.assets.set_index("content_id")["title"]
    window = pd.Timedelta(days=window_days)
    early = touch_rows.uses_after_entry(tables, known, period.end, STAGE_OF, ENTRY, window_days, period.end - window,
                                        label)
    early["stratum"] = early["group"].astype(object).where(early["group"].notna(), UNASSIGNED)
    early["k"] = np.where(early["converted"].astype(bool), early["n"], 0)
    rows, cohorts = [], {}
    for stage in BUYING_STAGES:
        start = entered[stage]
        start = start[start.notna() & (start < period.end - window)]
        if start.empty:
            continue
        nxt = journey.next_entry(entered, stage).reindex(start.index)
        cohort = pd.DataFrame({"converted": (nxt.notna() & (nxt <= start + window)).astype(int),
                               "stratum": label.reindex(start.index).fillna(UNASSIGNED)})
        cohorts[stage] = (f"{start.min():%Y-%m-%d}", f"{start.max():%Y-%m-%d}", len(start))
        totals = cohort.groupby("stratum")["converted"].agg(k_all="sum", n_all="size")
        per = early[early["stage"] == stage].groupby(["content_id", "stratum"])[["k", "n"]].sum().reset_index()
        per = per.join(totals, on="stratum")
        per["c"], per["n_c"] = per["k_all"] - per["k"], per["n_all"] - per["n"]
        for cid, idx in per.groupby("content_id").indices.items():
            g = per.iloc[idx]
            k, n, c, n_c = (g[col].to_numpy() for col in ("k", "n", "c", "n_c"))
            if n.sum() < min_leads:
                continue
            ratio, lo, hi, pval = _pooled(k, n, c, n_c)
            comparable = n_c > 0
            rows.append({"stage": stage, "content_id": cid, "title": titles.get(cid), "touched_k": int(k.sum()),
                         "touched_n": int(n.sum()), "comparable_k": int(c[comparable].sum()),
                         "comparable_n": int(n_c[comparable].sum()), "odds_ratio": ratio, "or_low": lo,
                         "or_high": hi, "p": pval})
    pairs = pd.DataFrame(rows, columns=["stage", "content_id", "title", "touched_k", "touched_n", "comparable_k",
                                        "comparable_n", "odds_ratio", "or_low", "or_high", "p"])
    pairs = pairs.astype({c: float for c in ("odds_ratio", "or_low", "or_high", "p")})
    pairs = pairs.astype({c: int for c in ("touched_k", "touched_n", "comparable_k", "comparable_n")})
    ok = pairs["p"].notna()
    pairs["q"] = np.nan
    if ok.any():
        pairs.loc[ok, "q"] = benjamini_hochberg(pairs.loc[ok, "p"])[1]
    for side in ("touched", "comparable"):
        r = rates(pairs[f"{side}_k"], pairs[f"{side}_n"])
        pairs[f"{side}_lo"], pairs[f"{side}_hi"] = r["ci_low"].to_numpy(), r["ci_high"].to_numpy()
    return Influence(pairs, cohorts, window_days, min_leads)
