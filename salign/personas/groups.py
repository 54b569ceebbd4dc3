"""The same evidence for every group of customers (segment, team persona, common persona): size, value,
best and worst."""
from __future__ import annotations

import numpy as np
import pandas as pd

from salign.common.stats import Rate
from salign.core import fmt


def group_stats(member: pd.Series, customers: pd.DataFrame) -> dict:
    """Evidence for the customers where ``member`` holds.

    Returns
    -------
    dict
        ``customers`` (count), ``share`` (of all customers), ``value`` (sum), ``value_share`` (of all
        value), ``value_per_customer``, ``best`` and ``worst`` (counts), ``best_capture`` and
        ``worst_capture`` (shares of all best / worst customers in the group), ``churned``.
    """
    m = member.to_numpy(bool)
    c = customers
    n, total = int(m.sum()), float(c["value"].sum())
    best, worst = c["best"].to_numpy(bool), c["worst"].to_numpy(bool)
    churned = c["churned_at"].notna().to_numpy() if "churned_at" in c.columns else np.zeros(len(c), bool)
    value = float(c["value"].to_numpy()[m].sum())
    return {"customers": n, "share": n / len(c) if len(c) else np.nan, "value": value,
            "value_share": value / total if total else np.nan,
            "value_per_customer": value / n if n else np.nan,
            "best": int((m & best).sum()), "worst": int((m & worst).sum()), "churned": int((m & churned).sum()),
            "best_capture": (m & best).sum() / best.sum() if best.any() else np.nan,
            "worst_capture": (m & worst).sum() / worst.sum() if worst.any() else np.nan}


def stats_metrics(row) -> dict:
    """JSON form of :func:`group_stats` (rounded so reruns are byte-identical)."""
    return {"customers": int(row["customers"]), "best": int(row["best"]), "worst": int(row["worst"]),
            "churned": int(row["churned"]), "value": round(float(row["value"]), 2),
            "value_share": None if pd.isna(row["value_share"]) else round(float(row["value_share"]), 4)}


def stats_table(frame: pd.DataFrame, label: str = "group", currency: str = "") -> pd.DataFrame:
    """Readable columns for rows of :func:`group_stats` (with a ``group`` column or index); value per customer in
    ``currency`` when the value is an amount (see :attr:`salign.personas.value.CustomerValue.currency`)."""
    groups = frame[label] if label in frame.columns else frame.index
    return pd.DataFrame({
        "group": list(groups),
        "customers": [f"{fmt.count(n)} ({fmt.percent(s, 0)})" for n, s in zip(frame["customers"], frame["share"])],
        "share of value": frame["value_share"].map(fmt.percent).to_numpy(),
        "value per customer": frame["value_per_customer"].map(
            lambda x: fmt.money(x, currency) if currency else fmt.number(x)).to_numpy(),
        "best": [str(Rate(int(k), int(n))) for k, n in zip(frame["best"], frame["customers"])],
        "worst": [str(Rate(int(k), int(n))) for k, n in zip(frame["worst"], frame["customers"])],
        "share of all worst": frame["worst_capture"].map(fmt.percent).to_numpy(),
    })


def leads_cells(leads, total: int) -> list[str]:
    """Leads a group matches with their share of all ``total`` leads, ``1,234 (12%)``; a dash without leads."""
    return [f"{fmt.count(k)} ({fmt.percent(k / total, 0)})" if total else fmt.MISSING for k in leads]
