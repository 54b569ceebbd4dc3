"""CSV files for people: no text cell a spreadsheet would run as a formula.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return in front of one) as a formula, so a lead named ``=HYPERLINK("http://evil.example", "x")``
becomes a live link in ``content_gaps.csv``. Following the OWASP advice on CSV injection, such a
text cell is written with a single quote in front: the spreadsheet shows the text and runs nothing.
Text that starts with ``+`` or ``-`` and holds nothing but digits, spaces and ``( ) . , / + -``
(``-3.5``, ``+33 1 9686948``, ``1e-3``) is left as it is: without a letter, ``@``, ``=``, quote or
``|`` it can name no function, cell or program, and phone numbers stay usable. Cells of numeric
columns are never touched.

Only files written for people to open go through here; files salign reads back (the canonical
workspace tables ``salign import`` writes) keep their values byte for byte.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: first characters that make a spreadsheet read a cell as a formula (OWASP)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER = "^[=+\\-@\t\r]"
#: text a spreadsheet may compute but that calls nothing: a number, or digits with spaces and arithmetic signs
_INERT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-][0-9 ().,/+-]*[0-9][0-9 ().,/+-]*$"
_IS_INERT = re.compile(_INERT)


def neutralise(value):
    """``value`` with a single quote in front if it is text a spreadsheet would run as a formula.

    A carriage return inside the text becomes a line feed: Python's csv module leaves a cell holding
    a bare ``\r`` unquoted, and a spreadsheet would start a new row (and maybe a formula) there.
    """
    if not isinstance(value, str):
        return value
    if value.startswith(TRIGGERS) and not _IS_INERT.match(value):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell neutralised (numeric columns untouched)."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_bool_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, **to_csv) -> None:
    """Write ``frame`` as a CSV for people (no index), every text cell neutralised; ``to_csv`` goes to pandas."""
    safe_frame(frame).to_csv(path, index=False, **to_csv)


def safe_table(table: pa.Table) -> pa.Table:
    """``table`` with every text cell of its string columns neutralised, vectorised with pyarrow."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.and_(pc.match_substring_regex(column, _TRIGGER),
                            pc.invert(pc.match_substring_regex(column, _INERT)))
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)
