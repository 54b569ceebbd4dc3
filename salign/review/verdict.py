"""The one-sentence verdict a leader reads first: are the teams aligned, and is the quarter better or worse than
the last, on what evidence. It judges figures the quarterly review already recorded (the SLA scorecard's
commitments, the change table's figures); it computes none.
"""
from __future__ import annotations

from salign.common.metrics import headline_value
from salign.core import fmt
from salign.review.changes import spec


def _and(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def _figure_label(name: str) -> str:
    try:
        label = spec(name)[2]
    except KeyError:
        label = name.replace("_", " ")
    return label[:1].lower() + label[1:] if not label[:3].isupper() else label


def verdict(commitments: list[dict], figures: dict, previous_period: str = "") -> dict:
    """The first screen's sentence from the SLA commitments and the change table's figures vs last quarter.

    ``commitments``: the SLA scorecard's (``team``, ``commitment``, ``met``: True, False or None for no target);
    ``figures``: the change table's (``{name: {"value", "previous", "previous_significant"}}``); a figure is better
    or worse only when its change vs last quarter is significant, in the direction :func:`salign.review.changes.spec`
    calls good or bad. Returns ``aligned`` (all commitments met; None without any), ``trend`` (``better``,
    ``worse``, ``mixed``, ``unchanged`` or ``unknown`` without a comparison), ``better`` and ``worse`` (labels) and
    ``text``.
    """
    judged = [c for c in commitments if c.get("met") is not None]
    missed = [c for c in judged if not c["met"]]
    aligned = None if not judged else not missed
    teams = list(dict.fromkeys(c["team"] for c in judged))
    per_team = [f"{team} {sum(bool(c['met']) for c in judged if c['team'] == team)} of "
                f"{sum(c['team'] == team for c in judged)}" for team in teams]
    if aligned is None:
        first = "Alignment unknown: no SLA commitment with a target was measured"
    elif aligned:
        first = f"Aligned: all {fmt.count(len(judged))} SLA commitments met ({', '.join(per_team)})"
    else:
        first = (f"Not aligned: {fmt.count(len(missed))} of {fmt.count(len(judged))} SLA commitments missed ("
                 + _and([f"{c['team']}: {c['commitment'][:1].lower()}{c['commitment'][1:]}" for c in missed]) + ")")
    better, worse, compared = [], [], 0
    for name, f in figures.items():
        now, before = headline_value(f.get("value")), headline_value(f.get("previous"))
        if now is None or before is None:
            continue
        compared += 1
        if not f.get("previous_significant") or now == before:
            continue
        try:
            higher_is_better = spec(name)[1]
        except KeyError:
            continue
        (better if (now > before) == higher_is_better else worse).append(_figure_label(name))
    last = f"last quarter ({previous_period})" if previous_period else "last quarter"
    if not compared:
        trend, second = "unknown", f"there is no {last} to compare with"
    elif better and worse:
        trend, second = "mixed", (f"mixed against {last}: {_and(better)} improved significantly, "
                                  f"{_and(worse)} got significantly worse")
    elif better:
        trend, second = "better", (f"better than {last}: {_and(better)} improved significantly and no figure got "
                                   "significantly worse")
    elif worse:
        trend, second = "worse", (f"worse than {last}: {_and(worse)} got significantly worse and no figure "
                                  "improved significantly")
    else:
        trend, second = "unchanged", f"no figure changed significantly since {last}"
    text = f"{first}; {second}."
    return {"aligned": aligned, "trend": trend, "better": better, "worse": worse, "text": text,
            "evidence": f"SLA scorecard; change table, {fmt.count(compared)} figures"}
