"""Wall time of `salign review` on a workspace, and the floor: the same papermill runs of notebooks that only import.

Usage: .venv/bin/python benchmarks/bench_review.py [--workspace data/sample] [--repeat 1]
The floor runs four one-cell notebooks importing what the real ones import, in the same
two waves of two, so the difference is the work the notebooks actually do.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import papermill

from salign.core import paths
from salign.runner.execute import review, waves

IMPORTS = ("import pandas, numpy, sklearn, matplotlib, statsmodels.api, lifelines\n"
           "from salign import content, personas, qualify\nfrom salign.review import funnel, sla, winloss\n"
           "from salign.runner import notebook")


def floor(tmp: Path) -> float:
    src = tmp / "import_only.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(IMPORTS)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, src)
    t0 = time.perf_counter()
    for wave in waves():
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda n: papermill.execute_notebook(str(src), str(tmp / f"{n}.ipynb"), kernel_name="python3",
                                                                progress_bar=False, cwd=str(paths.PROJECT_ROOT),
                                                                extra_arguments=["--IPKernelApp.log_level=CRITICAL"]), wave))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default=str(paths.SAMPLE_WORKSPACE))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            review(args.workspace, out=Path(tmp) / "reports", progress=lambda m: None)
            full = time.perf_counter() - t0
            low = floor(Path(tmp))
        print(f"run {i + 1}: salign review {full:.1f} s; floor (4 import-only notebooks, same waves) {low:.1f} s; "
              f"work {full - low:.1f} s")


if __name__ == "__main__":
    main()
