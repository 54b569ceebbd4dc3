"""The one persona set every page after the personas page uses: the adopted set, else this run's proposal.

A workspace adopts a common persona set by putting ``definitions/personas.common.yaml`` there. Until it
does, the personas page of the same run proposes one (``personas.common.yaml`` in the run's report
folder); the pages that follow it (content audit, quarterly review) place leads in that proposal, say
so, and so count each persona's leads exactly as the personas page does. Without either, each page
falls back to what it used before (both teams' sets, or the leads' own persona column).

The proposal travels in ``Tables.definitions`` under :data:`PROPOSED` (not a file name: nobody can
put it in a workspace by mistake); :func:`with_proposal` puts it there.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from salign.core.strictyaml import load_model
from salign.definitions.models import PersonaSet

#: the adopted set's file in ``definitions/``, and the proposal's in the run's report folder
FILE = "personas.common.yaml"
#: the key of this run's proposal in ``Tables.definitions``
PROPOSED = "(proposed) personas.common.yaml"

ADOPTED_SOURCE = f"the adopted common set (definitions/{FILE})"
PROPOSED_SOURCE = (f"the proposed common set ({FILE} of this run's Buyer personas page; not adopted yet: "
                   f"copy it to definitions/ once both teams agree)")


def in_use(tables) -> tuple[PersonaSet | None, str]:
    """(the persona set in use, where it comes from in words): the adopted set, else this run's proposal, else
    ``(None, "")``."""
    defs = getattr(tables, "definitions", None) or {}
    if FILE in defs:
        return defs[FILE], ADOPTED_SOURCE
    if PROPOSED in defs:
        return defs[PROPOSED], PROPOSED_SOURCE
    return None, ""


def with_proposal(tables, folder: Path):
    """``tables`` with the proposal ``folder/personas.common.yaml`` (written by this run's personas notebook) in its
    definitions, when the workspace has adopted no set; else ``tables`` unchanged."""
    if tables is None or FILE in tables.definitions or not (Path(folder) / FILE).is_file():
        return tables
    proposal = load_model(PersonaSet, Path(folder) / FILE)
    return dataclasses.replace(tables, definitions={**tables.definitions, PROPOSED: proposal})
