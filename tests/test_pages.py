"""Shareable pages: headline cards, structure, escaping, PII refusal (fail closed), size budget, the index of periods."""
from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from salign.common.pii import Matcher, pii_values
from salign.common.stats import Rate
from salign.core import paths
from salign.report import overview, pages, safety
from salign.report.cards import ARROWS, Card, headline_cards, kpi_grid, kpi_html
from salign.runner import publish
from salign.runner.execute import RunError, review
from salign.workspace.load import load_workspace


def cards_of(headline: dict) -> dict[str, Card]:
    return {c.label: c for c in headline_cards({"notebooks": {"04_quarterly_review": {"headline": headline}}})}


# --------------------------------------------------------------------------- the headline contract

def test_a_number_is_a_card_without_arrow():
    cards = cards_of({"sales_ready_leads": 1234, "pipeline_created": 120000.0, "hours_median": 2.25,
                      "marketing_volume_met": True})
    assert cards["Sales-ready leads"].value == "1,234" and cards["Sales-ready leads"].arrow is None
    assert cards["Pipeline created"].value == "120,000" and cards["Hours median"].value == "2.25"
    assert cards["Marketing volume met"].value == "yes"
    assert cards["Sales-ready leads"].source == "Quarterly alignment review"


def test_a_rate_shows_count_and_interval_and_0_of_0_is_na():
    cards = cards_of({"win_rate": Rate(3, 4).as_dict(), "follow_up_within_sla": Rate(0, 0).as_dict()})
    win = cards["Win rate of closed deals"]
    assert win.value == "75.0%" and win.detail.startswith("3 of 4 · 95% CI ") and win.arrow is None
    assert cards["Followed up within the SLA"].value == "n/a" and cards["Followed up within the SLA"].detail == "0 of 0"


@pytest.mark.parametrize("previous, significant, higher_is_better, arrow, tone", [
    (Rate(5, 10), True, True, "up", "good"),      # up, and up is good
    (Rate(9, 10), True, True, "down", "bad"),     # down, and up is good
    (Rate(9, 10), True, False, "down", "good"),   # down, and down is good (e.g. rejected leads)
    (Rate(5, 10), False, True, "up", "neutral"),  # not significant: grey, whatever the direction
    (Rate(7, 10), True, True, "flat", "neutral"),
])
def test_a_comparison_gets_an_arrow_coloured_by_significance_and_direction(previous, significant, higher_is_better,
                                                                          arrow, tone):
    card = cards_of({"win_rate": {"value": Rate(7, 10).as_dict(), "previous": previous.as_dict(),
                                  "change_significant": significant, "higher_is_better": higher_is_better}})["Win rate of closed deals"]
    assert (card.value, card.arrow, card.tone) == ("70.0%", arrow, tone)
    assert "vs last quarter" in card.change and ("not significant" in card.change) != significant
    shown = kpi_html(card)
    assert f"tone-{tone}" in shown and ARROWS[arrow] in shown


def test_a_comparison_without_previous_has_no_arrow_and_numbers_show_their_difference():
    cards = cards_of({"pipeline_created": {"value": 120000, "previous": None, "change_significant": False,
                                           "higher_is_better": True},
                      "hours_to_follow_up": {"value": 2.0, "previous": 5.5, "change_significant": True,
                                             "higher_is_better": False}})
    first = cards["Pipeline created"]
    assert (first.arrow, first.tone, first.change) == (None, None, "")
    assert "arrow" not in kpi_html(first)
    hours = cards["Hours to follow up"]
    assert (hours.arrow, hours.tone) == ("down", "good") and hours.change.startswith("-3.50 vs last quarter (5.50)")


def test_headline_text_from_the_data_is_escaped():
    shown = kpi_html(cards_of({"top_account": "<script>alert(1)</script>"})["Top account"])
    assert "<script>" not in shown and "&lt;script&gt;" in shown


# --------------------------------------------------------------------------- PII scan

@pytest.mark.parametrize("text, kind", [
    ("write to Ann.Lee@alpha.test today", "e-mail address"),
    ("call +49 30 5550101", "phone number"),
    ("call (212) 555-0103", "phone number"),
    ("call 212.555.0103", "phone number"),
    ("call 030 555 01 01", "phone number"),     # a known phone value, punctuated differently
    ("owner: ANN LEE", "value of a PII column"),  # a known full name, any case
])
def test_matcher_finds_leaks_and_masks_them(text, kind):
    found = Matcher({"+49 30 5550101", "Ann Lee"}).find(text)
    assert [f.kind for f in found] == [kind]
    assert "5550101" not in found[0].masked and "Lee" not in found[0].masked[2:-2]


@pytest.mark.parametrize("text", [
    "2025-12-31 to 2026-03-31", "66.7% (2 of 3; 95% CI 20.8%-93.9%)", "revenue 1,234,567 EUR", "20000000",
    "median 2.0 hours (95% CI 2.0-49.0)", "Ann Leeway and Lee Ann", "version 1.2.3.4", "fingerprint 64f20d96185f2697",
    "lift +0.12 (0.05-0.19)", "+12.3 (10.1-14.5)", "+1.5 pts vs last quarter", "+1,234 leads",
    "q  0.1275  0.0539  0.0232  0.0029  30.5550101",
])
def test_matcher_leaves_ordinary_report_text_alone(text):
    assert Matcher({"+49 30 5550101", "Ann Lee"}).find(text) == []


def test_pii_values_take_real_values_only(tiny_workspace):
    values = pii_values(load_workspace(tiny_workspace))
    assert {"ann.lee@alpha.test", "+49 30 5550101", "Ann Lee"} <= values
    assert not any(len(v) < 5 for v in values)


def test_check_page_names_every_unsafe_construct():
    bad = {"<script>x()</script>": "<script>", "<img src=x onerror=alert(1)>": "event handler",
           "<a href='javascript:alert(1)'>x</a>": "event handler", "<iframe src='x'></iframe>": "<iframe>",
           "<img src='https://cdn.example/x.png'>": "network", "<div style=\"background:url(//x.example/a)\">": "network",
           "<div class=\"input_area\">ctx = 1</div>": "source code"}
    for snippet, word in bad.items():
        problems = safety.check_page("p.html", f"<html><body>{snippet}</body></html>")
        assert problems and word in problems[0], snippet


def test_leaks_are_named_by_notebook_section_and_cell_without_the_value():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n\nIntro"), nbformat.v4.new_markdown_cell("## Lead notes"),
        nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/html": "<p>call me: jo.doe@example.test</p>", "text/plain": "x"},
            execution_count=1)])])
    nb.cells[2].id = "cell-7"
    problems = safety.cell_leaks("04_quarterly_review", pages.shareable(nb), Matcher())
    assert problems == ["04_quarterly_review.html: e-mail address (jo***st) in notebook 04_quarterly_review, "
                        "section 'Lead notes', cell cell-7"]


def test_metrics_are_scanned_too():
    leaks = safety.metrics_leaks({"notebooks": {"x": {"sections": {"top": ["jo.doe@example.test"]}}}}, Matcher())
    assert leaks == ["metrics.json > notebooks > x > sections > top > [0]: e-mail address (jo***st)"]


def test_signable_artifacts_are_scanned_but_the_executed_notebooks_are_internal(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_personas.ipynb").write_text("ann.lee@alpha.test")  # internal, never shared
    (tmp_path / "personas.common.yaml").write_text("owner: Ann Lee\n")
    (tmp_path / "qualification.yaml").write_text("criteria: []\n")
    assert safety.artifact_leaks(tmp_path, Matcher({"Ann Lee"})) == [
        "personas.common.yaml: value of a PII column (an***ee)"]


# --------------------------------------------------------------------------- page structure

def test_shareable_keeps_narrative_and_rich_results_only():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("p = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("ctx.tables", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/plain": "Tables('x')"}, execution_count=1)]),
        nbformat.v4.new_code_cell("print(1)", outputs=[nbformat.v4.new_output("stream", name="stdout", text="1")]),
        nbformat.v4.new_code_cell("r", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/html": "<b>result</b>", "text/plain": "R()"})]),
    ])
    kept = pages.shareable(nb)
    assert [c.source for c in kept.cells] == ["r"]


def test_page_structure(tiny_workspace):
    tables = load_workspace(tiny_workspace)
    body = ("<h2 id='a'>First</h2><p>x</p><h2 id=\"Both-teams'-view\">Both teams' view</h2>"
            "<img alt=\"Figure\" src=\"data:image/png;base64,AAAA\">")
    kpis = kpi_grid(cards_of({"win_rate": Rate(1, 2).as_dict()}).values())
    text = pages.page("Quarterly alignment review", pages._alt_texts(body), "2025Q4", tables,
                        [{"href": "index.html", "label": "Overview"}], heading="The review", kpis=kpis, lede="<p>Why</p>")
    assert text.count("<h1>") == 1 and "<h1>The review</h1>" in text
    assert "2025Q4" in text and tables.fingerprint in text and "data up to 2025-12-31" in text
    toc = re.search(r"<nav class=\"toc\".*?</nav>", text, flags=re.S).group()
    assert re.findall(r'href="#([^"]+)"', toc) == ["headline", "a", "Both-teams&#39;-view"]
    assert [html.unescape(a) for a in re.findall(r'<img alt="([^"]+)"', text)] == [
        "A chart illustrating the section “Both teams' view” (no description was given)"]
    main = text[text.index("<main>"):]
    assert main.index("Why") < main.index("id=\"headline\"") < main.index("First")
    assert "@media print" in text and safety.check_page("p.html", text, pii_values(tables)) == []


def test_size_budget_refuses_a_page_over_3_mb():
    big = "<html><body><img alt='Figure' src='data:image/png;base64," + "A" * (3 * 2**20) + "'></body></html>"
    problems = safety.check_page("04_quarterly_review.html", big)
    assert problems == ["04_quarterly_review.html: 3.0 MB is over the page budget of 3 MB (3.0 MB of it embedded images)"]


# --------------------------------------------------------------------------- index of all periods

def _period(out: Path, name: str, win: dict, leads: int) -> None:
    (out / name).mkdir(parents=True)
    (out / name / "metrics.json").write_text(json.dumps({"period": name, "workspace_fingerprint": "f" * 16, "notebooks": {
        "04_quarterly_review": {"headline": {"win_rate": win, "sales_ready_leads": leads}}}}))


def test_index_lists_periods_newest_first_with_trend_lines(tmp_path, tiny_workspace):
    out = tmp_path / "reports"
    _period(out, "2025Q2", Rate(5, 10).as_dict(), 10)
    _period(out, "2025Q3", Rate(6, 10).as_dict(), 12)
    _period(out, "2025Q4", {"value": Rate(8, 10).as_dict(), "previous": Rate(6, 10).as_dict(),
                            "change_significant": True, "higher_is_better": True}, 15)
    (out / "2025Q1").mkdir()
    (out / "2025Q1" / "metrics.json").write_text("{broken")
    index = publish.write_index(out, load_workspace(tiny_workspace)).read_text()
    rows = re.findall(r"<tr><td><a href='(\d{4}Q\d)/index.html'>", index)
    assert rows == ["2025Q4", "2025Q3", "2025Q2", "2025Q1"]
    assert "unreadable metrics.json" in index
    lines = re.findall(r"<polyline points='([^']+)'/>", index)
    assert len(lines) == 2 and all(len(line.split()) == 3 for line in lines)  # the broken period is a gap
    assert "80.0%" in index and "tone-good" in index and "2025Q2 50.0%, 2025Q3 60.0%, 2025Q4 80.0%" in index
    assert safety.check_page("index.html", index) == []


# --------------------------------------------------------------------------- a hostile workspace, end to end

def hostile_workspace(folder: Path) -> Path:
    """TINY with markup in account names, industries and products, and e-mails in the leads' free-text notes."""
    from tests.conftest import TINY, write_workspace

    files = dict(TINY)
    files["accounts.csv"] = (files["accounts.csv"].replace("Alpha GmbH", "<script>alert('acct')</script> Alpha GmbH")
                             .replace(",software,500,", ",<b>software</b>,500,", 1))
    files["opportunities.csv"] = files["opportunities.csv"].replace(",Core\n", ",Core <script>alert(1)</script>\n")
    lines = files["leads.csv"].rstrip().split("\n")
    notes = ["notes", '"met at booth, write to ann.private@mail.test"', "budget holder", '"prefers +44 20 7946 0000"', ""]
    files["leads.csv"] = "\n".join(f"{line},{note}" for line, note in zip(lines, notes)) + "\n"
    return write_workspace(folder, files)


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    ws = hostile_workspace(tmp_path_factory.mktemp("ws") / "hostile")
    out = tmp_path_factory.mktemp("reports")
    review(ws, "2025Q4", out, progress=lambda m: None)
    return ws, out


@pytest.mark.slow
def test_hostile_workspace_publishes_with_crm_text_escaped(hostile_report):
    ws, out = hostile_report
    assert "notes" in load_workspace(ws).leads.columns
    pages = {p.name: p.read_text() for p in (out / "2025Q4").glob("*.html")}
    assert not [name for name, text in pages.items() if re.search(r"<script|<b>software", text, flags=re.I)]
    escaped = [name for name, text in pages.items() if "&lt;script&gt;alert(1)&lt;/script&gt;" in text]
    assert escaped, "the product name with markup reaches a page, escaped"
    assert not [name for name, text in pages.items() if "ann.private" in text]


@pytest.mark.slow
def test_hostile_workspace_refuses_to_publish_a_page_showing_the_notes(hostile_report, tmp_path):
    ws, out = hostile_report
    before = {p: p.read_bytes() for p in (out / "2025Q4").rglob("*") if p.is_file()}
    nbs = tmp_path / "notebooks"
    shutil.copytree(paths.NOTEBOOKS_DIR, nbs)
    nb = nbformat.read(nbs / "04_quarterly_review.ipynb", as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## "))
    section = nb.cells[at].source.splitlines()[0][3:].strip()
    cell = nbformat.v4.new_code_cell("from IPython.display import HTML\nfrom salign.common.result import Table\n"
                                     "from salign.report.html import table_html\n"
                                     "HTML(table_html(Table(ctx.tables.leads[['lead_id', 'notes']], caption='Lead notes')))")
    cell.id = "notes-table"
    nb.cells.insert(at + 1, cell)
    nbformat.write(nb, nbs / "04_quarterly_review.ipynb")
    with pytest.raises(RunError) as err:
        review(ws, "2025Q4", out, notebooks=["04_quarterly_review"], notebooks_dir=nbs, progress=lambda m: None)
    message = str(err.value)
    assert "refusing to publish" in message
    assert ("04_quarterly_review.html: e-mail address (an***st) in notebook 04_quarterly_review, "
            f"section '{section}', cell notes-table") in message
    assert "phone number (+4***00) in notebook 04_quarterly_review" in message
    assert "ann.private@mail.test" not in message and "7946" not in message
    assert "previous report of 2025Q4, if any, is unchanged" in message
    assert {p: p.read_bytes() for p in (out / "2025Q4").rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_published_pages_are_within_budget(hostile_report):
    _, out = hostile_report
    for page in list((out / "2025Q4").glob("*.html")) + [out / "index.html"]:
        assert page.stat().st_size < safety.PAGE_BUDGET_BYTES


def test_overview_puts_the_quarterly_review_first_and_says_where_figures_are_missing():
    metrics = {"notebooks": {"01_personas": {"headline": {"customers": 463}},
                             "04_quarterly_review": {"headline": {"win_rate": Rate(1, 2).as_dict()}},
                             "02_content_audit": {"headline": {}, "skipped": {"content_matrix": "no content table"}}}}
    body = overview.overview_body(metrics, ledes={"01_personas": "<p>Who are <em>our</em> best customers?</p><p>More</p>"})
    assert body.index("Quarterly alignment review</a></h3>") < body.index("Buyer personas</a></h3>")
    assert "Content audit</a></h3>" not in body and "content matrix — no content table" in body
    assert "Buyer personas</a> — Who are our best customers?</li>" in body
    empty = overview.overview_body({"notebooks": {"01_personas": {"headline": {}}}})
    assert "reported no headline figures" in empty


# --------------------------------------------------------------------------- a page that travels (issue 13 item 6)

def _levels(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"<h([1-6])\b", text)]


@pytest.mark.parametrize("written, shown", [
    ([2, 4, 4, 2, 4], [2, 3, 3, 2, 3]),     # a result's title under a section: one level down, siblings alike
    ([2, 3, 4, 3, 2], [2, 3, 4, 3, 2]),     # already in order: unchanged
    ([4, 2, 5, 6, 3], [2, 2, 3, 4, 3]),     # a first heading deeper than h2 comes up to h2
    ([2, 4, 6, 4, 3], [2, 3, 4, 3, 3]),     # h6 under h4 under h2: h4 (one under the h3 it became)
])
def test_headings_never_skip_a_level(written, shown):
    body = "".join(f"<h{n} id='s{i}'>T{i}</h{n}><p>x</p>" for i, n in enumerate(written))
    out = pages.outline(body)
    assert _levels(out) == shown
    assert re.findall(r"id='(s\d)'>(T\d)<", out) == [(f"s{i}", f"T{i}") for i in range(len(written))]


def test_the_exporter_s_empty_anchor_links_go():
    body = ("<h2 id=\"Step-4\">Step 4<a class=\"anchor-link\" href=\"#Step-4\"></a></h2>"
            "<p><a href=\"x.html\">kept</a></p>")
    assert pages._without_anchor_links(body) == "<h2 id=\"Step-4\">Step 4</h2><p><a href=\"x.html\">kept</a></p>"


def test_every_table_scrolls_in_a_named_box_and_names_are_unique(tiny_workspace):
    import pandas as pd

    from salign.common.result import Result, Table
    from salign.report.html import result_html

    class Routing(Result):  # two captionless tables under one title, the first column the (unnamed) index
        title = "Routing"

        def blocks(self):
            frame = pd.DataFrame({"owner": ["R1"], "met": ["no"], "SLOW": ["yes"]}, index=["x"])
            return [Table(frame, index=True), Table(frame, index=True)]

    boxed = result_html(Routing())
    assert boxed.count("<div class='table-scroll' role='region' tabindex='0' aria-label='Routing'><table") == 2
    assert "<th></th>" not in boxed and "<td></td>" in boxed  # the blank corner is not an (empty) column header
    text = pages.page("Review", boxed + "<table><tr><td>raw</td></tr></table>", "2025Q4",
                      load_workspace(tiny_workspace), [])
    boxes = re.findall(r"<div\b[^>]*table-scroll[^>]*>(?=<table)", text)
    assert len(boxes) == 3 and text.count("<table") == 3
    said = [re.search(r"aria-label=[\"']([^\"']+)", box).group(1) for box in boxes]
    assert said == ["Routing (table 1 of 2)", "Routing (table 2 of 2)", "Table"]


def test_every_page_links_to_all_periods_and_says_which_report_it_belongs_to(tiny_workspace):
    tables = load_workspace(tiny_workspace)
    period = pages.page("Content audit", "<h2 id='a'>A</h2>", "2025Q4", tables,
                        [{"href": "index.html", "label": "Overview"}, {"href": "02.html", "label": "Content audit",
                                                                     "current": True}])
    assert '<a class="all-periods" href="../index.html">All periods</a>' in period
    belongs = re.search(r'<p class="belongs">(.*?)</p>', period, flags=re.S).group(1)
    assert tables.config.name in belongs and "for 2025Q4" in belongs and "<code>index.html</code> in the folder above" in belongs
    (Path(tiny_workspace).parent / "reports").mkdir()
    home = publish.write_index(Path(tiny_workspace).parent / "reports", tables).read_text()
    assert '<a class="all-periods current" href="index.html" aria-current="page">All periods</a>' in home
    assert "every published period" in home


def test_print_is_a4_without_forced_breaks_and_text_contrast_is_at_least_4_5():
    css = (paths.TEMPLATES_DIR / "report.css").read_text()
    assert re.search(r"@page\s*{[^}]*size:\s*A4", css)
    assert not re.search(r"break-(before|after)\s*:\s*(page|always)", css)
    assert not re.search(r"\.salign-result[^{]*{[^}]*break-inside:\s*avoid", css)  # a result may be longer than a page

    def luminance(hex_colour):
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(a, b):
        hi, lo = sorted([luminance(a), luminance(b)], reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    colours = dict(re.findall(r"--(\w+):(#[0-9a-fA-F]{6})", css))
    for text in ("ink", "muted", "accent", "good", "bad", "neutral"):
        for ground in ("#ffffff", colours["panel"], "#fbfcfd"):
            assert contrast(colours[text], ground) >= 4.5, (text, ground, round(contrast(colours[text], ground), 2))
    assert round(contrast("#2e8b57", "#ffffff"), 2) == 4.25  # the old green, as axe measured it: the check bites


def test_better_and_worse_are_said_in_words_not_only_colour():
    cards = cards_of({
        "win_rate": {"value": Rate(7, 10).as_dict(), "previous": Rate(5, 10).as_dict(), "change_significant": True,
                     "higher_is_better": True},
        "rejected": {"value": Rate(7, 10).as_dict(), "previous": Rate(5, 10).as_dict(), "change_significant": True,
                     "higher_is_better": False},
        "accepted": {"value": Rate(7, 10).as_dict(), "previous": Rate(5, 10).as_dict(), "change_significant": False,
                     "higher_is_better": True},
        "customers": 463})
    assert cards["Win rate of closed deals"].verdict == "▲ Better" and cards["Rejected"].verdict == "▲ Worse"
    assert cards["Accepted"].verdict == "No significant change" and cards["Customers"].verdict == ""
    shown = kpi_html(cards["Rejected"])
    assert "<div class='verdict'>▲ Worse</div>" in shown and "tone-bad" in shown


def test_figures_are_drawn_at_twice_their_pixels_and_say_what_they_show():
    import base64
    import struct

    from salign.common import plotting
    from salign.runner.notebook import _png, described

    fig, ax = plotting.figure()  # 8 x 4.2 inches at 100 dpi
    ax.bar(["a", "b"], [1, 2])
    ax.set_title("Win rate")
    ax.set_ylabel("win rate")
    ax.set_xlabel("product")
    data, meta = _png(fig)
    png = base64.b64decode(data)
    width, height = struct.unpack(">II", png[16:24])  # the PNG header's size
    assert width // 2 == meta["width"] and height // 2 == meta["height"] and 700 < meta["width"] <= 820
    assert meta["alt"] == 'Chart: "Win rate" (bars of win rate by product)'
    fig.set_label("Bars: the win rate by product.")
    assert _png(fig)[1]["alt"] == "Bars: the win rate by product."
    two, axes = plotting.figure(1, 2)
    axes[0].plot([1, 2])
    two.suptitle("Cycle")
    assert described(two) == 'Chart "Cycle" with 2 panels: lines; a plot'
