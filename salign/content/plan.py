"""A short messaging plan from the audit: gaps to fill, stale assets to refresh or retire, lost assets to share."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from salign.common.result import Block, Paragraph, Result, Table
from salign.core import fmt

#: Actions in the order the plan lists them (the two kinds of gap action together, by gap rank).
ACTIONS = ("fill gap", "refresh to fill gap", "share", "refresh", "retire", "promote or retire", "classify", "retag")
_GROUP = {"fill gap": 0, "refresh to fill gap": 0, "share": 1, "refresh": 2, "retire": 3, "promote or retire": 4,
          "classify": 5, "retag": 6}


@dataclass
class MessagingPlan(Result):
    """What to do next with the content, one row per action: ``action``, ``what``, ``why``, ``owner``."""

    items: pd.DataFrame
    title: str = "Messaging plan"

    def metrics(self) -> dict:
        counts = self.items["action"].value_counts()
        return {"actions": {a: int(counts.get(a, 0)) for a in ACTIONS},
                "items": [[r.action, r.what] for r in self.items.itertuples()]}

    def blocks(self) -> list[Block]:
        m = self.metrics()["actions"]
        parts = [f"{fmt.count(n)} to {a}" for a, n in m.items() if n]
        return [Paragraph(f"{'; '.join(parts) or 'Nothing to do'}."), Table(self.items, max_rows=80)]


def _owner(team_of: dict, persona: str) -> str:
    team = team_of.get(persona, "common")
    return "both teams" if team == "common" else team


def messaging_plan(matrix, inventory, usage, choice) -> MessagingPlan:
    """Turn the matrix, inventory and usage into a ranked list of actions.

    A gap whose cell holds a stale asset is filled by refreshing that asset; other gaps need new
    content (owner: the team whose persona it is). Stale assets still used in the recent quarters
    are refreshed, the others retired. Lost assets are shared with the other team; current assets
    nobody used are promoted or retired; unclassified assets get a persona and a stage; assets tagged
    with personas the set in use does not have (team personas no common persona came from) are retagged.
    """
    a = inventory.assets.set_index("content_id")
    u = usage.by_asset
    recent = u[usage.quarter_labels].sum(axis=1)
    rows, handled = [], set()
    for g in matrix.gaps.itertuples():
        lpq = "unknown" if pd.isna(g.leads_per_quarter) else f"{g.leads_per_quarter:,.0f}"
        why = (f"no current {g.stage} asset for {g.persona}; {lpq} leads of this persona enter {g.stage} per "
               f"quarter (gap rank {g.rank})")
        if g.stale_ids:
            for cid in g.stale_ids:
                rows.append(("refresh to fill gap", f"{cid} {a.at[cid, 'title']}", why, a.at[cid, "owner_team"],
                             g.rank))
                handled.add(cid)
        else:
            rows.append(("fill gap", f"{g.stage} content for {g.persona}", why, _owner(choice.team_of, g.persona),
                         g.rank))
    for r in usage.lost.itertuples():
        why = f"only {r.used_by} uses it ({r.uses:,} uses); {r.share_with} uses other assets of type {r.type}"
        rows.append(("share", f"{r.content_id} {r.title}", why, r.used_by, 0))
    stale = a[a["stale"]]
    for cid, s in stale.iterrows():
        if cid in handled:
            continue
        n = int(recent.get(cid, 0))
        action = "refresh" if n else "retire"
        rows.append((action, f"{cid} {s['title']}", f"last updated {s['age_days']:,} days ago; {n:,} uses in "
                     f"{usage.quarter_labels[0]}-{usage.quarter_labels[-1]}", s["owner_team"], 0))
    for cid in usage.unused:
        if not a.at[cid, "stale"]:
            rows.append(("promote or retire", f"{cid} {a.at[cid, 'title']}", "current, but nobody has used it",
                         a.at[cid, "owner_team"], 0))
    for cid, s in a[a["unclassified"]].iterrows():
        no_stage = pd.isna(s["stage"]) or not str(s["stage"]).strip()
        missing = " and ".join(w for w, empty in (("personas", not s["tags"]), ("stage", no_stage)) if empty)
        rows.append(("classify", f"{cid} {s['title']}", f"no {missing}, so it counts for no cell", s["owner_team"], 0))
    for cid, tags in matrix.unknown_tags.items():
        why = f"tagged {', '.join(tags)}, which the persona set in use does not have"
        rows.append(("retag", f"{cid} {a.at[cid, 'title']}", why, a.at[cid, "owner_team"], 0))
    items = pd.DataFrame(rows, columns=["action", "what", "why", "owner", "rank"])
    items["owner"] = items["owner"].fillna("no owner")
    items = (items.assign(group=items["action"].map(_GROUP)).sort_values(["group", "rank"], kind="stable")
             .drop(columns=["group", "rank"]))
    return MessagingPlan(items.reset_index(drop=True))
