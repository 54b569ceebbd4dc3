"""The page's conclusion for both teams' leaders: what the data says, where the teams agree and disagree,
and the proposed common set; every number with its count."""
from __future__ import annotations

from dataclasses import dataclass

from salign.common.result import Block, Bullets, Heading, Result
from salign.core import fmt
from salign.definitions.models import UNASSIGNED


def _level(r, outcome: str) -> str:
    k, n = int(r[f"{outcome}_k"]), int(r["n"])
    return f"{r['attribute']} {r['level']} ({fmt.count(k)} of {fmt.count(n)} are {outcome}, {fmt.percent(k / n, 0)})"


def _segment(row) -> str:
    return f"{row['segment']} ({row['description']}; {fmt.count(row['customers'])} customers)"


@dataclass
class Summary(Result):
    """Four short paragraphs, as plain sentences (``paragraphs``: heading -> list of sentences)."""

    paragraphs: dict
    title: str = "In short"

    def blocks(self) -> list[Block]:
        return [block for h, ss in self.paragraphs.items() for block in (Heading(h), Bullets(ss))]


def summary(value, markers, conjunctions, segments, common) -> Summary:
    """What the data says and the proposed common set, from the results of the other sections."""
    c = value.customers
    n = len(c)
    m = value.metrics()
    says = [f"{fmt.count(n)} customers; the top decile ({fmt.count(max(1, n // 10))} customers) holds "
            f"{fmt.percent(m['top_decile_positive_value_share'])} of the positive value; "
            f"{fmt.count(m['negative_value'])} customers "
            f"have a negative value and {fmt.count(m['churned'])} churned.",
            f"Best: {fmt.count(m['best'])} customers (the top {fmt.percent(value.best_share, 0)} by value, churned "
            f"ones left out); worst: {fmt.count(m['worst'])} (the bottom {fmt.percent(value.worst_share, 0)}"
            + (", plus churned customers)." if value.definition.churned_is_worst and m["churned"] else ").")]
    if len(markers.marks):
        says.append("Strongest marks of a best customer: " + "; ".join(
            _level(r, "best") for _, r in markers.marks.head(3).iterrows())
            + f" (overall {fmt.percent(m['best'] / n, 0)}).")
    if len(markers.warnings):
        says.append("Strongest warning signs: " + "; ".join(
            _level(r, "worst") for _, r in markers.warnings.head(3).iterrows())
            + f" (overall {fmt.percent(m['worst'] / n, 0)}).")
    marks = conjunctions.table[conjunctions.table["direction"] == "mark"]
    if len(marks):
        r = marks.iloc[0]
        says.append(f"Best combination: {r['description']}: {fmt.count(r['best_k'])} of {fmt.count(r['n'])} best, "
                    f"{fmt.count(r['worst_k'])} worst.")
    seg = segments.table
    targets = seg[seg["target"]]
    says.append(f"{segments.k} segments; {len(targets)} are targets (more of the value than of the worst customers): "
                + "; ".join(f"{_segment(r)} with {fmt.percent(r['value_share'], 0)} of value"
                            for _, r in targets.iterrows()) + ".")

    ct = common.table
    u = ct[ct["group"] == UNASSIGNED].iloc[0]
    assigned = n - int(u["customers"])
    proposal = [f"{len(common.persona_set.personas)} common personas: "
                + "; ".join(f"{p.name} ({fmt.count(r['customers'])} customers, {fmt.percent(r['value_share'], 0)} of "
                            f"value, {fmt.count(r['best'])} best)"
                            for p, (_, r) in zip(common.persona_set.personas, ct.iterrows())) + ".",
                f"They place {fmt.count(assigned)} of {fmt.count(n)} customers ({fmt.percent(assigned / n, 0)}); "
                f"{fmt.count(u['customers'])} stay unassigned, {fmt.count(u['worst'])} of them worst.",
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
    agree = [f"Both teams' personas claim the same {fmt.count(cl['both'])} of {fmt.count(nn)} customers "
             f"({fmt.percent(cl['both'] / nn, 0)})"
             + (": " + "; ".join(f"{x} and {y} share {fmt.count(k)}" for k, x, y in pairs[:3]) + "." if pairs else "."),
             f"Both teams cover these target segments: {segs(a['both_right'])}.",
             f"Together the two sets cover the target segments {segs(union)}: each team brings what the other misses."
             if union else "Together the two sets cover no target segment."]
    disagree = [f"Marketing alone claims {fmt.count(cl['marketing'])} customers, sales alone "
                f"{fmt.count(cl['sales'])}, neither {fmt.count(cl['neither'])} ({fmt.percent(cl['neither'] / nn, 0)})."]
    for team, other in (("marketing", "sales"), ("sales", "marketing")):
        if a["one_right"][team]:
            disagree.append(f"Only {team} covers the target segments {segs(a['one_right'][team])}; {other} misses them.")
        for s in a["wrong"][team]:
            row = by_name.loc[s]
            disagree.append(f"{team.capitalize()} targets {_segment(row.to_dict() | {'segment': s})}, which is not a "
                            f"target: {fmt.count(row['worst'])} of its {fmt.count(row['customers'])} customers are "
                            f"worst and it holds {fmt.percent(row['value_share'])} of value.")
    if a["nobody"]:
        disagree.append(f"Neither team covers the target segments {segs(a['nobody'])}.")
    t = teams.teams.set_index("team")
    disagree.append(
        "Separation of best from worst (share of best claimed minus share of worst claimed): marketing "
        f"{t.at['marketing', 'separation']:+.2f}, sales {t.at['sales', 'separation']:+.2f}. {teams.verdict()}.")

    return Summary({"Where the teams agree": agree, "Where the teams disagree": disagree},
                   title="In short: the two teams")
