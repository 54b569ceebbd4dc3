"""Monitoring the signed definition of a sales-ready lead (``definitions/qualification.yaml``) on a quarter's leads.

Without a definition signed by both teams there is nothing to monitor, and the section says so.
With one, scored through the public API of :mod:`salign.qualify` (``score_leads``):

- **calibration**: leads created in the latest quarter (up to the review's) whose
  outcome window (the definition's stage and days) has closed by the cutoff, so
  every outcome is known. Predicted probabilities against what happened: Brier
  score, observed vs expected successes (a z-test of calibration in the large:
  z = (observed - sum p) / sqrt(sum p(1 - p))), and a reliability table by
  decile of predicted probability, each observed rate with its Wilson interval;
  precision and recall of ``qualified``. When that quarter's leads were part of
  the data the definition was built on, the figures are in-sample and say so;
- **drift of inputs**: for every field on the scorecard, the population
  stability index (PSI) of its bins between the leads the definition learned
  from (created before its holdout, else before its data cut-off minus the
  window) and the leads created in the review's quarter. Below 0.1 is stable,
  0.1-0.25 a moderate shift, above 0.25 a major one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from salign.common import plotting
from salign.common.facts import lead_facts
from salign.common.result import Paragraph, Result, Strong, Table
from salign.common.stats import Rate, rates
from salign.core import fmt
from salign.review import dimensions, funnel
from salign.scoring.card import Scorecard
from salign.scoring.score import score_leads
from salign.workspace.tables import MissingData

DEFINITION = "qualification.yaml"
#: PSI levels (upper bounds) and their names
PSI_LEVELS = ((0.1, "stable"), (0.25, "moderate shift"), (math.inf, "major shift"))
EPS = 1e-4


def psi(reference: np.ndarray, current: np.ndarray, n_bins: int) -> float:
    """Population stability index between two arrays of bin numbers ``0..n_bins-1``."""
    r = np.bincount(reference, minlength=n_bins) / max(len(reference), 1)
    c = np.bincount(current, minlength=n_bins) / max(len(current), 1)
    r, c = np.clip(r, EPS, None), np.clip(c, EPS, None)
    return float(((c - r) * np.log(c / r)).sum())


def psi_level(value: float) -> str:
    return next(name for bound, name in PSI_LEVELS if value < bound)


@dataclass
class QualificationMonitor(Result):
    """Calibration of the signed definition on a mature quarter, and drift of its inputs in the review's quarter."""

    version: int
    calibrated_on: str
    in_sample: bool
    observed: Rate
    expected: float
    brier: float
    calibration_p: float | None
    reliability: pd.DataFrame
    precision: Rate
    recall: Rate
    flagged: Rate
    drift: pd.DataFrame
    reference: str
    period: str
    title: str = "Monitoring the signed qualification definition"

    def metrics(self) -> dict:
        return {"version": self.version, "calibrated_on": self.calibrated_on, "in_sample": self.in_sample,
                "observed": self.observed.as_dict(), "expected": round(self.expected, 4),
                "brier": round(self.brier, 6),
                "calibration_p": None if self.calibration_p is None else round(self.calibration_p, 6),
                "precision": self.precision.as_dict(), "recall": self.recall.as_dict(),
                "qualified_share": self.flagged.as_dict(),
                "reliability": [{"mean_probability": round(float(r.mean_p), 6), **Rate(int(r.k), int(r.n)).as_dict()}
                                for r in self.reliability.itertuples()],
                "drift": {r.field: {"psi": round(float(r.psi), 6), "level": r.level} for r in self.drift.itertuples()}}

    @property
    def figure_description(self) -> str:
        return (f"Reliability diagram: for each decile of predicted probability, the observed share of the leads of "
                f"{self.calibrated_on} that succeeded, with 95% intervals, against the diagonal of perfect "
                "calibration.")

    def blocks(self) -> list:
        verdict = ("well calibrated" if self.calibration_p is None or self.calibration_p >= 0.05 else
                   "mis-calibrated (observed differs from expected beyond chance)")
        sample = ((" ", Strong("In-sample:"), " the definition learned from these leads, so this flatters it.")
                  if self.in_sample else ())
        r = self.reliability
        rel = pd.DataFrame({"predicted (mean)": [fmt.percent(x) for x in r["mean_p"]],
                            "observed": [fmt.rate(*x) for x in zip(r["k"], r["n"], r["ci_low"], r["ci_high"])]})
        d = self.drift
        drift = pd.DataFrame({"field": d["field"], "PSI": [fmt.number(x, 3) for x in d["psi"]], "level": d["level"]})
        moved = d[d["level"] != "stable"]
        drift_lead = ("No input has shifted." if moved.empty else "Inputs that shifted: "
                      + ", ".join(f"{f} ({lvl})" for f, lvl in zip(moved["field"], moved["level"])) + ".")
        return [Paragraph(f"Definition version {self.version}. Calibration on the leads created in "
                          f"{self.calibrated_on} (the latest quarter whose outcome window has closed): "
                          f"{self.observed} succeeded against {fmt.number(self.expected, 1)} expected; "
                          f"{verdict}.", *sample,
                          f" Leads it calls qualified: {self.flagged}; precision {self.precision}; recall "
                          f"{self.recall}."),
                Table(rel, caption="Reliability by decile of predicted probability"),
                Paragraph(f"{drift_lead} Reference: {self.reference}; now: leads created in {self.period}."),
                Table(drift, caption="Drift of the scorecard's inputs (PSI: how far each input's mix moved)")]

    def methods(self) -> list:
        return [Paragraph("Calibration in the large: observed against expected successes, z-test (p "
                          f"{fmt.p_value(self.calibration_p)}); mis-calibrated when p is below 0.05. Brier score "
                          f"{fmt.number(self.brier, 4)} (the mean squared error of the predicted probabilities; lower "
                          "is better). Observed shares carry Wilson 95% intervals. Drift: population stability index "
                          "(PSI) of each input between the reference and this quarter.")]

    def draw(self):
        r = self.reliability
        fig, ax = plotting.figure()
        ax.plot([0, 1], [0, 1], color=plotting.COLORS["muted"], ls="--", label="perfect calibration")
        ax.errorbar(r["mean_p"], r["rate"], yerr=plotting.rate_error(r),
                    fmt="o", color=plotting.COLORS["common"], capsize=3, label="observed (95% CI)")
        top = float(max(r["ci_high"].max(), r["mean_p"].max(), 0.05)) * 1.1
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        plotting.percent_axis(ax)
        plotting.percent_axis(ax, "x")
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed share")
        ax.set_title(f"Reliability of the signed definition, leads of {self.calibrated_on}")
        ax.legend()
        return fig


def qualification_monitor(tables, period, cutoff=None) -> QualificationMonitor:
    """Calibration of the signed definition's scores and drift of its inputs (see the module docstring).

    Raises
    ------
    MissingData
        The workspace has no ``definitions/qualification.yaml``, or it is not signed by both teams.
    """
    definition = tables.definitions.get(DEFINITION)
    if definition is None:
        raise MissingData(f"has no signed qualification definition (definitions/{DEFINITION}); monitoring starts "
                          "once marketing and sales have signed one (written by 03_qualification)")
    if not definition.signed:
        raise MissingData(f"has definitions/{DEFINITION}, but it is not signed by both marketing and sales yet")
    cutoff = funnel.cutoff_of(tables, cutoff)
    card = Scorecard.from_definition(definition)
    facts = lead_facts(tables)
    if "persona" in card.fields and "persona" not in facts.columns:
        facts["persona"] = dimensions.persona(tables, facts)
    window = pd.Timedelta(days=definition.outcome.window_days)
    q = period
    while q.end + window > cutoff:
        q = q.previous
    cohort = facts[q.contains(facts["created_at"])]
    if cohort.empty:
        raise MissingData(f"has no leads created in {q}, the latest quarter whose outcome window has closed")
    scored = score_leads(definition, cohort)
    reached = cohort[f"at_{definition.outcome.stage}"]
    y = (reached.notna() & (reached <= cohort["created_at"] + window)).to_numpy()
    p = scored["probability"].to_numpy(float)
    var = float((p * (1 - p)).sum())
    z_p = float(2 * norm.sf(abs(y.sum() - p.sum()) / math.sqrt(var))) if var > 0 else None
    decile = pd.qcut(pd.Series(p).rank(method="first"), 10, labels=False) if len(p) >= 10 else np.zeros(len(p), int)
    g = pd.DataFrame({"d": decile, "p": p, "y": y}).groupby("d").agg(mean_p=("p", "mean"), k=("y", "sum"),
                                                                     n=("y", "size"))
    reliability = pd.concat([g[["mean_p"]], rates(g["k"], g["n"])], axis=1).reset_index(drop=True)
    qualified = scored["qualified"].to_numpy(bool)
    reference_end = (pd.Timestamp(definition.evaluation.holdout_from, tz=tables.config.timezone)
                     if definition.evaluation.holdout_from is not None else
                     pd.Timestamp(definition.data.as_of, tz=tables.config.timezone) - window)
    ref = facts[facts["created_at"] < reference_end]
    now = facts[period.contains(facts["created_at"])]
    codes_ref, codes_now = card.codes(ref), card.codes(now)
    drift = pd.DataFrame([{"field": spec.field, "psi": psi(codes_ref[:, j], codes_now[:, j], spec.n_bins)}
                          for j, spec in enumerate(card.specs)])
    drift["level"] = drift["psi"].map(psi_level)
    drift = drift.sort_values("psi", ascending=False).reset_index(drop=True)
    return QualificationMonitor(
        version=definition.version, calibrated_on=str(q), in_sample=bool(q.start < reference_end),
        observed=Rate(int(y.sum()), len(y)), expected=float(p.sum()), brier=float(((p - y) ** 2).mean()),
        calibration_p=z_p, reliability=reliability, precision=Rate(int((qualified & y).sum()), int(qualified.sum())),
        recall=Rate(int((qualified & y).sum()), int(y.sum())), flagged=Rate(int(qualified.sum()), len(y)), drift=drift,
        reference=f"{len(ref):,} leads created before {reference_end:%Y-%m-%d} (what the definition learned from)",
        period=str(period))
