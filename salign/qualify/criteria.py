"""What a sales-ready lead must carry, and the segments that (almost) never succeed.

Both are found on the training leads and checked on the holdout:

- minimum information: fields whose absence leaves a lead's chance of success at most
  :data:`MISSING_RATIO` of that of leads that have them (the intervals do not overlap), plus
  the fields ``sla.yaml`` requires at handoff (with the data's evidence for each);
- disqualification: segments (a category value, a numeric range or a missing field) of at
  least :data:`MIN_SEGMENT` training leads whose success rate is at most
  :data:`DISQUALIFY_SHARE` of the base rate with an upper 95% bound under half of it, and
  whose holdout leads confirm it.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from salign.common.result import Paragraph, Result, Table
from salign.common.stats import Rate
from salign.core import fmt
from salign.definitions.rules import Condition
from salign.qualify.features import NUMERIC
from salign.scoring.bins import fit_spec
from salign.scoring.per_value import by_value
from salign.workspace.schema import PII_COLUMNS
from salign.workspace.tables import MissingData

MISSING_RATIO = 0.5
MIN_MISSING_SHARE = 0.01
DISQUALIFY_SHARE = 0.2
MIN_SEGMENT = 50
#: the holdout confirms a segment when it has at least this many of its leads succeeding at most at half the base rate
MIN_HOLDOUT_SEGMENT = 20


@dataclass
class Requirement:
    field: str
    without: Rate
    with_: Rate
    from_sla: bool
    from_data: bool

    @property
    def why(self) -> str:
        evidence = (f"without it {fmt.percent(self.without.value)} succeed ({fmt.count(self.without.n)} training "
                    f"leads), with it {fmt.percent(self.with_.value)}" if self.without.n and self.with_.n
                    else "no training lead lacks it")
        source = ("required by sla.yaml and by the data" if self.from_sla and self.from_data
                  else "required by sla.yaml" if self.from_sla else "required by the data")
        return f"{source}: {evidence}"


@dataclass
class Segment:
    rule: Condition
    train: Rate
    holdout: Rate

    @property
    def why(self) -> str:
        train = f"{fmt.percent(self.train.value)} of {fmt.count(self.train.n)} training leads succeeded"
        if not self.holdout.n:
            return train
        return f"{train}; holdout {fmt.percent(self.holdout.value)} of {fmt.count(self.holdout.n)}"


@dataclass
class Criteria(Result):
    """Minimum information and disqualification rules for the definition."""

    required: list[Requirement]
    segments: list[Segment]
    base: Rate
    title: str = "Minimum information and disqualification rules"

    def metrics(self) -> dict:
        return {"minimum_information": {r.field: {"without": r.without.as_dict(), "with": r.with_.as_dict(),
                                                  "from_sla": r.from_sla, "from_data": r.from_data}
                                        for r in self.required},
                "disqualify": [{"rule": s.rule.describe(), "train": s.train.as_dict(), "holdout": s.holdout.as_dict()}
                               for s in self.segments]}

    def blocks(self) -> list:
        req = pd.DataFrame([{"field": r.field, "success without it": str(r.without),
                             "success with it": str(r.with_), "why": r.why.split(":")[0]}
                            for r in self.required])
        seg = pd.DataFrame([{"disqualify when": s.rule.describe(), "training leads": str(s.train),
                             "holdout leads": str(s.holdout)} for s in self.segments])
        return [Paragraph(f"Base rate of success in training: {str(self.base)}."),
                Table(req, caption="A lead must carry these fields before handoff") if len(req) else
                Paragraph("No field is required before handoff."),
                Table(seg, caption="Segments that (almost) never succeed") if len(seg) else
                Paragraph("No segment has a near-zero success rate; nothing is disqualified outright.")]


def _required(data, sla_fields: list[str]) -> list[Requirement]:
    facts, mask = data.facts, data.train  # one column at a time: no copy of the whole (wide) frame
    y = data.y[mask]
    cols = list(data.kinds) + [c for c in PII_COLUMNS if c in facts.columns]
    cols += [c for c in sla_fields if c not in cols]
    out = []
    for col in cols:
        if col not in facts.columns:
            continue
        x = facts[col][mask]
        present = x.notna().to_numpy()
        if x.dtype == object:
            present &= by_value(x, _not_blank).to_numpy(dtype=bool)
        without, with_ = Rate(int(y[~present].sum()), int((~present).sum())), Rate(int(y[present].sum()),
                                                                                 int(present.sum()))
        from_data = bool(without.n >= MIN_MISSING_SHARE * len(y) and with_.n and without.value is not None
                         and without.value <= MISSING_RATIO * with_.value and without.interval[1] < with_.interval[0])
        if from_data or col in sla_fields:
            out.append(Requirement(col, without, with_, col in sla_fields, from_data))
    return out


def _not_blank(col: pd.Series) -> pd.Series:
    """Rows whose text is not empty once stripped (missing counts as not blank here: ``notna`` tells those)."""
    return col.astype("string").str.strip().ne("").fillna(False)


def _segments(data) -> list[Segment]:
    X, y, train = data.features, data.y, data.train
    base = y[train].mean()
    found = []
    for col, kind in data.kinds.items():
        x = X[col]
        spec = fit_spec(col, kind, x[train])
        codes = spec.codes(x)
        bad_levels = []
        for b in range(spec.n_bins):
            inside = codes == b
            k, n = int(y[inside & train].sum()), int((inside & train).sum())
            rate = Rate(k, n)
            if n < max(MIN_SEGMENT, MIN_MISSING_SHARE * train.sum()) or rate.value > DISQUALIFY_SHARE * base:
                continue
            if rate.interval[1] >= 0.5 * base:
                continue
            if b == spec.missing_bin:
                found.append(Condition(field=col, is_null=True))
            elif kind == NUMERIC:
                seen = x[inside & train]
                found.append(Condition(field=col, between=(float(seen.min()), float(seen.max()))))
            elif b < len(spec.levels):
                bad_levels.append(spec.levels[b])
        if bad_levels:
            found.append(Condition.model_validate({"field": col, "in": bad_levels}))
    out = []
    for rule in found:  # each rule reads one feature: evaluated on it alone, once per distinct text
        f = rule.field
        col = X[f] if f in X.columns else data.facts[f]
        hit = by_value(col, lambda c, rule=rule: rule.evaluate(c.to_frame())).to_numpy(dtype=bool)
        tr = Rate(int(y[hit & train].sum()), int((hit & train).sum()))
        ho = Rate(int(y[hit & ~train].sum()), int((hit & ~train).sum()))
        holdout_base = y[~train].mean()
        if ho.n >= MIN_HOLDOUT_SEGMENT and ho.value > 0.5 * holdout_base:
            continue  # the holdout does not confirm it
        out.append(Segment(rule, tr, ho))
    return out


def find_criteria(tables, data) -> Criteria:
    """Minimum information (from the data and ``sla.yaml``) and disqualification rules.

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
        For ``sla.yaml``'s ``min_fields_at_handoff`` (optional).
    data : salign.qualify.dataset.Dataset
    """
    try:
        sla_fields = list(tables.definition("sla.yaml").marketing.min_fields_at_handoff)
    except MissingData:
        sla_fields = []
    return Criteria(_required(data, sla_fields), _segments(data), data.rate(data.train))
