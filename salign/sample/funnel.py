"""Each lead's way through the funnel: MQL, routing, follow-up, acceptance or rejection,
sql, recycling, disqualification and the leak column.

Times are epoch seconds (UTC); NaN means "did not happen before as_of".  Whether a lead
reaches ``sql`` within 90 days is decided first (a Bernoulli draw of its true ``p_sql``);
the path is then built so that every converting lead really gets there in time.
"""

import numpy as np
import pandas as pd

from . import people, world
from .clock import AS_OF, DAY, HOUR, before_as_of, quarter_index, second_year
from .sampling import between, lognormal

MINUTE = 60.0


def make_paths(rng, leads, counts, p_sql, marketing_rule):
    """Walk every lead through the funnel.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    leads : pandas.DataFrame
        Output of :func:`salign.sample.leads.make_leads`.
    counts : numpy.ndarray
        Marketing touches in the qualification window (see :mod:`salign.sample.behaviour`).
    p_sql : numpy.ndarray
        True probability of reaching sql within 90 days.
    marketing_rule : numpy.ndarray
        Whether each lead meets marketing's qualification rule.

    Returns
    -------
    pandas.DataFrame
        One row per lead with the event times (``t_*`` columns), the rep (``rep``,
        index into ``world.REPS`` or -1), the type of the first follow-up (``fu_type``,
        index into ``world.FOLLOW_UP_TYPES``), the reasons and the leak column
        (``lead_quality``, ``t_quality``).
    """
    n = len(leads)
    t0 = leads["t0"].to_numpy()
    sql = rng.random(n) < p_sql
    window_end = np.minimum(t0 + 30 * DAY, AS_OF - 1)
    p_mql = np.where(marketing_rule, world.MQL_IF_RULE[True], world.MQL_IF_RULE[False])
    mql = sql | (rng.random(n) < p_mql)
    touched = counts.sum(axis=1) > 0
    wait = np.where(touched, between(rng, 0.15, 1.0, n) * (window_end - t0), between(rng, 5 * MINUTE, 3 * HOUR, n))
    t_mql = before_as_of(np.where(mql, t0 + wait, np.nan))
    paths = pd.DataFrame({"t0": t0, "sql_planned": sql,
                          "window_end": np.where(np.isnan(t_mql), window_end, t_mql), "t_mql": t_mql})
    paths["t_mdq"], paths["mdq_reason"] = _marketing_disqualification(rng, t0, mql)
    _route_and_follow_up(rng, paths)
    _decide(rng, paths, leads)
    _recycle(rng, paths)
    _lead_quality(rng, paths)
    return paths


def _marketing_disqualification(rng, t0, mql):
    n = len(t0)
    chosen = ~mql & (rng.random(n) < world.MARKETING_DISQUALIFY_SHARE)
    at = before_as_of(np.where(chosen, t0 + between(rng, HOUR, 10 * DAY, n), np.nan))
    return at, _reasons(rng, world.MARKETING_DISQUALIFY_REASONS, ~np.isnan(at))


def _route_and_follow_up(rng, paths):
    """Queue assignment, routing to a rep, and the first sales follow-up."""
    n = len(paths)
    t_mql, sql = paths["t_mql"].to_numpy(), paths["sql_planned"].to_numpy()
    year2 = second_year(t_mql).astype(int)
    quarter = quarter_index(t_mql).clip(0, len(world.FOLLOW_UP_PACE) - 1)
    paths["t_queue"] = before_as_of(t_mql + between(rng, MINUTE, 10 * MINUTE, n))
    routed = ~np.isnan(paths["t_queue"].to_numpy()) & (sql | (rng.random(n) >= world.NEVER_ROUTED_SHARE))
    slow = np.isin(world.REPS, world.SLOW_REPS)
    weights = np.array([np.where(slow, w, (1 - w * slow.sum()) / (~slow).sum())
                        for w in world.SLOW_REP_ROUTING_WEIGHT])
    u = rng.random(n)
    rep = (u[:, None] >= np.cumsum(weights, axis=1)[year2]).sum(axis=1).clip(max=len(world.REPS) - 1)
    route_delay = lognormal(rng, np.array(world.ROUTE_MEDIAN_HOURS)[year2] * HOUR, 1.2)
    t_route = before_as_of(np.where(routed, paths["t_queue"].to_numpy() + route_delay, np.nan))
    rep = np.where(np.isnan(t_route), -1, rep)
    is_slow = slow[rep] & (rep >= 0)
    never_share = np.where(is_slow, np.array(world.NEVER_FOLLOWED_UP["slow"])[year2],
                           np.array(world.NEVER_FOLLOWED_UP["normal"])[year2])
    never = ~sql & (rng.random(n) < never_share)
    median = np.array(world.REP_MEDIAN_HOURS)[rep] * np.array(world.FOLLOW_UP_PACE)[quarter] * HOUR
    delay = lognormal(rng, median, world.FOLLOW_UP_SIGMA)
    delay = np.where(sql, np.minimum(delay, 14 * DAY), delay)
    delay = np.maximum(delay, t_route - t_mql + between(rng, MINUTE, 30 * MINUTE, n))
    paths["rep"] = rep
    paths["t_route"] = t_route
    paths["t_fu"] = before_as_of(np.where(~never, t_mql + delay, np.nan))
    paths["fu_type"] = np.searchsorted([0.5, 0.9], rng.random(n), side="right")


def _decide(rng, paths, leads):
    """Acceptance or rejection, sql (on time, late or skipping sal), sales disqualification."""
    n = len(paths)
    t0, t_mql, t_fu = (paths[c].to_numpy() for c in ("t0", "t_mql", "t_fu"))
    sql = paths["sql_planned"].to_numpy()
    followed = ~np.isnan(t_fu)
    year2 = second_year(t_mql).astype(int)
    accept = followed & (sql | (rng.random(n) < np.array(world.ACCEPT_SHARE)[year2]))
    skip_sal = sql & (rng.random(n) < world.SKIP_SAL_SHARE)
    t_sal = before_as_of(np.where(accept & ~skip_sal, t_fu + between(rng, 0.5 * HOUR, 3 * DAY, n), np.nan))
    reject = followed & ~accept
    slow_feedback = rng.random(n) < np.array(world.SLOW_FEEDBACK_SHARE)[year2]
    feedback = np.where(slow_feedback, between(rng, 5.5 * DAY, 20 * DAY, n), between(rng, 0.2 * DAY, 4.5 * DAY, n))
    t_rej = before_as_of(np.where(reject, np.maximum(t_mql + feedback, t_fu + between(rng, 10 * MINUTE, 2 * HOUR, n)),
                                  np.nan))
    paths["t_sal"], paths["t_rej"] = t_sal, t_rej
    paths["reject_reason"] = _reject_reasons(rng, t_rej, year2, leads)

    base = np.where(skip_sal, t_fu, t_sal)
    on_time = np.minimum(base + between(rng, HOUR, 20 * DAY, n), t0 + world.SQL_WINDOW_DAYS * DAY - MINUTE)
    accepted_only = ~np.isnan(t_sal) & ~sql
    late = accepted_only & (rng.random(n) < world.LATE_SQL_SHARE)
    late_at = np.maximum(t0 + between(rng, 95 * DAY, 200 * DAY, n), t_sal + DAY)
    paths["t_sql"] = before_as_of(np.where(sql, on_time, np.where(late, late_at, np.nan)))
    stalled = accepted_only & ~late
    attached = leads["account"].to_numpy() >= 0
    skip_sql = stalled & attached & (rng.random(n) < world.SKIP_SQL_SHARE)
    paths["t_opp_direct"] = before_as_of(np.where(skip_sql, t_sal + between(rng, 2 * DAY, 20 * DAY, n), np.nan))
    disqualify = stalled & ~skip_sql & (rng.random(n) < world.SALES_DISQUALIFY_SHARE)
    paths["t_sdq"] = before_as_of(np.where(disqualify, t_sal + between(rng, 5 * DAY, 60 * DAY, n), np.nan))
    paths["sdq_reason"] = _reasons(rng, world.SALES_DISQUALIFY_REASONS, ~np.isnan(paths["t_sdq"].to_numpy()))


def _reasons(rng, vocabulary, given):
    """A reason drawn from ``vocabulary`` where ``given``, else None."""
    choices = np.array((None,) + tuple(vocabulary), dtype=object)
    return choices[np.where(given, rng.integers(1, len(choices), len(given)), 0)]


def _reject_reasons(rng, t_rej, year2, leads):
    """Rejection reasons: empty more often in the first year; a few carry an e-mail address."""
    n = len(t_rej)
    rejected = ~np.isnan(t_rej)
    silent = rng.random(n) < np.array(world.NO_REASON_SHARE)[year2]
    reason = _reasons(rng, world.REJECT_REASONS, rejected & ~silent)
    candidates = np.flatnonzero(rejected)
    k = min(len(candidates), max(3, int(round(world.EMAIL_REASON_SHARE * len(candidates)))))
    chosen = np.sort(rng.choice(candidates, k, replace=False))
    address = people.colleague_addresses(rng, leads["domain"].to_numpy()[chosen])
    reason[chosen] = "asked to contact " + address + " instead"
    return reason


def _recycle(rng, paths):
    """Rejected leads and MQLs without a sales decision go back to nurture; a few re-enter as MQL."""
    n = len(paths)
    t_mql, t_fu, t_rej = (paths[c].to_numpy() for c in ("t_mql", "t_fu", "t_rej"))
    after_reject = t_rej + between(rng, DAY, 30 * DAY, n)
    undecided = ~np.isnan(t_mql) & np.isnan(t_fu)
    after_silence = t_mql + world.HANDOFF["recycle_after_days"] * DAY + between(rng, 0, 2 * DAY, n)
    recycle_rejected = rng.random(n) < world.RECYCLE_SHARE
    t_rec = np.where(~np.isnan(t_rej) & recycle_rejected, after_reject, np.where(undecided, after_silence, np.nan))
    paths["t_rec"] = before_as_of(t_rec)
    reasons = np.array([None, "rejected by sales", "no sales decision in 90 days"], dtype=object)
    paths["rec_reason"] = reasons[np.where(np.isnan(paths["t_rec"].to_numpy()), 0, np.where(undecided, 2, 1))]
    reentry = rng.random(n) < world.REENTRY_SHARE
    paths["t_mql2"] = before_as_of(np.where(reentry, paths["t_rec"].to_numpy() + between(rng, 10 * DAY, 120 * DAY, n),
                                            np.nan))
    paths["t_queue2"] = before_as_of(paths["t_mql2"].to_numpy() + between(rng, MINUTE, 10 * MINUTE, n))


def _lead_quality(rng, paths):
    """The leak: sales grades the lead after its outcome is known."""
    n = len(paths)
    t_sql, t_rej, t_sdq, t_sal = (paths[c].to_numpy() for c in ("t_sql", "t_rej", "t_sdq", "t_sal"))
    u = rng.random(n)
    reached = ~np.isnan(t_sql)
    dropped = ~reached & (~np.isnan(t_rej) | ~np.isnan(t_sdq))
    accepted = ~reached & ~dropped & ~np.isnan(t_sal)
    grade = np.select([reached, dropped, accepted],
                      [np.where(u < 0.93, 1, 2), np.where(u < 0.9, 3, 2), np.where(u < 0.8, 2, 3)], 0)
    outcome_at = np.select([reached, dropped, accepted], [t_sql, np.fmax(t_rej, t_sdq), t_sal + 20 * DAY], np.nan)
    t_quality = before_as_of(outcome_at + between(rng, HOUR, 10 * DAY, n))
    paths["t_quality"] = t_quality
    grades = np.array([None, "High", "Medium", "Low"], dtype=object)
    paths["lead_quality"] = grades[np.where(np.isnan(t_quality), 0, grade)]
