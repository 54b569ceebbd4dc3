"""Wall time and peak memory of ``salign validate`` on synthetic workspaces of 20k, 200k and 1M leads.

Usage: ``python benchmarks/bench_validate.py [--dir DIR] [--sizes 20000,200000,1000000] [--repeats N]``.

Each size's workspace is generated once into ``DIR`` (default: a ``salign-bench-validate`` folder in the
temporary directory; reused on later runs) with ``salign sample --leads N``, about 2 stage events and 2
activities per lead. Each run is a fresh ``salign validate`` process (interpreter start and imports included, as
a user sees it) with the snapshot cache off (``SALIGN_CACHE=off``), so every run reads and checks the CSV files.
(``PYTHONPATH=/path/to/other/checkout`` measures another version of salign.)
Prints, per size, the CSV bytes, the best and median wall time, the CPU time (user + system, all threads) and the
peak resident memory of the process (its ``ru_maxrss``). Issue 14's target: 1M leads in at most 5 s on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SALIGN = [sys.executable, "-m", "salign.cli"]


def workspace(root: Path, leads: int) -> Path:
    """The sample workspace of ``leads`` leads under ``root``, generated when missing."""
    folder = root / f"leads-{leads}"
    if not (folder / "workspace.yaml").exists():
        subprocess.run(SALIGN + ["sample", "--out", str(folder), "--leads", str(leads)], check=True,
                       stdout=subprocess.DEVNULL)
    return folder


def run(folder: Path) -> tuple[float, float, int]:
    """One ``salign validate``: wall seconds, CPU seconds and peak resident bytes of the process."""
    env = {**os.environ, "SALIGN_CACHE": "off"}
    start = time.perf_counter()
    proc = subprocess.Popen(SALIGN + ["validate", "--workspace", str(folder)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=folder)  # not the checkout: PYTHONPATH may name another
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"salign validate failed on {folder}: {proc.stderr.read().decode()[-2000:]}")
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "salign-bench-validate")
    parser.add_argument("--sizes", default="20000,200000,1000000", help="numbers of leads, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'leads':>9} {'CSV MB':>7} {'best s':>7} {'median s':>8} {'CPU s':>6} {'peak MB':>8}")
    for leads in (int(n) for n in args.sizes.split(",")):
        folder = workspace(args.dir, leads)
        size = sum(f.stat().st_size for f in folder.glob("*.csv"))
        runs = [run(folder) for _ in range(args.repeats)]
        walls = [r[0] for r in runs]
        print(f"{leads:>9,} {size / 1e6:>7.0f} {min(walls):>7.2f} {statistics.median(walls):>8.2f} "
              f"{min(r[1] for r in runs):>6.1f} {max(r[2] for r in runs) / 2**20:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
