"""The index of all periods (``reports/index.html``): each headline figure's latest value and trend, every period.

It reads the ``metrics.json`` each published period holds; writing the page is the runner's
(:func:`salign.runner.publish.write_index`).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from markupsafe import Markup

from salign.common.metrics import headline_value, is_comparison, is_rate
from salign.core import fmt
from salign.report.cards import Card, headline_cards, label_of
from salign.report.html import fragment
from salign.report.overview import OVERVIEW_ORDER, first_screen
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
    """A figure's card of the latest period with its sparkline across ``names``.

    ``key`` is (notebook, headline key): one figure across periods whatever its card's label says (the biggest
    change's label names its metric; a figure with a plain label is still its key). The biggest change is drawn only
    through the periods whose biggest change was the same metric as the latest's.
    """
    latest = names[-1]
    label = next((cards[p][key].label for p in reversed(names) if key in cards[p]), label_of(key[1]))
    card = cards[latest].get(key) or Card(label, fmt.MISSING, f"not reported in {latest}", title(key[0]), key=key[1])
    figures = [raw[p].get(key) for p in names]
    metric = (raw[latest].get(key) or {}).get("metric") if is_comparison(raw[latest].get(key)) else None
    if metric is not None:
        figures = [v if is_comparison(v) and v.get("metric") == metric else None for v in figures]
    shows_rate = any(is_rate(v["value"] if is_comparison(v) else v) for v in figures)
    spark = sparkline([(p, headline_value(v)) for p, v in zip(names, figures)], card.label, rate=shows_rate)
    span = (f"{names[0]}–{latest}" if spark else "no trend yet: only one period has this figure"
            if sum(raw[p].get(key) is not None for p in names) < 2
            else "no trend: in the earlier periods the biggest change was another figure")
    return {"card": card, "spark": spark, "span": span}


def index_body(periods: dict[str, dict]) -> Markup:
    """The latest period's first screen (verdict, SLA commitments, top fixes: :func:`salign.report.overview.first_screen`),
    trend cards (latest value, sparkline across periods, the quarterly review's first) and a table of every period's
    headline figures."""
    if not periods:
        return fragment("index.html.j2", trends=[], rows=[])
    names = list(periods)
    cards = {p: {(n, c.key): c for n, d in m.get("notebooks", {}).items()
                 for c in headline_cards({"notebooks": {n: d}})} for p, m in periods.items()}
    raw = {p: {(n, k): v for n, d in m.get("notebooks", {}).items() for k, v in (d.get("headline") or {}).items()}
           for p, m in periods.items()}
    keys = list(dict.fromkeys(k for p in reversed(names) for k in cards[p]))
    # the quarterly review's figures first, the personas' constants last (as on a period's overview)
    keys.sort(key=lambda k: OVERVIEW_ORDER.index(k[0]) if k[0] in OVERVIEW_ORDER else len(OVERVIEW_ORDER))
    cols = keys[:INDEX_COLUMNS]
    rows = [{"period": p,
             "fingerprint": "unreadable metrics.json" if m.get("unreadable") else m.get("workspace_fingerprint", ""),
             "cells": [cards[p][k].value if k in cards[p] else fmt.MISSING for k in cols]}
            for p, m in reversed(periods.items())]
    return fragment("index.html.j2", trends=[_trend(key, names, cards, raw) for key in keys], rows=rows,
                    latest=names[-1], first=names[0] if len(names) > 1 else "",
                    columns=[next(cards[p][k].label for p in reversed(names) if k in cards[p]) for k in cols],
                    total=len(keys), glance=first_screen(periods[names[-1]]))


def index_page(out: Path, tables, pending: dict | None = None) -> str:
    """The HTML of ``<out>/index.html``: every published period (plus ``pending`` ones about to be)."""
    return page("Sales and marketing alignment reports", index_body(_periods(out, pending)), "all periods", tables,
                [], dated=False, home=True)
