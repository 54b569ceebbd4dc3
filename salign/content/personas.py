"""Which persona set the audit uses, which persona each lead is, and what an asset's persona tags mean in it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from salign import render
from salign.definitions import PersonaSet
from salign.rules import RuleError
from salign.strictyaml import load_model
from salign.tables import MissingData

COMMON = "personas.common.yaml"
TEAM_FILES = ("personas.marketing.yaml", "personas.sales.yaml")
UNASSIGNED = "unassigned"
_WORD = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class PersonaChoice(render.Result):
    """The persona set(s) in use, where they came from, and how asset tags map onto them.

    Attributes
    ----------
    source : str
        Readable origin, e.g. ``both teams' sets (definitions/personas.marketing.yaml, ...)``.
    sets : tuple of PersonaSet
        One common set, or each team's set.
    tag_map : dict
        Asset persona tag -> persona ids of the sets in use it stands for.
    """

    source: str
    sets: tuple[PersonaSet, ...]
    tag_map: dict[str, tuple[str, ...]]
    title: str = "Personas the audit uses"

    def metrics(self) -> dict:
        return {"source": self.source, "personas": self.ids, "common": self.common,
                "lead_personas": self.how_leads_are_assigned,
                "tag_map": {k: list(v) for k, v in sorted(self.tag_map.items()) if v != (k,)}}

    def html_body(self) -> str:
        out = (f"<p>Personas from {render.esc(self.source)}: {render.esc(', '.join(self.ids))}. "
               f"For use by persona, {render.esc(self.how_leads_are_assigned)}.</p>")
        mapped = {k: v for k, v in sorted(self.tag_map.items()) if v != (k,)}
        if mapped:
            out += render.table(pd.DataFrame({"asset tag": list(mapped), "counts as": [", ".join(v) for v in
                                                                                     mapped.values()]}),
                                caption="Team persona tags on assets, mapped to the common personas that came from them")
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

    def lead_personas(self, leads: pd.DataFrame) -> pd.DataFrame:
        """Each lead's persona under every set in use.

        Parameters
        ----------
        leads : pandas.DataFrame
            Leads with the fields the rules use (account fields joined in where the leads lack them).

        Returns
        -------
        pandas.DataFrame
            Columns ``lead_id``, ``label`` (the persona ids joined with ``+``, or ``unassigned``: the
            stratum used to compare like with like) and ``personas`` (list of ids).
        """
        try:
            firsts = pd.concat([s.first_match(leads, UNASSIGNED) for s in self.sets], axis=1)
        except RuleError as exc:
            raise MissingData(f"cannot place its leads in the personas ({exc})") from None
        personas = [[p for p in row if p != UNASSIGNED] for row in firsts.itertuples(index=False)]
        labels = ["+".join(ps) if ps else UNASSIGNED for ps in personas]
        return pd.DataFrame({"lead_id": leads["lead_id"].astype(str).to_numpy(), "label": labels,
                             "personas": personas})


def choose_personas(tables, out_dir: str | Path | None = None) -> PersonaChoice:
    """The persona set the audit uses.

    In order: the common set proposed by this run's personas notebook (``personas.common.yaml``
    in ``out_dir``), the adopted common set in the workspace's ``definitions/``, else both
    teams' sets.

    Raises
    ------
    MissingData
        If the workspace has no persona set at all.
    """
    proposed = Path(out_dir) / COMMON if out_dir else None
    team_sets = [tables.definitions[f] for f in TEAM_FILES if f in tables.definitions]
    team_ids = {p.id: s.team for s in team_sets for p in s.personas}
    if proposed is not None and proposed.is_file():
        common = load_model(PersonaSet, proposed)
        return PersonaChoice(f"the common set proposed by this run ({COMMON})", (common,),
                             common_tag_map(common, team_ids))
    if COMMON in tables.definitions:
        common = tables.definitions[COMMON]
        return PersonaChoice(f"the adopted common set (definitions/{COMMON})", (common,),
                             common_tag_map(common, team_ids))
    if not team_sets:
        raise MissingData("has no persona set (definitions/personas.marketing.yaml, personas.sales.yaml "
                          "or personas.common.yaml)")
    files = ", ".join(f"definitions/{f}" for f in TEAM_FILES if f in tables.definitions)
    return PersonaChoice(f"both teams' sets ({files})", tuple(team_sets), {i: (i,) for i in team_ids})


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
