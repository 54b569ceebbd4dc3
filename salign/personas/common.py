"""The proposed common persona set: one persona per target segment, with its evidence, written as
``personas.common.yaml``; and the adopted set (``definitions/personas.common.yaml``) measured the same way."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from salign.common.facts import leads_with_accounts
from salign.common.result import Block, Code, Em, Paragraph, Result, Table
from salign.common.stats import Rate
from salign.core import fmt
from salign.core.strictyaml import dump_yaml
from salign.definitions.models import UNASSIGNED, Persona, PersonaSet
from salign.definitions.rules import Condition
from salign.personas.compare import TEAMS
from salign.personas.groups import group_stats, leads_cells, stats_metrics, stats_table
from salign.scoring.per_value import by_rows, rules_frame
from salign.workspace.tables import MissingData

FILE = "personas.common.yaml"
#: a text level held by at least this share of a segment names it
DOMINANT = 0.6


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", str(text).casefold()).strip("_")
    return s if s and s[0].isalpha() else f"p_{s}"


def persona_name(members: pd.DataFrame, customers: pd.DataFrame, features: list[str]) -> tuple[str, str]:
    """(id, name) from what sets a segment's customers apart, e.g. ``Software, event, Director (employees 240-1.6k)``.

    A text level names the segment when at least :data:`DOMINANT` of its customers hold it and it is at
    least 1.5 times as common as among all customers; the first numeric attribute adds its 10-90% range.
    """
    words, ranges = [], []
    for f in features:
        s = members[f]
        if pd.api.types.is_numeric_dtype(s):
            lo, hi = s.quantile([0.1, 0.9])
            ranges.append(f"{f} {compact(lo)}-{compact(hi)}")
        else:
            share = s.astype("string").value_counts(normalize=True)
            overall = customers[f].astype("string").value_counts(normalize=True)
            if len(share) and share.iloc[0] >= DOMINANT and share.iloc[0] >= 1.5 * overall[share.index[0]]:
                words.append(str(share.index[0]))
    words = words[:3]
    if not words:
        return _slug(ranges[0] if ranges else "mixed"), ranges[0] if ranges else "Mixed"
    name = ", ".join(words) + (f" ({ranges[0]})" if ranges else "")
    return _slug("_".join(words[:2])), name


def compact(x: float) -> str:
    """Two significant digits with k, M or B: 1.6B, 240, 12k."""
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{float(f'{x / div:.2g}'):g}{unit}"
    return f"{float(f'{x:.2g}'):g}" if x else "0"


@dataclass
class CommonSet(Result):
    """The proposed common persona set and its evidence.

    Attributes
    ----------
    persona_set : PersonaSet
        Team ``common``; one persona per target segment whose rule reproduces it.
    table : pandas.DataFrame
        One row per persona plus ``unassigned``: group statistics by rule (first match, in file
        order), ``leads``, ``segment``, ``team_personas`` (team persona -> share of the persona's
        customers it claims).
    left_out : pandas.DataFrame
        Segments that are not targets (their customers stay unassigned), with their statistics.
    path : Path or None
        Where the YAML was written.
    leads_total : int
    """

    persona_set: PersonaSet
    table: pd.DataFrame
    left_out: pd.DataFrame
    path: Path | None
    leads_total: int
    #: the workspace currency when customer value is an amount (see CustomerValue.currency)
    currency: str = ""
    title: str = "Proposed common persona set"

    def metrics(self) -> dict:
        return {"file": FILE, "personas": {r["group"]: {**stats_metrics(r), "leads": int(r["leads"]),
                                                        "segment": r["segment"]}
                                           for _, r in self.table.iterrows()},
                "left_out": list(self.left_out["segment"])}

    def headline(self) -> dict:
        u = self.table[self.table["group"] == UNASSIGNED].iloc[0]
        n = int(self.table["customers"].sum())
        return {"common_personas": len(self.persona_set.personas),
                "customers_in_a_common_persona": Rate(n - int(u["customers"]), n).as_dict()}

    def blocks(self) -> list[Block]:
        n = int(self.table["customers"].sum())
        u = self.table[self.table["group"] == UNASSIGNED].iloc[0]
        where = ("written to ", Code(self.path.name), " in this run's report folder") if self.path else ("not written",)
        head = Paragraph(
            "One persona per target segment, with the segment's rule (", *where, "). Each customer counts under the "
            f"first persona whose rule it matches; {fmt.count(u['customers'])} of {fmt.count(n)} customers "
            f"({fmt.percent(u['customers'] / n)}) match none and stay ", Em("unassigned"), ". To adopt it, copy the "
            "file to the workspace's ", Code("definitions/"), ", edit it and rerun this notebook.")
        t = self.table
        shown = stats_table(t, currency=self.currency)
        shown.insert(1, "rule", [p.rule.describe() for p in self.persona_set.personas] + ["matches no persona"])
        shown["leads"] = leads_cells(t["leads"], self.leads_total)
        shown["came from"] = [_origin(r) for _, r in t.iterrows()]
        out = [head, Table(shown, caption="Proposed personas (evidence by rule)")]
        if not self.left_out.empty:
            lo = stats_table(self.left_out.assign(group=self.left_out["segment"] + ": " + self.left_out["description"]),
                             currency=self.currency)
            out.append(Table(lo, caption="Segments left out (not targets): their customers stay unassigned"))
        return out


def _origin(row) -> str:
    if row["group"] == UNASSIGNED:
        return ""
    teams = "; ".join(f"{k} claims {fmt.percent(v, 0)}" for k, v in row["team_personas"].items()) or "no team persona"
    return f"segment {row['segment']}; {teams}"


def rule_fields(persona_set: PersonaSet) -> list[str]:
    """The fields the rules of a persona set read, in file order."""
    return list(dict.fromkeys(f for p in persona_set.personas for f in sorted(p.rule.fields())))


def measure(persona_set: PersonaSet, value, leads: pd.DataFrame | None) -> pd.DataFrame:
    """Evidence per persona of a set (first match in file order) plus the unassigned bucket."""
    c = value.customers
    first = persona_set.first_match(c, UNASSIGNED)
    fields = rule_fields(persona_set)
    lead_first = (by_rows(rules_frame(leads, fields), lambda f: persona_set.first_match(f, UNASSIGNED))
                  if leads is not None else None)  # once per distinct lead
    rows = []
    for pid in [p.id for p in persona_set.personas] + [UNASSIGNED]:
        rows.append({"group": pid, **group_stats(first == pid, c),
                     "leads": int((lead_first == pid).sum()) if lead_first is not None else 0})
    return pd.DataFrame(rows)


def team_membership(tables, customers: pd.DataFrame) -> pd.DataFrame:
    """Customer x ``team.persona`` booleans for the team persona sets the workspace has (may have no columns)."""
    cols = {}
    for team in TEAMS:
        pset = tables.definitions.get(f"personas.{team}.yaml")
        if pset is not None:
            member = pset.assign(customers)
            cols.update({f"{team}.{pid}": member[pid] for pid in member.columns})
    return pd.DataFrame(cols, index=customers.index)


def _team_claims(teams: pd.DataFrame, member: pd.Series, floor: float = 0.25) -> dict[str, float]:
    """Team personas claiming at least ``floor`` of a persona's customers -> the share they claim."""
    if not member.any():
        return {}
    shares = {k: float(teams.loc[member, k].mean()) for k in teams.columns}
    return {k: v for k, v in sorted(shares.items(), key=lambda kv: -kv[1]) if v >= floor}


def common_set(tables, value, segments, out_dir: str | Path | None = None) -> CommonSet:
    """Propose one persona per target segment (its rule, named for what its customers share).

    Parameters
    ----------
    tables : salign.Tables
        For the leads each persona matches, and the team persona sets each persona came from.
    value : CustomerValue
    segments : Segments
    out_dir : path, optional
        Folder to write ``personas.common.yaml`` into (the run's report folder).

    Raises
    ------
    MissingData
        If no segment is a target or none has a rule.
    """
    c = value.customers
    seg = segments.table
    targets = seg[seg["target"] & seg["rule"].notna()]
    if targets.empty:
        raise MissingData("has no target segment with a rule, so no common persona can be proposed")
    labels = segments.labels.to_numpy()
    drafts, used = [], set()
    for _, r in targets.iterrows():
        pid, name = persona_name(c[labels == r["segment"]], c, segments.features)
        while pid in used:
            pid += "_2"
        used.add(pid)
        drafts.append(Persona(id=pid, name=name, rule=r["rule"],
                              description=f"Customers like data-driven segment {r['segment']} ({r['description']})"))
    drafted = PersonaSet(team="common", personas=drafts)
    leads = leads_with_accounts(tables, rule_fields(drafted)) if tables.leads is not None else None
    table = measure(drafted, value, leads)
    first = PersonaSet(team="common", personas=drafts).first_match(c, UNASSIGNED)
    table["segment"] = list(targets["segment"]) + [""]
    teams = team_membership(tables, c)
    table["team_personas"] = [_team_claims(teams, first == g) if g != UNASSIGNED else {} for g in table["group"]]
    personas = []
    for p, (_, r) in zip(drafts, table.iterrows()):
        evidence = {"segment": r["segment"], "customers": int(r["customers"]),
                    "best": str(Rate(int(r["best"]), int(r["customers"]))),
                    "worst": str(Rate(int(r["worst"]), int(r["customers"]))),
                    "value_share": round(float(r["value_share"]), 4), "leads": int(r["leads"]),
                    "team_personas": [f"{k} claims {v:.0%}" for k, v in r["team_personas"].items()]}
        personas.append(p.model_copy(update={"evidence": evidence}))
    pset = PersonaSet(team="common", personas=personas)
    left_out = seg[~seg["target"]].reset_index(drop=True)
    path = None
    if out_dir is not None:
        path = Path(out_dir) / FILE
        path.write_text(to_yaml(pset, left_out), encoding="utf-8")
    return CommonSet(pset, table, left_out, path, len(leads) if leads is not None else 0,
                     currency=getattr(value, "currency", ""))


def _plain(rule: Condition) -> dict:
    """The rule as YAML-ready data, whole numbers written without a decimal point."""
    def tidy(x):
        if isinstance(x, dict):
            return {k: tidy(v) for k, v in x.items()}
        if isinstance(x, list):
            return [tidy(v) for v in x]
        return int(x) if isinstance(x, float) and x.is_integer() else x

    return tidy(rule.model_dump(mode="json", by_alias=True, exclude_none=True))


def to_yaml(pset: PersonaSet, left_out: pd.DataFrame) -> str:
    """The set as strict YAML that :class:`~salign.definitions.models.PersonaSet` loads, with a header comment."""
    lines = ["# Proposed common persona set, written by notebooks/01_personas.",
             "# To adopt: copy to the workspace's definitions/, edit the rules, rerun 01_personas alone.",
             "# Rule language: in, not_in, eq, min, max, between, contains, is_null, all, any (see salign.definitions.rules)."]
    for _, r in left_out.iterrows():
        lines.append(f"# Left out (not a target): segment {r['segment']}, {int(r['customers']):,} customers, "
                     f"{int(r['worst']):,} of them worst, {r['value_share']:.1%} of value: {r['description']}")
    doc = {"version": pset.version, "team": pset.team,
           "personas": [{"id": p.id, "name": p.name, "description": p.description, "rule": _plain(p.rule),
                         "evidence": dict(p.evidence)} for p in pset.personas]}
    body = dump_yaml(doc, sort_keys=False, allow_unicode=True, width=120)
    return "\n".join(lines) + "\n" + body


@dataclass
class AdoptedSet(Result):
    """The workspace's own common set (``definitions/personas.common.yaml``) measured like the proposal."""

    persona_set: PersonaSet
    table: pd.DataFrame
    leads_total: int
    #: the workspace currency when customer value is an amount (see CustomerValue.currency)
    currency: str = ""
    title: str = "Your common persona set (definitions/personas.common.yaml)"

    def metrics(self) -> dict:
        return {r["group"]: {**stats_metrics(r), "leads": int(r["leads"])} for _, r in self.table.iterrows()}

    def blocks(self) -> list[Block]:
        n = int(self.table["customers"].sum())
        u = self.table[self.table["group"] == UNASSIGNED].iloc[0]
        t = self.table
        shown = stats_table(t, currency=self.currency)
        shown.insert(1, "rule", [p.rule.describe() for p in self.persona_set.personas] + ["matches no persona"])
        shown["leads"] = leads_cells(t["leads"], self.leads_total)
        return [Paragraph("The set in the workspace's definitions, applied the same way (first match in file order): "
                          f"{fmt.count(n - int(u['customers']))} of {fmt.count(n)} customers assigned, "
                          f"{fmt.count(u['customers'])} unassigned."),
                Table(shown)]


def adopted_set(tables, value) -> AdoptedSet:
    """Measure ``definitions/personas.common.yaml`` (the analyst's edited set) on customers and leads."""
    pset = tables.definition(FILE)
    leads = leads_with_accounts(tables, rule_fields(pset)) if tables.leads is not None else None
    return AdoptedSet(pset, measure(pset, value, leads), len(leads) if leads is not None else 0,
                      currency=getattr(value, "currency", ""))
