"""Results to HTML: the only place analysis output becomes markup (Jinja templates, every text escaped).

:func:`result_html` renders a :class:`~salign.common.result.Result` (title and blocks) or a
:class:`~salign.common.result.Skipped`; :func:`table_html` a table. Numbers in table cells
that are still numbers are formatted with :mod:`salign.core.fmt`. :func:`fragment` and
:func:`macro` give the other report modules the same templates and environment.
"""
from __future__ import annotations

import html
import re

import jinja2
import pandas as pd
from markupsafe import Markup

from salign.common.result import Bullets, Heading, Paragraph, Result, Skipped, Table
from salign.core import fmt, paths

ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(paths.TEMPLATES_DIR), autoescape=True,
                         trim_blocks=True, lstrip_blocks=True)


#: the blank corner (or spacer) cells pandas writes as header cells; a header cell names a column, so these are data cells
_EMPTY_HEADER = re.compile(r"<th>\s*</th>")


def fragment(template: str, **values) -> Markup:
    """The HTML a template of ``templates/`` makes of ``values`` (escaped unless already :class:`Markup`)."""
    return Markup(ENV.get_template(template).render(**values))


def macro(template: str, name: str):
    """A template's macro as a Python callable returning :class:`Markup`: ``macro("kpis.html.j2", "card")``."""
    return getattr(ENV.get_template(template).module, name)


def esc(value) -> str:
    """Escape any value for HTML (CRM text is never trusted)."""
    return html.escape("" if value is None else str(value), quote=True)


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns read as people read them: thousands separators, no decimals for whole numbers,
    one from 100 up, else three."""
    shown = frame.copy()
    for col in shown.columns:
        values = shown[col]
        if pd.api.types.is_float_dtype(values) and not values.isna().all():
            whole = (values.dropna() % 1 == 0).all()
            digits = 0 if whole else (1 if values.abs().max() >= 100 else 3)
            shown[col] = values.map(lambda x, d=digits: fmt.number(x, d))
    return shown


def table_html(table: Table) -> str:
    """The escaped ``<table>`` of a :class:`Table` (caption and row limit are the template's)."""
    shown = _cells(table.frame.head(table.max_rows))
    markup = shown.to_html(index=table.index, escape=True, border=0, classes="salign-table", na_rep=fmt.MISSING)
    return _EMPTY_HEADER.sub("<td></td>", markup)


def _block(b) -> dict:
    if isinstance(b, Paragraph):
        return {"kind": "paragraph", "block": b}
    if isinstance(b, Bullets):
        return {"kind": "bullets", "block": b}
    if isinstance(b, Heading):
        return {"kind": "heading", "block": b}
    if isinstance(b, Table):
        n = len(b.frame)
        return {"kind": "table", "block": b, "html": Markup(table_html(b)), "more": n > b.max_rows,
                "shown": fmt.count(b.max_rows), "total": fmt.count(n)}
    raise TypeError(f"a result block is a Paragraph, Bullets, Table or Heading, not {type(b).__name__}")


#: the markers around a result's methods in its HTML; :mod:`salign.report.pages` moves what they hold to the
#: page's "How this was computed" part
METHODS_START, METHODS_END = "<!--salign-methods-->", "<!--/salign-methods-->"


def result_html(result: Result) -> str:
    """A result as an HTML fragment: ``<div class='salign-result'>`` with its title and blocks, then its methods
    (``<div class='salign-methods'>`` between :data:`METHODS_START` and :data:`METHODS_END`), if any."""
    skipped = isinstance(result, Skipped)
    template = ENV.get_template("result.html.j2")
    shown = template.render(result=result, blocks=[] if skipped else [_block(b) for b in result.blocks()],
                            skipped=skipped)
    methods = [] if skipped else [_block(b) for b in result.methods()]
    if not methods:
        return shown
    how = template.render(result=result, blocks=methods, skipped=False)
    return f"{shown}{METHODS_START}<div class='salign-methods'>{how}</div>{METHODS_END}"
