"""Turn the generated frames into the workspace's CSV files, byte for byte reproducibly.

Every value is formatted here (fixed decimals, UTC timestamps, empty string for null)
and written as ``,`` separated, ``\\n`` line ends, UTF-8, fields quoted only when they
contain a comma, a quote or a line break.

The rows are laid out by Arrow's CSV writer (``pyarrow.csv.write_csv`` with no quoting),
a few times faster than formatting rows in Python, which matters for samples of millions
of events.  A column is an object array of strings, a :class:`Coded` column (codes into a
vocabulary, so no Python string per row is made), or a tuple of such pieces printed side
by side.  That writer refuses a comma, quote or line break inside a value, so free-text
columns are quoted here first, their structural characters stand in as the ASCII
separator controls 0x1C..0x1F while Arrow writes, and are put back afterwards.
"""

import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import world
from .clock import date_text, datetime_parts
from .coded import Coded
from .ids import numbered_parts

#: Rows laid out per call of the Arrow writer (bounds the memory of one written slice).
_CHUNK = 1_000_000
_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=65536)
#: Structural characters of quoted free text and the control characters that stand in for them.
_HIDE = str.maketrans({",": "\x1c", '"': "\x1d", "\n": "\x1e", "\r": "\x1f"})
_RESTORE = bytes.maketrans(b"\x1c\x1d\x1e\x1f", b',"\n\r')
_STAND_INS = re.compile("[\x1c-\x1f]")


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


def coded(series):
    """A categorical column as a :class:`Coded` column (missing values print as "").

    Parameters
    ----------
    series : pandas.Series
        Categorical of strings.

    Returns
    -------
    Coded
        Its codes and categories.
    """
    return Coded(series.cat.codes.to_numpy(), series.cat.categories.to_numpy(dtype=object))


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
        ``{column name: column}``, all of equal length; a column is an object array of
        formatted strings, a :class:`Coded` column, or a tuple of those whose strings are
        printed side by side (see :func:`salign.sample.clock.datetime_parts`).
    free_text : sequence of str
        Columns that may contain a comma, a quote or a line break and so need quoting;
        every other column is safe by construction.
    """
    arrays = []
    for name, value in columns.items():
        pieces = value if isinstance(value, tuple) and not isinstance(value, Coded) else (value,)
        parts = [_arrow(part, name, name in free_text) for part in pieces]
        if len(parts) > 1:  # printed side by side; an empty (null) piece makes the whole value empty
            parts = [pc.binary_join_element_wise(*(_decoded(part) for part in parts), "")]
        arrays.append(parts[0])
    table = pa.Table.from_arrays(arrays, names=[str(name) for name in columns])
    hidden = any(name in free_text for name in columns)
    with open(path, "wb") as handle:
        handle.write((",".join(columns) + "\n").encode("utf-8"))
        for start in range(0, table.num_rows, _CHUNK):
            sink = io.BytesIO()
            pacsv.write_csv(table.slice(start, _CHUNK), sink, _OPTIONS)
            data = sink.getvalue()
            handle.write(data.translate(_RESTORE) if hidden else data)


def _arrow(part, name, quote):
    """One piece of a column as an Arrow string array (or dictionary array); free text quoted and hidden."""
    if isinstance(part, Coded):
        vocab = np.asarray(part.vocab, dtype=object)
        codes = np.asarray(part.codes)
        vocab = _hide(_quote(vocab), name) if quote else vocab
        indices = pa.array(codes.astype(np.int32 if len(vocab) < 2**31 else np.int64), mask=codes < 0)
        return pa.DictionaryArray.from_arrays(indices, pa.array(vocab, type=pa.string()))
    values = np.asarray(part, dtype=object)
    if quote:
        values = _hide(_quote(values), name)
    array = pa.array(values, type=pa.string())
    if array.null_count:
        raise ValueError(f"column {name!r} holds a missing value; format it as '' first")
    return array


def _decoded(array):
    return array.dictionary_decode() if isinstance(array, pa.DictionaryArray) else array


def _hide(values, name):
    """Swap the structural characters of quoted values for their stand-ins (once per distinct value)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    if any(_STAND_INS.search(value) for value in uniques):
        raise ValueError(f"column {name!r} holds a control character 0x1C..0x1F; the writer uses them internally")
    return np.array([value.translate(_HIDE) for value in uniques], dtype=object)[codes] if len(uniques) else values


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
    lead = activities["lead"].to_numpy()
    return {
        "activity_id": numbered_parts("X", len(activities), 7), "at": datetime_parts(activities["at"]),
        "team": coded(activities["team"]), "type": coded(activities["type"]),
        "lead_id": Coded(lead, lead_ids), "account_id": Coded(lead, lead_accounts),
        "content_id": coded(activities["content_id"]), "actor": coded(activities["actor"]),
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
