"""The index of all periods (``reports/index.html``): each headline figure's latest value and trend, every period.

It reads the ``metrics.json`` each published period holds; writing the page is the runner's
(:func:`salign.runner.publish.write_index`).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from markupsafe import Markup

from salign.core import fmt
from salign.report.cards import Card, headline_cards, headline_value, is_comparison, is_rate, label_of
from salign.report.html import fragment
from salign.report.pages import page, title

PERIOD_DIR = re.compile(r"^\d{4}Q[1-4]$")
#: how many headline figures the table of all periods shows as columns
INDEX_COLUMNS = 8


def sparkline(points: list[tuple[str, float | None]], label: str, rate: bool = False,
              width: int = 140, height: int = 34) -> Markup:
    """A small inline SVG line of ``(period, value)`` points (None: a gap), oldest first; the last point marked.

    Empty with fewer than two known values.
    """
    known = [(i, v) for i, (_, v) in enumerate(points) if v is not None]
    if len(known) < 2:
        return Markup("")
    lo, hi = min(v for _, v in known), max(v for _, v in known)
    span = (hi - lo) or 1.0
    pad = 4
    step = (width - 2 * pad) / max(1, len(points) - 1)

    def xy(i, v):
        y = height / 2 if hi == lo else height - pad - (v - lo) / span * (height - 2 * pad)
        return round(pad + i * step, 1), round(y, 1)

    segments, run = [], []
    for i, (_, v) in enumerate(points):
        if v is None:
            segments, run = segments + [run] if run else segments, []
        else:
            run.append(xy(i, v))
    segments += [run] if run else []
    lines = [" ".join(f"{x},{y}" for x, y in seg) for seg in segments if len(seg) > 1]
    x, y = xy(*known[-1])
    said = ", ".join(f"{p} {fmt.percent(v) if rate else fmt.value(v)}" for p, v in points)
    return fragment("sparkline.svg.j2", width=width, height=height, label=label, said=said, lines=lines, x=x, y=y)


def _periods(out: Path, pending: dict | None = None) -> dict[str, dict]:
    """The merged metrics of every period published in ``out`` (plus ``pending``), oldest first."""
    found = {}
    for d in Path(out).iterdir():
        if d.is_dir() and PERIOD_DIR.match(d.name) and (d / "metrics.json").exists():
            try:
                found[d.name] = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                found[d.name] = {"notebooks": {}, "unreadable": True}
    found.update(pending or {})
    return dict(sorted(found.items()))


def _trend(key: tuple[str, str], names: list[str], cards: dict, raw: dict) -> dict:
    """A figure's card of the latest period with its sparkline across ``names``."""
    latest = names[-1]
    card = cards[latest].get(key) or Card(key[1], fmt.MISSING, f"not reported in {latest}", key[0])
    figures = [raw[p].get(key) for p in names]
    shows_rate = any(is_rate(v["value"] if is_comparison(v) else v) for v in figures)
    spark = sparkline([(p, headline_value(v)) for p, v in zip(names, figures)], card.label, rate=shows_rate)
    span = f"{names[0]}–{latest}" if spark else "no trend yet: only one period has this figure"
    return {"card": card, "spark": spark, "span": span}


def index_body(periods: dict[str, dict]) -> Markup:
    """Trend cards (latest value, sparkline across periods) and a table of every period's headline figures."""
    if not periods:
        return fragment("index.html.j2", trends=[], rows=[])
    names = list(periods)
    cards = {p: {(c.source, c.label): c for c in headline_cards(m)} for p, m in periods.items()}
    raw = {p: {(title(n), label_of(k)): v
               for n, d in m.get("notebooks", {}).items() for k, v in (d.get("headline") or {}).items()}
           for p, m in periods.items()}
    keys = list(dict.fromkeys(k for p in reversed(names) for k in cards[p]))
    cols = keys[:INDEX_COLUMNS]
    rows = [{"period": p,
             "fingerprint": "unreadable metrics.json" if m.get("unreadable") else m.get("workspace_fingerprint", ""),
             "cells": [cards[p][k].value if k in cards[p] else fmt.MISSING for k in cols]}
            for p, m in reversed(periods.items())]
    return fragment("index.html.j2", trends=[_trend(key, names, cards, raw) for key in keys], rows=rows,
                    latest=names[-1], first=names[0] if len(names) > 1 else "",
                    columns=[label for _, label in cols], total=len(keys))


def index_page(out: Path, tables, pending: dict | None = None) -> str:
    """The HTML of ``<out>/index.html``: every published period (plus ``pending`` ones about to be)."""
    return page("Sales and marketing alignment reports", index_body(_periods(out, pending)), "all periods", tables,
                [], dated=False, home=True)
