"""Headline figures as cards: the headline contract of the metrics files, read and formatted; never recomputed.

:func:`headline_cards` makes one :class:`Card` per figure (value, detail, change vs last quarter);
:func:`kpi_html` and :func:`kpi_grid` draw them (``templates/kpis.html.j2``). Numbers read as
everywhere else: :mod:`salign.core.fmt`.
"""
from __future__ import annotations

from typing import NamedTuple

from markupsafe import Markup

from salign.common import metrics as registry
from salign.common.metrics import headline_value, is_comparison, is_rate
from salign.core import fmt
from salign.report.html import macro
from salign.report.pages import title

ARROWS = {"up": "▲", "down": "▼", "flat": "▶"}
#: what a significant change means for the reader, said in words beside the colour
VERDICTS = {"good": "Better", "bad": "Worse"}
#: headline figures whose key is a statistic's name: the label a reader gets, and the value as a share
#: (the statistic itself is named in the page's "How this was computed")
PLAIN = {"qualification_model_auc": "Qualification model: ranks a qualified lead above an unqualified one"}
ACRONYMS = {"sla", "slas", "mql", "mqls", "sal", "sals", "sql", "sqls", "auc", "kpi", "roi", "ci", "crm", "p90"}


class Card(NamedTuple):
    """One KPI card. ``arrow``: up/down/flat or None; ``tone``: good/bad/neutral or None (no comparison)."""

    label: str
    value: str
    detail: str
    source: str
    arrow: str | None = None
    tone: str | None = None
    change: str = ""
    #: the headline key the card shows (``mql_to_sql``): one figure across periods, whatever its label says
    key: str = ""

    @property
    def symbol(self) -> str:
        """The arrow as drawn (``▲``, ``▼``, ``▶``); empty without a comparison."""
        return ARROWS.get(self.arrow, "")

    @property
    def verdict(self) -> str:
        """The tone in words (colour is not the only sign): ``▲ Better``, ``▼ Worse``, ``No significant change``;
        empty without a comparison."""
        if self.tone in VERDICTS:
            return f"{self.symbol} {VERDICTS[self.tone]}"
        return "No significant change" if self.tone == "neutral" else ""


def format_headline(v) -> tuple[str, str]:
    """``(value, detail)`` for a number or a rate dict, e.g. ``("66.7%", "2 of 3 · 95% CI 20.8%-93.9%")``."""
    if is_rate(v):
        if v["rate"] is None or not v["n"]:
            return fmt.NO_CASES, f"0 of {fmt.count(v['n'])}"
        detail = f"{fmt.count(v['k'])} of {fmt.count(v['n'])}"
        if v.get("ci_low") is not None and v.get("ci_high") is not None:
            detail += " · " + fmt.interval(v["ci_low"], v["ci_high"])
        return fmt.percent(v["rate"]), detail
    if isinstance(v, (int, float)):
        return fmt.value(v), ""
    return str(v), ""


def _change(value, previous, significant: bool, higher_is_better: bool,
            currency: str = "") -> tuple[str | None, str | None, str]:
    """``(arrow, tone, text)`` of a figure against last quarter's (an amount in ``currency`` when given)."""
    now, before = headline_value(value), headline_value(previous)
    if previous is None or now is None or before is None:
        return None, None, "" if previous is None else "no comparison (n/a)"
    arrow = "up" if now > before else "down" if now < before else "flat"
    delta = (fmt.points(now - before) if is_rate(value) else fmt.money(now - before, currency, signed=True)
             if currency else fmt.signed(now - before))
    tone = "neutral" if not significant or arrow == "flat" else (
        "good" if (arrow == "up") == bool(higher_is_better) else "bad")
    shown = fmt.money(before, currency) if currency else format_headline(previous)[0]
    return arrow, tone, (f"{delta} vs last quarter ({shown}); "
                         + ("significant" if significant else "not significant"))


def label_of(key: str) -> str:
    """A figure's name: the one :mod:`salign.common.metrics` defines (``follow_up_within_sla`` -> ``Followed up
    within the SLA``), else the key in words (``warning_signs`` -> ``Warning signs``)."""
    if registry.get(key) is not None:
        return registry.name(key)
    words = [w.upper() if w.lower() in ACRONYMS else w for w in key.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def headline_cards(metrics: dict) -> list[Card]:
    """One :class:`Card` per headline figure of every notebook, in notebook order, keys sorted.

    The headline contract: each notebook's metrics file has a ``headline``
    object mapping a key (``snake_case``, shown as its label) to one of

    - a number (int or float; ``true``/``false`` show as yes/no);
    - a rate dict ``{"k", "n", "rate", "ci_low", "ci_high"}`` as written by
      :meth:`salign.common.stats.Rate.as_dict` (``rate`` null for 0/0, shown "n/a");
    - a comparison dict ``{"value": <number or rate dict>, "previous": <same or null>,
      "change_significant": bool, "higher_is_better": bool}``, shown as a card
      with an arrow against last quarter: green when the change is significant
      and in the good direction, red when significant and in the bad direction,
      grey when not significant; no arrow when ``previous`` is null. An optional
      ``label`` (text) replaces the key as the card's label, e.g. to say which
      metric changed most.

    Anything else is shown as text. The publisher formats these figures; it
    never recomputes them.
    """
    cards = []
    for name, doc in metrics.get("notebooks", {}).items():
        source = title(name)
        for key, v in sorted((doc.get("headline") or {}).items()):
            label = label_of(key)
            if is_comparison(v):
                label = str(v["label"]) if v.get("label") else label
                value, detail = format_headline(v["value"])
                if v.get("currency"):  # an amount: in the workspace currency
                    value = fmt.money(headline_value(v), str(v["currency"]))
                arrow, tone, change = _change(v["value"], v["previous"], bool(v.get("change_significant")),
                                              bool(v.get("higher_is_better", True)), str(v.get("currency") or ""))
                cards.append(Card(label, value, detail, source, arrow, tone, change, key))
            elif key in PLAIN and isinstance(v, (int, float)) and not isinstance(v, bool):
                cards.append(Card(PLAIN[key], f"{fmt.percent(v, 0)} of the time", "", source, key=key))
            else:
                cards.append(Card(label, *format_headline(v), source, key=key))
    return cards


def kpi_html(card: Card, source: bool = True) -> Markup:
    """A card: label, value with its arrow, detail (count and interval), change vs last quarter, source."""
    return macro("kpis.html.j2", "card")(card, source)


def kpi_grid(cards, source: bool = True) -> Markup:
    """The cards in a grid; ``source=False`` where the page or a heading already says where they come from."""
    return macro("kpis.html.j2", "grid")(list(cards), source)
