"""Wall time of notebooks/04_quarterly_review on a workspace (default: the embedded sample), through papermill.

Usage: ``.venv/bin/python benchmarks/bench_quarterly_review.py [--workspace DIR] [--period 2026Q3] [--repeat 3]``

Prints each run's wall time (kernel start to metrics written), the median, and the slowest
cells of the last run, so a regression can be traced to a section.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

from salign.core import paths

NOTEBOOK = paths.NOTEBOOKS_DIR / "04_quarterly_review.ipynb"


def run_once(workspace: str, period: str, out: Path) -> tuple[float, nbformat.NotebookNode]:
    t0 = time.perf_counter()
    nb = papermill.execute_notebook(str(NOTEBOOK), str(out / "run.ipynb"), kernel_name="python3", progress_bar=False,
                                    parameters={"workspace": workspace, "period": period, "output_dir": str(out)},
                                    cwd=str(paths.PROJECT_ROOT))
    return time.perf_counter() - t0, nb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default=str(paths.SAMPLE_WORKSPACE))
    ap.add_argument("--period", default="latest")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    times = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            wall, nb = run_once(args.workspace, args.period, Path(tmp))
        times.append(wall)
        print(f"run {i + 1}: 04_quarterly_review {wall:.1f} s")
    print(f"median of {len(times)}: {statistics.median(times):.1f} s")
    cells = sorted(((c.metadata.get("papermill", {}).get("duration") or 0.0, c.source.splitlines()[0][:70])
                    for c in nb.cells if c.cell_type == "code"), reverse=True)
    print(f"cells {sum(d for d, _ in cells):.1f} s in all; slowest:")
    for d, src in cells[:6]:
        print(f"  {d:5.2f} s  {src}")


if __name__ == "__main__":
    main()
