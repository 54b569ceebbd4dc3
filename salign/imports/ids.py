"""Salesforce record ids: 15-character (case-sensitive, reports) and 18-character (checksummed, API) forms.

The three extra characters of an 18-character id encode which of the first 15 are
upper case, five at a time. A 15-character id is extended with them; an 18-character
id whose suffix does not match its first 15 characters was altered (often by a tool
that ignores case) and cannot be trusted.
"""
from __future__ import annotations

import re

import pandas as pd

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_SHAPE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")


def suffix(id15: str) -> str:
    """The three checksum characters of a 15-character id."""
    out = ""
    for block in range(3):
        bits = sum(1 << i for i, c in enumerate(id15[block * 5: block * 5 + 5]) if "A" <= c <= "Z")
        out += _ALPHABET[bits]
    return out


def to18(value: str) -> str:
    """The 18-character form of a 15-character id (an 18-character id is returned unchanged)."""
    return value + suffix(value) if len(value) == 15 else value


def reconcile(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, int]:
    """Bring a column of ids to the 18-character form.

    Returns
    -------
    ids : pd.Series
        18-character ids (missing where the value is not a valid id).
    bad_shape : pd.Series
        Values that are not 15 or 18 letters and digits (e.g. rewritten by a spreadsheet).
    bad_checksum : pd.Series
        18-character values whose last three characters do not match the first 15.
    extended : int
        How many 15-character ids were extended.
    """
    present = values.notna()
    text = values.astype("string")
    shape_ok = text.str.match(_SHAPE.pattern).fillna(False).astype(bool)
    bad_shape = present & ~shape_ok
    short = shape_ok & (text.str.len() == 15)
    long_ = shape_ok & (text.str.len() == 18)
    ids = values.astype(object).where(shape_ok, None)
    ids[short] = [to18(v) for v in values[short]]
    bad_checksum = pd.Series(False, index=values.index)
    if long_.any():
        bad_checksum[long_] = [v[15:] != suffix(v[:15]) for v in values[long_]]
        ids[bad_checksum] = None
    return ids, bad_shape, bad_checksum, int(short.sum())


def lost_zeros(values: pd.Series, width: int) -> pd.Series:
    """Ids a spreadsheet shortened: all digits and fewer than the declared ``width`` characters
    (``000124`` read as the number 124). Values of any other shape are left alone."""
    text = values.astype("string")
    return (text.str.fullmatch(r"[0-9]+") & (text.str.len() < width)).fillna(False).astype(bool)
