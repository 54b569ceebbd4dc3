"""Truth about customers: segments, value, best/worst markers and the teams' personas."""

import numpy as np
import pandas as pd

from . import world
from .definitions import PERSONAS
from .matching import rule_mask


def customer_frame(accounts, leads, opportunities, first):
    """One row per customer (account with a won opportunity) with the attributes analyses use.

    Parameters
    ----------
    accounts : pandas.DataFrame
        Settled accounts.
    leads : pandas.DataFrame
        Generated leads.
    opportunities : pandas.DataFrame
        Generated opportunities.
    first : numpy.ndarray
        Row of each account's first lead.

    Returns
    -------
    pandas.DataFrame
        Account firmographics, the first lead's ``source``, ``job_level``, ``department``
        and ``campaign``, ``won_revenue``, ``value`` (won revenue x gross margin) and
        ``churned``; sorted by account id.
    """
    won = opportunities[opportunities["outcome"] == "won"].groupby("account")["amount"].sum()
    rows = won.index.to_numpy()
    frame = accounts.iloc[rows][["account_id", "segment", "industry", "employees", "annual_revenue", "region",
                                 "country", "tier", "gross_margin", "churned_at"]].reset_index(drop=True)
    lead = first[rows]
    for column in ("source", "job_level", "department", "campaign"):
        frame[column] = leads[column].to_numpy()[lead]
    frame["won_revenue"] = won.to_numpy()
    frame["value"] = frame["won_revenue"] * frame["gross_margin"]
    frame["churned"] = frame["churned_at"].notna()
    frame["segment"] = np.array(world.SEGMENT_NAMES, dtype=object)[frame["segment"].to_numpy()]
    return frame


def customer_truth(customers, accounts):
    """Segments, their profiles and value, best and worst customers, markers and the conjunction.

    Parameters
    ----------
    customers : pandas.DataFrame
        Output of :func:`customer_frame`.
    accounts : pandas.DataFrame
        Settled accounts.

    Returns
    -------
    dict
        Truth entries (see the package documentation for their meaning).
    """
    k = int(round(world.EXTREME_SHARE * len(customers)))
    order = np.lexsort((customers["account_id"].to_numpy(), -customers["value"].to_numpy()))
    best = np.zeros(len(customers), bool)
    worst = np.zeros(len(customers), bool)
    best[order[:k]] = True
    worst[order[len(order) - k:]] = True
    ids = customers["account_id"].to_numpy()
    return {
        "value_definition": "value = won_revenue x gross_margin, where won_revenue is the sum of the amounts of "
                            "the account's won opportunities; customers are accounts with at least one won "
                            "opportunity; best/worst = top/bottom 20% of customers by value",
        "segments": dict(zip(ids.tolist(), customers["segment"].tolist())),
        "segment_profiles": _profiles(customers, accounts),
        "best_segment": world.BEST_SEGMENT,
        "unprofitable_segment": world.UNPROFITABLE_SEGMENT,
        "best_customers": sorted(ids[best].tolist()),
        "worst_customers": sorted(ids[worst].tolist()),
        "best_markers": [_marker(c, s, customers, best) for c, s in world.BEST_MARKERS],
        "worst_markers": [_marker(c, s, customers, worst) for c, s in world.WORST_MARKERS],
        "noise_attributes": list(world.NOISE_ATTRIBUTES),
        "conjunction": _conjunction(customers, best, worst),
    }


def _profiles(customers, accounts):
    profiles = {}
    for index, spec in enumerate(world.SEGMENTS):
        group = customers[customers["segment"] == spec["name"]]
        profiles[spec["name"]] = {
            "description": spec["description"],
            "value_level": spec["value_level"],
            "industry_mix": spec["industry_mix"],
            "employees": list(spec["employees"]),
            "revenue_per_employee": spec["revenue_per_employee"],
            "first_lead_source_mix": spec["source"],
            "first_lead_job_level_mix": spec["job_level"],
            "first_lead_department_mix": spec["department"],
            "gross_margin_intended": spec["gross_margin"][0],
            "churn_rate_intended": spec["churn_rate"],
            "n_accounts": int((accounts["segment"] == index).sum()),
            "n_customers": len(group),
            "revenue_per_customer": _round(group["won_revenue"].mean()),
            "gross_margin_mean": _round(group["gross_margin"].mean(), 3),
            "churn_share": _round(group["churned"].mean(), 3),
            "value_per_customer": _round(group["value"].mean()),
        }
    return profiles


def _round(value, digits=0):
    if pd.isna(value):
        return None
    return round(float(value), digits) if digits else int(round(float(value)))


def _marker(condition, sign, customers, extreme):
    mask = rule_mask(condition, customers)
    return {"condition": condition, "sign": sign, "n": int(mask.sum()),
            "share_with": _round(extreme[mask].mean(), 3) if mask.any() else None,
            "share_without": _round(extreme[~mask].mean(), 3) if (~mask).any() else None}


def _conjunction(customers, best, worst):
    def stats(rule):
        mask = rule_mask(rule, customers)
        return {"rule": rule, "n": int(mask.sum()),
                "share_best": _round(best[mask].mean(), 3) if mask.any() else None,
                "share_worst": _round(worst[mask].mean(), 3) if mask.any() else None}

    return {"description": "software companies with 200-2,000 employees whose first lead came from an event; "
                           "separates best from worst (share_best - share_worst) better than any of its parts",
            **stats({"all": list(world.CONJUNCTION)}),
            "parts": [stats(part) for part in world.CONJUNCTION]}


def persona_truth(customers):
    """Which segments each persona covers, and what each team's persona set gets right and wrong.

    Parameters
    ----------
    customers : pandas.DataFrame
        Output of :func:`customer_frame`.

    Returns
    -------
    dict
        ``persona_coverage`` and ``team_personas`` entries.
    """
    coverage, teams = {}, {}
    for team, personas in PERSONAS.items():
        team_mask = np.zeros(len(customers), bool)
        for persona in personas:
            mask = rule_mask(persona["rule"], customers)
            team_mask |= mask
            shares = _segment_shares(customers, mask)
            coverage[persona["id"]] = {"team": team, "share_by_segment": shares,
                                       "segments": [s for s, v in shares.items() if v >= world.COVERAGE_THRESHOLD]}
        covered = [s for s, v in _segment_shares(customers, team_mask).items() if v >= world.COVERAGE_THRESHOLD]
        teams[team] = {"covered": covered,
                       "right": [s for s in covered if s in world.VALUABLE_SEGMENTS],
                       "wrong": [s for s in covered if s not in world.VALUABLE_SEGMENTS],
                       "missed": [s for s in world.VALUABLE_SEGMENTS if s not in covered]}
    return {"persona_coverage": coverage, "team_personas": teams,
            "valuable_segments": list(world.VALUABLE_SEGMENTS),
            "coverage_threshold": world.COVERAGE_THRESHOLD}


def _segment_shares(customers, mask):
    segment = customers["segment"].to_numpy()
    return {name: _round(mask[segment == name].mean(), 3) if (segment == name).any() else 0.0
            for name in world.SEGMENT_NAMES}
