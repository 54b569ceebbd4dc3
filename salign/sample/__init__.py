"""Synthetic sample workspace with planted, documented truth.

``generate(out_dir, n_leads=20000, seed=7)`` writes a complete workspace -- the six
canonical tables, ``workspace.yaml`` and ``definitions/`` -- plus ``truth.json`` and
``truth_leads.csv`` saying what was planted, so every analysis can be tested against
a known answer.  The same ``(n_leads, seed, events_per_lead)`` gives byte-identical
files; the 20,000-lead default is ``data/sample``.

The sample has about 4 events (stage events plus activities) per lead.
``events_per_lead=K`` (at least :data:`MIN_EVENTS_PER_LEAD`) asks for K per lead on
average, for data at scale (``salign sample --leads 1000000 --events-per-lead 10``):
the funnel, the stage events and every planted effect stay exactly as they are, and
engagement activities after each lead's qualification window make up the rest (see
:mod:`salign.sample.activities`); truth.json measures the content usage on them too.
The mean is met exactly (``round(K * n_leads)`` events) unless the funnel alone makes
more, which only a sample of a few hundred leads may do; then nothing is added.

Data span 2024Q4..2026Q3 (calendar quarters in Europe/Berlin); as_of is 2026-10-01;
nothing happens at or after it.

``truth_leads.csv``: ``lead_id``, ``p_sql`` (true probability of an sql stage within
90 days of created_at, 4 decimals) and ``sql_90d`` (1 if the data hold such an sql
row; leads created less than 90 days before as_of are censored).

``truth.json`` keys ("first_year" = 2024Q4..2025Q3, "second_year" = 2025Q4..2026Q3;
shares are fractions; every realised number is measured on the written tables):

Customers and personas (customers = accounts with at least one won opportunity; a
customer's source/job_level/department/campaign are those of its first lead):

- ``value_definition``: value = won revenue x gross_margin; best/worst = top/bottom 20%.
- ``segments``: customer account_id -> planted segment (customers only).
- ``segment_profiles``: per segment the design (description, value_level, industry_mix,
  employees range, revenue_per_employee, first_lead_*_mix, gross_margin_intended,
  churn_rate_intended) and realised n_accounts, n_customers, revenue_per_customer,
  gross_margin_mean, churn_share, value_per_customer.
- ``best_segment`` / ``unprofitable_segment``: the most valuable segment, and the one
  with the largest deals but negative margin and high churn.
- ``best_customers`` / ``worst_customers``: account ids of the top / bottom 20% by value.
- ``best_markers`` / ``worst_markers``: list of ``{condition (rule language), sign
  ("+" raises, "-" lowers the chance of being best / worst), n, share_with,
  share_without}``.
- ``noise_attributes``: attributes independent of value (must not come out significant).
- ``conjunction``: the planted AND rule (software, 200-2,000 employees, first source
  event) with n, share_best, share_worst, and the same for each ``parts`` condition; it
  separates best from worst better than any part.
- ``persona_coverage``: persona id -> team, share_by_segment (share of each segment's
  customers the rule matches), segments (share >= ``coverage_threshold``).
- ``team_personas``: team -> covered, right (covered valuable segments), wrong (covered
  other segments), missed (valuable segments not covered); ``valuable_segments``.

Qualification:

- ``sql_model``: the true logistic model (intercept, coefficients, terms, target) and
  realised base_rate / base_rate_by_year of sql_90d.
- ``best_auc``: AUC of p_sql against sql_90d, overall and for leads created in the last
  two quarters (an upper bound for any qualification model).
- ``leak_columns`` (``["lead_quality"]``), ``leak_timestamps`` (its set-at column, after
  the outcome) and ``leak_auc`` (AUC of the leak alone: too good to be true).
- ``qualification_rules``: per team name, intended weakness, share_flagged, recall and
  precision against sql_90d.

Handoff and SLAs:

- ``slow_reps``; ``reps``: rep -> median_hours_intended (first-year pace),
  never_followed_up_share_intended, n_mqls, median_hours (realised, first MQL to first
  call/email/meeting, per year), never_followed_up_share; ``follow_up_pace_by_quarter``
  (multiplier of every rep's delay).
- ``routing``: per year share never routed, median hours and share within
  ``max_hours_to_route`` from first MQL to first assignment to a rep.
- ``rejections``: per year n rejections, without_reason_share, slow_feedback_share
  (rejected more than feedback_days_on_rejected after the first MQL), acceptance_rate.
- ``sla_measures``: per quarter sales_ready_leads, sales_ready_target, min_fields_share,
  follow_up_eligible, followed_up_within_sla, follow_up_attainment.
- ``sla_misses``: per quarter the missed commitments among marketing_volume,
  marketing_min_fields, sales_follow_up; ``sla_definitions`` says how each is measured.
- ``trend``: direction "improves", the quarters of each year, and per metric
  (median_hours_to_first_follow_up, follow_up_attainment, mql_to_sql_90d_rate,
  rejections_without_reason_share) which way is better and both years' values.

Other:

- ``content``: gaps ([persona, stage] cells without a current asset), stale, unused,
  unclassified (content ids), stale_after_days, lost (shareable asset -> the only team
  using it), shareable_types, usage_by_team (content id -> activity counts per team),
  definitions.
- ``anomalies``: sql_without_sal, opportunity_without_sql, mql_reentries (leads with
  more than one mql row), n_mql_leads.
- ``key_accounts``: n, share, won (key accounts with a won opportunity), lost_only.
- ``pii``: PII columns of leads, and how many stage reasons carry an e-mail address.
- ``generator``, ``as_of``, ``timezone``, ``quarters``.
"""

import json
import math
import numbers
import pathlib

import numpy as np

from . import world, writer
from .accounts import make_accounts, settle_accounts
from .activities import make_activities
from .behaviour import touch_counts
from .content import make_content
from .conversion import sql_probability
from .definitions import PERSONAS, QUALIFICATION, definition_files
from .funnel import make_paths
from .leads import make_leads
from .matching import RuleFrame, rule_mask
from .opportunities import make_opportunities
from .stages import make_stages
from .truth import make_truth

__all__ = ["MIN_EVENTS_PER_LEAD", "events_per_lead_problem", "generate"]

#: Smallest ``events_per_lead``: the funnel's stage events and the planted marketing and sales
#: touches already make about 4 per lead (omit ``events_per_lead`` for the sample as it is).
MIN_EVENTS_PER_LEAD = 4.5


def events_per_lead_problem(value):
    """Why ``value`` cannot be the mean number of events per lead (None when it can).

    Parameters
    ----------
    value : float
        Requested mean of stage events plus activities per lead.

    Returns
    -------
    str or None
        A sentence naming the value and what is allowed.
    """
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value >= MIN_EVENTS_PER_LEAD):
        shown = f"{value:g}" if isinstance(value, numbers.Real) and not isinstance(value, bool) else repr(value)
        return (f"--events-per-lead {shown} is not allowed: give a number of at least {MIN_EVENTS_PER_LEAD:g} "
                f"(the funnel's stage events and the planted touches already make about 4 per lead; "
                f"leave it out for the sample as it is)")
    return None


def generate(out_dir, n_leads=20000, seed=7, events_per_lead=None):
    """Write a synthetic sample workspace.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder to write into (created if needed; files of the same name are replaced).
    n_leads : int, default 20000
        Number of leads; accounts, activities and the marketing volume commitment scale with it.
    seed : int, default 7
        Seed of ``numpy.random.default_rng``; the same ``(n_leads, seed)`` gives byte-identical files.
    events_per_lead : float, optional
        Mean number of stage events plus activities per lead (at least :data:`MIN_EVENTS_PER_LEAD`);
        None (the default) writes the sample as it is, about 4 per lead.

    Returns
    -------
    pathlib.Path
        The workspace folder.
    """
    if events_per_lead is not None and (problem := events_per_lead_problem(events_per_lead)):
        raise ValueError(problem)
    out = pathlib.Path(out_dir)
    (out / "definitions").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    content = make_content(rng)
    accounts = make_accounts(rng, max(1, round(n_leads * world.ACCOUNTS_PER_LEAD)))
    leads = make_leads(rng, accounts, n_leads)
    counts = touch_counts(rng, leads)
    features = behaviour_features(leads, counts)
    p_sql = sql_probability(leads, counts)
    paths = make_paths(rng, leads, counts, p_sql, rule_mask(QUALIFICATION["marketing"]["rule"], features))
    first = first_leads(leads, len(accounts))
    first_source = np.append(leads["source"].to_numpy(), None)[first]
    first_at = np.append(leads["t0"].to_numpy(), np.nan)[first]
    opportunities = make_opportunities(rng, leads, paths, accounts, first_source)
    settle_accounts(rng, accounts, first_at, opportunities)
    stages = make_stages(leads, paths, opportunities)
    wanted = 0 if events_per_lead is None else round(events_per_lead * n_leads) - len(stages)
    activities = make_activities(rng, leads, counts, paths, opportunities, content, n_total=wanted,
                                 extra_rng=np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,))))
    persona = assign_personas(leads, PERSONAS["marketing"])

    lead_ids = leads["lead_id"].to_numpy()
    account_ids = accounts["account_id"].to_numpy()
    lead_accounts = np.append(account_ids, "")[leads["account"].to_numpy()]
    t_sql, t0 = paths["t_sql"].to_numpy(), leads["t0"].to_numpy()
    sql_90d = t_sql <= t0 + world.SQL_WINDOW_DAYS * 86400.0
    tables = {
        "accounts": (writer.accounts_table(accounts), ("name",)),
        "leads": (writer.leads_table(leads, accounts, paths, persona), ("job_title", "first_name", "last_name")),
        "stages": (writer.stages_table(stages, lead_ids), ("reason",)),
        "activities": (writer.activities_table(activities, lead_ids, lead_accounts), ()),
        "opportunities": (writer.opportunities_table(opportunities, lead_ids, account_ids), ()),
        "content": (writer.content_table(content), ("title", "location")),
        "truth_leads": (writer.truth_leads_table(lead_ids, p_sql, sql_90d), ()),
    }
    for name, (columns, free_text) in tables.items():
        writer.write_csv(out / f"{name}.csv", columns, free_text)
    for relative, text in definition_files(n_leads).items():
        (out / relative).write_text(text, encoding="utf-8")
    truth = make_truth(n_leads=n_leads, seed=seed, accounts=accounts, leads=leads, features=features, paths=paths,
                       p_sql=p_sql, sql_90d=sql_90d, opportunities=opportunities, stages=stages,
                       activities=activities, content=content, first=first)
    with open(out / "truth.json", "w", encoding="utf-8", newline="\n") as handle:
        json.dump(truth, handle, sort_keys=True, indent=1, ensure_ascii=False)
        handle.write("\n")
    return out


def behaviour_features(leads, counts):
    """Lead columns plus the ``n_<type>`` behaviour counts the qualification rules use.

    Parameters
    ----------
    leads : pandas.DataFrame
        Generated leads.
    counts : numpy.ndarray
        Marketing touches in each lead's qualification window.

    Returns
    -------
    pandas.DataFrame
        One row per lead.
    """
    frame = leads[["source", "job_level", "department", "industry", "employees", "region", "country",
                   "campaign", "job_title"]].copy()
    for k, kind in enumerate(world.MARKETING_TYPES):
        frame[f"n_{kind}"] = counts[:, k]
    return frame


def first_leads(leads, n_accounts):
    """Row of each account's first lead (``len(leads)`` for accounts without leads).

    Parameters
    ----------
    leads : pandas.DataFrame
        Generated leads, ordered by creation time.
    n_accounts : int
        Number of accounts.

    Returns
    -------
    numpy.ndarray
        Integer rows.
    """
    rows = np.flatnonzero(leads["account"].to_numpy() >= 0)
    accounts, earliest = np.unique(leads["account"].to_numpy()[rows], return_index=True)
    first = np.full(n_accounts, len(leads))
    first[accounts] = rows[earliest]
    return first


def assign_personas(frame, personas):
    """The first persona (in file order) whose rule each row satisfies.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with the fields the rules use.
    personas : sequence of dict
        Persona definitions (see :data:`salign.sample.definitions.PERSONAS`).

    Returns
    -------
    numpy.ndarray
        Object array of persona ids, None where no rule matched.
    """
    chosen = np.full(len(frame), None, dtype=object)
    rules = RuleFrame(frame)
    for persona in reversed(personas):
        chosen[rules.mask(persona["rule"])] = persona["id"]
    return chosen
