"""The score threshold that meets the SLA (or, without one, a stated default), and the trade-off at every threshold.

``sla.yaml`` says how many sales-ready leads marketing commits to per quarter and which share
of them sales expects to accept. Policy: the threshold is the highest score that still delivers
the committed volume at the recent lead inflow (so marketing can keep its commitment with the
best leads it has); sales' acceptance expectation is then checked at that threshold, and when
it is missed the report names the threshold that would meet it and the volume that leaves.

Without ``sla.yaml`` (or without creation dates to measure the inflow) a definition is still
proposed: the threshold is then the score that best separates the leads that succeed from those
that do not on the holdout (the largest Youden's J, the share of successes that pass minus the
share of failures that pass: a missed success and a wasted contact weigh the same, each relative
to its group); the page names the SLA setting that would replace it.

Each threshold's figures come from the holdout leads: share scoring at least the threshold,
success rate, acceptance (reached ``sal`` or a later stage within the window) and wins (won by
the data cut-off), scaled to a quarter's inflow.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.common import plotting
from salign.common.facts import recorded_stages
from salign.common.result import Paragraph, Result, Strong, Table
from salign.common.stats import Rate
from salign.core import fmt
from salign.qualify.target import MIN_CREATION_DAYS
from salign.workspace.tables import MissingData

#: a lead was handed to sales when it reached one of these; sales accepted it when it reached one of ACCEPTED
HANDED_OVER = ("mql", "sal", "sql", "opportunity", "won", "rejected")
ACCEPTED = ("sal", "sql", "opportunity", "won")
#: the nurture band reaches down to the threshold that yields this many times the committed volume
NURTURE_FACTOR = 2
#: inflow is measured over this many days before the data cut-off
INFLOW_DAYS = 365
DAYS_PER_QUARTER = 365.25 / 4
#: the trade-off table shows the thresholds where the share of leads passing crosses these steps
SHARE_STEPS = np.arange(0.05, 1.0001, 0.05)
#: how the threshold was chosen: from sla.yaml, or by the default rule (Youden's J) when there is no SLA to apply
BY_SLA, BY_DEFAULT = "sla", "youden"


@dataclass
class ThresholdChoice(Result):
    """The chosen threshold and the holdout trade-off table (one row per distinct score)."""

    table: pd.DataFrame
    chosen: int
    nurture: int
    commitment: int | None
    expected_acceptance: float | None
    inflow: float | None
    acceptance_measured: bool
    title: str = "A threshold that meets the SLA"
    chosen_by: str = BY_SLA
    #: why the SLA could not set the threshold (chosen_by == BY_DEFAULT)
    no_sla: str = ""
    figure_description = ("Sales-ready leads per quarter at every score threshold against marketing's commitment, "
                          "with the success rate (and, where measured, sales' acceptance) of the leads that pass, "
                          "and the chosen threshold marked.")

    def row(self, score: int) -> pd.Series:
        return self.table.loc[self.table["score"] == score].iloc[0]

    @property
    def acceptance_threshold(self) -> int | None:
        """The lowest threshold (most leads) whose acceptance meets sales' expectation, if any."""
        if not self.acceptance_measured or self.expected_acceptance is None:
            return None
        ok = self.table[(self.table["accepted_rate"] >= self.expected_acceptance) & (self.table["handed"] >= 20)]
        return None if ok.empty else int(ok["score"].min())

    def _rate(self, r: pd.Series, col: str, of: str = "n") -> Rate:
        return Rate(int(r[col]), int(r[of]))

    def why(self) -> str:
        if self.chosen_by == BY_DEFAULT:
            return self._why_default()
        r = self.row(self.chosen)
        out = (f"At {self.chosen} points or more, {fmt.percent(r['share'], 0)} of leads qualify: about "
               f"{fmt.number(r['volume'])} per quarter at the recent inflow of {fmt.number(self.inflow)} leads, "
               f"against marketing's commitment of {fmt.count(self.commitment)}.")
        if r["volume"] < self.commitment:
            out += " Even every lead would not meet the commitment; the commitment needs to change."
        if self.acceptance_measured:
            acc = self._rate(r, "accepted", "handed")
            met = (acc.value or 0) >= self.expected_acceptance
            out += (f" Of such leads handed to sales in the past, sales accepted {fmt.percent(acc.value, 0)}, "
                    f"{'meeting' if met else 'short of'} the {fmt.percent(self.expected_acceptance, 0)} they expect.")
            alt = self.acceptance_threshold
            if not met and alt is not None:
                out += (f" {alt} points would meet it but yields only about {fmt.number(self.row(alt)['volume'])} "
                        f"leads per quarter: the two commitments conflict and need to be settled together.")
            elif not met:
                out += " No threshold meets it on this data."
        else:
            out += (" The data do not record both the handoff to sales and sales' acceptance of a lead, so sales' "
                    "expected acceptance cannot be checked.")
        return out

    def _why_default(self) -> str:
        """The default rule, its result and the SLA setting that would replace it."""
        r = self.row(self.chosen)
        successes, failures = int(self.table["k"].max()), int(self.table["n"].max() - self.table["k"].max())
        passed = Rate(int(r["k"]), successes)
        wasted = Rate(int(r["n"] - r["k"]), failures)
        out = (f"No SLA sets this threshold: {self.no_sla}. By default the threshold is the score that best "
               f"separates the leads that succeed from those that do not: at {self.chosen} points or more "
               f"{fmt.percent(passed.value, 0)} of the holdout's successes pass ({fmt.count(passed.k)} of "
               f"{fmt.count(passed.n)}) and {fmt.percent(wasted.value, 0)} of its failures do "
               f"({fmt.count(wasted.k)} of {fmt.count(wasted.n)}), the largest difference of any threshold; "
               f"{fmt.percent(r['share'], 0)} of leads qualify")
        if self.inflow is not None:
            out += (f", about {fmt.number(r['volume'])} per quarter at the recent inflow of "
                    f"{fmt.number(self.inflow)} leads. Setting marketing's sales_ready_leads_per_quarter in "
                    f"definitions/sla.yaml would change it: the threshold becomes the highest score that delivers "
                    f"the committed volume, so a commitment above {fmt.number(r['volume'])} leads per quarter lowers "
                    f"it and one below raises it; sales' expected_acceptance_rate is then checked at it.")
        else:
            out += (". Without creation dates the leads per quarter cannot be measured, so marketing's "
                    "sales_ready_leads_per_quarter in definitions/sla.yaml cannot set it until the leads carry "
                    "their creation dates.")
        return out

    def metrics(self) -> dict:
        r = self.row(self.chosen)
        alt = self.acceptance_threshold
        out = {"threshold": self.chosen, "nurture_threshold": self.nurture, "commitment_per_quarter": self.commitment,
               "inflow_per_quarter": _round(self.inflow, 1), "volume_per_quarter": _round(r["volume"], 1),
               "share_qualified": round(float(r["share"]), 6), "precision": self._rate(r, "k").as_dict(),
               "accepted": self._rate(r, "accepted", "handed").as_dict() if self.acceptance_measured else None,
               "expected_acceptance": self.expected_acceptance,
               "wins_per_quarter": _round(r["wins_per_quarter"], 1),
               "volume_met": None if self.commitment is None else bool(r["volume"] >= self.commitment),
               "acceptance_met": (bool(r["accepted_rate"] >= self.expected_acceptance)
                                  if self.acceptance_measured and self.expected_acceptance is not None else None),
               "acceptance_threshold": alt}
        if self.chosen_by != BY_SLA:  # (the key is absent under an SLA: those metrics stay as they were)
            out["chosen_by"] = self.chosen_by
        return out

    def headline(self) -> dict:
        return {"qualification_threshold": self.chosen}

    def shown(self) -> pd.DataFrame:
        t = self.table
        picks = {int(t.loc[(t["share"] - s).abs().idxmin(), "score"]) for s in SHARE_STEPS} | {self.chosen}
        if self.acceptance_threshold is not None:
            picks.add(self.acceptance_threshold)
        rows = t[t["score"].isin(picks)].sort_values("score", ascending=False)
        out = pd.DataFrame({
            "threshold (points)": [f"{s} ◀ chosen" if s == self.chosen else str(s) for s in rows["score"]],
            "share of leads": [fmt.percent(x, 0) for x in rows["share"]],
            "leads per quarter": [fmt.number(x) for x in rows["volume"]],
            "success rate": [str(Rate(int(k), int(n))) for k, n in zip(rows["k"], rows["n"])],
            "wins per quarter": [fmt.number(x, 1) for x in rows["wins_per_quarter"]]})
        if self.acceptance_measured:
            out.insert(4, "accepted by sales (of those handed over)",
                       [str(Rate(int(a), int(h))) for a, h in zip(rows["accepted"], rows["handed"])])
        if self.inflow is None:  # no creation dates: nothing can be scaled to a quarter
            out = out.drop(columns=["leads per quarter", "wins per quarter"])
        return out

    def methods(self) -> list:
        if self.chosen_by != BY_DEFAULT:
            return []
        r = self.row(self.chosen)
        successes, failures = int(self.table["k"].max()), int(self.table["n"].max() - self.table["k"].max())
        j = int(r["k"]) / successes - int(r["n"] - r["k"]) / failures if successes and failures else float("nan")
        return [Paragraph("Without an SLA the threshold maximises Youden's J on the holdout leads: the share of "
                          f"successes that pass minus the share of failures that pass ({fmt.number(j, 2)} at "
                          f"{self.chosen} points); ties go to the higher score.")]

    def blocks(self) -> list:
        return [Paragraph(Strong(self.why())),
                Paragraph(f"Leads from {self.nurture} points up to the threshold are the nurture band: the next best "
                          "leads, about as many again as the sales-ready ones."),
                Table(self.shown(), caption="Trade-off on the holdout leads" + (
                    ", scaled to a quarter's inflow" if self.inflow is not None else ""))]

    def draw(self):
        fig, ax = plotting.figure(size=(8.0, 4.6))
        t = self.table
        if self.inflow is not None:
            ax.plot(t["score"], t["volume"], color=plotting.COLORS["marketing"], label="sales-ready leads per quarter")
            ylabel = "leads per quarter"
        else:
            ax.plot(t["score"], t["share"], color=plotting.COLORS["marketing"], label="share of leads qualifying")
            ylabel = "share of holdout leads"
            plotting.percent_axis(ax)
        if self.commitment is not None:
            ax.axhline(self.commitment, color=plotting.COLORS["marketing"], ls=":", label="marketing's commitment")
        ax.axvline(self.chosen, color=plotting.COLORS["ink"], ls="--", lw=1, label=f"threshold {self.chosen}")
        ax.set(xlabel="threshold (points)", ylabel=ylabel, title="Volume and quality by threshold")
        right = ax.twinx()
        right.plot(t["score"], t["k"] / t["n"], color=plotting.COLORS["common"], label="success rate")
        if self.acceptance_measured:
            right.plot(t["score"], t["accepted_rate"], color=plotting.COLORS["sales"], label="accepted by sales")
        if self.acceptance_measured and self.expected_acceptance is not None:
            right.axhline(self.expected_acceptance, color=plotting.COLORS["sales"], ls=":",
                          label="acceptance sales expects")
        right.set_ylim(0, 1)
        right.set_ylabel("share of qualified leads")
        plotting.percent_axis(right)
        right.grid(False)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = right.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8)
        return fig


def inflow_per_quarter(tables) -> float:
    """Leads created per quarter over the last :data:`INFLOW_DAYS` before the data cut-off."""
    created = tables.leads["created_at"]
    if created.dt.normalize().nunique() < MIN_CREATION_DAYS:
        raise MissingData("has no usable creation dates, so the leads per quarter (and the threshold that "
                          "delivers the SLA volume) cannot be measured")
    start = tables.as_of - pd.Timedelta(days=INFLOW_DAYS)
    span = min(INFLOW_DAYS, (tables.as_of - created.min()).days)
    return float((created >= start).sum()) * DAYS_PER_QUARTER / max(span, 1)


def _round(x, digits: int):
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def youden(table: pd.DataFrame) -> int:
    """The threshold of :func:`trade_off`'s table with the largest share of successes passing minus share of
    failures passing (Youden's J); ties go to the higher score (fewer leads for sales to contact)."""
    k, n = table["k"].max(), table["n"].max()
    j = table["k"] / max(k, 1) - (table["n"] - table["k"]) / max(n - k, 1)
    best = j.max()
    return int(table.loc[np.isclose(j, best), "score"].max())


def trade_off(score: np.ndarray, y: np.ndarray, handed: np.ndarray, accepted: np.ndarray, won: np.ndarray,
              inflow: float | None) -> pd.DataFrame:
    """Per distinct score ``s``: holdout leads scoring at least ``s`` and scaled figures.

    Columns: n, k (successes), handed (handed to sales), accepted (of those handed), won, share,
    volume (per quarter), accepted_rate (accepted / handed), wins_per_quarter (volume and wins are NaN
    when the ``inflow`` is unknown).
    """
    inflow = np.nan if inflow is None else inflow
    frame = pd.DataFrame({"score": score, "k": y, "handed": handed, "accepted": accepted & handed, "won": won,
                          "n": 1})
    per = frame.groupby("score").sum().sort_index(ascending=False).cumsum()
    per = per.reset_index()
    total = len(score)
    per["share"] = per["n"] / total
    per["volume"] = per["share"] * inflow
    per["accepted_rate"] = per["accepted"] / per["handed"].where(per["handed"] > 0)
    per["wins_per_quarter"] = per["won"] / total * inflow
    return per.sort_values("score").reset_index(drop=True)


def choose_threshold(tables, data, fit) -> ThresholdChoice:
    """Choose the threshold from ``sla.yaml``, or by the default rule without one (see the module docstring).

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
        For ``sla.yaml`` and the lead inflow.
    data : salign.qualify.dataset.Dataset
    fit : salign.qualify.scorecard.ScorecardFit
    """
    try:
        sla = tables.definition("sla.yaml")
    except MissingData:
        sla = None
    try:
        inflow = inflow_per_quarter(tables)
    except MissingData:
        inflow = None
    holdout = data.facts[data.test]
    window = holdout["created_at"] + pd.Timedelta(days=data.window_days)
    def reached(stages):
        hit = np.zeros(len(holdout), dtype=bool)
        for col in (f"at_{s}" for s in stages):
            hit |= (holdout[col].notna() & (holdout[col] <= window)).to_numpy()
        return hit

    # acceptance is measured when the history records MQLs and SALs (at_* follow the funnel's rule for
    # "reached", so a lead won without a SAL event has an at_sal: that is not a recorded acceptance)
    measured = {"mql", "sal"} <= set(recorded_stages(tables))
    won = holdout["at_won"].notna().to_numpy()
    table = trade_off(fit.score, data.y[data.test], reached(HANDED_OVER), reached(ACCEPTED), won, inflow)
    if sla is None or inflow is None:
        chosen = youden(table)
        why = ("the workspace has no definitions/sla.yaml" if sla is None else
               "the leads carry no usable creation dates, so the leads per quarter that sla.yaml commits to "
               "cannot be measured")
        commitment = None if sla is None else sla.marketing.quarterly_volume
        expected = None if sla is None else sla.sales.expected_acceptance_rate
        passing = int(table.loc[table["score"] == chosen, "n"].iloc[0])
        wider = table[table["n"] >= NURTURE_FACTOR * passing]
        nurture = min(int(wider["score"].max()) if not wider.empty else int(table["score"].min()), chosen)
        return ThresholdChoice(table, chosen, nurture, commitment, expected, inflow, measured,
                               title="A threshold chosen without an SLA", chosen_by=BY_DEFAULT, no_sla=why)
    commitment = sla.marketing.quarterly_volume
    meets = table[table["volume"] >= commitment]
    chosen = int(meets["score"].max()) if not meets.empty else int(table["score"].min())
    wider = table[table["volume"] >= NURTURE_FACTOR * commitment]
    nurture = min(int(wider["score"].max()) if not wider.empty else int(table["score"].min()), chosen)
    return ThresholdChoice(table, chosen, nurture, commitment, sla.sales.expected_acceptance_rate, inflow, measured)
