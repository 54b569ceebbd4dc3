"""Wall time of `salign review` on a workspace, and the floor: the same papermill runs of notebooks that only import.

Usage: .venv/bin/python benchmarks/bench_review.py [--workspace data/sample] [--repeat 1]
The floor runs four one-cell notebooks importing what the real ones import through the runner's own
``execute``, in the same two waves of two, so the difference is the work the notebooks actually do
(``_measure.floor``; ``bench_scale.py`` measures the same floor next to reviews at 20k-1M leads).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from salign.core import paths
from salign.runner.execute import review

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import floor  # noqa: E402  (the import-only notebooks, shared with bench_scale.py)


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
