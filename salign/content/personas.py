"""Which persona set the audit uses, which persona each lead is, and what an asset's persona tags mean in it."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from salign.common import personaset
from salign.common.facts import leads_with_accounts
from salign.common.result import Block, Paragraph, Result, Table
from salign.core import fmt
from salign.definitions.models import UNASSIGNED, PersonaSet
from salign.definitions.rules import RuleError
from salign.workspace.tables import MissingData

COMMON = "personas.common.yaml"
TEAM_FILES = ("personas.marketing.yaml", "personas.sales.yaml")
_WORD = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True, eq=False)
class PersonaChoice(Result):
    """The persona set(s) in use, where they came from, and how asset tags map onto them.

    Attributes
    ----------
    source : str
        Readable origin, e.g. ``both teams' sets (definitions/personas.marketing.yaml, ...)``.
    sets : tuple of PersonaSet
        One common set, or each team's set.
    tag_map : dict
        Asset persona tag -> persona ids of the sets in use it stands for.
    leads : pandas.DataFrame or None
        Index ``lead_id``: ``label`` (the lead's persona ids joined with ``+``, or ``unassigned``: the
        stratum used to compare like with like) and ``personas`` (list of ids); None without a leads table.
    """

    source: str
    sets: tuple[PersonaSet, ...]
    tag_map: dict[str, tuple[str, ...]]
    leads: pd.DataFrame | None = None
    title: str = "Personas the audit uses"

    def metrics(self) -> dict:
        return {"source": self.source, "personas": self.ids, "common": self.common,
                "lead_personas": self.how_leads_are_assigned, "leads_per_persona": self.leads_per_persona(),
                "tag_map": {k: list(v) for k, v in sorted(self.tag_map.items()) if v != (k,)}}

    def leads_per_persona(self) -> dict[str, int]:
        """How many leads hold each persona (and how many none), in persona order."""
        if self.leads is None:
            return {}
        counts = self.leads["personas"].explode().value_counts()
        out = {p: int(counts.get(p, 0)) for p in self.ids}
        out[UNASSIGNED] = int((self.leads["label"] == UNASSIGNED).sum())
        return out

    def blocks(self) -> list[Block]:
        out = [Paragraph(f"Personas from {self.source}: {', '.join(self.ids)}. For use by persona, "
                         f"{self.how_leads_are_assigned}.")]
        if self.leads is not None:
            counts = pd.Series(self.leads_per_persona(), name="leads").rename_axis("persona")
            out.append(Table(counts.reset_index(), caption=f"Leads per persona (all {fmt.count(len(self.leads))} leads)"))
        mapped = {k: v for k, v in sorted(self.tag_map.items()) if v != (k,)}
        if mapped:
            tags = pd.DataFrame({"asset tag": list(mapped), "counts as": [", ".join(v) for v in mapped.values()]})
            out.append(Table(tags, caption="Team persona tags on assets, mapped to the common personas they became"))
        return out

    @property
    def ids(self) -> list[str]:
        """Persona ids in file order (marketing's before sales' for the team sets)."""
        return [p.id for s in self.sets for p in s.personas]

    @property
    def common(self) -> bool:
        return len(self.sets) == 1 and self.sets[0].team == "common"

    @property
    def team_of(self) -> dict[str, str]:
        """Persona id -> the team whose file defines it (``common`` for the common set)."""
        return {p.id: s.team for s in self.sets for p in s.personas}

    @property
    def how_leads_are_assigned(self) -> str:
        if self.common:
            return "each lead gets the first persona of the common set whose rule it matches"
        return ("each lead gets the first matching persona of each team's rules, so a lead can be both a "
                "marketing and a sales persona and counts under each")

    def map_tags(self, tags: list[str]) -> tuple[list[str], list[str]]:
        """(persona ids in use, tags that name no persona of the sets in use) for one asset's tags."""
        mapped, unknown = [], []
        for t in tags:
            if t in self.tag_map:
                mapped += [p for p in self.tag_map[t] if p not in mapped]
            else:
                unknown.append(t)
        return mapped, unknown


def assign_leads(sets: tuple[PersonaSet, ...], leads: pd.DataFrame) -> pd.DataFrame:
    """Each lead's first matching persona under every set: index ``lead_id``, columns ``label``, ``personas``.

    Raises
    ------
    MissingData
        If a rule uses a field the leads (and their accounts) do not have.
    """
    try:
        firsts = pd.concat([s.first_match(leads, UNASSIGNED) for s in sets], axis=1)
    except RuleError as exc:
        raise MissingData(f"cannot place its leads in the personas ({exc})") from None
    personas = [[p for p in row if p != UNASSIGNED] for row in firsts.itertuples(index=False)]
    labels = ["+".join(ps) if ps else UNASSIGNED for ps in personas]
    return pd.DataFrame({"label": labels, "personas": personas},
                        index=pd.Index(leads["lead_id"].astype(str).to_numpy(), name="lead_id"))


def choose_personas(tables) -> PersonaChoice:
    """The persona set the audit uses, with each lead's persona under it.

    The adopted common set (``definitions/personas.common.yaml``, put there by a person after
    sign-off) if the workspace has one, else the set this run's personas page proposed (labelled as
    a proposal; see :mod:`salign.common.personaset`), so each persona's leads are those the personas
    page counts; else both teams' sets.

    Raises
    ------
    MissingData
        If the workspace has no persona set at all, or a rule uses a field the leads lack.
    """
    sets, source, tag_map = _sets(tables)
    leads = assign_leads(sets, leads_with_accounts(tables)) if tables.leads is not None else None
    return PersonaChoice(source, sets, tag_map, leads)


def _sets(tables) -> tuple[tuple[PersonaSet, ...], str, dict[str, tuple[str, ...]]]:
    team_sets = [tables.definitions[f] for f in TEAM_FILES if f in tables.definitions]
    team_ids = {p.id: s.team for s in team_sets for p in s.personas}
    common, source = personaset.in_use(tables)
    if common is not None:
        return (common,), source, common_tag_map(common, team_ids)
    if not team_sets:
        raise MissingData("has no persona set (definitions/personas.marketing.yaml, personas.sales.yaml "
                          "or personas.common.yaml)")
    files = ", ".join(f"definitions/{f}" for f in TEAM_FILES if f in tables.definitions)
    return tuple(team_sets), f"both teams' sets ({files})", {i: (i,) for i in team_ids}


def common_tag_map(common: PersonaSet, team_ids: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Asset tag -> common persona ids.

    A common id stands for itself; a team persona id maps to every common persona whose evidence
    names it as a word (``growth_marketer``, ``marketing.growth_marketer``, ``from growth_marketer``,
    in any evidence value or list).
    """
    out: dict[str, list[str]] = {p.id: [p.id] for p in common.personas}
    for p in common.personas:
        words = set()
        for value in p.evidence.values():
            for item in value if isinstance(value, list) else [value]:
                words.update(_WORD.findall(str(item).lower()))
        for tid in sorted(words & set(team_ids)):
            if p.id not in out.setdefault(tid, []):
                out[tid].append(p.id)
    return {k: tuple(v) for k, v in out.items()}
