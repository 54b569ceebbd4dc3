"""The page's conclusion for both teams' leaders: what the data says, where the teams agree and disagree,
and the proposed common set; every number with its count."""
from __future__ import annotations

from dataclasses import dataclass

from salign.common import render
from salign.definitions.models import UNASSIGNED


def _level(r, outcome: str) -> str:
    k, n = int(r[f"{outcome}_k"]), int(r["n"])
    return f"{r['attribute']} {r['level']} ({k:,} of {n:,} are {outcome}, {k / n:.0%})"


def _segment(row) -> str:
    return f"{row['segment']} ({row['description']}; {int(row['customers']):,} customers)"


@dataclass
class Summary(render.Result):
    """Four short paragraphs, as plain sentences (``paragraphs``: heading -> list of sentences)."""

    paragraphs: dict
    title: str = "In short"

    def html_body(self) -> str:
        return "".join(f"<h5>{render.esc(h)}</h5><ul>" + "".join(f"<li>{render.esc(s)}</li>" for s in ss) + "</ul>"
                       for h, ss in self.paragraphs.items())


def summary(value, markers, conjunctions, segments, common) -> Summary:
    """What the data says and the proposed common set, from the results of the other sections."""
    c = value.customers
    n = len(c)
    m = value.metrics()
    says = [f"{n:,} customers; the top decile ({max(1, n // 10):,} customers) holds "
            f"{render.percent(m['top_decile_value_share'])} of all value; {m['negative_value']:,} customers have a "
            f"negative value and {m['churned']:,} churned.",
            f"Best: {m['best']:,} customers (the top {value.best_share:.0%} by value, churned ones left out); "
            f"worst: {m['worst']:,} (the bottom {value.worst_share:.0%}"
            + (", plus churned customers)." if value.definition.churned_is_worst and m["churned"] else ").")]
    if len(markers.marks):
        says.append("Strongest marks of a best customer: " + "; ".join(
            _level(r, "best") for _, r in markers.marks.head(3).iterrows()) + f" (overall {m['best'] / n:.0%}).")
    if len(markers.warnings):
        says.append("Strongest warning signs: " + "; ".join(
            _level(r, "worst") for _, r in markers.warnings.head(3).iterrows()) + f" (overall {m['worst'] / n:.0%}).")
    marks = conjunctions.table[conjunctions.table["direction"] == "mark"]
    if len(marks):
        r = marks.iloc[0]
        says.append(f"Best combination: {r['description']}: {int(r['best_k']):,} of {int(r['n']):,} best, "
                    f"{int(r['worst_k']):,} worst.")
    seg = segments.table
    targets = seg[seg["target"]]
    says.append(f"{segments.k} segments; {len(targets)} are targets (more of the value than of the worst customers): "
                + "; ".join(f"{_segment(r)} with {r['value_share']:.0%} of value" for _, r in targets.iterrows()) + ".")

    ct = common.table
    u = ct[ct["group"] == UNASSIGNED].iloc[0]
    assigned = n - int(u["customers"])
    proposal = [f"{len(common.persona_set.personas)} common personas: "
                + "; ".join(f"{p.name} ({int(r['customers']):,} customers, {r['value_share']:.0%} of value, "
                            f"{int(r['best']):,} best)"
                            for p, (_, r) in zip(common.persona_set.personas, ct.iterrows())) + ".",
                f"They place {assigned:,} of {n:,} customers ({assigned / n:.0%}); {int(u['customers']):,} stay "
                f"unassigned, {int(u['worst']):,} of them worst.",
                "The file personas.common.yaml is in this run's report folder: copy it to the workspace's "
                "definitions/, edit, and rerun this notebook to see coverage and value change."]
    return Summary({"What the data says": says, "The proposed common set": proposal},
                   title="In short: what the data says and what we propose")


def team_summary(teams, team_segs) -> Summary:
    """Where the teams agree and where they disagree, with the data's segments as referee."""
    seg = team_segs.segments
    a = team_segs.agreement()
    by_name = seg.set_index("segment")
    cl, nn = teams.claimed, sum(teams.claimed.values())

    def segs(names):
        return "; ".join(_segment(by_name.loc[s].to_dict() | {"segment": s}) for s in names) or "none"

    ov = teams.overlap
    pairs = sorted(((int(ov.at[x, y]), x, y) for x in ov.index for y in ov.columns
                    if x.startswith("marketing.") and y.startswith("sales.") and ov.at[x, y]), reverse=True)
    union = sorted(set(a["both_right"]) | {s for t in a["one_right"].values() for s in t})
    agree = [f"Both teams' personas claim the same {cl['both']:,} of {nn:,} customers ({cl['both'] / nn:.0%})"
             + (": " + "; ".join(f"{x} and {y} share {k:,}" for k, x, y in pairs[:3]) + "." if pairs else "."),
             f"Both teams cover these target segments: {segs(a['both_right'])}.",
             f"Together the two sets cover the target segments {segs(union)}: each team brings what the other misses."
             if union else "Together the two sets cover no target segment."]
    disagree = [f"Marketing alone claims {cl['marketing']:,} customers, sales alone {cl['sales']:,}, neither "
                f"{cl['neither']:,} ({cl['neither'] / nn:.0%})."]
    for team, other in (("marketing", "sales"), ("sales", "marketing")):
        if a["one_right"][team]:
            disagree.append(f"Only {team} covers the target segments {segs(a['one_right'][team])}; {other} misses them.")
        for s in a["wrong"][team]:
            row = by_name.loc[s]
            disagree.append(f"{team.capitalize()} targets {_segment(row.to_dict() | {'segment': s})}, which is not a "
                            f"target: {int(row['worst']):,} of its {int(row['customers']):,} customers are worst and it "
                            f"holds {row['value_share']:.1%} of value.")
    if a["nobody"]:
        disagree.append(f"Neither team covers the target segments {segs(a['nobody'])}.")
    t = teams.teams.set_index("team")
    disagree.append(
        "Separation of best from worst (share of best claimed minus share of worst claimed): marketing "
        f"{t.at['marketing', 'separation']:+.2f}, sales {t.at['sales', 'separation']:+.2f}. {teams.verdict()}.")

    return Summary({"Where the teams agree": agree, "Where the teams disagree": disagree},
                   title="In short: the two teams")
