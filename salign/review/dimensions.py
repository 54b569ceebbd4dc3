"""The attributes the quarterly review cuts by: persona, segment, source, product and rep, one rule each.

- persona: the agreed persona set (``personas.common.yaml``) when the workspace
  has one, else the set this run's personas page proposed (the same lead counts
  as that page, see :mod:`salign.common.personaset`): the first persona in file
  order that a lead matches; otherwise the ``marketing_persona`` column of the
  leads; leads matching none are ``unassigned``.
- segment: the company size of the account (``employees`` of the account, else of
  the lead): ``SMB`` (< 200), ``mid-market`` (200-1,999), ``enterprise`` (2,000+).
- source: the lead's ``source``; product and rep: the opportunity's ``product``
  and ``owner``.

Missing values show as ``(unknown)``, so no row disappears from a breakdown.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from salign.common import personaset
from salign.definitions.models import UNASSIGNED
from salign.workspace.tables import MissingData

UNKNOWN = "(unknown)"
#: (upper bound of employees, exclusive, label)
SEGMENTS = ((200, "SMB"), (2000, "mid-market"), (np.inf, "enterprise"))


def persona(tables, leads: pd.DataFrame) -> pd.Series:
    """Each lead's persona (see the module docstring); :class:`MissingData` if there is no way to tell."""
    common, _ = personaset.in_use(tables)
    if common is not None:
        return common.first_match(leads)
    if "marketing_persona" in leads.columns:
        return leads["marketing_persona"].fillna(UNASSIGNED).astype(str)
    raise MissingData("has neither definitions/personas.common.yaml nor a marketing_persona column on leads")


def segment(employees: pd.Series) -> pd.Series:
    """Company-size segment for a Series of employee counts."""
    e = pd.to_numeric(employees, errors="coerce")
    out = pd.Series(UNKNOWN, index=e.index, dtype=object)
    low = -np.inf
    for high, label in SEGMENTS:
        out[(e >= low) & (e < high)] = label
        low = high
    return out


def label(values: pd.Series) -> pd.Series:
    """Text labels with missing values shown as ``(unknown)``."""
    return values.astype(object).where(values.notna(), UNKNOWN).astype(str)


def persona_source(tables) -> str:
    """Where the review's personas come from, in words (for the pages)."""
    _, source = personaset.in_use(tables)
    return source or "the leads' marketing_persona column (no common persona set adopted or proposed)"
