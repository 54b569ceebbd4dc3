"""How content is used: per asset, team, quarter, persona and buying stage; unused and "lost" assets."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.common import plotting
from salign.common import touches as touch_rows
from salign.common.result import Block, Paragraph, Result, Table
from salign.content.journey import BUYING_STAGES, NO_LEAD, STAGE_OF, UNKNOWN
from salign.content.touches import EARLIER, known_assets, personas_of, quarters
from salign.core import fmt
from salign.definitions.models import UNASSIGNED
from salign.workspace.schema import TEAMS

STAGE_COLUMNS = (*BUYING_STAGES, "closed", UNKNOWN, NO_LEAD)


def parse_types(text: str) -> tuple[str, ...]:
    """Comma-separated asset types (the notebook parameter) as a tuple; empty text gives ()."""
    return tuple(t.strip() for t in str(text).split(",") if t.strip())


def shareable_types(by_asset: pd.DataFrame) -> tuple[str, ...]:
    """Asset types either team can use: types with at least one asset that both teams used."""
    both = by_asset[(by_asset[list(TEAMS)] > 0).all(axis=1)]
    return tuple(sorted(both["type"].dropna().astype(str).unique()))


@dataclass
class Usage(Result):
    """Content use up to the end of the period.

    Attributes
    ----------
    by_asset : pandas.DataFrame
        Index ``content_id``: ``title``, ``type``, ``owner_team``, uses by ``marketing`` and ``sales``
        (all history), ``total``, one column per recent quarter, ``in_period`` and ``last_used``.
    per_quarter : pandas.DataFrame
        Uses per ``team`` (rows) and quarter (columns, ``earlier`` first when there was older use).
    segments : pandas.DataFrame
        Uses per ``quarter``, ``team``, ``persona`` and ``buying_stage`` (a lead with several personas
        counts under each).
    lost : pandas.DataFrame
        Shareable assets used by one team only: ``content_id``, ``title``, ``type``, ``used_by``,
        ``share_with``, ``uses``.
    shareable : tuple of str
        The asset types counted as shareable, and ``shareable_given`` whether they were given or derived.
    """

    by_asset: pd.DataFrame
    per_quarter: pd.DataFrame
    segments: pd.DataFrame
    lost: pd.DataFrame
    shareable: tuple[str, ...]
    shareable_given: bool
    quarter_labels: list[str]
    persona_rule: str
    title: str = "Content use"
    figure_description = "Bars: uses of an asset in each recent quarter, marketing and sales side by side."

    @property
    def unused(self) -> list[str]:
        return sorted(self.by_asset.index[self.by_asset["total"] == 0])

    @property
    def period(self) -> str:
        return self.quarter_labels[-1]

    def metrics(self) -> dict:
        a, seg, pq = self.by_asset, self.segments, self.per_quarter
        in_period = seg[seg["quarter"] == self.period]
        return {
            "touches": int(a[list(TEAMS)].to_numpy().sum()), "touches_in_period": int(a["in_period"].sum()),
            "by_quarter": {q: {t: int(pq.at[t, q]) for t in TEAMS} for q in self.quarter_labels},
            "by_persona_stage_in_period": {p: {s: int(v) for s, v in g.groupby("buying_stage")["uses"].sum().items()}
                                           for p, g in in_period.groupby("persona")},
            "by_asset": {cid: {"marketing": int(r.marketing), "sales": int(r.sales), "in_period": int(r.in_period)}
                         for cid, r in a.iterrows()},
            "unused": self.unused, "lost": {r.content_id: r.used_by for r in self.lost.itertuples()},
            "shareable_types": list(self.shareable),
        }

    def headline(self) -> dict:
        return {"unused_assets": len(self.unused), "lost_assets": len(self.lost)}

    def blocks(self) -> list[Block]:
        m = self.metrics()
        given = "as given" if self.shareable_given else "types with at least one asset both teams used"
        seg = self.segments
        out = [Paragraph(
            f"{fmt.count(m['touches'])} uses of an asset up to the end of {self.period}, "
            f"{fmt.count(m['touches_in_period'])} of them in {self.period}. {fmt.count(len(self.unused))} assets were "
            f"never used; {fmt.count(len(self.lost))} shareable assets are used by one team only (shareable types, "
            f"{given}: {', '.join(self.shareable) or 'none'}). Lead personas: {self.persona_rule}."),
            Table(self.per_quarter, index=True, caption="Uses per quarter by team")]
        cur = seg[seg["quarter"] == self.period]
        grid = cur.pivot_table(index="persona", columns="buying_stage", values="uses", aggfunc="sum", fill_value=0)
        grid = grid.reindex(columns=[c for c in STAGE_COLUMNS if c in grid.columns])
        out.append(Table(grid, index=True, caption=f"Uses in {self.period} by the lead's persona (rows) and its "
                                                   "buying stage at the time (columns)"))
        trend = seg.pivot_table(index="persona", columns="quarter", values="uses", aggfunc="sum", fill_value=0)
        cols = [EARLIER] * (EARLIER in trend.columns) + self.quarter_labels
        out.append(Table(trend.reindex(columns=cols, fill_value=0), index=True,
                         caption="Uses per quarter by persona (a lead with two personas counts under both)"))
        unused = self.by_asset.loc[self.unused, ["title", "type", "owner_team"]].reset_index()
        out.append(Table(unused, caption="Assets nobody used") if len(unused) else Paragraph("Every asset was used."))
        if len(self.lost):
            out.append(Table(self.lost, caption="Lost assets: shareable, but only one team uses them"))
        per_asset = self.by_asset.sort_values(["total", "title"], ascending=[False, True]).reset_index()
        cols = ["content_id", "title", "type", "marketing", "sales", *self.quarter_labels, "last_used"]
        per_asset = per_asset[cols].assign(last_used=per_asset["last_used"].dt.strftime("%Y-%m-%d"))
        return out + [Table(per_asset, caption="Uses per asset (team columns: all history)", max_rows=200)]

    def draw(self):
        """Uses per quarter, marketing and sales side by side."""
        fig, ax = plotting.figure()
        x = np.arange(len(self.quarter_labels))
        for i, team in enumerate(TEAMS):
            ax.bar(x + (i - 0.5) * 0.4, self.per_quarter.loc[team, self.quarter_labels], width=0.4,
                   color=plotting.COLORS[team], label=team)
        ax.set_xticks(x, self.quarter_labels)
        ax.set_ylabel("uses of an asset")
        ax.set_title("Content use per quarter by team")
        ax.legend()
        return fig


def segments(tables, known: set[str], choice, period, edges, names) -> pd.DataFrame:
    """Uses per ``quarter``, ``team``, ``persona`` and ``buying_stage`` (a lead with several personas counts under
    each; touches without a team are left out): the engine counts per persona label of the lead, period, team and
    stage (:func:`salign.common.touches.stage_use_counts`); pandas spreads each label's counts over its personas."""
    labels = None if choice.leads is None else choice.leads["label"]
    per = touch_rows.stage_use_counts(tables, known, period.end, edges, STAGE_OF, labels)
    no_lead = ~per["has_lead"].astype(bool)
    if labels is None:
        label = np.where(no_lead, NO_LEAD, UNKNOWN)
    else:
        label = np.where(no_lead, NO_LEAD, per["group"].astype(object).where(per["group"].notna(), UNASSIGNED))
    per_label = pd.DataFrame({"quarter": names[per["period"].to_numpy()], "team": per["team"], "label": label,
                              "buying_stage": np.where(no_lead, NO_LEAD, per["stage"].astype(object)
                                                       .where(per["stage"].notna(), UNKNOWN)),
                              "n": per["n"]})
    per_label = per_label.groupby(["quarter", "team", "label", "buying_stage"])["n"].sum().reset_index()
    spread = personas_of(set(per_label["label"]), choice)
    per_label["persona"] = per_label["label"].map(spread)
    seg = per_label.explode("persona").groupby(["quarter", "team", "persona", "buying_stage"])["n"].sum()
    return seg.astype("int64").rename("uses").reset_index()


def usage(tables, inventory, choice, period, n_quarters: int = 4, shareable: str | tuple = "") -> Usage:
    """Count content use up to the end of ``period``.

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
    inventory : salign.content.inventory.Inventory
    choice : salign.content.personas.PersonaChoice
    period : salign.common.periods.Quarter
    n_quarters : int
        Quarters shown, ending with ``period``; older use counts in the totals as ``earlier``.
    shareable : str or tuple of str
        Asset types either team could use (comma-separated text or a tuple); empty derives them:
        types with at least one asset both teams used. A shareable asset only one team ever used is
        "lost" to the other team.
    """
    known = known_assets(tables, inventory)
    qs = quarters(period, n_quarters)
    labels = [str(q) for q in qs]
    edges = [q.start for q in qs] + [period.end]
    names = np.array([*labels, EARLIER], dtype=object)  # period index -> quarter (-1: earlier)
    counts = touch_rows.use_counts(tables, known, period.end, edges)
    counts["quarter"] = names[counts["period"].to_numpy()]
    assets = inventory.assets.set_index("content_id")[["title", "type", "owner_team"]]
    team = counts.groupby(["content_id", "team"])["n"].sum().unstack("team").reindex(columns=list(TEAMS))
    per_q = counts.groupby(["content_id", "quarter"])["n"].sum().unstack("quarter").reindex(columns=labels)
    a = assets.join(team).join(per_q).fillna({c: 0 for c in [*TEAMS, *labels]})
    a[[*TEAMS, *labels]] = a[[*TEAMS, *labels]].astype(int)
    a["total"] = a[list(TEAMS)].sum(axis=1)
    a["in_period"] = a[labels[-1]]
    a["last_used"] = counts.groupby("content_id")["last"].max().reindex(a.index)
    given = parse_types(shareable) if isinstance(shareable, str) else tuple(shareable)
    types = given or shareable_types(a)
    one = a[(a[list(TEAMS)] > 0).sum(axis=1) == 1]
    one = one[one["type"].isin(types)]
    used_by = np.where(one["marketing"] > 0, "marketing", "sales")
    lost = pd.DataFrame({"content_id": one.index, "title": one["title"].to_numpy(), "type": one["type"].to_numpy(),
                         "used_by": used_by, "share_with": np.where(used_by == "marketing", "sales", "marketing"),
                         "uses": one["total"].to_numpy()})
    cols = [EARLIER] * bool((counts["quarter"] == EARLIER).any()) + labels
    per_quarter = (counts.groupby(["team", "quarter"])["n"].sum().unstack("quarter")
                   .reindex(index=list(TEAMS), columns=cols).fillna(0).astype(int)
                   .rename_axis(index="team", columns="quarter"))
    seg = segments(tables, known, choice, period, edges, names)
    return Usage(a, per_quarter, seg, lost.reset_index(drop=True), tuple(types), bool(given), labels,
                 choice.how_leads_are_assigned)
