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
