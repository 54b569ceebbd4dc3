"""The content inventory: every asset with its type, owner, target personas and stage, age and location."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from salign.common.result import Block, Paragraph, Result, Table
from salign.content.journey import BUYING_STAGES
from salign.core import fmt
from salign.workspace.schema import TABLES
from salign.workspace.tables import MissingData

SHOWN_ASSETS = 200


def require_content(tables) -> None:
    """Raise :class:`MissingData` saying the audit needs a content table, and which columns it holds."""
    if tables.content is not None:
        return
    spec = TABLES["content"]
    cols = ", ".join(f"{c.name} (required)" if c.required else c.name for c in spec.columns)
    why = tables.missing.get("content", "absent")
    raise MissingData(f"needs the 'content' table for a content audit ({why}); it lists one asset per row "
                      f"with the columns {cols}; personas holds ';'-separated persona ids and stage one of "
                      f"{', '.join(BUYING_STAGES)}")


def place_of(location: pd.Series) -> pd.Series:
    """Where an asset lives: a URL's host, ``website`` for a site path, else the first folder."""
    text = location.fillna("").astype(str).str.strip()
    out = text.str.split("/").str[0].str.strip()
    url = text.str.contains("://", regex=False)
    out[url] = [urlparse(t).netloc for t in text[url]]
    out[text.str.startswith("/")] = "website"
    out[text == ""] = "unknown"
    return out


@dataclass
class Inventory(Result):
    """Every asset with its classification, age, staleness and location.

    Attributes
    ----------
    assets : pandas.DataFrame
        One row per asset: the content columns plus ``tags`` (list of persona ids as written),
        ``buying_stage`` (normalised, NaN if missing), ``age_days``, ``stale``, ``unclassified``,
        ``other_stage`` (a stage outside the buying stages) and ``place``.
    as_of : pandas.Timestamp
        The instant ages are counted to.
    stale_after_days : int
        An asset not updated for more days than this is stale.
    timezone : str
        The workspace's time zone, for showing ``as_of`` as a local date.
    """

    assets: pd.DataFrame
    as_of: pd.Timestamp
    stale_after_days: int
    timezone: str = "UTC"
    title: str = "Content inventory"

    def metrics(self) -> dict:
        a = self.assets
        return {"assets": len(a), "stale": sorted(a.loc[a["stale"], "content_id"]),
                "unclassified": sorted(a.loc[a["unclassified"], "content_id"]),
                "other_stage": sorted(a.loc[a["other_stage"], "content_id"]),
                "by_type": {str(k): int(v) for k, v in a["type"].value_counts().sort_index().items()},
                "by_place": {str(k): int(v) for k, v in a["place"].value_counts().sort_index().items()},
                "stale_after_days": self.stale_after_days}

    def headline(self) -> dict:
        return {"stale_assets": int(self.assets["stale"].sum())}

    def blocks(self) -> list[Block]:
        a = self.assets
        m = self.metrics()
        out = [Paragraph(
            f"{fmt.count(m['assets'])} assets. {fmt.count(len(m['stale']))} were not updated in the "
            f"{fmt.count(self.stale_after_days)} days before {self.as_of.tz_convert(self.timezone):%Y-%m-%d %H:%M} "
            f"({self.timezone}), so they are stale; {fmt.count(len(m['unclassified']))} have no persona or no buying "
            "stage (unclassified, listed below, not dropped).")]
        where = pd.crosstab(a["place"], a["owner_team"].fillna("no owner")).rename_axis(index="where", columns=None)
        out.append(Table(where, index=True, caption="Where the assets live, by owner team"))
        unclassified = a[a["unclassified"]]
        if len(unclassified):
            out.append(Table(self._shown(unclassified), caption="Unclassified assets: add personas and a stage"))
        if a["other_stage"].any():
            out.append(Table(self._shown(a[a["other_stage"]]),
                             caption=f"Assets with a stage outside {', '.join(BUYING_STAGES)}"))
        return out + [Table(self._shown(a), caption="Every asset, oldest update first", max_rows=SHOWN_ASSETS)]

    def _shown(self, a: pd.DataFrame) -> pd.DataFrame:
        cols = ["content_id", "title", "type", "owner_team", "personas", "stage", "age_days", "stale", "location"]
        shown = a.sort_values(["age_days", "content_id"], ascending=[False, True])
        shown = shown.reindex(columns=cols).rename(columns={"age_days": "days since update", "owner_team": "owner"})
        text = ["title", "type", "owner", "personas", "stage", "location"]
        shown[text] = shown[text].astype(object).where(shown[text].notna(), fmt.MISSING)
        return shown.assign(stale=shown["stale"].map({True: "stale", False: ""}))


def inventory(tables, as_of: pd.Timestamp, stale_after_days: int = 365) -> Inventory:
    """Build the inventory as of a date.

    Parameters
    ----------
    tables : salign.workspace.tables.Tables
        A workspace with a ``content`` table.
    as_of : pandas.Timestamp
        Ages are counted to this instant (the end of the period under review).
    stale_after_days : int
        An asset whose last update (else creation) is older than this is stale; an asset with
        neither date is stale too, since nobody can say it is current.

    Raises
    ------
    MissingData
        If the workspace has no content table (the message lists the columns it needs).
    """
    require_content(tables)
    a = tables.content.copy()
    for col in ("personas", "stage", "owner_team", "location"):
        if col not in a.columns:
            a[col] = np.nan
    for col in ("created_at", "updated_at"):
        if col not in a.columns:
            a[col] = pd.Series(pd.NaT, index=a.index, dtype="datetime64[ns, UTC]")
    updated = a["updated_at"].fillna(a["created_at"])
    a["age_days"] = (as_of - updated).dt.days.astype("Int64")
    a["stale"] = (a["age_days"].isna() | (a["age_days"] > stale_after_days)).astype(bool)
    a["tags"] = [sorted({t.strip() for t in str(v).split(";") if t.strip()}) if pd.notna(v) else []
                 for v in a["personas"]]
    stage = a["stage"].astype("string").str.strip().str.lower().replace("", pd.NA)
    a["buying_stage"] = stage.where(stage.isin(BUYING_STAGES)).astype(object)
    a["other_stage"] = (stage.notna() & ~stage.isin(BUYING_STAGES)).fillna(False).astype(bool)
    a["unclassified"] = (a["tags"].str.len() == 0) | stage.isna().to_numpy()
    a["place"] = place_of(a["location"])
    return Inventory(a.reset_index(drop=True), as_of, stale_after_days, tables.config.timezone)
