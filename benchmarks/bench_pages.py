"""Page sizes of a report against the 3 MB budget, the cost of publishing, and how promptly faults stop a run.

Usage: .venv/bin/python benchmarks/bench_pages.py [--workspace data/sample] [--period latest]

Prints, for one review of the workspace: each page's size and share of the budget; the
time report.build.build takes (pages, PII scan of every output and page) when run again on
the executed notebooks; how long a second run waits before it is refused by the lock;
and how far past ``--timeout`` a run with a hung kernel ends.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from salign.core import paths
from salign.report.build import build
from salign.report.safety import PAGE_BUDGET_BYTES
from salign.runner.execute import RunLocked, RunTimeout, review
from salign.runner.lock import RunLock
from salign.workspace.load import load_workspace


def page_sizes(report: Path) -> None:
    print(f"{'page':<28}{'bytes':>10}{'of budget':>11}")
    for page in sorted(report.glob("*.html")) + [report.parent / "index.html"]:
        size = page.stat().st_size
        print(f"{page.relative_to(report.parent).as_posix():<28}{size:>10,}{size / PAGE_BUDGET_BYTES:>11.1%}")


def publish_seconds(report: Path, tables, period: str, tmp: Path) -> float:
    staging = tmp / "staging"
    shutil.copytree(report / "notebooks", staging / "notebooks")
    names = [p.stem for p in sorted((staging / "notebooks").glob("*.ipynb"))]
    merged = json.loads((report / "metrics.json").read_text())["notebooks"]
    for name in names:
        (staging / f"{name}.metrics.json").write_text(json.dumps(merged.get(name, {})))
    t0 = time.perf_counter()
    build(staging, tables, period, names, out=report.parent)
    return time.perf_counter() - t0


def lock_refusal_seconds(workspace: str, period: str, out: Path) -> float:
    with RunLock(out, period):
        t0 = time.perf_counter()
        try:
            review(workspace, period, out, progress=lambda m: None)
        except RunLocked:
            return time.perf_counter() - t0
    raise AssertionError("the second run was not refused")


def timeout_overshoot(workspace: str, period: str, out: Path, tmp: Path, limit: float = 10) -> float:
    nbs = tmp / "notebooks"
    shutil.copytree(paths.NOTEBOOKS_DIR, nbs)
    nb = nbformat.read(nbs / "01_personas.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("import time\ntime.sleep(3600)"))
    nbformat.write(nb, nbs / "01_personas.ipynb")
    t0 = time.perf_counter()
    try:
        review(workspace, period, out, notebooks_dir=nbs, cell_timeout=0, timeout=limit, progress=lambda m: None)
    except RunTimeout:
        return time.perf_counter() - t0 - limit
    raise AssertionError("the hung run was not stopped")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default=str(paths.SAMPLE_WORKSPACE))
    ap.add_argument("--period", default="latest")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = tmp / "reports"
        t0 = time.perf_counter()
        report = review(args.workspace, args.period, out, progress=lambda m: None)
        print(f"review of {args.workspace} ({report.name}): {time.perf_counter() - t0:.1f} s")
        page_sizes(report)
        tables = load_workspace(args.workspace)
        print(f"report.build.build again on the executed notebooks: {publish_seconds(report, tables, report.name, tmp):.2f} s")
        print(f"second run refused by the lock after {lock_refusal_seconds(args.workspace, report.name, out):.2f} s")
        print(f"hung kernel, --timeout 10: the run ended {timeout_overshoot(args.workspace, report.name, out, tmp):.1f} s "
              f"after the deadline")


if __name__ == "__main__":
    main()
