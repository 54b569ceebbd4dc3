"""Monitoring a signed qualification definition: calibration and input drift, recomputed by hand."""
import math

import numpy as np
import pandas as pd
import pytest

from salign.common import periods
from salign.common.facts import lead_facts
from salign.core.strictyaml import dump_yaml
from salign.report.html import result_html
from salign.review import monitoring
from salign.workspace.load import load_workspace
from salign.workspace.tables import MissingData

LEVEL_POINTS = {"Director": 12, "VP": 11, "C-level": 8, "Manager": 2, "Individual Contributor": 0}
INTERCEPT, SLOPE = -3.6, 0.12


def definition(signed: bool) -> dict:
    """A small signed definition: job level (categorical), employees (numeric) and webinar count."""
    def cat_bins():
        return ([{"points": p, "in": [v]} for v, p in LEVEL_POINTS.items()]
                + [{"points": 4, "other": True}, {"points": 4, "missing": True}])

    signer = ({"name": "Head of Marketing", "date": "2026-10-02"} if signed else {"name": None, "date": None})
    return {
        "format": 1, "version": 2, "name": "Sales-ready lead",
        "outcome": {"stage": "sql", "window_days": 90},
        "scorecard": {"points_to_double_odds": 10, "calibration": {"intercept": INTERCEPT, "slope": SLOPE,
                                                                   "fitted_on": "hand-written for a test"},
                      "features": [
                          {"field": "job_level", "kind": "categorical", "typical_points": 5.0, "bins": cat_bins()},
                          {"field": "employees", "kind": "numeric", "typical_points": 3.0, "bins": [
                              {"points": 0, "below": 200.0}, {"points": 6, "from": 200.0, "below": 2000.0},
                              {"points": 3, "from": 2000.0}, {"points": 1, "missing": True}]},
                          {"field": "n_webinar", "kind": "numeric", "typical_points": 1.0, "bins": [
                              {"points": 0, "below": 1.0}, {"points": 5, "from": 1.0}, {"points": 0, "missing": True}]},
                      ]},
        "threshold": {"score": 20, "nurture_score": 10, "why": "test"},
        "evaluation": {"split": "time", "split_note": "test", "training_leads": 1, "holdout_leads": 1,
                       "holdout_from": "2026-02-10", "base_rate": 0.1,
                       "scorecard": {"auc": 0.7, "auc_ci": [0.6, 0.8]},
                       "qualified": {"precision": 0.3, "recall": 0.6, "share_flagged": 0.3}},
        "data": {"workspace": "sample", "fingerprint": "x", "as_of": "2026-09-30", "leads": 1},
        "signatures": {"marketing": signer, "sales": signer},
    }


def with_definition(folder, signed=True):
    text = dump_yaml(definition(signed), sort_keys=False)
    text = text.replace("'2026-10-02'", "2026-10-02").replace("'2026-02-10'", "2026-02-10") \
        .replace("'2026-09-30'", "2026-09-30")
    (folder / "definitions" / "qualification.yaml").write_text(text, encoding="utf-8")
    return load_workspace(folder)


def by_hand_score(frame: pd.DataFrame) -> np.ndarray:
    out = []
    for level, emp, web in zip(frame["job_level"], frame["employees"], frame["n_webinar"]):
        s = 4 if pd.isna(level) else LEVEL_POINTS.get(level, 4)
        s += 1 if pd.isna(emp) else (0 if emp < 200 else 6 if emp < 2000 else 3)
        s += 0 if pd.isna(web) or web < 1 else 5
        out.append(s)
    return np.array(out, float)


def test_calibration_and_drift_equal_a_recomputation_by_hand(sample_copy):
    tables = with_definition(sample_copy)
    period = periods.resolve("2026Q3", tables)
    m = monitoring.qualification_monitor(tables, period)
    assert m.calibrated_on == "2026Q2" and not m.in_sample  # 2026Q3 leads have not had 90 days yet
    facts = lead_facts(tables)
    cohort = facts[(facts["created_at"] >= pd.Timestamp("2026-04-01", tz="Europe/Berlin"))
                   & (facts["created_at"] < pd.Timestamp("2026-07-01", tz="Europe/Berlin"))]
    y = (cohort["at_sql"].notna() & (cohort["at_sql"] <= cohort["created_at"] + pd.Timedelta(days=90))).to_numpy()
    p = 1 / (1 + np.exp(-(INTERCEPT + SLOPE * by_hand_score(cohort))))
    assert (m.observed.k, m.observed.n) == (int(y.sum()), len(y))
    assert m.brier == pytest.approx(((p.round(4) - y) ** 2).mean(), abs=1e-6)
    assert m.expected == pytest.approx(p.round(4).sum(), abs=1e-6)
    assert m.reliability["n"].sum() == len(y) and m.reliability["k"].sum() == y.sum()
    # PSI of job_level's bins: leads before the holdout (2026-02-10) against the leads of 2026Q3
    ref = facts[facts["created_at"] < pd.Timestamp("2026-02-10", tz="Europe/Berlin")]["job_level"]
    now = facts[(facts["created_at"] >= pd.Timestamp("2026-07-01", tz="Europe/Berlin"))]["job_level"]
    value = 0.0
    for level in list(LEVEL_POINTS) + ["(other)", "(missing)"]:
        def share(s, level=level):
            hit = s.isna() if level == "(missing)" else (~s.isin(LEVEL_POINTS) & s.notna()) if level == "(other)" \
                else s.eq(level)
            return max(hit.mean(), 1e-4)
        value += (share(now) - share(ref)) * math.log(share(now) / share(ref))
    drift = m.drift.set_index("field")
    assert drift.loc["job_level", "psi"] == pytest.approx(value, abs=1e-9)
    assert set(drift.index) == {"job_level", "employees", "n_webinar"}
    assert m.figure() is not None and "Reliability" in result_html(m)


def test_an_unsigned_definition_is_not_monitored(sample_copy):
    tables = with_definition(sample_copy, signed=False)
    with pytest.raises(MissingData, match="not signed"):
        monitoring.qualification_monitor(tables, periods.resolve("2026Q3", tables))


def test_psi_levels():
    same = np.array([0, 1, 2, 0, 1, 2])
    assert monitoring.psi(same, same, 3) == 0 and monitoring.psi_level(0.05) == "stable"
    assert monitoring.psi_level(0.2) == "moderate shift" and monitoring.psi_level(0.3) == "major shift"
