"""Issue 13 item 5: the pages speak plain words; the methods are behind a door.

A VP of Sales reads the findings; test names, q-values, interval methods and model diagnostics are in one
"How this was computed" part at the end of each page. Every comparison says its direction.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from salign.common.result import Paragraph, Result, Table
from salign.common.stats import Duration
from salign.report.html import result_html
from salign.report.pages import METHODS_HEADING, METHODS_ID, methods_at_end
from salign.review import sla, words

#: statistical terms a reader of the findings must not meet (issue 13 item 5)
TERMS = ["Benjamini", "Hochberg", "z-test", "censored", "Kaplan", "Meier", "log-rank", "Poisson", "Mann-Whitney",
         "q-value", "kappa", "Youden", "silhouette", "Mantel", "Haenszel", "Brier", "p-value",
         "not reached-not reached", "not reached", "Wilson", "DeLong", "AUC"]

#: what each page of the sample review named inline before the change (counted on the published pages of
#: 2026Q3 before item 5): each must now be named in that page's methods part
USED_BEFORE = {
    "01_personas.html": ["Benjamini", "Hochberg", "Youden", "silhouette"],
    "02_content_audit.html": ["Benjamini", "Hochberg", "Mantel", "Haenszel"],
    "03_qualification.html": ["kappa", "Brier", "AUC"],
    "04_quarterly_review.html": ["Benjamini", "Hochberg", "z-test", "censored", "Kaplan", "Meier", "log-rank",
                                 "Poisson", "Mann-Whitney", "q-value"],
}


class _Split(HTMLParser):
    """A page's text in two parts: what a reader sees (with image alt texts) and its methods part."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.seen, self.methods, self.parts = [], [], 0
        self._stack, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("style", "script"):
            self._hidden += 1
        if tag == "section" and "methods" in (a.get("class") or "").split():
            self.parts += 1
            self._stack.append("methods")
        elif tag == "section":
            self._stack.append("section")
        if tag == "img" and a.get("alt"):
            self._out().append(" " + a["alt"] + " ")

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._hidden -= 1
        if tag == "section" and self._stack:
            self._stack.pop()
        self._out().append(" ")

    def _out(self) -> list:
        return self.methods if "methods" in self._stack else self.seen

    def handle_data(self, data):
        if not self._hidden:
            self._out().append(data)


def split(page: str) -> tuple[str, str, int]:
    p = _Split()
    p.feed(page)
    return "".join(p.seen), "".join(p.methods), p.parts


def found(term: str, text: str) -> list[str]:
    """Each place ``term`` occurs in ``text`` (case-insensitive; AUC and kappa as words), with a little context."""
    pattern = rf"\b{re.escape(term)}\b" if term in ("AUC", "kappa") else re.escape(term)
    return [text[max(0, m.start() - 60):m.end() + 60] for m in re.finditer(pattern, text, flags=re.I)]


@pytest.fixture(scope="module")
def pages(sample_reports):
    folder = sample_reports / "2026Q3"
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.html"))}


def test_findings_name_no_statistical_terms(pages):
    assert set(USED_BEFORE) <= set(pages)
    leaks = {(name, term): found(term, split(page)[0])[:2] for name, page in pages.items() for term in TERMS}
    assert {k: v for k, v in leaks.items() if v} == {}


@pytest.mark.parametrize("name", sorted(USED_BEFORE))
def test_methods_part_names_what_was_used(pages, name):
    seen, methods, parts = split(pages[name])
    assert parts == 1, "one methods part per page"
    assert METHODS_HEADING in methods
    assert "95% interval" in methods  # a 95% interval explained once, in plain words
    missing = [t for t in USED_BEFORE[name] if not found(t, methods)]
    assert missing == []
    # the methods part is the last part of the page's main content
    page = pages[name]
    after = page[page.index("<section class='methods'"):].split("</section>", 1)[1]
    assert "<h2" not in after and "salign-result" not in after
    assert f'href="#{METHODS_ID}"' in page  # listed in the page's contents


def test_overview_card_says_the_auc_in_words(pages):
    seen, _, _ = split(pages["index.html"])
    assert re.search(r"ranks a qualified lead above an unqualified one\s+\d+% of the time", seen)


def test_qualification_page_gives_the_plain_figure(pages):
    seen, methods, _ = split(pages["03_qualification.html"])
    m = re.search(r"ranks a qualified lead above an unqualified one (\d+)% of the time", seen)
    assert m, "the scorecard's ranking in words"
    auc = re.search(r"scorecard's holdout AUC is (0\.\d+)", methods)
    assert auc and int(m.group(1)) == round(100 * float(auc.group(1)))


def test_rep_table_comparisons_have_a_direction(pages):
    seen, _, _ = split(pages["04_quarterly_review.html"])
    assert "different from the rest of the team?" in seen
    assert "q-value vs rest of team" not in seen
    assert re.search(r"yes, slower|no clear difference", seen)


# --------------------------------------------------------------------------- units, hand-computed


def test_vs_rest_says_the_direction():
    # the example: 100% on time and 26% both read 0.0000 as q-values
    assert sla._vs_rest(0.0, 1.0, 0.90) == "yes, faster"
    assert sla._vs_rest(0.0, 0.26, 0.95) == "yes, slower"
    assert sla._vs_rest(0.30, 0.26, 0.95) == "no clear difference"
    assert sla._vs_rest(float("nan"), 0.5, 0.5) == "no clear difference"


def test_duration_not_reached_in_plain_words():
    # 8 of 31 followed up by the cut-off: the median was never reached
    d = Duration(31, 8, None, (None, None), None, (None, None), "hours")
    text = words.plain(d, "been followed up")
    assert text == "more than half had not yet been followed up by the cut-off (8 of 31 had)"
    assert "not reached" not in text
    half = words.plain(Duration(20, 18, 3.0, (2.0, 4.5), None, (None, None), "days"), "left the stage")
    assert half == "half had left the stage within 3.0 days (95% CI 2.0-4.5); 2 of 20 had not yet by the cut-off"
    assert "Kaplan-Meier" in words.method(d, "Hours") and "censored" in words.method(d, "Hours")


class _Finding(Result):
    title = "Follow-up"

    def __init__(self, with_methods=True):
        self.with_methods = with_methods

    def blocks(self):
        return [Paragraph("R04 followed up 8 of 31 leads within a day; the rest of the team 95%.")]

    def methods(self):
        return [Paragraph("Fisher's exact test, Benjamini-Hochberg."), Table(pd.DataFrame({"q-value": ["0.001"]}))] \
            if self.with_methods else []


def test_methods_move_to_one_part_at_the_end():
    body = ("<h2 id='a'>Speed</h2>" + result_html(_Finding()) + "<h2 id='b'>Other</h2><p>more</p>"
            + result_html(_Finding()) + result_html(_Finding(False)))
    out = methods_at_end(body)
    seen, methods, parts = split(f"<main>{out}</main>")
    assert parts == 1
    assert "Benjamini" not in seen and "q-value" not in seen
    assert seen.count("R04 followed up 8 of 31") == 3
    assert methods.count("Benjamini-Hochberg") == 2
    # grouped under the sections they came from, in page order
    assert methods.index("Speed") < methods.index("Other") < methods.rindex("Benjamini")
    assert out.rstrip().endswith("</section>")


def test_no_methods_no_part():
    body = "<h2 id='a'>Speed</h2>" + result_html(_Finding(False))
    assert methods_at_end(body) == body
