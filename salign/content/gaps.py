"""The persona x buying-stage matrix: current and stale assets, use and leads per cell; cells with no current asset
are gaps, ranked by how many leads of that persona pass that stage per quarter."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from salign.common import plotting
from salign.common import touches as touch_rows
from salign.common.result import Block, Code, Paragraph, Result, Table
from salign.content.journey import BUYING_STAGES, ENTRY
from salign.content.touches import quarters
from salign.core import csvsafe, fmt

GAPS_FILE = "content_gaps.csv"
GAP_COLUMNS = ["rank", "persona", "stage", "reason", "current_assets", "stale_assets", "stale_asset_ids",
               "uses_in_period", "leads_per_quarter"]


@dataclass
class ContentMatrix(Result):
    """Every persona x buying-stage cell.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per cell: ``persona``, ``stage``, ``current_assets``, ``stale_assets``, ``current_ids``,
        ``stale_ids``, ``uses_in_period`` (uses of the cell's assets), ``leads_per_quarter`` (leads of the
        persona entering the stage, averaged over the recent quarters), ``gap``, ``reason`` and ``rank``
        (gaps only, 1 = most leads affected).
    unknown_tags : dict
        Asset id -> persona tags that name no persona of the set in use.
    """

    cells: pd.DataFrame
    persona_source: str
    quarter_labels: list[str]
    unknown_tags: dict
    title: str = "Content per persona and buying stage"
    figure_description = ("Grid: current assets and their uses in the period for each persona (rows) and buying stage "
                          "(columns), darker for more assets; gaps in red with the leads per quarter they affect.")

    @property
    def matrix(self) -> pd.DataFrame:
        """Current assets per persona (rows) and buying stage (columns)."""
        return self._grid("current_assets").astype(int)

    @property
    def gaps(self) -> pd.DataFrame:
        """The gap cells, most leads affected first."""
        return self.cells[self.cells["gap"]].sort_values("rank")

    def _grid(self, column: str) -> pd.DataFrame:
        personas = list(dict.fromkeys(self.cells["persona"]))
        grid = self.cells.pivot(index="persona", columns="stage", values=column)
        return grid.reindex(index=personas, columns=list(BUYING_STAGES)).rename_axis(index="persona", columns="stage")

    def metrics(self) -> dict:
        c = self.cells
        return {"cells": len(c), "empty_cells": int(c["gap"].sum()),
                "gaps": [[r.persona, r.stage] for r in self.gaps.itertuples()],
                "gaps_with_only_stale_assets": [[r.persona, r.stage] for r in self.gaps.itertuples() if r.stale_assets],
                "leads_per_quarter_in_gaps": [_r(v) for v in self.gaps["leads_per_quarter"]],
                "matrix": {p: {s: int(v) for s, v in row.items()} for p, row in self.matrix.iterrows()},
                "unknown_tags": self.unknown_tags}

    def headline(self) -> dict:
        return {"content_gaps": int(self.cells["gap"].sum())}

    def blocks(self) -> list[Block]:
        c, g = self.cells, self.gaps
        out = [Paragraph(
            f"Personas from {self.persona_source}. {fmt.count(len(g))} of {fmt.count(len(c))} persona x stage cells "
            f"have no current asset ({fmt.count((g['stale_assets'] > 0).sum())} of them only a stale one). Gaps are "
            f"ranked by how many leads of the persona enter the stage per quarter ({', '.join(self.quarter_labels)}).")]
        if len(g):
            shown = g.assign(stale_ids=g["stale_ids"].map(", ".join),
                             leads_per_quarter=g["leads_per_quarter"].map(lambda v: fmt.number(v, 1)))
            shown = shown[["rank", "persona", "stage", "reason", "stale_ids", "leads_per_quarter"]].rename(
                columns={"stale_ids": "stale assets", "leads_per_quarter": "leads per quarter"})
            out.append(Table(shown, caption="Gaps, most leads affected first"))
        assets = c.assign(assets=[f"{a} current, {s} stale" for a, s in zip(c["current_assets"], c["stale_assets"])])
        grid = assets.pivot(index="persona", columns="stage", values="assets").reindex(
            index=list(dict.fromkeys(c["persona"])), columns=list(BUYING_STAGES))
        out.append(Table(grid, index=True, caption="Assets per persona (rows) and buying stage"))
        if self.unknown_tags:
            tags = pd.DataFrame({"asset": list(self.unknown_tags),
                                 "persona tags not in the set": [", ".join(v) for v in self.unknown_tags.values()]})
            out.append(Table(tags, caption="Assets tagged with personas the set in use does not have"))
        return out

    def draw(self):
        """Heatmap of current assets per persona and stage; gaps in red with the leads they affect."""
        mat = self._grid("current_assets").astype(float)
        leads = self._grid("leads_per_quarter")
        uses = self._grid("uses_in_period")
        fig, ax = plotting.figure(size=(8.0, 0.55 * len(mat) + 1.6))
        vmax = max(float(np.nanmax(mat.to_numpy())), 1.0)
        ax.imshow(mat.to_numpy(), cmap="Greens", aspect="auto", vmin=0, vmax=vmax)
        ax.set_xticks(range(mat.shape[1]), mat.columns)
        ax.set_yticks(range(mat.shape[0]), mat.index)
        ax.grid(False)
        for (i, j), v in np.ndenumerate(mat.to_numpy()):
            if v == 0:
                lq = leads.iat[i, j]
                text, color = ("gap" if pd.isna(lq) else f"gap\n{lq:,.0f} leads/q"), plotting.COLORS["bad"]
            else:
                u = uses.iat[i, j]
                text = f"{v:.0f} assets" + ("" if pd.isna(u) else f"\n{u:,.0f} uses")
                color = "white" if v > 0.6 * vmax else plotting.COLORS["ink"]
            ax.text(j, i, text, ha="center", va="center", color=color, fontsize=8)
        ax.set_title(f"Current assets per persona and buying stage (uses in {self.quarter_labels[-1]})")
        return fig

    def write_csv(self, folder: str | Path) -> Path:
        """Write the ranked gaps to ``content_gaps.csv`` in ``folder``; return its path."""
        g = self.gaps.assign(stale_asset_ids=self.gaps["stale_ids"].map(";".join),
                             leads_per_quarter=self.gaps["leads_per_quarter"].round(2))
        path = Path(folder) / GAPS_FILE
        csvsafe.write_csv(g.reindex(columns=GAP_COLUMNS), path, lineterminator="\n")
        return path


@dataclass
class GapsFile(Result):
    """The ranked gaps written for people to work from."""

    name: str
    rows: int
    title: str = "Gaps file"

    def metrics(self) -> dict:
        return {"file": self.name, "rows": self.rows}

    def blocks(self) -> list[Block]:
        return [Paragraph(f"The {fmt.count(self.rows)} ranked gaps are in ", Code(self.name), " in this report's "
                          "folder (rank, persona, stage, reason, assets, use, leads per quarter).")]


def write_gaps(matrix: ContentMatrix, folder: str | Path) -> GapsFile:
    """Write ``content_gaps.csv`` into ``folder`` (the period's report folder)."""
    path = matrix.write_csv(folder)
    return GapsFile(path.name, len(matrix.gaps))


def _r(v):
    return None if pd.isna(v) else round(float(v), 4)


def leads_per_quarter(tables, choice, period, n_quarters: int) -> pd.DataFrame:
    """Leads of each persona entering each buying stage, averaged over the ``n_quarters`` ending with ``period``.

    Returns an empty frame when the workspace has no leads or stages (the gaps are then unranked).
    """
    if choice.leads is None or tables.stages is None:
        return pd.DataFrame(columns=["persona", "stage", "leads_per_quarter"])
    who = choice.leads["label"]
    entered = touch_rows.entry_times(tables, {s: ENTRY[s] for s in BUYING_STAGES}).reindex(who.index)
    created = tables.leads.set_index(tables.leads["lead_id"].astype(str))["created_at"]
    entered["awareness"] = entered["awareness"].fillna(created.reindex(who.index))
    qs = quarters(period, n_quarters)
    # leads per label entering each stage in the quarters, then spread over the label's personas (none: not counted)
    spread = dict(zip(choice.leads["label"], choice.leads["personas"]))
    rows = []
    for stage in BUYING_STAGES:
        at = entered[stage]
        for lab, n in who[(at >= qs[0].start) & (at < period.end)].value_counts().items():
            rows += [(persona, stage, int(n)) for persona in spread[lab]]
    long = pd.DataFrame(rows, columns=["persona", "stage", "n"])
    counts = long.groupby(["persona", "stage"])["n"].sum() / n_quarters
    return counts.astype(float).rename("leads_per_quarter").reset_index()


def uses_in_period(tables, period) -> pd.Series:
    """Uses of each asset in the period (empty without activities)."""
    if "content_id" not in touch_rows.activity_columns(tables):
        return pd.Series(dtype=float)
    return touch_rows.uses_per_asset(tables, period.start, period.end)


def content_matrix(tables, inventory, choice, period, n_quarters: int = 4) -> ContentMatrix:
    """The persona x buying-stage matrix with its gaps.

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
    inventory : salign.content.inventory.Inventory
        Gives each asset's persona tags, buying stage and staleness.
    choice : salign.content.personas.PersonaChoice
        Rows of the matrix; team persona tags are mapped onto a common set.
    period : salign.common.periods.Quarter
    n_quarters : int
        Quarters (ending with ``period``) over which leads per quarter are averaged.
    """
    a = inventory.assets
    ids = choice.ids
    mapped = [choice.map_tags(t) for t in a["tags"]]
    unknown = {cid: u for cid, (_, u) in zip(a["content_id"], mapped) if u}
    placed = a.assign(persona=[m for m, _ in mapped]).explode("persona")
    placed = placed[placed["persona"].isin(ids) & placed["buying_stage"].notna()]
    uses = uses_in_period(tables, period)
    placed = placed.assign(uses=placed["content_id"].astype(str).map(uses).fillna(0))
    grid = pd.MultiIndex.from_product([ids, BUYING_STAGES], names=["persona", "stage"])
    cells = pd.DataFrame(index=grid)
    for col, rows in (("current_ids", ~placed["stale"]), ("stale_ids", placed["stale"])):
        lists = placed[rows].groupby(["persona", "buying_stage"])["content_id"].agg(sorted).reindex(grid)
        cells[col] = [v if isinstance(v, list) else [] for v in lists]
    cells["current_assets"] = cells["current_ids"].str.len()
    cells["stale_assets"] = cells["stale_ids"].str.len()
    has_use = "content_id" in touch_rows.activity_columns(tables)
    use = placed.groupby(["persona", "buying_stage"])["uses"].sum().reindex(grid).fillna(0)
    cells["uses_in_period"] = use if has_use else np.nan
    ranked = choice.leads is not None and tables.stages is not None
    lpq = leads_per_quarter(tables, choice, period, n_quarters).set_index(["persona", "stage"])["leads_per_quarter"]
    cells["leads_per_quarter"] = lpq.reindex(grid).fillna(0.0) if ranked else np.nan
    cells = cells.reset_index()
    cells["gap"] = cells["current_assets"] == 0
    cells["reason"] = np.where(~cells["gap"], "", np.where(cells["stale_assets"] > 0, "only stale assets", "no asset"))
    order = cells[cells["gap"]].assign(o=np.arange(cells["gap"].sum()))
    order = order.sort_values(["leads_per_quarter", "o"], ascending=[False, True], na_position="last")
    cells["rank"] = pd.Series(np.arange(1, len(order) + 1), index=order.index).reindex(cells.index).astype("Int64")
    return ContentMatrix(cells, choice.source, [str(q) for q in quarters(period, n_quarters)], unknown)
