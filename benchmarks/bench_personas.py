"""Time ``01_personas`` alone on a workspace, the way an analyst reruns it: the papermill command line.

Usage: ``python benchmarks/bench_personas.py [workspace] [runs]`` (default ``data/sample``, 3 runs).
Prints each run's wall time, the median, and where the time of the fastest run went (papermill's own
per-cell durations; the rest is starting papermill and the kernel). The target is 10 s on the 2-core
development machine. The load average is printed because other work on the machine slows every run; the
CPU seconds of papermill and its kernel (nearly all of it single-threaded) are what an idle machine's wall
time comes close to.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPERMILL = Path(sys.executable).with_name("papermill")
TARGET_S = 10.0


def run_once(workspace: str, out: Path) -> tuple[float, float, list[tuple[str, float]]]:
    """Run the notebook once with papermill's command line.

    Returns (wall seconds, CPU seconds of papermill and its kernel, [(cell source, seconds)]).
    """
    executed = out / "01_personas.ipynb"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([str(PAPERMILL), str(ROOT / "notebooks" / "01_personas.ipynb"), str(executed), "--no-progress-bar",
                    "-p", "workspace", workspace, "-p", "output_dir", str(out)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    nb = json.loads(executed.read_text())
    cells = [(("".join(c["source"]).splitlines() or [""])[0][:70], c["metadata"]["papermill"]["duration"] or 0.0)
             for c in nb["cells"] if c["cell_type"] == "code"]
    return wall, cpu, cells


def main(workspace: str = "data/sample", runs: int = 3) -> None:
    """Run the notebook ``runs`` times and print the timings."""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(runs):
            out = Path(folder) / f"run{i}"
            out.mkdir()
            load = os.getloadavg()[0]
            results.append(run_once(workspace, out))
            print(f"run {i + 1}: {results[-1][0]:.2f} s wall, {results[-1][1]:.2f} s CPU "
                  f"(load average before the run {load:.1f} on {os.cpu_count()} cores)")
    walls = [w for w, _, _ in results]
    print(f"01_personas on {workspace}: median {statistics.median(walls):.2f} s, fastest {min(walls):.2f} s "
          f"over {runs} runs (target {TARGET_S:.0f} s); CPU median {statistics.median(c for _, c, _ in results):.2f} s")
    wall, _, cells = min(results)
    in_cells = sum(s for _, s in cells)
    print(f"fastest run: {in_cells:.2f} s in cells, {wall - in_cells:.2f} s starting papermill and the kernel")
    for source, seconds in sorted(cells, key=lambda c: -c[1])[:8]:
        print(f"  {seconds:6.2f} s  {source}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/sample", int(sys.argv[2]) if len(sys.argv) > 2 else 3)
