"""Every page of a report, opened in a real browser (Debian's headless Chromium driven by its chromedriver).

Checks what a reader gets: no console errors, every image decoded, no source
code, no script and no network request, every link of the table of contents
and of the page navigation resolves. Screenshots (and a printed PDF of each
page) are saved to ``test-artifacts/screenshots/`` for a person to look at.
``make chromium`` (a prerequisite of ``make test``) installs the browser.
"""
from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from salign.core import paths
from salign.runner import publish
from salign.workspace.load import load_workspace
from tests.conftest import copy_reports

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = paths.PROJECT_ROOT / "test-artifacts" / "screenshots"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--window-size=1280,900")
#: text that only source code would show
CODE_SIGNS = re.compile(r"\bctx\.|\bimport \w|notebook\.start|\bdef \w+\(|^\s*>>>|Traceback \(most recent", re.M)
PERIODS = ("2025Q3", "2025Q4")  # 2025Q3 is a copy of 2025Q4's pages with older headline numbers

PAGE_FACTS = """
return {
  images: [...document.images].map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth})),
  scripts: document.scripts.length,
  toc: [...document.querySelectorAll('nav.toc a')].map(a => decodeURIComponent(a.hash.slice(1))),
  tocMissing: [...document.querySelectorAll('nav.toc a')]
      .filter(a => !document.getElementById(decodeURIComponent(a.hash.slice(1)))).map(a => a.hash),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  text: document.body.innerText,
  resources: performance.getEntriesByType('resource').map(e => e.name),
  sparklines: [...document.querySelectorAll('svg.spark')].map(s => s.getBoundingClientRect().width),
  height: document.documentElement.scrollHeight,
  h1: document.querySelectorAll('h1').length,
};
"""


@pytest.fixture(scope="module")
def report(tiny_reports, tmp_path_factory) -> Path:
    """The tiny workspace's report of 2025Q4, and a copy of it published as 2025Q3 so that the index draws trends."""
    ws, shared = tiny_reports
    out = copy_reports(shared, tmp_path_factory.mktemp("browser") / "reports")
    earlier = out / PERIODS[0]
    shutil.copytree(out / PERIODS[-1], earlier)
    metrics = json.loads((earlier / "metrics.json").read_text())
    for doc in metrics["notebooks"].values():  # a different, older figure for every number, so the lines are not flat
        doc["headline"] = {k: (v * 0.8 if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
                           for k, v in (doc.get("headline") or {}).items()}
    (earlier / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n")
    publish.write_index(out, load_workspace(ws))
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
    yield driver
    driver.quit()


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
    (ARTIFACTS / f"{name}.pdf").write_bytes(base64.b64decode(driver.print_page()))
    driver.set_window_size(1280, 900)
    return png


def pages(out: Path) -> list[Path]:
    return [out / "index.html"] + [p for period in PERIODS for p in sorted((out / period).glob("*.html"))]


def test_every_page_in_a_real_browser(report, browser):
    checked = []
    for path in pages(report):
        name = path.relative_to(report).as_posix().replace("/", "_").removesuffix(".html")
        facts, console = open_page(browser, path)
        errors = [m["message"] for m in console if m["level"] in ("SEVERE", "ERROR")]
        assert errors == [], f"{name}: console errors {errors}"
        assert all(i["complete"] and i["width"] > 0 for i in facts["images"]), f"{name}: undecoded image {facts['images']}"
        # every figure says in words what it shows: its result's description, not a placeholder
        assert all(len(i["alt"]) > 30 and not i["alt"].startswith("Figure") for i in facts["images"]), \
            f"{name}: an image without a description {[i['alt'] for i in facts['images']]}"
        assert facts["scripts"] == 0, f"{name}: has a script"
        assert not [r for r in facts["resources"] if not r.startswith(("data:", "file:"))], f"{name}: network use"
        assert not CODE_SIGNS.search(facts["text"]), f"{name}: shows source code: {CODE_SIGNS.search(facts['text'])}"
        assert facts["toc"] and facts["tocMissing"] == [], f"{name}: table of contents {facts['tocMissing']}"
        assert facts["h1"] == 1, f"{name}: one heading per page"
        for link in facts["links"]:
            target = Path(unquote(urlparse(link).path))
            assert link.startswith("file:") and target.exists(), f"{name}: broken link {link}"
            assert "notebooks" not in target.parts and ".failed" not in target.parts, f"{name}: links {link}"
        png = screenshot(browser, facts, name)
        assert png.stat().st_size > 10_000 and (ARTIFACTS / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
        checked.append((name, facts))
    figures = {name: len(f["images"]) for name, f in checked}
    assert figures["2025Q4_04_quarterly_review"] >= 2 and figures["2025Q4_01_personas"] >= 1
    index = dict(checked)["index"]
    assert index["sparklines"] and all(w > 0 for w in index["sparklines"]), "the index draws trend lines"
    assert len(checked) == 1 + 5 * len(PERIODS)


def test_the_checks_catch_a_broken_page(browser, tmp_path):
    """The harness itself: a console error, an undecodable image and a dangling contents link are all seen."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><nav class='toc'><a href='#nowhere'>x</a></nav>"
                   "<img alt='Figure: broken' src='data:image/png;base64,AAAA'>"
                   "<script>console.error('planted error')</script></body></html>")
    facts, console = open_page(browser, bad)
    assert any("planted error" in m["message"] for m in console if m["level"] == "SEVERE")
    assert facts["images"][0]["width"] == 0 and facts["tocMissing"] == ["#nowhere"] and facts["scripts"] == 1
