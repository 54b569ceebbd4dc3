"""Truth about the handoff: reps' follow-up, rejections, SLA attainment per quarter, the trend."""

import numpy as np
import pandas as pd

from . import world
from .clock import AS_OF, DAY, HOUR, QUARTERS, quarter_index
from .definitions import sales_ready_target

FIRST_YEAR, SECOND_YEAR = QUARTERS[:4], QUARTERS[4:]


def lead_handoff(leads, paths, stages, activities):
    """Per-lead handoff facts as the analyses will measure them from the tables.

    Parameters
    ----------
    leads : pandas.DataFrame
        Generated leads.
    paths : pandas.DataFrame
        Funnel paths (for the owner).
    stages : pandas.DataFrame
        Output of :func:`salign.sample.stages.make_stages`.
    activities : pandas.DataFrame
        Output of :func:`salign.sample.activities.make_activities`.

    Returns
    -------
    pandas.DataFrame
        One row per lead: ``first_mql``, ``first_route`` (first assignment to a rep) and
        ``first_follow_up`` (first sales call/email/meeting), the latter two at or after
        the first MQL (epoch seconds, NaN when absent); ``sql_at`` (first sql);
        ``quarter`` of the first MQL (index into QUARTERS); ``owner`` (rep index, -1
        none) and ``complete`` (all handoff fields present).
    """
    n = len(leads)
    first_mql = _first(stages, "mql", n)
    kind = activities["type"]
    routes = ((kind == "assignment") & (activities["actor"] != "queue")).to_numpy()
    complete = np.logical_and.reduce([leads[f].notna().to_numpy() for f in world.SLA["min_fields_at_handoff"]])
    return pd.DataFrame({"first_mql": first_mql, "first_route": _first_after(activities[routes], first_mql),
                         "first_follow_up": _first_after(activities[kind.isin(world.FOLLOW_UP_TYPES).to_numpy()], first_mql),
                         "sql_at": _first(stages, "sql", n),
                         "quarter": np.where(np.isnan(first_mql), -1, quarter_index(first_mql)),
                         "owner": paths["rep"].to_numpy(), "complete": complete})


def _first_after(activities, start):
    """Per lead, the first of the given activities at or after ``start`` (NaN when none)."""
    lead, at = activities["lead"].to_numpy(), activities["at"].to_numpy().astype(float)
    after = at >= start[lead]
    first = pd.Series(at[after]).groupby(lead[after]).min()
    out = np.full(len(start), np.nan)
    out[first.index.to_numpy()] = first.to_numpy()
    return out


def _first(stages, stage, n):
    rows = stages[stages["stage"] == stage].groupby("lead")["at"].min()
    out = np.full(n, np.nan)
    out[rows.index.to_numpy()] = rows.to_numpy()
    return out


def sla_truth(handoff, n_leads):
    """SLA measures per quarter and the misses they imply.

    Parameters
    ----------
    handoff : pandas.DataFrame
        Output of :func:`lead_handoff`.
    n_leads : int
        Number of leads (sets the volume commitment).

    Returns
    -------
    dict
        ``sla_measures`` and ``sla_misses`` entries.
    """
    target = sales_ready_target(n_leads)
    sla = world.SLA
    measures, misses = {}, {}
    for index, label in enumerate(QUARTERS):
        group = handoff[handoff["quarter"] == index]
        eligible = group[group["first_mql"] + sla["max_hours_to_first_follow_up"] * HOUR <= AS_OF]
        hours = (eligible["first_follow_up"] - eligible["first_mql"]) / HOUR
        within = int((hours <= sla["max_hours_to_first_follow_up"]).sum())
        attainment = within / len(eligible) if len(eligible) else None
        complete = float(group["complete"].mean()) if len(group) else None
        measures[label] = {"sales_ready_leads": len(group), "sales_ready_target": target,
                           "min_fields_share": rounded(complete), "follow_up_eligible": len(eligible),
                           "followed_up_within_sla": within, "follow_up_attainment": rounded(attainment)}
        misses[label] = [name for name, missed in (
            ("marketing_volume", len(group) < target),
            ("marketing_min_fields", complete is not None and complete < sla["min_fields_share_target"]),
            ("sales_follow_up", attainment is not None and attainment < sla["follow_up_attainment_target"]),
        ) if missed]
    definitions = {
        "quarter": "quarter (Europe/Berlin) of each lead's first mql",
        "marketing_volume": "sales_ready_leads (leads whose first mql falls in the quarter) < "
                            "sales_ready_leads_per_quarter",
        "marketing_min_fields": "share of those leads with every min_fields_at_handoff column non-empty < "
                                "min_fields_share_target",
        "sales_follow_up": "among those leads whose first mql + max_hours_to_first_follow_up <= as_of, share with a "
                           "sales call/email/meeting within max_hours_to_first_follow_up of the first mql (never "
                           "followed up counts as a miss) < follow_up_attainment_target",
    }
    return {"sla_measures": measures, "sla_misses": misses, "sla_definitions": definitions}


def rounded(value, digits=4):
    """A float rounded for the truth file; None for None or NaN.

    Parameters
    ----------
    value : float or None
        The number.
    digits : int, default 4
        Decimals kept.

    Returns
    -------
    float or None
        The rounded number.
    """
    return None if value is None or pd.isna(value) else round(float(value), digits)


def rep_truth(handoff):
    """Each rep's intended and realised follow-up behaviour.

    Parameters
    ----------
    handoff : pandas.DataFrame
        Output of :func:`lead_handoff`.

    Returns
    -------
    dict
        ``reps`` and ``slow_reps`` entries.
    """
    mqls = handoff[~np.isnan(handoff["first_mql"].to_numpy())]
    hours = (mqls["first_follow_up"] - mqls["first_mql"]) / HOUR
    year = np.where(mqls["quarter"].to_numpy() >= 4, "second_year", "first_year")
    reps = {}
    for index, rep in enumerate(world.REPS):
        mine = (mqls["owner"] == index).to_numpy()
        kind = "slow" if rep in world.SLOW_REPS else "normal"
        reps[rep] = {
            "median_hours_intended": world.REP_MEDIAN_HOURS[index],
            "never_followed_up_share_intended": dict(zip(("first_year", "second_year"),
                                                         world.NEVER_FOLLOWED_UP[kind])),
            "n_mqls": int(mine.sum()),
            "median_hours": {y: rounded(hours[mine & (year == y)].median(), 2) for y in ("first_year", "second_year")},
            "never_followed_up_share": rounded(hours[mine].isna().mean()),
        }
    return {"reps": reps, "slow_reps": list(world.SLOW_REPS), "follow_up_pace_by_quarter":
            dict(zip(QUARTERS, world.FOLLOW_UP_PACE))}


def routing_truth(handoff):
    """Routing of first MQLs to a rep per year: share routed at all and within the handoff limit.

    Parameters
    ----------
    handoff : pandas.DataFrame
        Output of :func:`lead_handoff`.

    Returns
    -------
    dict
        The ``routing`` entry.
    """
    limit = world.HANDOFF["max_hours_to_route"]
    mqls = handoff[handoff["quarter"].between(0, len(QUARTERS) - 1)]
    hours = ((mqls["first_route"] - mqls["first_mql"]) / HOUR).to_numpy()
    eligible = (mqls["first_mql"] + limit * HOUR <= AS_OF).to_numpy()
    second = (mqls["quarter"] >= 4).to_numpy()
    out = {"max_hours_to_route": limit, "measured_from": "the lead's first mql to its first assignment to a rep"}
    for name, mine in (("first_year", ~second), ("second_year", second)):
        out[name] = {"n_mqls": int(mine.sum()), "never_routed_share": rounded(np.isnan(hours[mine]).mean()),
                     "median_hours_to_route": rounded(np.nanmedian(hours[mine]), 2),
                     "routed_within_limit_share": rounded((hours[mine & eligible] <= limit).mean())}
    return {"routing": out}


def rejection_truth(stages, handoff):
    """Sales decisions per year: acceptance rate, and rejections without a reason or with slow feedback.

    Parameters
    ----------
    stages : pandas.DataFrame
        Output of :func:`salign.sample.stages.make_stages`.
    handoff : pandas.DataFrame
        Output of :func:`lead_handoff`.

    Returns
    -------
    dict
        The ``rejections`` entry.
    """
    rejected = stages[stages["stage"] == "rejected"]
    at = rejected["at"].to_numpy().astype(float)
    year = np.where(quarter_index(at) >= 4, "second_year", "first_year")
    silent = rejected["reason"].isna().to_numpy()
    slow = (at - handoff["first_mql"].to_numpy()[rejected["lead"].to_numpy()]) > \
        world.SLA["feedback_days_on_rejected"] * DAY
    accepted = quarter_index(stages.loc[stages["stage"] == "sal", "at"].to_numpy().astype(float)) >= 4
    out = {"year_of": "the sal or rejected event (Europe/Berlin)",
           "feedback_days_measured_from": "the lead's first mql",
           "acceptance_rate_definition": "sal / (sal + rejected) events of the year"}
    for y in ("first_year", "second_year"):
        mine = year == y
        n_sal = int((accepted == (y == "second_year")).sum())
        out[y] = {"n": int(mine.sum()), "without_reason_share": rounded(silent[mine].mean() if mine.any() else None),
                  "slow_feedback_share": rounded(slow[mine].mean() if mine.any() else None),
                  "acceptance_rate": rounded(n_sal / (n_sal + mine.sum()) if n_sal + mine.sum() else None)}
    return {"rejections": out}


def trend_truth(handoff, stages):
    """First year against second year on the metrics the alignment should improve.

    Parameters
    ----------
    handoff : pandas.DataFrame
        Output of :func:`lead_handoff`.
    stages : pandas.DataFrame
        Output of :func:`salign.sample.stages.make_stages`.

    Returns
    -------
    dict
        The ``trend`` entry.
    """
    mqls = handoff[handoff["quarter"].between(0, 7)]
    second = (mqls["quarter"] >= 4).to_numpy()
    hours = ((mqls["first_follow_up"] - mqls["first_mql"]) / HOUR).to_numpy()
    eligible = (mqls["first_mql"] + 24 * HOUR <= AS_OF).to_numpy()
    mature = (mqls["first_mql"] <= AS_OF - world.SQL_WINDOW_DAYS * DAY).to_numpy()
    converted = (mqls["sql_at"] <= mqls["first_mql"] + world.SQL_WINDOW_DAYS * DAY).to_numpy()
    rejected = stages[stages["stage"] == "rejected"]
    rejected_second = quarter_index(rejected["at"].to_numpy().astype(float)) >= 4
    silent = rejected["reason"].isna().to_numpy()
    metrics = {
        "median_hours_to_first_follow_up": ("lower", lambda m: np.nanmedian(hours[m])),
        "follow_up_attainment": ("higher", lambda m: np.mean(hours[m & eligible] <= 24)),
        "mql_to_sql_90d_rate": ("higher", lambda m: converted[m & mature].mean()),
    }
    out = {"direction": "improves", "first_year": list(FIRST_YEAR), "second_year": list(SECOND_YEAR),
           "cohort": "leads by the quarter of their first mql (Europe/Berlin); mql_to_sql_90d_rate counts "
                     "sql within 90 days of the first mql among mqls at least 90 days before as_of",
           "metrics": {}}
    for name, (better, measure) in metrics.items():
        out["metrics"][name] = {"better": better, "first_year": rounded(measure(~second)),
                                "second_year": rounded(measure(second))}
    out["metrics"]["rejections_without_reason_share"] = {
        "better": "lower", "first_year": rounded(silent[~rejected_second].mean()),
        "second_year": rounded(silent[rejected_second].mean())}
    return {"trend": out}
