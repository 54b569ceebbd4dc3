"""Turn the generated frames into the workspace's CSV files, byte for byte reproducibly.

Every value is formatted here (fixed decimals, UTC timestamps, empty string for null)
and written with a small CSV writer: ``,`` separated, ``\\n`` line ends, UTF-8, fields
quoted only when they contain a comma, a quote or a line break.
"""

import numpy as np
import pandas as pd

from . import world
from .clock import date_text, datetime_parts
from .ids import numbered

_CHUNK = 200_000


def integers(values):
    """Format whole numbers; NaN becomes an empty string.

    Parameters
    ----------
    values : numpy.ndarray
        Numbers (float with NaN allowed, or int).

    Returns
    -------
    numpy.ndarray
        Object array of strings.
    """
    values = np.asarray(values, dtype=float)
    known = ~np.isnan(values)
    text = np.where(known, values, 0).astype(np.int64).astype(str).astype(object)
    text[~known] = ""
    return text


def fixed(values, decimals):
    """Format numbers below 1000 in magnitude with fixed decimals (``-0.080``); NaN becomes "".

    Parameters
    ----------
    values : numpy.ndarray
        Numbers, NaN allowed.
    decimals : int
        Digits after the point (at most 4).

    Returns
    -------
    numpy.ndarray
        Object array of strings.
    """
    values = np.asarray(values, dtype=float)
    known = ~np.isnan(values)
    scaled = np.round(np.where(known, values, 0) * 10**decimals).astype(np.int64)
    whole, part = np.divmod(np.abs(scaled), 10**decimals)
    if whole.max(initial=0) >= 1000:
        raise ValueError("fixed() formats numbers below 1000 only")
    signed = np.array([f"{sign}{k}" for sign in ("", "-") for k in range(1000)], dtype=object)
    fraction = np.array([f".{k:0{decimals}d}" for k in range(10**decimals)], dtype=object)
    text = signed[whole + 1000 * (scaled < 0)] + fraction[part]
    text[~known] = ""
    return text


def text(values):
    """Strings as they are; None and NaN become "".

    Parameters
    ----------
    values : array-like
        Strings or nulls.

    Returns
    -------
    numpy.ndarray
        Object array of strings.
    """
    series = pd.Series(values, dtype=object)
    return series.where(series.notna(), "").to_numpy(dtype=object)


def _quote(values):
    """Quote the values that contain a comma, a quote or a line break (checked once per distinct value)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    uniques = pd.Series(uniques, dtype=object)
    special = uniques.str.contains(r'[,"\r\n]', regex=True).to_numpy(bool)
    uniques[special] = '"' + uniques[special].str.replace('"', '""', regex=False) + '"'
    return uniques.to_numpy(dtype=object)[codes]


def write_csv(path, columns, free_text=()):
    """Write one table.

    Parameters
    ----------
    path : pathlib.Path
        Target file.
    columns : dict
        ``{column name: object array of formatted strings}``, all of equal length; a
        value may also be a tuple of arrays whose strings are printed side by side
        (see :func:`salign.sample.clock.datetime_parts`).
    free_text : sequence of str
        Columns that may contain a comma, a quote or a line break and so need quoting;
        every other column is safe by construction.
    """
    pieces, fields = [], []
    for name, value in columns.items():
        parts = value if isinstance(value, tuple) else (value,)
        pieces += [_quote(p) if name in free_text else p for p in parts]
        fields.append("%s" * len(parts))
    row = ",".join(fields)
    n = len(pieces[0])
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(",".join(columns) + "\n")
        for start in range(0, n, _CHUNK):
            rows = zip(*(piece[start:start + _CHUNK].tolist() for piece in pieces))
            handle.write("\n".join(map(row.__mod__, rows)) + "\n")


def accounts_table(accounts):
    """Public columns of ``accounts.csv``.

    Parameters
    ----------
    accounts : pandas.DataFrame
        Settled accounts (see :mod:`salign.sample.accounts`).

    Returns
    -------
    dict
        Formatted columns.
    """
    return {
        "account_id": accounts["account_id"].to_numpy(), "name": accounts["name"].to_numpy(),
        "industry": accounts["industry"].to_numpy(), "employees": integers(accounts["employees"]),
        "annual_revenue": integers(accounts["annual_revenue"]), "region": accounts["region"].to_numpy(),
        "country": accounts["country"].to_numpy(), "created_at": date_text(accounts["created_at"]),
        "tier": accounts["tier"].to_numpy(), "churned_at": date_text(accounts["churned_at"]),
        "gross_margin": fixed(accounts["gross_margin"], 3),
    }


def leads_table(leads, accounts, paths, persona):
    """Public columns of ``leads.csv``.

    Parameters
    ----------
    leads : pandas.DataFrame
        Generated leads.
    accounts : pandas.DataFrame
        Generated accounts.
    paths : pandas.DataFrame
        Funnel paths (owner and the leak column come from here).
    persona : numpy.ndarray
        Marketing persona id of each lead (None when no persona matched).

    Returns
    -------
    dict
        Formatted columns.
    """
    account_ids = np.append(accounts["account_id"].to_numpy(), "")
    reps = np.append(np.array(world.REPS, dtype=object), "")
    return {
        "lead_id": leads["lead_id"].to_numpy(), "created_at": datetime_parts(leads["t0"]),
        "source": leads["source"].to_numpy(), "account_id": account_ids[leads["account"].to_numpy()],
        "campaign": leads["campaign"].to_numpy(), "job_title": text(leads["job_title"]),
        "job_level": leads["job_level"].to_numpy(), "department": leads["department"].to_numpy(),
        "industry": leads["industry"].to_numpy(), "employees": integers(leads["employees"]),
        "region": leads["region"].to_numpy(), "country": leads["country"].to_numpy(),
        "marketing_persona": text(persona), "owner": reps[paths["rep"].to_numpy()],
        "email": leads["email"].to_numpy(), "phone": text(leads["phone"]),
        "first_name": leads["first_name"].to_numpy(), "last_name": leads["last_name"].to_numpy(),
        "lead_quality": text(paths["lead_quality"]), "lead_quality_set_at": datetime_parts(paths["t_quality"]),
    }


def stages_table(stages, lead_ids):
    """Public columns of ``stages.csv``.

    Parameters
    ----------
    stages : pandas.DataFrame
        Output of :func:`salign.sample.stages.make_stages`.
    lead_ids : numpy.ndarray
        Lead id of each lead row.

    Returns
    -------
    dict
        Formatted columns.
    """
    return {
        "lead_id": lead_ids[stages["lead"].to_numpy()], "stage": stages["stage"].to_numpy(),
        "at": datetime_parts(stages["at"]), "team": stages["team"].to_numpy(), "actor": text(stages["actor"]),
        "reason": text(stages["reason"]), "opportunity_id": text(stages["opportunity_id"]),
    }


def activities_table(activities, lead_ids, lead_accounts):
    """Public columns of ``activities.csv``; ids X0000001, ... follow the row (time) order.

    Parameters
    ----------
    activities : pandas.DataFrame
        Output of :func:`salign.sample.activities.make_activities`.
    lead_ids : numpy.ndarray
        Lead id of each lead row.
    lead_accounts : numpy.ndarray
        Account id of each lead row ("" for none).

    Returns
    -------
    dict
        Formatted columns.
    """
    n = len(activities)
    lead = activities["lead"].to_numpy()
    return {
        "activity_id": numbered("X", n, 7), "at": datetime_parts(activities["at"]),
        "team": activities["team"].to_numpy(), "type": activities["type"].to_numpy(),
        "lead_id": lead_ids[lead], "account_id": lead_accounts[lead],
        "content_id": text(activities["content_id"]), "actor": text(activities["actor"]),
    }


def opportunities_table(opportunities, lead_ids, account_ids):
    """Public columns of ``opportunities.csv``.

    Parameters
    ----------
    opportunities : pandas.DataFrame
        Output of :func:`salign.sample.opportunities.make_opportunities`.
    lead_ids, account_ids : numpy.ndarray
        Ids of each lead row and account row.

    Returns
    -------
    dict
        Formatted columns.
    """
    o = opportunities
    return {
        "opportunity_id": o["opportunity_id"].to_numpy(), "created_at": datetime_parts(o["created_at"]),
        "stage": o["stage"].to_numpy(), "outcome": o["outcome"].to_numpy(),
        "account_id": account_ids[o["account"].to_numpy()], "lead_id": lead_ids[o["lead"].to_numpy()],
        "closed_at": datetime_parts(o["closed_at"]), "amount": integers(o["amount"]),
        "loss_reason": text(o["loss_reason"]), "owner": o["owner"].to_numpy(), "product": o["product"].to_numpy(),
    }


def content_table(content):
    """Public columns of ``content.csv``.

    Parameters
    ----------
    content : pandas.DataFrame
        Output of :func:`salign.sample.content.make_content`.

    Returns
    -------
    dict
        Formatted columns.
    """
    c = content
    return {
        "content_id": c["content_id"].to_numpy(), "title": c["title"].to_numpy(), "type": c["type"].to_numpy(),
        "personas": c["personas"].to_numpy(), "stage": c["stage"].to_numpy(),
        "owner_team": c["owner_team"].to_numpy(), "created_at": date_text(c["created_at"]),
        "updated_at": date_text(c["updated_at"]), "location": c["location"].to_numpy(),
    }


def truth_leads_table(lead_ids, p_sql, sql_90d):
    """Public columns of ``truth_leads.csv``.

    Parameters
    ----------
    lead_ids : numpy.ndarray
        Lead ids.
    p_sql : numpy.ndarray
        True probability of sql within 90 days (already rounded to 4 decimals).
    sql_90d : numpy.ndarray
        Realised outcome (bool).

    Returns
    -------
    dict
        Formatted columns.
    """
    return {"lead_id": lead_ids, "p_sql": fixed(p_sql, 4), "sql_90d": np.where(sql_90d, "1", "0").astype(object)}
