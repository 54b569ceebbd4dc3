"""Both teams' personas against the data: coverage of customers and leads, overlap, value and best/worst share
per persona, which team separates best from worst better, and which segments each team gets right or wrong."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salign.common import plotting
from salign.common.facts import leads_with_accounts
from salign.common.result import Block, Bullets, Paragraph, Result, Table
from salign.common.stats import Rate
from salign.core import fmt
from salign.personas.groups import group_stats, leads_cells, stats_metrics, stats_table
from salign.scoring.per_value import by_rows, rules_frame

TEAMS = ("marketing", "sales")
#: bootstrap resamples for the interval of the difference in separation
BOOTSTRAP = 2000
#: fewest best and fewest worst customers for comparing the teams' separation
MIN_EACH = 10


def _possessive(team: str) -> str:
    return f"{team.capitalize()}'" if team.endswith("s") else f"{team.capitalize()}'s"


def separation(member: np.ndarray, best: np.ndarray, worst: np.ndarray) -> float:
    """Share of all best customers claimed minus share of all worst customers claimed (Youden's J)."""
    return member[best].mean() - member[worst].mean() if best.any() and worst.any() else np.nan


@dataclass
class TeamPersonas(Result):
    """Each team's personas applied to customers (by their first contact) and to leads.

    Attributes
    ----------
    personas : pandas.DataFrame
        One row per team persona: ``team``, ``persona``, ``name``, ``rule`` (text), group statistics
        (:func:`~salign.personas.groups.group_stats`) and ``leads`` (leads matched).
    teams : pandas.DataFrame
        One row per team (its personas together): group statistics, ``leads``, ``separation``.
    claimed : dict
        Customers claimed by ``both`` teams, ``marketing`` only, ``sales`` only, ``neither``.
    overlap : pandas.DataFrame
        Persona x persona: customers both rules match.
    membership : pandas.DataFrame
        Customer x persona (``team.persona`` columns) booleans, plus one column per team.
    difference : dict
        ``marketing - sales`` separation with a bootstrap 95% interval and the number of resamples.
    leads_total : int
    """

    personas: pd.DataFrame
    teams: pd.DataFrame
    claimed: dict
    overlap: pd.DataFrame
    membership: pd.DataFrame
    difference: dict
    leads_total: int
    #: the workspace currency when customer value is an amount (see CustomerValue.currency)
    currency: str = ""
    title: str = "Both teams' personas against the data"
    figure_description = ("Bars: share of each team persona's customers that are best and that are worst, persona "
                          "names coloured by team; grid: customers claimed by both personas of each pair.")

    @property
    def better(self) -> str | None:
        """The team whose personas separate best from worst better (None when the interval includes 0)."""
        d = self.difference
        if d["ci_low"] is None or d["ci_low"] <= 0 <= d["ci_high"]:
            return None
        return "marketing" if d["estimate"] > 0 else "sales"

    def verdict(self) -> str:
        """Which team separates better, with the difference and its interval, in words."""
        d = self.difference
        if d["ci_low"] is None:
            return (f"Too few best or worst customers (fewer than {MIN_EACH}) to say which team's personas "
                    "separate them better")
        who = (f"{_possessive(self.better)} personas separate best from worst better" if self.better else
               "Neither team's personas separate best from worst clearly better")
        return (f"{who}: difference marketing - sales {d['estimate']:+.2f} (95% interval "
                f"{d['ci_low']:+.2f} to {d['ci_high']:+.2f})")

    def metrics(self) -> dict:
        out = {f"{r.team}.{r.persona}": {**stats_metrics(r._asdict()), "leads": int(r.leads)}
               for r in self.personas.itertuples()}
        out["teams"] = {r.team: {**stats_metrics(r._asdict()), "leads": int(r.leads),
                                 "separation": round(float(r.separation), 4)} for r in self.teams.itertuples()}
        out["claimed"] = self.claimed
        out["separation_difference"] = self.difference
        out["better_separation"] = self.better
        return out

    def headline(self) -> dict:
        n = sum(self.claimed.values())
        return {"customers_no_team_persona_claims": Rate(self.claimed["neither"], n).as_dict()}

    def blocks(self) -> list[Block]:
        c, n = self.claimed, sum(self.claimed.values())
        t = self.teams
        sep = " ".join(
            f"{_possessive(r.team)} personas claim {fmt.count(r.best)} of the {fmt.count(self.totals['best'])} best "
            f"customers and {fmt.count(r.worst)} of the {fmt.count(self.totals['worst'])} worst: separation "
            f"{r.separation:+.2f}." for r in t.itertuples())
        p = self.personas
        shown = stats_table(p.assign(group=p["team"] + ": " + p["name"]), currency=self.currency)
        shown.insert(1, "rule", p["rule"].to_numpy())
        shown["leads"] = leads_cells(p["leads"], self.leads_total)
        teams = stats_table(t.assign(group=t["team"] + " (all personas)"), currency=self.currency)
        teams["leads"] = leads_cells(t["leads"], self.leads_total)
        return [
            Paragraph(f"Persona rules are applied to each customer's account and first contact, and to all "
                      f"{fmt.count(self.leads_total)} leads. Of {fmt.count(n)} customers, {fmt.count(c['both'])} are "
                      f"claimed by both teams' personas, {fmt.count(c['marketing'])} by marketing's only, "
                      f"{fmt.count(c['sales'])} by sales' only and {fmt.count(c['neither'])} by neither."),
            Paragraph("Measure: separation = share of all best customers a team's personas claim minus share of all "
                      "worst customers they claim (1 is perfect, 0 no better than chance). "
                      f"{sep} {self.verdict()}."),
            Table(shown, caption="Each persona: customers it claims, their value, best and worst"),
            Table(teams, caption="Each team's personas together"),
            Table(self.overlap, index=True, caption="Overlap: customers claimed by both personas")]

    def methods(self) -> list[Block]:
        d = self.difference
        boot = (f" The interval of the difference between the teams is a paired bootstrap over customers "
                f"({fmt.count(d['resamples'])} resamples)." if d.get("resamples") else "")
        return [Paragraph("Separation is Youden's J of the team's personas as a test for a best customer against a "
                          "worst one: sensitivity (share of best customers claimed) plus specificity (share of worst "
                          "customers not claimed) minus 1." + boot)]

    @property
    def totals(self) -> dict:
        m = self.membership
        return {"best": int(m["_best"].sum()), "worst": int(m["_worst"].sum())}

    def draw(self):
        """Share of best and worst customers in each persona, coloured by team (left); overlap matrix (right)."""
        s = self.personas.iloc[::-1]
        fig, (ax, ax2) = plotting.figure(1, 2, size=(11.0, 4.8), width_ratios=[1.2, 1])
        y = np.arange(len(s))
        n = s["customers"].clip(lower=1)
        ax.barh(y + 0.2, s["best"] / n, height=0.4, color=plotting.COLORS["good"], label="best")
        ax.barh(y - 0.2, s["worst"] / n, height=0.4, color=plotting.COLORS["bad"], label="worst")
        ax.set_yticks(y, [f"{t}: {p}" for t, p in zip(s["team"], s["persona"])])
        for tick, team in zip(ax.get_yticklabels(), s["team"]):
            tick.set_color(plotting.COLORS[team])
        plotting.percent_axis(ax, "x")
        ax.set_title("Best and worst customers per persona")
        ax.legend(loc="lower right")
        ov = self.overlap
        ax2.imshow(ov.to_numpy(), cmap="Greens")
        ax2.set_xticks(range(len(ov.columns)), [c.split(".", 1)[1] for c in ov.columns], rotation=45, ha="right")
        ax2.set_yticks(range(len(ov.index)), [c.split(".", 1)[1] for c in ov.index])
        for tick, team in zip(ax2.get_yticklabels(), [c.split(".")[0] for c in ov.index]):
            tick.set_color(plotting.COLORS[team])
        ax2.grid(False)
        for i in range(len(ov.index)):
            for j in range(len(ov.columns)):
                ax2.text(j, i, f"{ov.iat[i, j]:,}", ha="center", va="center", fontsize=8)
        ax2.set_title("Customers claimed by both personas")
        return fig


def _fields(pset) -> list[str]:
    """The fields the rules of a persona set read, in file order."""
    return [f for p in pset.personas for f in sorted(p.rule.fields())]


def team_personas(tables, value, random_state: int = 0) -> TeamPersonas:
    """Apply ``personas.marketing.yaml`` and ``personas.sales.yaml`` to the valued customers and to leads.

    A rule naming a field the data lacks raises :class:`~salign.definitions.rules.RuleError` (the run fails and says so).
    """
    c = value.customers
    leads = tables.leads
    rows, members, lead_members = [], {}, {}
    for team in TEAMS:
        pset = tables.definition(f"personas.{team}.yaml")
        member = pset.assign(c)
        fields = _fields(pset)  # the columns the rules read, once per distinct lead
        lead_member = (by_rows(rules_frame(leads_with_accounts(tables, fields), fields), pset.assign)
                       if leads is not None else None)
        for p in pset.personas:
            key = f"{team}.{p.id}"
            members[key] = member[p.id]
            lead_members[key] = lead_member[p.id] if lead_member is not None else None
            rows.append({"team": team, "persona": p.id, "name": p.name, "rule": p.rule.describe(),
                         **group_stats(member[p.id], c),
                         "leads": int(lead_member[p.id].sum()) if lead_member is not None else 0})
    personas = pd.DataFrame(rows)
    m = pd.DataFrame(members, index=c.index)
    best, worst = c["best"].to_numpy(bool), c["worst"].to_numpy(bool)
    team_rows = []
    for team in TEAMS:
        cols = [k for k in m.columns if k.startswith(f"{team}.")]
        m[team] = m[cols].any(axis=1)
        lead_any = (pd.concat([lead_members[k] for k in cols], axis=1).any(axis=1).sum()
                    if leads is not None else 0)
        team_rows.append({"team": team, **group_stats(m[team], c), "leads": int(lead_any),
                          "separation": separation(m[team].to_numpy(), best, worst)})
    teams = pd.DataFrame(team_rows)
    mk, sa = m["marketing"].to_numpy(), m["sales"].to_numpy()
    claimed = {"both": int((mk & sa).sum()), "marketing": int((mk & ~sa).sum()), "sales": int((~mk & sa).sum()),
               "neither": int((~mk & ~sa).sum())}
    cols = list(members)
    M = m[cols].to_numpy(int)
    overlap = pd.DataFrame(M.T @ M, index=cols, columns=cols)
    m["_best"], m["_worst"] = best, worst
    diff = _difference(mk, sa, best, worst, random_state)
    return TeamPersonas(personas, teams, claimed, overlap, m, diff, len(leads) if leads is not None else 0,
                        currency=getattr(value, "currency", ""))


def _difference(a: np.ndarray, b: np.ndarray, best: np.ndarray, worst: np.ndarray, seed: int) -> dict:
    """Separation of ``a`` minus that of ``b``, with a paired bootstrap 95% interval over customers."""
    est = separation(a, best, worst) - separation(b, best, worst)
    if np.isnan(est) or min(best.sum(), worst.sum()) < MIN_EACH:
        return {"estimate": None if np.isnan(est) else round(float(est), 4), "ci_low": None, "ci_high": None,
                "resamples": 0}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(BOOTSTRAP, len(a)))
    bb, ww = best[idx], worst[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        def sep(x):
            xs = x[idx]
            return (xs & bb).sum(1) / bb.sum(1) - (xs & ww).sum(1) / ww.sum(1)

        d = sep(a) - sep(b)
    d = d[np.isfinite(d)]
    lo, hi = np.quantile(d, [0.025, 0.975])
    return {"estimate": round(float(est), 4), "ci_low": round(float(lo), 4), "ci_high": round(float(hi), 4),
            "resamples": int(len(d))}


@dataclass
class TeamSegments(Result):
    """Which data-driven segments each team's personas cover, and whether those segments are targets.

    Attributes
    ----------
    shares : pandas.DataFrame
        Segment x team: share of the segment's customers the team's personas claim.
    verdicts : dict
        team -> ``covered``, ``right`` (covered targets), ``wrong`` (covered non-targets),
        ``missed`` (targets not covered): lists of segment names.
    segments : pandas.DataFrame
        The segments' table (rule, size, value, target).
    threshold : float
        Share of a segment's customers a team must claim to cover it.
    """

    shares: pd.DataFrame
    verdicts: dict
    segments: pd.DataFrame
    threshold: float
    title: str = "Where the teams agree and disagree with the data"

    def metrics(self) -> dict:
        return {"threshold": self.threshold, "verdicts": self.verdicts,
                "shares": {seg: {t: round(float(v), 4) for t, v in row.items()} for seg, row in
                           self.shares.iterrows()}}

    def agreement(self) -> dict:
        """Targets both teams cover, targets only one covers, and non-targets a team covers."""
        v = self.verdicts
        right = {t: set(v[t]["right"]) for t in TEAMS}
        targets = set(self.segments.loc[self.segments["target"], "segment"])
        return {"both_right": sorted(right["marketing"] & right["sales"]),
                "one_right": {t: sorted(right[t] - right[o]) for t, o in (("marketing", "sales"), ("sales", "marketing"))},
                "nobody": sorted(targets - right["marketing"] - right["sales"]),
                "wrong": {t: v[t]["wrong"] for t in TEAMS}}

    def blocks(self) -> list[Block]:
        seg = self.segments.set_index("segment")
        rows = []
        for s, row in self.shares.iterrows():
            size = int(seg.at[s, "customers"])
            r = {"segment": s, "rule": seg.at[s, "description"], "customers": size,
                 "target": "yes" if seg.at[s, "target"] else "no"}
            for t in TEAMS:
                k = int(round(row[t] * size))
                verdict = next((name for name in ("right", "wrong", "missed") if s in self.verdicts[t][name]), "")
                r[f"{t} claims"] = (f"{fmt.count(k)} of {fmt.count(size)} ({fmt.percent(row[t], 0)})"
                                    + (f" - {verdict}" if verdict else ""))
            rows.append(r)
        a = self.agreement()

        def names(xs):
            return ", ".join(xs) if xs else "none"

        return [
            Paragraph(f"A team covers a segment when its personas claim at least {fmt.percent(self.threshold, 0)} of "
                      "the segment's customers. Right: a covered target segment; wrong: a covered segment that is not "
                      "a target; missed: a target segment not covered."),
            Bullets([f"Both teams are right about: {names(a['both_right'])}.",
                     f"Only marketing sees: {names(a['one_right']['marketing'])}; only sales sees: "
                     f"{names(a['one_right']['sales'])}.",
                     f"Neither team sees: {names(a['nobody'])}.",
                     f"Marketing targets a segment that is not a target: {names(a['wrong']['marketing'])}; "
                     f"sales: {names(a['wrong']['sales'])}."]),
            Table(pd.DataFrame(rows))]


def team_segments(teams: TeamPersonas, segments, threshold: float = 0.5) -> TeamSegments:
    """Each team's coverage of each segment, and its right / wrong / missed segments."""
    m = teams.membership
    names = segments.labels.to_numpy()
    shares = pd.DataFrame({t: m[t].groupby(names).mean() for t in TEAMS})
    shares = shares.reindex(segments.table["segment"])
    target = dict(zip(segments.table["segment"], segments.table["target"]))
    verdicts = {}
    for t in TEAMS:
        covered = [s for s in shares.index if shares.at[s, t] >= threshold]
        verdicts[t] = {"covered": covered, "right": [s for s in covered if target[s]],
                       "wrong": [s for s in covered if not target[s]],
                       "missed": [s for s in shares.index if target[s] and s not in covered]}
    return TeamSegments(shares, verdicts, segments.table, threshold)
