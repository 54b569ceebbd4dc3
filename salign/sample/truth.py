"""Assemble ``truth.json``: what was planted, measured on the data actually written."""

import numpy as np
import pandas as pd

from . import world
from .clock import AS_OF, AS_OF_DATE, DAY, QUARTERS, TIMEZONE, quarter_index
from .content import GAPS, SHAREABLE_TYPES, STAGES
from .definitions import PERSONA_IDS, QUALIFICATION
from .matching import RuleFrame
from .truth_customers import customer_frame, customer_truth, persona_truth
from .truth_handoff import (
    lead_handoff,
    rejection_truth,
    rep_truth,
    rounded,
    routing_truth,
    sla_truth,
    trend_truth,
)

_GRADE = {"High": 2.0, "Medium": 1.0, "Low": 0.0}


def make_truth(*, n_leads, seed, accounts, leads, features, paths, p_sql, sql_90d, opportunities, stages,
               activities, content, first):
    """Everything the analyses will be tested against, as a JSON-ready dict.

    Parameters
    ----------
    n_leads, seed : int
        Arguments of the generation.
    accounts, leads, paths, opportunities, stages, activities, content : pandas.DataFrame
        The generated frames.
    features : pandas.DataFrame
        Lead columns plus behaviour counts (see :func:`salign.sample.behaviour_features`).
    p_sql : numpy.ndarray
        True probability of sql within 90 days per lead.
    sql_90d : numpy.ndarray
        Realised sql within 90 days per lead.
    first : numpy.ndarray
        Row of each account's first lead.

    Returns
    -------
    dict
        The truth (keys documented in :mod:`salign.sample`).
    """
    customers = customer_frame(accounts, leads, opportunities, first)
    handoff = lead_handoff(leads, paths, stages, activities)
    truth = {
        "generator": {"n_leads": n_leads, "seed": seed, "n_accounts": len(accounts), "n_customers": len(customers)},
        "as_of": AS_OF_DATE,
        "timezone": TIMEZONE,
        "quarters": list(QUARTERS),
        **customer_truth(customers, accounts),
        **persona_truth(customers),
        **_qualification_truth(leads, features, paths, p_sql, sql_90d),
        **rep_truth(handoff),
        **routing_truth(handoff),
        **rejection_truth(stages, handoff),
        **sla_truth(handoff, n_leads),
        **trend_truth(handoff, stages),
        "content": _content_truth(content, activities),
        "anomalies": _anomalies(stages),
        "key_accounts": _key_accounts(accounts, opportunities),
        "pii": {"columns": ["email", "phone", "first_name", "last_name"],
                "stage_reasons_with_email": int(stages["reason"].str.contains("@", regex=False).sum())},
    }
    return truth


def auc(score, outcome):
    """Area under the ROC curve (ties count one half).

    Parameters
    ----------
    score : numpy.ndarray
        Scores, higher meaning more likely positive.
    outcome : numpy.ndarray
        Boolean outcomes.

    Returns
    -------
    float or None
        The AUC, or None when one class is empty.
    """
    outcome = np.asarray(outcome, bool)
    positives, negatives = int(outcome.sum()), int((~outcome).sum())
    if not positives or not negatives:
        return None
    ranks = pd.Series(score).rank(method="average").to_numpy()
    return round(float((ranks[outcome].sum() - positives * (positives + 1) / 2) / (positives * negatives)), 4)


def _qualification_truth(leads, features, paths, p_sql, sql_90d):
    recent = quarter_index(leads["t0"].to_numpy()) >= len(QUARTERS) - 2
    rules, frame = {}, RuleFrame(features)
    for team, spec in QUALIFICATION.items():
        flagged = frame.mask(spec["rule"])
        hits = int((flagged & sql_90d).sum())
        rules[team] = {"name": spec["name"], "weakness": spec["weakness"], "share_flagged": rounded(flagged.mean()),
                       "recall": rounded(hits / max(int(sql_90d.sum()), 1)),
                       "precision": rounded(hits / max(int(flagged.sum()), 1))}
    grade = paths["lead_quality"].map(_GRADE).fillna(-1.0).to_numpy()
    return {
        "sql_model": {
            "target": "sql_90d: the lead has an sql stage within 90 days of created_at (observed by as_of)",
            "intercept": world.SQL_INTERCEPT,
            "coefficients": world.SQL_COEFFICIENTS,
            "terms": "logit(p_sql) = intercept + job_level + employees_band (lead employees; 'missing' when "
                     "empty) + industry ('other' when not listed) + source + sum over marketing types of "
                     "coefficient x log1p(n_<type>) + created_in_second_year (created_at on or after "
                     "2025-10-01 Europe/Berlin); n_<type> counts marketing activities before the first mql, "
                     "or in the 30 days after created_at for leads never mql'd",
            "base_rate": rounded(sql_90d.mean()),
            "base_rate_by_year": {"first_year": rounded(sql_90d[~_second(leads)].mean()),
                                  "second_year": rounded(sql_90d[_second(leads)].mean())},
        },
        "best_auc": {"overall": auc(p_sql, sql_90d), "last_2_quarters": auc(p_sql[recent], sql_90d[recent])},
        "leak_columns": ["lead_quality"],
        "leak_timestamps": {"lead_quality": "lead_quality_set_at"},
        "leak_auc": auc(grade, sql_90d),
        "qualification_rules": rules,
    }


def _second(leads):
    return quarter_index(leads["t0"].to_numpy()) >= 4


def _content_truth(content, activities):
    current = content["updated_at"] >= AS_OF - world.STALE_AFTER_DAYS * DAY
    cells = set()
    for personas, stage in zip(content.loc[current, "personas"], content.loc[current, "stage"]):
        cells.update((p, stage) for p in personas.split(";") if p and stage)
    gaps = [[p, s] for p in PERSONA_IDS for s in STAGES if (p, s) not in cells]
    if sorted(map(tuple, gaps)) != sorted(GAPS):
        raise RuntimeError(f"content gaps {gaps} differ from the planted {GAPS}")
    used = activities.loc[activities["content_id"].notna(), ["content_id", "team"]]
    usage = used.groupby(["content_id", "team"], observed=True).size().unstack(fill_value=0)
    usage.index, usage.columns = usage.index.astype(object), usage.columns.astype(object)
    usage = usage.reindex(columns=["marketing", "sales"], fill_value=0)
    one_team = usage[(usage > 0).sum(axis=1) == 1]
    kinds = content.set_index("content_id")["type"]
    lost = {cid: ("marketing" if row["marketing"] else "sales") for cid, row in one_team.iterrows()
            if kinds[cid] in SHAREABLE_TYPES}
    ids = content["content_id"]
    return {
        "gaps": gaps,
        "stale": sorted(ids[~current]),
        "unused": sorted(set(ids) - set(usage.index)),
        "unclassified": sorted(ids[(content["personas"] == "") | (content["stage"] == "")]),
        "stale_after_days": world.STALE_AFTER_DAYS,
        "lost": dict(sorted(lost.items())),
        "shareable_types": list(SHAREABLE_TYPES),
        "usage_by_team": {cid: {"marketing": int(r["marketing"]), "sales": int(r["sales"])}
                          for cid, r in usage.sort_index().iterrows()},
        "definitions": "current = updated_at within stale_after_days of as_of; a gap is a persona x stage cell "
                       "(personas of both teams' files, stages awareness/consideration/decision) with no current "
                       "asset; unused = referenced by no activity; unclassified = no persona or no stage; lost = "
                       "a shareable asset used by one team only",
    }


def _anomalies(stages):
    lead, stage = stages["lead"].to_numpy(), stages["stage"].to_numpy()

    def leads_at(name):
        return np.unique(lead[stage == name])

    mql_rows = np.bincount(lead[stage == "mql"])
    return {
        "sql_without_sal": int(np.isin(leads_at("sql"), leads_at("sal"), invert=True).sum()),
        "opportunity_without_sql": int(np.isin(leads_at("opportunity"), leads_at("sql"), invert=True).sum()),
        "mql_reentries": int((mql_rows > 1).sum()),
        "n_mql_leads": int((mql_rows > 0).sum()),
    }


def _key_accounts(accounts, opportunities):
    key = (accounts["tier"] == "key").to_numpy()
    account, outcome = opportunities["account"].to_numpy(), opportunities["outcome"].to_numpy()
    won = np.zeros(len(accounts), bool)
    lost = np.zeros(len(accounts), bool)
    won[account[outcome == "won"]] = True
    lost[account[outcome == "lost"]] = True
    ids = accounts["account_id"].to_numpy()
    return {"n": int(key.sum()), "share": rounded(key.mean()), "won": ids[key & won].tolist(),
            "lost_only": ids[key & lost & ~won].tolist()}
