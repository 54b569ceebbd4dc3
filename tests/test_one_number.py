"""One figure, one number (issue 13 item 1): a two-period run of the sample never shows one figure with two values.

The review of 2026Q3 (the shared ``sample_reports``) is copied and 2026Q2 is published beside it, so the folder holds
two periods, as a team's reports folder does after its second quarter. Every (figure, period) value a reader can see
is collected: the KPI cards of every page (their value, count and "vs last quarter"), the index's cards, sparklines
and table, the change table, the quarter-by-quarter trend table, the stage-to-stage conversion tables, the win rate
sentence, and every period's ``metrics.json`` (headline, change table, trend by quarter). A figure shown with two
different values for one period is a contradiction.

The figure's *name* is what a reader reads as its name: the words of its label, not what is said in parentheses (a
qualifier the eye skips), compared without case, punctuation, articles or the word "conversion", with the few
abbreviations the pages use for one figure read as that figure (:data:`SAME`, this test's own glossary, independent
of the code under test). So two honest variants of a figure pass only when their names differ in words.
"""
from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

from salign import cli
from salign.core import paths

pytestmark = pytest.mark.slow

PERIOD = re.compile(r"\b(\d{4})Q([1-4])\b")
#: the pages' short forms of one figure's name -> the name (after :func:`name`'s normalisation)
SAME = {
    "follow up within sla": "followed up within sla",
    "within sla": "followed up within sla",
    "sales ready leads delivered": "sales ready leads",
    "accepted": "accepted by sales",
    "acceptance by sales": "accepted by sales",
    "median hours": "median hours to first follow up",
    "hours to first follow up": "median hours to first follow up",
    "rejections without reason": "rejections without reason",
    "win rate of closed deals": "win rate",  # metrics.json's win_rate
}
DROP = {"the", "a", "an", "conversion"}


def name(label: str) -> str:
    """A label as the name a reader reads: lower case, no parenthetical qualifier, no punctuation or articles."""
    s = re.sub(r"\([^)]*\)", " ", label.lower())
    s = s.replace("→", " to ").replace("_", " ").replace("-", " ")
    s = re.sub(r"[^a-z0-9 ]", " ", s)
    s = " ".join(w for w in s.split() if w not in DROP)
    return SAME.get(s, s)


def previous(period: str) -> str:
    y, q = int(period[:4]), int(period[-1])
    return f"{y - 1}Q4" if q == 1 else f"{y}Q{q - 1}"


# --------------------------------------------------------------------------- a small DOM (stdlib html.parser)

class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    @property
    def classes(self) -> set:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(c if isinstance(c, str) else c.text() for c in self.children)).strip()

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag=None, cls=None):
        return [n for n in self.iter() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)]


VOID = {"meta", "link", "br", "img", "input", "hr", "circle", "polyline", "col", "source", "wbr"}


class Tree(HTMLParser):
    def __init__(self):
        super().__init__()
        self.root = self.cur = Node("root", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(path: Path) -> Node:
    t = Tree()
    t.feed(path.read_text(encoding="utf-8"))
    return t.root


# --------------------------------------------------------------------------- values

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
COUNTS = re.compile(r"(\d[\d,]*) of (\d[\d,]*)")


def value(text: str, detail: str = ""):
    """``(number, decimals shown, percent?, (k, n) or None)`` of a shown figure, or None when it shows none."""
    m = NUMBER.search(text.replace("EUR", ""))
    if not m or text.strip().startswith(("n/a", "no data", "–", "not ")):
        return None
    s = m.group(0).replace(",", "")
    dec = len(s.split(".")[1]) if "." in s else 0
    c = COUNTS.search(text[m.end():] + " " + detail)
    counts = (int(c.group(1).replace(",", "")), int(c.group(2).replace(",", ""))) if c else None
    return float(s), dec, "%" in text[m.end():m.end() + 1], counts


def from_json(v):
    """A metrics.json figure as :func:`value` gives a shown one (metrics.json rounds rates to 4 decimals or more,
    other numbers to 3 or more)."""
    if isinstance(v, dict) and {"k", "n", "rate"} <= set(v):
        return None if v["rate"] is None else (v["rate"] * 100, 2, True, (v["k"], v["n"]))
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v), 3, False, None


def agree(a, b) -> bool:
    """Two shown values of one figure agree: same counts where both show them, same number at the coarser precision."""
    if a[3] and b[3]:
        return a[3] == b[3]
    if a[2] != b[2]:  # a share vs a plain number: comparable only through counts
        return True
    d = min(a[1], b[1])
    return abs(round(a[0], d) - round(b[0], d)) <= 10 ** -d / 2 + 1e-9 or abs(a[0] - b[0]) <= 10 ** -d / 2 + 1e-9


def show(v) -> str:
    n = f"{v[0]:.{min(v[1], 4)}f}{'%' if v[2] else ''}"
    return n + (f" ({v[3][0]} of {v[3][1]})" if v[3] else "")


# --------------------------------------------------------------------------- collecting

def header_period(h: str) -> str | None:
    m = list(PERIOD.finditer(h))
    return f"{m[-1].group(1)}Q{m[-1].group(2)}" if len(m) == 1 else None


def title_before(table: Node) -> tuple[str, str]:
    """(the nearest heading (h3/h4) before ``table`` in document order, the paragraphs between them)."""
    seen, said = False, []
    for n in reversed(list(ROOT_OF[id(table)].iter())):
        if n is table:
            seen = True
        elif seen and n.tag == "p":
            said.append(n.text())
        elif seen and n.tag in ("h3", "h4"):
            return n.text(), " ".join(reversed(said))
    return "", " ".join(reversed(said))


ROOT_OF: dict = {}


def tables_of(root: Node):
    for t in root.find_all("table"):
        ROOT_OF[id(t)] = root
        head = [th.text() for th in (t.find_all("thead") or [t])[0].find_all("th")]
        body = t.find_all("tbody")
        rows = [[c.text() for c in tr.children if isinstance(c, Node) and c.tag in ("td", "th")]
                for tr in (body[0] if body else t).find_all("tr")]
        yield t, head, [r for r in rows if r]


def collect_page(path: Path, period: str | None, add) -> None:
    root = parse(path)
    where = str(path.name if period is None else f"{period}/{path.name}")
    shown = period
    if period is None:  # the index of all periods: its cards show the latest period
        h = root.find_all("h2")
        shown = next((header_period(x.text().split(" and ")[0]) for x in h if x.text().startswith("Headline")), None)
    for card in root.find_all("div", "kpi"):
        parts = {c: (card.find_all("div", c) or [None])[0] for c in ("label", "value", "detail", "change")}
        label = parts["label"].text()
        v = value(parts["value"].text(), parts["detail"].text() if parts["detail"] else "")
        if v and shown:
            add(label, shown, v, f"{where}: card")
        if parts["change"] is not None and shown:
            m = re.search(r"vs last quarter \(([^)]*)\)", parts["change"].text())
            pv = value(m.group(1)) if m else None
            if pv:
                add(label, previous(shown), pv, f"{where}: card's change vs last quarter")
        for svg in card.find_all("svg"):
            m = re.match(r"^(.*): (\d{4}Q[1-4] .*)$", svg.attrs.get("aria-label", ""))
            if m:
                for point in m.group(2).split(", "):
                    p, _, text = point.partition(" ")
                    pv = value(text)
                    if pv:
                        add(m.group(1), p, pv, f"{where}: sparkline")
    for table, head, rows in tables_of(root):
        if not head:
            continue
        first = head[0]
        if first in ("quarter", "period"):  # a row per quarter, a column per figure
            for r in rows:
                if not PERIOD.fullmatch(r[0]):
                    continue
                for h, cell in zip(head[1:], r[1:]):
                    v = value(cell)
                    if v and h != "data fingerprint":
                        add(h, r[0], v, f"{where}: {first} table")
        elif first == "figure":  # a row per figure, a column per quarter
            for i, h in enumerate(head[1:], 1):
                p = header_period(h)
                if p and "–" not in h:
                    for r in rows:
                        v = value(r[i]) if i < len(r) else None
                        if v:
                            add(r[0], p, v, f"{where}: change table")
        elif first == "step" and len(head) > 2:  # stage-to-stage conversion
            heading, said = title_before(table)
            m = re.search(r"entered each stage in (\d{4}Q[1-4])", said)
            qualifier = name(re.sub(r"\d{4}Q[1-4]", "", heading))
            if m:
                for r in rows:
                    v = value(r[2])
                    if v:
                        add(f"{r[0]} [{qualifier}]", m.group(1), v, f"{where}: stage-to-stage table")
        elif first == "stage" and len(head) > 2 and header_period(head[2]):  # the shared funnel's won row
            later = "followed up" in title_before(table)[0]  # the cohorts followed after the quarter: a variant
            for r in rows:
                if "won" in name(r[0]).split() and len(r) > 2:
                    add(f"{r[0]} [followed up]" if later else r[0], header_period(head[2]), value(r[2]),
                        f"{where}: funnel table")
        elif first == "rank" and "evidence" in head:  # the fix list's weakest stage
            for r in rows:
                m = re.match(r"Strengthen the weakest stage: (.*)", r[1])
                p = PERIOD.search(r[2])
                if m and p:
                    later = re.search(r"followed up to \d{4}-\d\d-\d\d", r[1] + " " + r[2])
                    qualifier = name("stage to stage " + (later.group(0) if later else ""))
                    add(f"{m.group(1)} [{qualifier}]", p.group(0), value(r[2]), f"{where}: fix list")
    for p in root.find_all("p"):
        m = re.search(r"Deals closed in (\d{4}Q[1-4]): win rate ([^;]*\))", p.text())
        if m:
            add("win rate", m.group(1), value(m.group(2)), f"{where}: win/loss")


def collect_metrics(path: Path, period: str, add) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    where = f"{period}/metrics.json"
    for nb, d in doc["notebooks"].items():
        for key, v in (d.get("headline") or {}).items():
            if isinstance(v, dict) and "previous" in v and "value" in v:
                label = key if key != "biggest_change" else v.get("metric", key)
                for p, x in ((period, v["value"]), (previous(period), v["previous"])):
                    if from_json(x):
                        add(label, p, from_json(x), f"{where}: {nb} headline {key}")
            elif from_json(v):
                add(key, period, from_json(v), f"{where}: {nb} headline")
        sections = d.get("sections") or {}
        ch = sections.get("changes") or {}
        for key, f in (ch.get("figures") or {}).items():
            for p, col in ((ch.get("period"), "value"), (ch.get("previous_period"), "previous"),
                           (ch.get("year_ago_period"), "year_ago")):
                if p and from_json(f.get(col)):
                    add(key, p, from_json(f[col]), f"{where}: changes.figures.{key}.{col}")
        for q, row in ((sections.get("trend") or {}).get("by_quarter") or {}).items():
            for key, x in row.items():
                if key.endswith(("_k", "_n")):
                    continue
                if f"{key}_k" in row:
                    k, n = row[f"{key}_k"], row[f"{key}_n"]
                    if n:
                        add(key, q, (k / n * 100, 2, True, (k, n)), f"{where}: trend.by_quarter.{q}.{key}")
                elif from_json(x):
                    add(key, q, from_json(x), f"{where}: trend.by_quarter.{q}.{key}")


def conflicts(out: Path) -> list[str]:
    """Every figure shown with two different values for one period, said in words."""
    seen = defaultdict(list)

    def add(label, period, v, where):
        if v is not None:
            seen[(name(label), period)].append((v, label, where))

    for page in sorted(out.glob("*.html")):
        collect_page(page, None, add)
    for folder in sorted(d for d in out.iterdir() if d.is_dir() and PERIOD.fullmatch(d.name)):
        for page in sorted(folder.glob("*.html")):
            collect_page(page, folder.name, add)
        collect_metrics(folder / "metrics.json", folder.name, add)
    found = []
    for (key, period), obs in sorted(seen.items()):
        if all(agree(a[0], b[0]) for i, a in enumerate(obs) for b in obs[i + 1:]):
            continue
        groups = defaultdict(set)
        for v, label, where in obs:
            groups[f"{v[3][0]} of {v[3][1]}" if v[3] else show(v)].add(f"{where} [{label}]")
        found.append(f"{key!r} {period}: " + " | ".join(f"{v} at {'; '.join(sorted(w))}" for v, w in groups.items()))
    return found


@pytest.fixture(scope="module")
def two_periods(sample_reports, tmp_path_factory) -> Path:
    """The shared review of 2026Q3 with 2026Q2 published beside it (a copy: the shared folder stays read-only)."""
    out = tmp_path_factory.mktemp("two-periods") / "reports"
    shutil.copytree(sample_reports, out, symlinks=True)
    assert cli.main(["review", "--workspace", str(paths.SAMPLE_WORKSPACE), "--out", str(out),
                     "--period", "2026Q2"]) == 0
    assert (out / "2026Q2" / "metrics.json").exists() and (out / "2026Q3" / "metrics.json").exists()
    return out


def test_one_figure_one_number(two_periods):
    found = conflicts(two_periods)
    print(f"\n{len(found)} figures with two values:\n" + "\n".join(found))
    assert not found, f"{len(found)} figures show two values for one period:\n" + "\n".join(found)


def test_the_collector_sees_the_figures(two_periods):
    """The test reads what it claims to: the headline figures of both periods, from pages and metrics.json."""
    seen = defaultdict(set)

    def add(label, period, v, where):
        if v is not None:
            seen[(name(label), period)].add(where.split(":")[0].split("/")[-1])

    for page in sorted(two_periods.glob("*.html")):
        collect_page(page, None, add)
    for p in ("2026Q2", "2026Q3"):
        for page in sorted((two_periods / p).glob("*.html")):
            collect_page(page, p, add)
        collect_metrics(two_periods / p / "metrics.json", p, add)
    for p in ("2026Q2", "2026Q3"):
        for figure in ("mql to sql", "win rate", "followed up within sla", "sales ready leads"):
            where = seen[(figure, p)]
            assert {"metrics.json", "04_quarterly_review.html", "index.html"} <= where, (figure, p, where)


def test_every_figure_of_both_periods_has_a_trend(two_periods):
    """The index draws a trend line for every headline figure both periods report (none says 'only one period')."""
    keys = [set(k for d in json.loads((two_periods / p / "metrics.json").read_text())["notebooks"].values()
                for k, v in (d.get("headline") or {}).items() if not isinstance(v, str))
            for p in ("2026Q2", "2026Q3")]
    both = keys[0] & keys[1]
    assert "biggest_change" in both and "qualification_model_auc" in both
    root = parse(two_periods / "index.html")
    cards = root.find_all("div", "kpi")
    lonely = [c.find_all("div", "label")[0].text() for c in cards if "only one period" in c.text()]
    assert not lonely, f"both periods report these, yet the index says 'no trend yet': {lonely}"
    assert len([c for c in cards if c.find_all("svg")]) >= len(both)


# --------------------------------------------------------------------------- the funnel's won row (issue 13 leftovers)

#: what the shared funnel's last row counts (the period's new leads that reached won within 90 days), as the
#: registry names it; this test's own words, independent of the code under test
LEADS_WON = "New leads won within 90 days"


def hand_leads_won_2026q3() -> tuple[int, int]:
    """(leads created in 2026Q3 that reached won within 90 days of creation and before the data ends, leads created in
    2026Q3), from the sample's CSVs with plain pandas (won is the last stage: passing it means a won event)."""
    import pandas as pd

    tz = "Europe/Berlin"
    start, end = pd.Timestamp("2026-07-01", tz=tz), pd.Timestamp("2026-10-01", tz=tz)
    leads = pd.read_csv(paths.SAMPLE_WORKSPACE / "leads.csv", usecols=["lead_id", "created_at"])
    st = pd.read_csv(paths.SAMPLE_WORKSPACE / "stages.csv", usecols=["lead_id", "stage", "at"])
    created = pd.to_datetime(leads.set_index("lead_id")["created_at"], utc=True)
    won = pd.to_datetime(st[st["stage"] == "won"].groupby("lead_id")["at"].min(), utc=True).reindex(created.index)
    cohort = (created >= start) & (created < end)
    k = cohort & (won <= created + pd.Timedelta(days=90)) & (won < end)
    return int(k.sum()), int(cohort.sum())


def test_the_funnel_names_its_won_row_for_what_it_counts(two_periods):
    """The shared funnel's last row counts new leads that reached won, not closed deals won: it is labelled with that
    figure's name, never a bare "won" that reads as a win rate beside "Win rate of closed deals"."""
    assert name(LEADS_WON) != name("Win rate of closed deals") and "win" not in name(LEADS_WON).split()
    for p in ("2026Q2", "2026Q3"):
        root = parse(two_periods / p / "04_quarterly_review.html")
        funnels = [(head, rows) for _, head, rows in tables_of(root)
                   if head[:2] == ["stage", "leads that passed it"] and head[2] == f"share of {p} leads"]
        sections = json.loads((two_periods / p / "metrics.json").read_text())["notebooks"]["04_quarterly_review"][
            "sections"]
        # as the data stood at the quarter's end; 2026Q2 also shows its cohorts followed up to the end of the data
        keys = ["cohort_funnel"] + (["cohort_funnel_followed_up"] if "cohort_funnel_followed_up" in sections else [])
        assert len(funnels) == len(keys), (p, [h for _, h, _ in tables_of(root)])
        for (_, rows), key in zip(funnels, keys):
            labels = [r[0] for r in rows]
            assert labels[-1] == LEADS_WON and not any(name(x) in ("won", "win", "wins") for x in labels), labels
            won = sections[key]["won"]
            assert value(rows[-1][2])[3] == (won["k"], won["n"]), (p, key)
    # the 2026Q3 row as the data stood at the quarter's end, counted by hand from the CSVs
    _, rows = next((h, r) for _, h, r in tables_of(parse(two_periods / "2026Q3" / "04_quarterly_review.html"))
                   if h[:2] == ["stage", "leads that passed it"])
    assert value(rows[-1][2])[3] == hand_leads_won_2026q3()
