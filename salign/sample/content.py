"""Content inventory (assets by persona and buying stage) and which asset a touch used.

The inventory is built cell by cell over every persona of both teams' files and the
three buying stages.  The planted gaps get no current asset (some get a stale one);
every other cell gets at least two current assets.  A few assets are unclassified,
some are never used, and a few shareable assets are used by one team only.
"""

import numpy as np
import pandas as pd

from .clock import DAY
from .definitions import PERSONA_IDS, PERSONA_TEAM

STAGES = ("awareness", "consideration", "decision")
#: Persona x stage cells that have no current asset.
GAPS = (("growth_marketer", "decision"), ("healthcare_operations", "consideration"),
        ("financial_services_buyer", "awareness"), ("it_director_large", "decision"))
#: Types of asset either team could use; one used by a single team only is "lost".
SHAREABLE_TYPES = ("ebook", "case_study", "datasheet", "pricing_sheet", "demo_video")
_STAGE_TYPES = {"awareness": ("blog", "ebook", "webinar", "blog"),
                "consideration": ("webinar", "datasheet", "demo_video", "email_template", "ebook"),
                "decision": ("case_study", "pricing_sheet", "demo_video", "case_study", "email_template")}
_AUDIENCE = {"growth_marketer": "growth marketers", "digital_marketing_manager": "campaign managers",
             "healthcare_operations": "hospital operations teams", "enterprise_executive": "enterprise executives",
             "financial_services_buyer": "banks and insurers", "it_director_large": "enterprise IT"}
_TITLES = {
    "blog": ("5 ways {a} cut reporting time", "What {a} get wrong about attribution", "A week in the life of {a}"),
    "ebook": ("The guide to pipeline analytics for {a}", "Benchmark report for {a}", "Data maturity for {a}"),
    "webinar": ("Live: the analytics playbook for {a}", "Webinar: forecasting with confidence for {a}"),
    "case_study": ("How Kessler Systems grew pipeline 30% ({a})", "Customer story: Meridian Bank ({a})",
                   "How Helix Health saved 400 hours ({a})"),
    "datasheet": ("Northwind Insight datasheet for {a}", "Security and compliance sheet for {a}"),
    "demo_video": ("Demo: Northwind for {a}", "Ten-minute product tour for {a}"),
    "pricing_sheet": ("Pricing and packages for {a}", "Volume pricing for {a}"),
    "email_template": ("Follow-up e-mail for {a}", "Nurture e-mail for {a}", "Meeting recap for {a}"),
}
_PLACES = {"blog": "/blog/", "ebook": "CMS/ebooks/", "webinar": "CMS/webinars/", "case_study": "/customers/",
           "datasheet": "CMS/datasheets/", "demo_video": "/videos/", "pricing_sheet": "CMS/pricing/",
           "email_template": "CMS/email/"}
_UNCLASSIFIED = (("Company overview, 2025 edition", "ebook", (), "awareness", "marketing"),
                 ('Release notes "Spring 2026"', "blog", (), "", "marketing"),
                 ("Northwind product tour", "demo_video", ("growth_marketer",), "", "marketing"),
                 ("Generic follow-up e-mail", "email_template", (), "decision", "sales"),
                 ("ROI calculator guide", "datasheet", ("enterprise_executive", "financial_services_buyer"), "",
                  "sales"))
#: Where each kind of touch finds its asset: (team, activity type) -> asset types.
TOUCH_TYPES = {("marketing", "content_download"): ("ebook", "case_study", "datasheet", "pricing_sheet"),
               ("marketing", "web_visit"): ("blog", "demo_video"),
               ("marketing", "webinar"): ("webinar",),
               ("marketing", "email_open"): ("email_template",),
               ("marketing", "email_click"): ("email_template",),
               ("sales", "email"): ("case_study", "datasheet", "pricing_sheet", "ebook", "email_template"),
               ("sales", "meeting"): ("demo_video", "pricing_sheet", "case_study")}
_DAY0 = np.datetime64("1970-01-01")


def _day(text):
    return float((np.datetime64(text) - _DAY0).astype(int)) * DAY + DAY / 2


def make_content(rng):
    """Build the content inventory.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        One row per asset: the public columns (``created_at``/``updated_at`` as epoch
        seconds at noon) plus ``pools`` (the teams whose touches may use it; empty for
        assets planted as unused).
    """
    assets = []
    counter = 0
    for stage in STAGES:
        open_cells = [p for p in PERSONA_IDS if (p, stage) not in GAPS]
        for persona in PERSONA_IDS:
            if (persona, stage) in GAPS:
                if rng.random() < 0.6:
                    assets.append(_asset(rng, persona, (persona,), stage, _STAGE_TYPES[stage][counter % 4], False))
                continue
            for _ in range(int(rng.integers(2, 6))):
                kind = _STAGE_TYPES[stage][counter % len(_STAGE_TYPES[stage])]
                counter += 1
                partner = open_cells[int(rng.integers(0, len(open_cells)))]
                personas = (persona, partner) if partner != persona and rng.random() < 0.25 else (persona,)
                assets.append(_asset(rng, persona, personas, stage, kind, True))
            if rng.random() < 0.5:
                assets.append(_asset(rng, persona, (persona,), stage, _STAGE_TYPES[stage][counter % 4], False))
    for title, kind, personas, stage, team in _UNCLASSIFIED:
        assets.append({**_dates(rng, True), "title": title, "type": kind, "personas": ";".join(personas),
                       "stage": stage, "owner_team": team})
    frame = pd.DataFrame(assets).sort_values(["created_at", "title"], kind="stable").reset_index(drop=True)
    frame.insert(0, "content_id", [f"C{i:03d}" for i in range(1, len(frame) + 1)])
    slug = frame["title"].str.lower().str.replace(r"[^a-z0-9]+", "-", regex=True).str.strip("-")
    drive = frame["owner_team"] == "sales"
    place = np.where(drive, "Google Drive/Sales Enablement/", frame["type"].map(_PLACES))
    frame["location"] = place + slug + "-" + frame["content_id"].str.lower()
    frame["pools"] = _pools(rng, frame)
    return frame


def _asset(rng, persona, personas, stage, kind, current):
    title = _TITLES[kind][int(rng.integers(0, len(_TITLES[kind])))].format(a=_AUDIENCE[persona])
    team = {"pricing_sheet": "sales", "blog": "marketing", "ebook": "marketing", "webinar": "marketing"}.get(
        kind, PERSONA_TEAM[persona])
    return {**_dates(rng, current), "title": title, "type": kind, "personas": ";".join(personas), "stage": stage,
            "owner_team": team}


def _dates(rng, current):
    """Creation and update dates; current assets were updated after 2025-10-15, stale ones before 2025-09-15."""
    if current:
        new = rng.random() < 0.25
        lo, hi = (_day("2024-10-01"), _day("2026-06-30")) if new else (_day("2022-01-01"), _day("2024-09-01"))
        created = lo + np.floor(rng.random() * (hi - lo) / DAY) * DAY
        first = max(created + DAY, _day("2025-10-15"))
        updated = first + np.floor(rng.random() * (_day("2026-09-25") - first) / DAY) * DAY
    else:
        created = _day("2021-06-01") + np.floor(rng.random() * (_day("2025-03-01") - _day("2021-06-01")) / DAY) * DAY
        updated = created + np.floor(rng.random() * (_day("2025-09-15") - created) / DAY) * DAY
    return {"created_at": created, "updated_at": updated}


def _pools(rng, frame):
    """Which teams' touches may use each asset: planted unused and single-team assets."""
    pools = np.array(["marketing;sales"] * len(frame), dtype=object)
    stale = frame["updated_at"].to_numpy() < _day("2025-10-01")
    unclassified = ((frame["personas"] == "") | (frame["stage"] == "")).to_numpy()
    unused = np.concatenate([rng.choice(np.flatnonzero(stale), 2, replace=False),
                             rng.choice(np.flatnonzero(~stale & ~unclassified), 2, replace=False),
                             rng.choice(np.flatnonzero(unclassified), 1, replace=False)])
    pools[unused] = ""
    shareable = frame["type"].isin(SHAREABLE_TYPES).to_numpy() & (pools != "")
    lost = rng.choice(np.flatnonzero(shareable), 4, replace=False)
    pools[lost[:2]] = "marketing"
    pools[lost[2:]] = "sales"
    return pools


def pick_content(rng, content, team, kind, at):
    """Choose the asset each touch used, among assets of a fitting type that existed then.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    content : pandas.DataFrame
        Output of :func:`make_content`.
    team : str
        ``"marketing"`` or ``"sales"``.
    kind : str
        Activity type.
    at : numpy.ndarray
        Times of the touches (epoch seconds).

    Returns
    -------
    numpy.ndarray
        Object array of content ids (None where no asset fits).
    """
    fits = content["type"].isin(TOUCH_TYPES[(team, kind)]) & content["pools"].str.contains(team)
    fits &= (content["type"] != "email_template") | (content["owner_team"] == team)
    pool = content[fits].sort_values("created_at", kind="stable")
    available = np.searchsorted(pool["created_at"].to_numpy(), at, side="right")
    choice = np.floor(rng.random(len(at)) * available).astype(np.int64)
    ids = np.append(pool["content_id"].to_numpy(dtype=object), None)
    return ids[np.where(available > 0, choice, len(pool))]
