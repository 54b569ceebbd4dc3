"""Publishing: pages without code or PII, escaped CRM text, atomic replacement."""
from pathlib import Path

import pandas as pd
import pytest

from salign.common import pii
from salign.common.result import Table
from salign.report import cards, pages, safety
from salign.report.html import table_html
from salign.runner import publish
from salign.workspace.load import load_workspace


def test_check_page_finds_emails_phones_scripts_and_pii_values():
    html = ("<html><body><p>Contact ann.lee@alpha.test or +49 30 5550101</p><script>alert(1)</script>"
            "<img src='https://cdn.example/x.png'><p>Ann Lee</p></body></html>")
    found = safety.check_page("p.html", html, {"Ann Lee"})
    text = "\n".join(found)
    assert "e-mail" in text and "phone" in text and "<script>" in text and "network" in text and "PII column" in text
    assert "ann.lee@alpha.test" not in text  # the message itself does not repeat the leak


def test_escaped_text_is_safe_and_embedded_images_are_ignored():
    html = ("<p>&lt;script&gt;alert(1)&lt;/script&gt; Acme</p>"
            "<img src='data:image/png;base64,QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo+NDkgMzAgMTIzNDU2Nzg='>")
    assert safety.check_page("p.html", html, set()) == []


def test_render_table_escapes_crm_text():
    out = table_html(Table(pd.DataFrame({"name": ["<script>alert('x')</script>"]})))
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_pii_values_from_inputs(tiny_workspace):
    values = pii.pii_values(load_workspace(tiny_workspace))
    assert {"ann.lee@alpha.test", "+49 30 5550101", "Ann Lee"} <= values


def test_commit_replaces_atomically_and_restores_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "2026Q3"
    target.mkdir()
    (target / "index.html").write_text("old")
    staging = tmp_path / ".staging"
    staging.mkdir()
    (staging / "index.html").write_text("new")
    publish.commit(staging, target)
    assert (target / "index.html").read_text() == "new" and not staging.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["2026Q3"]

    staging.mkdir()
    (staging / "index.html").write_text("newer")
    real_replace = publish.os.replace

    def fail_second(src, dst):
        if Path(src) == staging:
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(publish.os, "replace", fail_second)
    monkeypatch.setattr(publish, "_exchange", lambda a, b: False)  # the two-rename fallback (no renameat2)
    with pytest.raises(OSError):
        publish.commit(staging, target)
    assert (target / "index.html").read_text() == "new"


def test_render_table_formats_floats_for_reading():
    out = table_html(Table(pd.DataFrame({"amount": [1200.0, 120000.0], "share": [0.12345, 0.5]})))
    assert "1,200" in out and "120,000" in out and "0.123" in out and "1200.0" not in out


def test_comparison_card_label_names_the_figure():
    metrics = {"notebooks": {"04_quarterly_review": {"headline": {"biggest_change": {
        "value": 2.5, "previous": 7.4, "change_significant": True, "higher_is_better": False,
        "label": "Biggest change: median hours to first follow-up"}}}}}
    (card,) = cards.headline_cards(metrics)
    assert card.label == "Biggest change: median hours to first follow-up"


def test_a_heading_that_repeats_the_one_before_is_dropped():
    body = ("<h2 id='x'>The scorecard<a class='anchor-link' href='#x'></a></h2><div><h4>The Scorecard</h4>"
            "<p>text</p><h4>Points</h4></div>")
    out = pages._without_repeated_titles(body)
    assert out.count("corecard") == 1 and "<h4>Points</h4>" in out and "<p>text</p>" in out


def test_section_headings_are_never_dropped():
    body = "<h4>Gaps</h4><h2 id='gaps'>Gaps</h2>"
    assert pages._without_repeated_titles(body) == body


def test_pii_scan_of_a_huge_token_takes_linear_time():
    """Issue 15: one 100 kB word took 347 s to scan; a 1 MB token must take a moment, not minutes.

    CPU time of this process, not wall time: other work on a loaded machine does not count.
    A backtracking scan of 1 MB would need hours, so 5 s of CPU separates the two by far."""
    import time

    matcher = pii.Matcher({"+49 30 5550101", "Ann Lee"})
    for token in ("a" * 1_000_000, "a." * 500_000, "1-" * 500_000, "+1" * 500_000, "<" * 1_000_000):
        t0 = time.process_time()
        matcher.find(token + " ann.lee@alpha.test")
        safety.check_page("p.html", f"<p>{token}</p>", matcher)
        assert time.process_time() - t0 < 5, token[:4]
    assert [f.kind for f in matcher.find("x " * 10 + "ann.lee@alpha.test, +49 30 5550101")] == [
        "e-mail address", "phone number"]


def test_escaped_markup_is_not_refused_and_real_elements_are_named_with_their_section():
    escaped = ("<h2>Assets</h2><table><tr><td>Demo video (embed: &lt;iframe "
               "src=\"https://www.youtube.com/embed/abc\"&gt;)</td></tr></table>")
    assert safety.check_page("p.html", escaped, set()) == []
    hostile = ("<h2>Assets</h2><p>ok</p><iframe src=\"https://evil.example/x\"></iframe>"
               "<a href=\"javascript:alert(1)\">x</a><img src=x onerror=\"alert(1)\">"
               "<div style=\"background: url(//evil.example/y)\"></div>")
    text = "\n".join(safety.check_page("p.html", hostile, set()))
    assert "<iframe>" in text and "javascript:" in text and "onerror" in text and "url(" in text
    assert "section 'Assets'" in text and "evil.example/x" not in text


def test_identical_refusal_lines_are_grouped_with_a_count():
    from salign.report.build import _refusal

    message = str(_refusal(["p.html: e-mail address visible (an***st)"] * 7 + ["q.html: other"]))
    assert message.count("an***st") == 1 and "(7 times)" in message and "q.html: other" in message


def test_building_the_pages_is_under_the_run_timeout(monkeypatch):
    """Issue 15: --timeout covered the notebooks only; a slow build (a pathological page) ran on for minutes."""
    import time

    from salign.runner import execute

    def slow_build():
        time.sleep(30)

    t0 = time.monotonic()
    with pytest.raises(execute.RunTimeout, match="while it built the pages"):
        with execute._publishing_deadline(time.monotonic() + 1, 1, "2026Q3"):
            slow_build()
    assert time.monotonic() - t0 < 5
