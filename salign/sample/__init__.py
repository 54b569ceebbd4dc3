"""Synthetic sample workspace with planted, documented truth.

``generate(out_dir, n_leads, seed)`` writes a complete workspace (tables, YAML
definitions) plus ``truth.json`` and ``truth_leads.csv`` describing what was planted,
so that every analysis can be tested against a known answer.
"""

import json
import pathlib

import numpy as np
import pandas as pd

from . import world, writer
from .accounts import make_accounts, settle_accounts
from .activities import make_activities
from .behaviour import touch_counts
from .content import make_content
from .conversion import sql_probability
from .definitions import PERSONAS, QUALIFICATION, definition_files
from .funnel import make_paths
from .leads import make_leads
from .matching import rule_mask
from .opportunities import make_opportunities
from .stages import make_stages
from .truth import make_truth

__all__ = ["generate"]


def generate(out_dir, n_leads=20000, seed=7):
    """Write a synthetic sample workspace.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder to write into (created if needed; files of the same name are replaced).
    n_leads : int, default 20000
        Number of leads; accounts, activities and the marketing volume commitment scale with it.
    seed : int, default 7
        Seed of ``numpy.random.default_rng``; the same ``(n_leads, seed)`` gives byte-identical files.

    Returns
    -------
    pathlib.Path
        The workspace folder.
    """
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
    activities = make_activities(rng, leads, counts, paths, opportunities, content)
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
    for persona in reversed(personas):
        chosen[rule_mask(persona["rule"], frame)] = persona["id"]
    return chosen
