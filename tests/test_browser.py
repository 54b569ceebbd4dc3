"""Every page of the sample review, opened in a real browser (Debian's headless Chromium driven by its chromedriver).

Checks what a reader gets: no console errors, every image decoded and sharp (drawn at twice the pixels it is
shown at), no source code, no script and no network request, every link of the table of contents and of the
page navigation resolves, every page links to the index of all periods. Then what the page must stand:

- axe-core (the accessibility engine; ``make axe`` puts it in ``build/axe-core/``) finds no serious or critical
  violation on any page;
- the quarterly review printed to A4 (Chrome's own ``Page.printToPDF``, as "Save as PDF" does) leaves no page
  nearly blank;
- on a phone 390 px wide no table hides a column (every cell can be scrolled into view inside the table's own
  box) and no page is wider than the screen.

Screenshots (and a printed PDF of each page, and the axe results) are saved to ``test-artifacts/screenshots/``
for a person to look at. ``make chromium`` and ``make axe`` (prerequisites of ``make test``) install what this needs.
"""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pypdf
import pytest

from salign.core import paths
from salign.runner import publish
from salign.workspace.load import load_workspace
from tests.conftest import copy_reports

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = paths.PROJECT_ROOT / "build" / "axe-core" / "axe.min.js"
ARTIFACTS = paths.PROJECT_ROOT / "test-artifacts" / "screenshots"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--window-size=1280,900")
#: text that only source code would show
CODE_SIGNS = re.compile(r"\bctx\.|\bimport \w|notebook\.start|\bdef \w+\(|^\s*>>>|Traceback \(most recent", re.M)
PERIODS = ("2026Q2", "2026Q3")  # 2026Q2 is a copy of 2026Q3's pages with older headline numbers
#: A4 in PostScript points, and the printable height inside the page margins of report.css (14 mm top, 16 mm bottom)
A4 = (595.28, 841.89)
PRINTABLE_HEIGHT = A4[1] - (14 + 16) / 25.4 * 72
#: a printed page must be at least this full (of its printable height)
MIN_FILL = 0.25
PHONE = 390

PAGE_FACTS = """
return {
  images: [...document.images].map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth,
                                          shown: i.getBoundingClientRect().width})),
  scripts: document.scripts.length,
  toc: [...document.querySelectorAll('nav.toc a')].map(a => decodeURIComponent(a.hash.slice(1))),
  tocMissing: [...document.querySelectorAll('nav.toc a')]
      .filter(a => !document.getElementById(decodeURIComponent(a.hash.slice(1)))).map(a => a.hash),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  text: document.body.innerText,
  belongs: (document.querySelector('.belongs') || {innerText: ''}).innerText,
  resources: performance.getEntriesByType('resource').map(e => e.name),
  sparklines: [...document.querySelectorAll('svg.spark')].map(s => s.getBoundingClientRect().width),
  height: document.documentElement.scrollHeight,
  h1: document.querySelectorAll('h1').length,
  headings: [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => Number(h.tagName[1])),
};
"""

#: On a narrow screen: is the page wider than the screen, and which tables hide a cell? A cell is reachable when it
#: lies within the viewport once the nearest box that scrolls sideways (the table's own) is scrolled to its end.
NARROW_FACTS = """
const vw = document.documentElement.clientWidth;
const hidden = [];
for (const table of document.querySelectorAll('main table')) {
  let box = table;
  while (box && box !== document.body && !/auto|scroll/.test(getComputedStyle(box).overflowX)) box = box.parentElement;
  const scrolls = box && box !== document.body;
  if (scrolls) box.scrollLeft = box.scrollWidth;
  const edge = scrolls ? Math.min(vw, box.getBoundingClientRect().right) : vw;
  const lastCells = [...table.rows].map(r => r.cells[r.cells.length - 1]).filter(Boolean);
  const lost = lastCells.filter(c => c.getBoundingClientRect().right > edge + 1 || getComputedStyle(c).display === 'none'
                                     || getComputedStyle(c).visibility === 'hidden');
  if (lost.length) hidden.push(table.rows[0].innerText.slice(0, 60));
  else if (scrolls && box.scrollWidth > box.clientWidth + 1 && box.tabIndex < 0) hidden.push('not focusable: '
      + table.rows[0].innerText.slice(0, 60));
  if (scrolls) box.scrollLeft = 0;
}
return {vw, width: document.documentElement.scrollWidth, tables: document.querySelectorAll('main table').length,
        hidden};
"""

RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']})
  .then(r => done({version: axe.version, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map(n => n.target.join(' '))}))}))
  .catch(e => done({error: String(e)}));
"""


@pytest.fixture(scope="module")
def report(sample_reports, tmp_path_factory) -> Path:
    """The sample's report of 2026Q3, and a copy of it published as 2026Q2 so that the index draws trends."""
    out = copy_reports(sample_reports, tmp_path_factory.mktemp("browser") / "reports")
    earlier = out / PERIODS[0]
    shutil.copytree(out / PERIODS[-1], earlier)
    metrics = json.loads((earlier / "metrics.json").read_text())
    for doc in metrics["notebooks"].values():  # a different, older figure for every number, so the lines are not flat
        doc["headline"] = {k: (v * 0.8 if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
                           for k, v in (doc.get("headline") or {}).items()}
    (earlier / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n")
    publish.write_index(out, load_workspace(paths.SAMPLE_WORKSPACE))
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("the browser test needs Debian's chromium and chromium-driver: run `make chromium`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS + (f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(180)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail("the accessibility check needs axe-core in build/axe-core/: run `make axe`")
    return AXE.read_text(encoding="utf-8")


def open_page(driver, path: Path) -> tuple[dict, list[dict]]:
    """Load ``path``; return the page's facts and the console messages it logged."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(path.as_uri())
    facts = driver.execute_script(PAGE_FACTS)
    return facts, driver.get_log("browser")


def screenshot(driver, facts: dict, name: str) -> Path:
    """A full-page screenshot and a printed PDF, saved as test artifacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(1280, min(max(900, facts["height"] + 40), 12000))
    png = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(png))
    (ARTIFACTS / f"{name}.pdf").write_bytes(print_pdf(driver))
    driver.set_window_size(1280, 900)
    return png


def print_pdf(driver) -> bytes:
    """The loaded page as Chrome prints it, on the paper size and margins the page's CSS asks for."""
    printed = driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True})
    return base64.b64decode(printed["data"])


def _times(m, n):
    """The product of two PDF transformation matrices ``[a b c d e f]``."""
    return [m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3], m[2] * n[0] + m[3] * n[2],
            m[2] * n[1] + m[3] * n[3], m[4] * n[0] + m[5] * n[2] + n[4], m[4] * n[1] + m[5] * n[3] + n[5]]


def page_fills(pdf: bytes) -> tuple[list[tuple[float, float]], list[float]]:
    """Each page's size and how full it is: the height from its highest to its lowest text or image, as a share
    of :data:`PRINTABLE_HEIGHT` (a blank page: 0)."""
    sizes, fills = [], []
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        ys = []

        def text(said, cm, tm, font, size, ys=ys):
            if said.strip():  # from the baseline up by the font's size on the page
                matrix = _times(tm, cm)
                ys.extend([matrix[5], matrix[5] + size * abs(matrix[3])])

        def operator(op, args, cm, tm, ys=ys):
            if op == b"Do":  # an image, drawn into the unit square the current matrix maps onto the page
                ys.extend([cm[5], cm[5] + cm[3]])

        page.extract_text(visitor_text=text, visitor_operand_before=operator)
        sizes.append((float(page.mediabox.width), float(page.mediabox.height)))
        fills.append((max(ys) - min(ys)) / PRINTABLE_HEIGHT if ys else 0.0)
    return sizes, fills


def pages(out: Path) -> list[Path]:
    return [out / "index.html"] + [p for period in PERIODS for p in sorted((out / period).glob("*.html"))]


def name_of(out: Path, path: Path) -> str:
    return path.relative_to(out).as_posix().replace("/", "_").removesuffix(".html")


def test_every_page_in_a_real_browser(report, browser):
    workspace = load_workspace(paths.SAMPLE_WORKSPACE).config.name
    checked = []
    for path in pages(report):
        name = name_of(report, path)
        facts, console = open_page(browser, path)
        errors = [m["message"] for m in console if m["level"] in ("SEVERE", "ERROR")]
        assert errors == [], f"{name}: console errors {errors}"
        assert all(i["complete"] and i["width"] > 0 for i in facts["images"]), f"{name}: undecoded image {facts['images']}"
        # every figure says in words what it shows: its result's description, not a placeholder
        assert all(len(i["alt"]) > 30 and not i["alt"].startswith(("Figure", "A chart illustrating"))
                   for i in facts["images"]), f"{name}: an image without a description {[i['alt'] for i in facts['images']]}"
        # and is sharp: at least twice the pixels of the space it is shown in (a high-density screen, print)
        assert all(i["width"] >= 1.9 * i["shown"] for i in facts["images"]), \
            f"{name}: a blurred figure {[(i['width'], i['shown']) for i in facts['images']]}"
        assert facts["scripts"] == 0, f"{name}: has a script"
        assert not [r for r in facts["resources"] if not r.startswith(("data:", "file:"))], f"{name}: network use"
        assert not CODE_SIGNS.search(facts["text"]), f"{name}: shows source code: {CODE_SIGNS.search(facts['text'])}"
        assert facts["toc"] and facts["tocMissing"] == [], f"{name}: table of contents {facts['tocMissing']}"
        assert facts["h1"] == 1 and facts["headings"][0] == 1, f"{name}: one heading per page, first"
        jumps = [(a, b) for a, b in zip(facts["headings"], facts["headings"][1:]) if b > a + 1]
        assert jumps == [], f"{name}: headings skip a level {jumps}"
        targets = []
        for link in facts["links"]:
            target = Path(unquote(urlparse(link).path))
            assert link.startswith("file:") and target.exists(), f"{name}: broken link {link}"
            assert "notebooks" not in target.parts and ".failed" not in target.parts, f"{name}: links {link}"
            targets.append(target)
        # every page leads back to all periods, and says which report it belongs to (a page forwarded alone)
        assert report / "index.html" in targets, f"{name}: no link to the index of all periods"
        assert workspace in facts["belongs"], f"{name}: does not say which report it belongs to: {facts['belongs']!r}"
        if path.parent != report:  # (2026Q2's pages are copies of 2026Q3's, so only the form of the period is known)
            assert re.search(r"\bfor \d{4}Q[1-4]\b", facts["belongs"]) and "index.html" in facts["belongs"], \
                facts["belongs"]
        png = screenshot(browser, facts, name)
        assert png.stat().st_size > 10_000 and (ARTIFACTS / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
        checked.append((name, facts))
    figures = {name: len(f["images"]) for name, f in checked}
    assert figures["2026Q3_04_quarterly_review"] == 8 and figures["2026Q3_01_personas"] == 4
    index = dict(checked)["index"]
    assert index["sparklines"] and all(w > 0 for w in index["sparklines"]), "the index draws trend lines"
    assert len(checked) == 1 + 5 * len(PERIODS)


def axe_violations(driver, source: str) -> tuple[str, list[dict]]:
    """axe-core's version and the violations it finds on the loaded page."""
    driver.execute_script(source)
    found = driver.execute_async_script(RUN_AXE)
    assert "error" not in found, found
    return found["version"], found["violations"]


def test_no_page_has_a_serious_or_critical_accessibility_violation(report, browser, axe_source):
    seen, grave = {}, []
    for path in pages(report):
        name = name_of(report, path)
        browser.get(path.as_uri())
        version, violations = axe_violations(browser, axe_source)
        seen[name] = violations
        grave += [f"{name}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes'][:3]}" for v in violations
                  if v["impact"] in ("serious", "critical")]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe.json").write_text(json.dumps({"axe": version, "pages": seen}, indent=1))
    assert version.startswith("4.")
    assert grave == [], "\n".join(grave)


def test_the_quarterly_review_prints_on_a4_without_near_blank_pages(report, browser):
    browser.get((report / PERIODS[-1] / "04_quarterly_review.html").as_uri())
    sizes, fills = page_fills(print_pdf(browser))
    assert len(fills) > 3 and all(abs(w - A4[0]) < 1 and abs(h - A4[1]) < 1 for w, h in sizes), sizes
    # the last page too (issue 13: "no page less than a quarter full"); the other pages' last pages may be short
    low = [(i + 1, round(f, 3)) for i, f in enumerate(fills) if f < MIN_FILL]
    assert low == [], f"pages less than a quarter full (page, fill): {low}; all: {fills}"


def test_on_a_phone_no_table_hides_a_column_and_no_page_is_wider_than_the_screen(report, browser):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": PHONE, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    try:
        tables = 0
        for path in pages(report):
            name = name_of(report, path)
            browser.get(path.as_uri())
            facts = browser.execute_script(NARROW_FACTS)
            assert facts["vw"] == PHONE and facts["width"] <= PHONE, f"{name}: the page is {facts['width']} px wide"
            assert facts["hidden"] == [], f"{name}: tables with a column out of reach {facts['hidden']}"
            tables += facts["tables"]
        assert tables > 50  # the sample's pages hold many tables: the check looked at them
        browser.get((report / PERIODS[-1] / "04_quarterly_review.html").as_uri())
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / f"{PERIODS[-1]}_04_quarterly_review_390px.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_checks_catch_a_broken_page(browser, tmp_path, axe_source):
    """The harness itself: a console error, an undecodable image, a dangling contents link, grey text on white,
    a table that clips its columns on a phone, a page wider than the phone and a nearly blank printed page
    are all seen."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html lang='en'><head><title>bad</title><style>@page { size: A4 }</style></head>"
                   "<body><main><nav class='toc'><a href='#nowhere'>x</a></nav>"
                   "<img alt='Figure: broken' src='data:image/png;base64,AAAA'>"
                   "<p style='color:#aaa'>grey text that is hard to read</p>"
                   "<div style='overflow:hidden; width:200px'><table><tr><td>a</td>" + "<td>wide column</td>" * 30
                   + "<td>met</td></tr></table></div>"
                   "<div style='width:600px'>wider than a phone</div>"
                   "<p>one</p><p style='break-before: page'>two</p><p style='break-before: page'>three</p>"
                   "<script>console.error('planted error')</script></main></body></html>")
    facts, console = open_page(browser, bad)
    assert any("planted error" in m["message"] for m in console if m["level"] == "SEVERE")
    assert facts["images"][0]["width"] == 0 and facts["tocMissing"] == ["#nowhere"] and facts["scripts"] == 1
    _, violations = axe_violations(browser, axe_source)
    assert {"color-contrast"} <= {v["id"] for v in violations if v["impact"] == "serious"}
    sizes, fills = page_fills(print_pdf(browser))
    assert len(fills) == 3 and round(sizes[0][0]) == 595 and all(f < MIN_FILL for f in fills)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": PHONE, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    try:
        browser.get(bad.as_uri())
        narrow = browser.execute_script(NARROW_FACTS)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert narrow["width"] > PHONE and len(narrow["hidden"]) == 1, narrow
