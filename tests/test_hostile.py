"""Hostile values in displayed fields (issue 15): a review publishes safely or refuses, in time, never leaks.

Hypothesis generates values a hostile or careless user could put in a CRM (formulas, markup,
control and right-to-left characters, huge tokens, e-mail and phone shapes); every generated
value goes into displayed fields of the tiny workspace (account ``name``, stage ``reason``) and
one review runs per example. Whatever it does, it ends within ``--timeout`` with a documented
exit code; if it publishes, no value appears unescaped in a page, nothing under the shared
period folder holds PII and no CSV cell there would run as a formula.
"""
from __future__ import annotations

import csv
import io
import subprocess
import sys

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salign import cli
from salign.common.pii import Matcher, pii_values
from salign.core import csvsafe, paths
from salign.report import safety
from salign.workspace.load import load_workspace
from tests.conftest import TINY, write_workspace

pytestmark = pytest.mark.slow

PERIOD = "2025Q4"
TIMEOUT = 120
CLI = "import sys\nfrom salign import cli\nsys.exit(cli.main(sys.argv[1:]))"
HOSTILE = ['=HYPERLINK("http://evil.example/C009","C009")', "+cmd|' /C calc'!A0", "-2+3+cmd", "@SUM(A1:A9)",
           "<script>alert(1)</script>", '<iframe src="https://evil.example/x"></iframe>', "<img src=x onerror=alert(1)>",
           "\u202egnp.exe", "\x07\x1b[31m", "x" * 1_000_000, "write to jo.doe@corp.example", "call +49 30 5550199"]
#: text around each hostile value (every example holds every kind of value above, in displayed fields)
AROUND = st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
                  min_size=len(HOSTILE), max_size=len(HOSTILE))
EXIT_CODES = {0, cli.EXIT_INVALID_INPUT, cli.EXIT_RUN_FAILED}


def _workspace(folder, payloads):
    """TINY with the payloads in the stages' reasons (in turn) and the huge token, the iframe and the formula as
    account names."""
    ws = write_workspace(folder, TINY)
    accounts = pd.read_csv(ws / "accounts.csv", dtype=str, keep_default_na=False)
    accounts["name"] = [payloads[9], payloads[5], payloads[0]]
    accounts.to_csv(ws / "accounts.csv", index=False)
    stages = pd.read_csv(ws / "stages.csv", dtype=str, keep_default_na=False)
    stages["reason"] = [payloads[i % len(payloads)] for i in range(len(stages))]
    stages.to_csv(ws / "stages.csv", index=False)
    return ws


def _unescaped(payload: str, page: str) -> bool:
    """Markup of ``payload`` reached the page as markup (quotes in text are harmless and may stay)."""
    return "<" in payload and payload in page


@settings(max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(around=AROUND)
def test_hostile_values_publish_safely_or_are_refused_in_time(around, tmp_path_factory):
    payloads = [f"{value}{text}" for value, text in zip(HOSTILE, around)]
    ws = _workspace(tmp_path_factory.mktemp("hostile-ws") / "ws", payloads)
    out = tmp_path_factory.mktemp("hostile-reports")
    run = subprocess.run([sys.executable, "-c", CLI, "review", "--workspace", str(ws), "--out", str(out),
                          "--period", PERIOD, "--timeout", str(TIMEOUT)], cwd=paths.PROJECT_ROOT,
                         capture_output=True, text=True, timeout=TIMEOUT + 30)
    code = run.returncode
    assert code in EXIT_CODES, run.stderr[-2000:]
    if code != 0:
        return
    matcher = Matcher(pii_values(load_workspace(ws)))
    for path in (out / PERIOD).rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".html":
            assert safety.check_page(path.name, text, matcher) == [], path.name
            assert not [p for p in payloads if _unescaped(p, text)], path.name
        else:
            assert matcher.find(text) == [], path.name
        if path.suffix == ".csv":
            cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
            assert [c for c in cells if csvsafe.neutralise(c) != c] == [], path.name
