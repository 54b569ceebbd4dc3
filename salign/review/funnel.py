"""Step 6: one shared funnel from lead to won, built from the stage history.

The rule for messy histories (one rule, applied everywhere in the review and by
the qualification study: :func:`salign.common.facts.passed`):
**a lead has passed funnel stage s from the first moment it reached s or any
later funnel stage.** So

- a *skipped* stage (say an opportunity without an sql) counts as passed at the
  time of the later stage, with zero time spent in it;
- a *re-entered* stage (an mql again after recycling) counts once, at its first
  entry.

(A history whose first entries go backwards, say sql before sal, is refused when
the workspace is validated, so it never reaches the review.)

Each is counted (:attr:`StageEntries.anomalies`) and shown, so nobody has to
take the rule on trust. Everything is measured as the data stood at a
``cutoff`` (default: the workspace's ``as_of``); events after it are ignored,
which is how comparisons with earlier quarters stay like for like.
"""
from __future__ import annotations

import textwrap
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.common import events, facts, plotting
from salign.common import metrics as registry
from salign.common.result import Paragraph, Result, Strong, Table
from salign.common.stats import Rate, kaplan_meier, rates
from salign.core import fmt
from salign.review import dimensions, words
from salign.workspace.schema import EXITS, FUNNEL

DAY = pd.Timedelta(days=1)


def cutoff_of(tables, cutoff: pd.Timestamp | None = None) -> pd.Timestamp:
    """The moment the review reads the data up to: ``cutoff``, else the workspace's ``as_of``; in its time zone."""
    return (tables.as_of if cutoff is None else cutoff).tz_convert(tables.config.timezone)


class StageEntries:
    """Per lead, when it passed each funnel stage under the module's rule, as of ``cutoff``.

    Attributes
    ----------
    at : DataFrame
        Indexed by lead_id, one column per funnel stage (NaT: not passed by the cutoff).
    left : dict of str to Series
        Per funnel stage, when each lead left it: its first later funnel stage or exit
        event at or after its entry (NaT: still in the stage at the cutoff).
    anomalies : dict
        ``skipped`` (leads that passed a stage without a record of it) and
        ``reentered`` (leads with more than one entry into a stage), each per stage.
    cutoff : Timestamp
        The moment the history was read up to (exclusive).
    stages : tuple of str
        The funnel stages the data records (:func:`salign.common.facts.recorded_stages`), in funnel order:
        what the review's tables, figures and labels show. ``at`` has every funnel stage.

    Entries read off later ones (:func:`stage_entries`) have their ``at`` at once and compute ``left`` and
    ``anomalies`` (which the later ones do not determine) only when asked, by the workspace's engine.
    """

    def __init__(self, at: pd.DataFrame, left: dict | None, anomalies: dict | None, cutoff: pd.Timestamp,
                 stages: tuple = FUNNEL, lead_event: pd.Series | None = None, complete=None):
        self.at, self.cutoff, self.stages = at, cutoff, stages
        self._left, self._anomalies = left, anomalies
        #: the first lead event of each lead of ``at`` before the cutoff (NaT: none), unfilled: what entries at an
        #: earlier cutoff need (their ``lead`` falls back to creation when this one is not before them); entries
        #: computed by the engine have it
        self._lead_event = lead_event
        #: a callable giving these entries in full (``left``, ``anomalies``), for entries read off later ones
        self._complete = complete

    def _fill(self):
        if self._left is None or self._anomalies is None:
            full = self._complete()
            self._left, self._anomalies, self._complete = full.left, full.anomalies, None

    @property
    def left(self) -> dict:
        self._fill()
        return self._left

    @property
    def anomalies(self) -> dict:
        self._fill()
        return self._anomalies


def stage_entries(tables, cutoff: pd.Timestamp | None = None) -> StageEntries:
    """Apply the funnel rule to the stage history (see the module docstring).

    Memoised per tables object and cutoff (a review asks for the same few cutoffs
    many times; tables are not modified after loading). Treat the result as read-only.

    A cutoff before the tables' own (``as_of``: last quarter and a year earlier, read like for like) is read off
    the entries at the tables' own cutoff, with no second pass over the stage history: a lead created before the
    earlier cutoff passed a stage by then exactly when its passing time at the later cutoff is before it (passing
    is the earliest of first entries, and every first entry before the earlier cutoff is one before the later), and
    its ``lead`` falls back to its creation when its first lead event is not before it. Tables cut at an earlier
    moment (:func:`known_at <salign.common.periods.known_at>`, last quarter's fix list) read theirs off the uncut
    tables' of the same engine in the same way (:func:`_uncut`).
    """
    tables.require("leads", "stages")
    cutoff = cutoff_of(tables, cutoff)
    memo = _memo(tables)
    if cutoff not in memo:
        own = cutoff_of(tables)
        origin = _uncut(tables, cutoff)
        if origin is not None:  # a quarter as it stood (last quarter's fix list): read off the uncut tables' entries
            memo[cutoff] = _cut_entries(stage_entries(origin, cutoff), tables, cutoff)
        elif cutoff < own:
            memo[cutoff] = _read_off(stage_entries(tables, own), tables, cutoff)
        else:
            memo[cutoff] = _stage_entries(tables, cutoff)
    return memo[cutoff]


def _read_off(later: StageEntries, tables, cutoff: pd.Timestamp) -> StageEntries:
    """The entries at ``cutoff`` read off ``later`` (entries at a later cutoff; see :func:`stage_entries`):
    ``at`` now, ``left`` and ``anomalies`` by the engine when first asked for."""
    created = tables.leads["created_at"]
    keep = (created[created < later.cutoff] < cutoff).to_numpy()  # ``later.at`` has these leads in this order
    raw = later.at[keep]
    raw = raw.where(raw < cutoff)
    lead_event = later._lead_event[keep]
    created = created[created < cutoff].set_axis(raw.index)  # the same leads, in the same order
    raw["lead"] = lead_event.where(lead_event < cutoff).fillna(created)
    at = facts.passed(raw)
    owner = weakref.ref(tables)  # the memo must not keep the tables alive
    return StageEntries(at, None, None, cutoff, later.stages, complete=lambda: _stage_entries(_alive(owner), cutoff))


def _uncut(tables, cutoff: pd.Timestamp):
    """For tables cut at ``until`` (:func:`known_at <salign.common.periods.known_at>`) at or after ``cutoff``: uncut
    tables of the same engine whose entries were asked for (None: there are none, or the engine reads frames).

    The cut tables read their events off that engine's (:func:`salign.workspace.engine.event_table`): their leads
    created before ``cutoff`` and those leads' stage events before it are the uncut tables', so their entries at
    ``cutoff`` have the same ``at`` (as with :func:`salign.common.followups.after_mql`)."""
    engine = tables.engine
    if tables.until is None or cutoff > tables.until or engine is None or engine.over_frames:
        return None
    for ref in list(_TABLES.values()):
        other = ref()
        if other is not None and other is not tables and other.engine is engine and other.until is None:
            return other
    return None


def _cut_entries(uncut: StageEntries, tables, cutoff: pd.Timestamp) -> StageEntries:
    """The entries at ``cutoff`` of cut ``tables`` (see :func:`_uncut`), from the uncut tables' ``uncut``: the
    same ``at``; the stages the cut records, and ``left`` and ``anomalies`` by the engine on the cut when first
    asked for (a cut's ``left`` counts only the events before its ``until``)."""
    owner = weakref.ref(tables)
    return StageEntries(uncut.at, None, None, cutoff, facts.recorded_stages(tables),
                        complete=lambda: _stage_entries(_alive(owner), cutoff))


def _alive(ref):
    """The tables behind weak reference ``ref``; a clear error when they are gone."""
    tables = ref()
    if tables is None:
        raise RuntimeError("these stage entries outlived their tables: ask stage_entries again for left or anomalies")
    return tables


_MEMO: dict[int, dict] = {}
#: the tables objects that have a memo (weakly), to find the uncut tables of a cut (:func:`_uncut`)
_TABLES: dict[int, weakref.ref] = {}


def _memo(tables) -> dict:
    """The memo of one tables object, dropped when the object is."""
    key = id(tables)
    if key not in _MEMO:
        _MEMO[key] = {}
        _TABLES[key] = weakref.ref(tables)
        weakref.finalize(tables, _MEMO.pop, key, None)
        weakref.finalize(tables, _TABLES.pop, key, None)
    return _MEMO[key]


def _stage_entries(tables, cutoff: pd.Timestamp) -> StageEntries:
    leads = tables.leads.loc[tables.leads["created_at"] < cutoff, ["lead_id", "created_at"]]  # not a copy of all
    facts_ = events.funnel_entries(tables, cutoff)  # computed by the workspace's engine
    index = pd.Index(leads["lead_id"], name="lead_id")
    raw = facts_[list(FUNNEL) + list(EXITS)].reindex(index).astype("datetime64[ns, UTC]")
    lead_event = raw["lead"].copy()  # unfilled: what entries at earlier cutoffs are read off (:func:`_read_off`)
    raw["lead"] = raw["lead"].fillna(leads.set_index("lead_id")["created_at"])
    at = facts.passed(raw)
    present = facts.recorded_stages(tables)
    anomalies = {
        "skipped": {s: int((raw[s].isna() & at[s].notna()).sum()) for s in FUNNEL[1:-1]},
        "reentered": {s: int((facts_[f"n_{s}"] > 1).sum()) for s in FUNNEL[1:]},
    }
    left = {}
    for i, s in enumerate(FUNNEL[:-1]):
        left[s] = facts_[f"left_{s}"].reindex(at.index).astype("datetime64[ns, UTC]")
        nxt = at[FUNNEL[i + 1]]  # left at the first later event, or on reaching the next stage if that was earlier
        left[s] = left[s].where(left[s].isna() | nxt.isna() | (left[s] <= nxt), nxt).fillna(nxt)
    return StageEntries(at, left, anomalies, cutoff, present, lead_event=lead_event)


#: how pages name the funnel stages
STAGE_LABELS = {"lead": "lead", "mql": "MQL", "sal": "SAL", "sql": "SQL", "opportunity": "opportunity", "won": "won"}


def stage_label(stage: str) -> str:
    """A funnel stage as pages name it: ``MQL``, ``SQL``, ``opportunity``."""
    return STAGE_LABELS.get(stage, stage)


def qualified_stage(tables) -> str:
    """The stage the review's MQL conversion counts reaching: the workspace's outcome (``outcome:`` in
    workspace.yaml, else the furthest of sql, opportunity, won the data records; see
    :func:`salign.common.facts.outcome_setting`); ``sql`` when there is none (no stage history, or one that
    records none of them)."""
    return (facts.outcome_setting(tables).stage if tables.stages is not None else None) or "sql"


def handed_stage(tables) -> str:
    """The stage a lead is handed to sales at, for the MQL conversion: ``mql``, or ``lead`` if the data has no MQLs."""
    return "mql" if "mql" in facts.recorded_stages(tables) else "lead"


def conversion_key(tables) -> tuple[str, str, str, str]:
    """The review's key conversion: (from stage, to stage, metric name, label), e.g.
    ``("mql", "sql", "mql_to_sql", "MQL to SQL")`` on data that records SQLs."""
    src, dst = (handed_stage(tables) if tables.stages is not None else "mql"), qualified_stage(tables)
    return src, dst, f"{src}_to_{dst}", f"{stage_label(src)} to {stage_label(dst)}"


def cohort_rates(entries: StageEntries, period, stage: str, target: str, window_days: int,
                 groups: pd.Series | None = None) -> pd.DataFrame:
    """Cohort conversion ``stage`` -> ``target``: leads that entered ``stage`` in ``period``, followed ``window_days``.

    Returns one row per group (one row ``all`` without ``groups``): ``k`` reached
    ``target`` within the window (by the cutoff), ``n`` the cohort, ``mature`` how many
    had the whole window before the cutoff and ``k_mature`` how many of those
    converted, plus rate (k / n) and Wilson interval.
    """
    at = entries.at
    cohort = period.contains(at[stage]).to_numpy()
    start, end = at[stage][cohort], at[target][cohort]  # the cohort's leads only (a quarter of a few years' leads)
    reached = end.notna() & (end <= start + window_days * DAY)
    mature = start + window_days * DAY <= entries.cutoff
    g = (pd.Series("all", index=start.index) if groups is None else
         groups.reindex(start.index).fillna(dimensions.UNKNOWN))
    frame = pd.DataFrame({"group": g, "k": reached, "n": True, "mature": mature, "k_mature": reached & mature})
    summed = frame.groupby("group")[["k", "n", "mature", "k_mature"]].sum()
    out = rates(summed["k"], summed["n"])
    out[["mature", "k_mature"]] = summed[["mature", "k_mature"]].astype(int)
    return out.rename_axis("group").reset_index()


# --------------------------------------------------------------------------- cumulative funnel

@dataclass
class Funnel(Result):
    """Cumulative conversion: share of the period's new leads that passed each stage within the window."""

    table: pd.DataFrame
    period: str
    window_days: int
    cutoff: pd.Timestamp
    title: str = "The shared funnel: leads of the quarter, stage by stage"
    #: the stages the data records (the rows of ``table``)
    stages: tuple = FUNNEL

    def metrics(self) -> dict:
        return {r.stage: {"k": int(r.k), "n": int(r.n), "rate": None if pd.isna(r.rate) else round(float(r.rate), 6)}
                for r in self.table.itertuples()}

    @property
    def immature(self) -> int:
        """Leads of the cohort whose window had not elapsed by the cutoff."""
        return int(self.table["n"].iloc[0] - self.table["mature"].iloc[0])

    @property
    def figure_description(self) -> str:
        return (f"Bar chart: the share of the leads created in {self.period} that passed each funnel stage within "
                f"{self.window_days} days, with 95% intervals.")

    def labels(self) -> list[str]:
        """The rows as pages name them: the stage, and for won the registry's name of what the row counts (the
        period's new leads that reached won within the window), so it never reads as the win rate of closed deals."""
        return [registry.name("leads_won").replace("90 days", f"{self.window_days} days") if s == "won"
                else stage_label(s) for s in self.table["stage"]]

    def blocks(self) -> list:
        t = self.table
        shown = pd.DataFrame({"stage": self.labels(), "leads that passed it": t["k"].map(fmt.count),
                              f"share of {self.period} leads": _rate_cells(t)})
        note = ((" ", Strong("Immature cohort:"),
                 f" {fmt.count(self.immature)} of {fmt.count(t['n'].iloc[0])} leads had less than {self.window_days} "
                 f"days before the data ends ({self.cutoff:%Y-%m-%d %H:%M %Z}); their later stages may still come, "
                 "so these shares will rise.") if self.immature else ())
        out = [Paragraph(f"Cumulative conversion. Cohort: leads created in {self.period}, each followed for "
                         f"{self.window_days} days from creation.", *note), Table(shown)]
        if self.stages != FUNNEL:
            out.append(Paragraph(f"The data records these stages: {', '.join(map(stage_label, self.stages))}. A stage "
                                 "counts as recorded when most of the leads that passed it have an event at it; the "
                                 "others are left out of this review, and a lead passes a stage the data leaves out "
                                 "when it reaches a later one.", note=True))
        return out

    def draw(self):
        t = self.table
        fig, ax = _rate_bars([textwrap.fill(label, 16) for label in self.labels()], t)
        ax.set_title(f"Leads created in {self.period} passing each stage within {self.window_days} days (95% CI)")
        return fig


def _rate_cells(t: pd.DataFrame) -> list[str]:
    """Each row's rate as people read it, with its count and 95% interval."""
    return [fmt.rate(*r) for r in zip(t["k"], t["n"], t["ci_low"], t["ci_high"])]


def _rate_bars(labels, t: pd.DataFrame, **bar_kwargs):
    """A house-style figure of rates as bars with their 95% intervals; returns ``(fig, ax)``."""
    fig, ax = plotting.figure()
    ax.bar(labels, t["rate"].fillna(0), color=plotting.COLORS["common"], **bar_kwargs)
    ax.errorbar(labels, t["rate"].fillna(0), yerr=plotting.rate_error(t), fmt="none", color=plotting.COLORS["ink"],
                capsize=3)
    plotting.percent_axis(ax)
    return fig, ax


def cohort_funnel(tables, period, window_days: int = 90, cutoff: pd.Timestamp | None = None) -> Funnel:
    """Cumulative funnel: leads created in ``period``, each followed ``window_days`` from creation."""
    entries = stage_entries(tables, cutoff)
    rows = []
    for stage in entries.stages:
        r = cohort_rates(entries, period, "lead", stage, window_days).iloc[0] if period.contains(
            entries.at["lead"]).any() else pd.Series({"k": 0, "n": 0, "mature": 0})
        rows.append({"stage": stage, "k": int(r["k"]), "n": int(r["n"]), "mature": int(r["mature"])})
    t = pd.DataFrame(rows)
    t[["rate", "ci_low", "ci_high"]] = rates(t["k"], t["n"])[["rate", "ci_low", "ci_high"]]
    return Funnel(t, str(period), window_days, entries.cutoff, stages=entries.stages)


# --------------------------------------------------------------------------- stage to stage

@dataclass
class StageConversion(Result):
    """Cohort conversion from each stage to the next, flow ratios (labelled) and the counted anomalies."""

    table: pd.DataFrame
    #: the counted anomalies (:attr:`StageEntries.anomalies`), or the entries that count them when first asked for
    #: (last quarter's fix list reads only the table): read :attr:`anomalies`
    counted: object
    period: str
    window_days: int
    cutoff: pd.Timestamp
    title: str = "Stage-to-stage conversion"
    #: the stages the data records; the page names only these (a stage never recorded is not "skipped")
    stages: tuple = FUNNEL

    @property
    def anomalies(self) -> dict:
        """``skipped`` and ``reentered`` per stage (see :class:`StageEntries`)."""
        if isinstance(self.counted, StageEntries):
            self.counted = self.counted.anomalies
        return self.counted

    def rate(self, stage: str) -> Rate:
        """The cohort conversion out of ``stage`` (e.g. ``mql`` for MQL -> SAL)."""
        r = self.table.set_index("stage").loc[stage]
        return Rate(int(r["k"]), int(r["n"]))

    def metrics(self) -> dict:
        out = {}
        for r in self.table.itertuples():
            out[f"{r.stage}_to_{r.next}"] = {**Rate(int(r.k), int(r.n)).as_dict(), "mature": int(r.mature),
                                             "immature": bool(r.mature < r.n),
                                             "flow_ratio": None if pd.isna(r.flow) else round(float(r.flow), 6)}
        return {"window_days": self.window_days, "cutoff": self.cutoff.isoformat(), "conversion": out,
                "anomalies": self.anomalies}

    @property
    def figure_description(self) -> str:
        return (f"Bar chart: the cohort conversion from each funnel stage to the next within {self.window_days} days "
                f"for {self.period}, with 95% intervals; immature cohorts are hatched.")

    def blocks(self) -> list:
        t = self.table
        shown = pd.DataFrame({
            "step": t["stage"] + " → " + t["next"],
            "entered in the quarter": t["n"].map(fmt.count),
            f"converted within {self.window_days} days": _rate_cells(t),
            "cohort": np.where(t["mature"] < t["n"],
                               [f"immature ({fmt.count(m)} of {fmt.count(n)} followed the full window)"
                                for m, n in zip(t["mature"], t["n"])], "mature"),
            "flow ratio (not a conversion rate)": [fmt.number(x, 2) for x in t["flow"]],
        })
        a = self.anomalies
        skipped = ", ".join(f"{s} {fmt.count(n)}" for s, n in a["skipped"].items() if s in self.stages) or "none"
        reentered = ", ".join(f"{s} {fmt.count(n)}" for s, n in a["reentered"].items()
                              if n and s in self.stages) or "none"
        return [
            Paragraph(f"Cohorts: leads that entered each stage in {self.period}, each followed {self.window_days} days "
                      f"(data until {self.cutoff:%Y-%m-%d %H:%M %Z}). The flow ratio divides the quarter's entries "
                      "into the next stage by its entries into this one; those are different leads, so it is not a "
                      "conversion rate."),
            Table(shown),
            Paragraph("One rule for messy histories: a lead has passed a stage from the first moment it reached that "
                      f"stage or any later one. Counted in the whole history: skipped stages {skipped}; re-entered "
                      f"stages {reentered}.", note=True)]

    def draw(self):
        t = self.table
        immature = (t["mature"] < t["n"]).to_numpy()
        fig, ax = _rate_bars(t["stage"] + "→" + t["next"], t, hatch=["//" if i else "" for i in immature],
                             edgecolor=plotting.COLORS["ink"])
        ax.set_title(f"Cohort conversion within {self.window_days} days, {self.period} (hatched: immature)")
        return fig


def stage_conversion(tables, period, window_days: int = 90, cutoff: pd.Timestamp | None = None) -> StageConversion:
    """Cohort conversion from each funnel stage to the next, with flow ratios and the rule's counts."""
    entries = stage_entries(tables, cutoff)
    rows = []
    for s, nxt in zip(entries.stages[:-1], entries.stages[1:]):
        r = cohort_rates(entries, period, s, nxt, window_days)
        r = r.iloc[0] if len(r) else pd.Series({"k": 0, "n": 0, "mature": 0})
        entered, entered_next = (int(period.contains(entries.at[x]).sum()) for x in (s, nxt))
        rows.append({"stage": s, "next": nxt, "k": int(r["k"]), "n": int(r["n"]), "mature": int(r["mature"]),
                     "flow": entered_next / entered if entered else np.nan})
    t = pd.DataFrame(rows)
    t[["rate", "ci_low", "ci_high"]] = rates(t["k"], t["n"])[["rate", "ci_low", "ci_high"]]
    return StageConversion(t, entries, str(period), window_days, entries.cutoff, stages=entries.stages)


# --------------------------------------------------------------------------- time in stage

@dataclass
class TimeInStage(Result):
    """Days spent in each stage by the leads that entered it in the period (Kaplan-Meier, still-in censored)."""

    durations: dict
    curves: dict
    period: str
    title: str = "Time in stage"

    def metrics(self) -> dict:
        return {s: d.as_dict() for s, d in self.durations.items()}

    @property
    def figure_description(self) -> str:
        return (f"Curves, one per funnel stage: the share of the leads that entered the stage in "
                f"{self.period} still in it, by days since they entered.")

    def blocks(self) -> list:
        rows = pd.DataFrame([{"stage": s, "days in stage": words.plain(d, "left the stage")}
                             for s, d in self.durations.items()])
        return [Paragraph(f"Leads that entered each stage in {self.period}. A lead leaves a stage when it reaches a "
                          "later one or is rejected, recycled, disqualified or lost; leads still in the stage when the "
                          "data ends count as still in it, not as dropped."), Table(rows)]

    def methods(self) -> list:
        return [Paragraph("Days in each stage: Kaplan-Meier estimates; leads still in the stage at the cut-off are "
                          "censored there, not dropped. A median or 90th percentile the curve has not reached by the "
                          "cut-off is reported as not reached."),
                Table(pd.DataFrame([{"stage": s, "days in stage (Kaplan-Meier)": str(d)}
                                    for s, d in self.durations.items()]))]

    def draw(self):
        fig, ax = plotting.figure()
        for s, km in self.curves.items():
            if km is not None:
                sf = km.survival_function_.iloc[:, 0]
                ax.step(sf.index, sf.to_numpy(), where="post", label=s)
        plotting.percent_axis(ax)
        ax.set_xlabel("days since entering the stage")
        ax.set_ylabel("still in the stage")
        ax.set_title(f"Time in stage, leads entering in {self.period}")
        ax.legend()
        return fig


def stage_durations(entries: StageEntries, period, stage: str) -> pd.DataFrame:
    """Days in ``stage`` for the leads that entered it in ``period``: ``days`` and ``observed`` (False: censored)."""
    start = entries.at[stage]
    cohort = period.contains(start)
    left = entries.left[stage][cohort]
    end = left.fillna(entries.cutoff)
    return pd.DataFrame({"days": (end - start[cohort]).dt.total_seconds() / 86400, "observed": left.notna()})


def time_in_stage(tables, period, cutoff: pd.Timestamp | None = None) -> TimeInStage:
    """Kaplan-Meier time in each funnel stage (lead to opportunity) for the period's entrants."""
    entries = stage_entries(tables, cutoff)
    durations, curves = {}, {}
    for s in (s for s in entries.stages if s != FUNNEL[-1]):
        d = stage_durations(entries, period, s)
        durations[s], curves[s] = kaplan_meier(d["days"], d["observed"], unit="days")
    return TimeInStage(durations, curves, str(period))


# --------------------------------------------------------------------------- volumes

@dataclass
class Volumes(Result):
    """Stage entries in the period by one attribute, and each group's conversion from ``source`` to ``target``
    (MQL -> SQL on data that records both; see :func:`conversion_key`)."""

    table: pd.DataFrame
    dimension: str
    period: str
    window_days: int
    title: str = ""
    stages: tuple = FUNNEL
    source: str = "mql"
    target: str = "sql"
    #: where the groups come from, in words (the persona set in use), shown with the table
    groups_from: str = ""

    def __post_init__(self):
        self.title = self.title or f"Volumes by {self.dimension}"

    def metrics(self) -> dict:
        t = self.table
        return {str(r[self.dimension]): {**{s: int(r[s]) for s in self.stages},
                                         f"{self.source}_to_{self.target}": Rate(int(r["k"]), int(r["n"])).as_dict()}
                for _, r in t.iterrows()}

    def _plural(self, stage: str) -> str:
        return "new leads" if stage == "lead" else f"{stage_label(stage)}s" if stage in ("mql", "sal", "sql") else \
            f"{stage_label(stage)} entries"

    def _bars(self) -> list[str]:
        """The stages drawn: new leads, the conversion's source and target (each once)."""
        return list(dict.fromkeys(("lead", self.source, self.target)))

    def _bar_names(self) -> str:
        names = [self._plural(s) for s in self._bars()]
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"

    @property
    def figure_description(self) -> str:
        return f"Horizontal bars: {self._bar_names()} of {self.period} for each {self.dimension}."

    def blocks(self) -> list:
        t = self.table
        shown = t[[self.dimension]].assign(**{s: t[s].map(fmt.count) for s in self.stages})
        shown[f"{stage_label(self.source)} → {stage_label(self.target)} within {self.window_days} days"] = \
            _rate_cells(t)
        whose = "MQLs" if self.source == "mql" else "new leads"
        where = f" Personas: {self.groups_from}." if self.groups_from else ""
        return [Paragraph(f"Leads entering each stage in {self.period}, by {self.dimension} (flow counts), and the "
                          f"cohort conversion of the quarter's {whose}.{where}"), Table(shown)]

    def draw(self):
        t = self.table.sort_values(self.source)
        fig, ax = plotting.figure()
        for stage, color in zip(self._bars(), ("muted", "marketing", "sales")):
            ax.barh(t[self.dimension].astype(str), t[stage], color=plotting.COLORS[color], label=self._plural(stage))
        ax.set_title(f"{self._bar_names().capitalize()} of {self.period} by {self.dimension}")
        ax.legend()
        return fig


def volumes(tables, period, by: str = "source", window_days: int = 90,
            cutoff: pd.Timestamp | None = None) -> Volumes:
    """Stage entries in ``period`` and the MQL cohort conversion (:func:`conversion_key`) by ``source`` or ``persona``."""
    entries = stage_entries(tables, cutoff)
    src, dst, _, _ = conversion_key(tables)
    shown = tuple(s for s in FUNNEL if s in entries.stages or s in (src, dst))
    leads = tables.leads.set_index("lead_id").reindex(entries.at.index)
    groups = (dimensions.persona(tables, leads) if by == "persona" else dimensions.label(
        leads[by] if by in leads.columns else pd.Series(np.nan, index=leads.index)))
    counts = pd.DataFrame({s: period.contains(entries.at[s]) for s in shown}).groupby(groups.to_numpy()).sum()
    conv = cohort_rates(entries, period, src, dst, window_days, groups).set_index("group")
    t = counts.join(conv[["k", "n", "rate", "ci_low", "ci_high"]], how="left")
    t[["k", "n"]] = t[["k", "n"]].fillna(0).astype(int)
    t = t[t[list(shown)].sum(axis=1) > 0].sort_values("lead", ascending=False).rename_axis(by).reset_index()
    return Volumes(t, by, str(period), window_days, stages=shown, source=src, target=dst,
                   groups_from=dimensions.persona_source(tables) if by == "persona" else "")



# --------------------------------------------------------------------------- deals

@dataclass
class DealConversion(Result):
    """Opportunities created in the period and where they stood after the window: won, lost, still open."""

    table: pd.DataFrame
    period: str
    window_days: int
    cutoff: pd.Timestamp
    #: named as every page names the figure (:mod:`salign.common.metrics`): not the win rate of closed deals
    title: str = "Opportunities won within 90 days (from the opportunities table)"

    def __post_init__(self):
        self.title = self.title.replace("90 days", f"{self.window_days} days")

    def metrics(self) -> dict:
        t = self.table.set_index("outcome")
        n, mature = int(t["count"].sum()), int(t["mature"].sum())
        return {"window_days": self.window_days, "opportunities": n, "mature": mature, "immature": mature < n,
                **{o: Rate(int(t.loc[o, "count"]), n).as_dict() for o in t.index}}

    def blocks(self) -> list:
        t = self.table
        n, mature = int(t["count"].sum()), int(t["mature"].sum())
        shown = pd.DataFrame({f"within {self.window_days} days": t["outcome"],
                              "share of the quarter's opportunities": [str(Rate(int(k), n)) for k in t["count"]]})
        note = (() if mature == n else
                (" ", Strong("Immature cohort:"), f" only {fmt.count(mature)} of {fmt.count(n)} had the full "
                 f"{self.window_days} days before the data ends ({self.cutoff:%Y-%m-%d %H:%M %Z})."))
        return [Paragraph(f"Cohort: the {fmt.count(n)} opportunities created in {self.period}, each followed "
                          f"{self.window_days} days.", *note), Table(shown)]


def deal_conversion(tables, period, window_days: int = 90, cutoff: pd.Timestamp | None = None) -> DealConversion:
    """Cohort conversion opportunity -> won from the opportunities table (works without a stage history)."""
    tables.require("opportunities")
    cutoff = cutoff_of(tables, cutoff)
    o = tables.opportunities
    c = o[period.contains(o["created_at"]) & (o["created_at"] < cutoff)]
    closed_at = c["closed_at"] if "closed_at" in c.columns else pd.Series(pd.NaT, index=c.index)
    by = c["created_at"] + window_days * DAY
    done = c["outcome"].isin(["won", "lost"]) & closed_at.notna() & (closed_at < cutoff) & (closed_at <= by)
    outcome = c["outcome"].where(done, "still open")
    mature = by <= cutoff
    t = pd.DataFrame({"outcome": outcome, "count": 1, "mature": mature}).groupby("outcome")[["count", "mature"]].sum()
    t = t.reindex(["won", "lost", "still open"], fill_value=0).astype(int).reset_index()
    return DealConversion(t, str(period), window_days, cutoff)


def mature_stage_conversion(tables, period, window_days: int = 90,
                            cutoff: pd.Timestamp | None = None) -> StageConversion:
    """:func:`stage_conversion` for the latest quarter up to ``period`` whose cohorts had the whole window.

    This is where the weakest stage is judged: an immature cohort makes every late stage look weak.
    """
    cutoff = cutoff_of(tables, cutoff)
    q = period
    while q.end + window_days * DAY > cutoff:
        q = q.previous
    result = stage_conversion(tables, q, window_days, cutoff)
    # followed up to the cut-off, so named apart from the quarter's own as-it-stood table (issue 13: one figure, one
    # number)
    result.title = (f"Stage-to-stage conversion, {q}: followed up to {cutoff:%Y-%m-%d} "
                    "(the latest quarter with mature cohorts)")
    return result
