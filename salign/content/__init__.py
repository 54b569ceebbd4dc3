"""Step 2: the content inventory against personas and buying stages."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign import plotting, render

BUYING_STAGES = ("awareness", "consideration", "decision")


@dataclass
class ContentMatrix(render.Result):
    """Current (non-stale) assets per persona x buying stage, with stale and unclassified assets."""

    inventory: pd.DataFrame
    matrix: pd.DataFrame
    stale_after_days: int
    title: str = "Content per persona and buying stage"

    def metrics(self) -> dict:
        inv = self.inventory
        return {"assets": len(inv), "stale": int(inv["stale"].sum()), "unclassified": int(inv["unclassified"].sum()),
                "empty_cells": int((self.matrix == 0).sum().sum()), "cells": int(self.matrix.size)}

    def headline(self) -> dict:
        return {"content_gaps": int((self.matrix == 0).sum().sum()), "stale_assets": int(self.inventory["stale"].sum())}

    def html_body(self) -> str:
        m = self.metrics()
        head = (f"<p>{m['assets']:,} assets; {m['stale']:,} not updated in {self.stale_after_days} days; "
                f"{m['unclassified']:,} without a persona or stage; {m['empty_cells']} of {m['cells']} "
                f"persona x stage cells have no current asset.</p>")
        return head + render.table(self.matrix, index=True, caption="Current assets per persona (rows) and stage")

    def figure(self):
        """Heatmap of current assets; empty cells are the gaps."""
        mat = self.matrix
        fig, ax = plotting.figure(size=(8.0, 0.45 * len(mat) + 1.5))
        ax.imshow(mat.to_numpy(), cmap="Greens", aspect="auto", vmin=0)
        ax.set_xticks(range(mat.shape[1]), mat.columns)
        ax.set_yticks(range(mat.shape[0]), mat.index)
        ax.grid(False)
        for (i, j), v in np.ndenumerate(mat.to_numpy()):
            ax.text(j, i, "gap" if v == 0 else str(v), ha="center", va="center",
                    color=plotting.COLORS["bad"] if v == 0 else plotting.COLORS["ink"], fontsize=9)
        ax.set_title("Current assets per persona and buying stage")
        return fig


def persona_ids(tables) -> list[str]:
    """Persona ids content can target: the common set if adopted, else both teams' sets."""
    if "personas.common.yaml" in tables.definitions:
        return [p.id for p in tables.definitions["personas.common.yaml"].personas]
    ids = []
    for team in ("marketing", "sales"):
        if f"personas.{team}.yaml" in tables.definitions:
            ids += [p.id for p in tables.definitions[f"personas.{team}.yaml"].personas]
    return ids


def content_matrix(tables, as_of: pd.Timestamp, stale_after_days: int = 365) -> ContentMatrix:
    """Inventory with staleness, and the persona x stage matrix of current assets."""
    tables.require("content")
    inv = tables.content.copy()
    updated = inv["updated_at"].fillna(inv["created_at"]) if "updated_at" in inv.columns else inv.get("created_at")
    inv["age_days"] = (as_of - updated).dt.days if updated is not None else np.nan
    inv["stale"] = inv["age_days"] > stale_after_days
    personas = inv["personas"].fillna("").str.split(";") if "personas" in inv.columns else [[]] * len(inv)
    inv["persona_list"] = [[p.strip() for p in ps if p.strip()] for ps in personas]
    stage = inv["stage"].str.strip().str.lower() if "stage" in inv.columns else pd.Series(np.nan, index=inv.index)
    inv["unclassified"] = (inv["persona_list"].str.len() == 0) | stage.isna()
    ids = persona_ids(tables) or sorted({p for ps in inv["persona_list"] for p in ps})
    current = inv[~inv["stale"]].assign(stage=stage).explode("persona_list")
    counts = current.groupby(["persona_list", "stage"]).size()
    mat = (counts.unstack("stage").reindex(index=ids, columns=list(BUYING_STAGES)).fillna(0).astype(int))
    mat.index.name, mat.columns.name = "persona", "stage"
    return ContentMatrix(inv, mat, stale_after_days)
