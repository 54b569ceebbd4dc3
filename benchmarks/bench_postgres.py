"""PostgreSQL source: time to install (when absent) and start a throwaway cluster, to load data/sample
into it, and to read the workspace from the database versus from the files.

Usage: .venv/bin/python benchmarks/bench_postgres.py [--repeat 3]
Uses `make postgres` / `make postgres-stop`, as the test suite does.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from salign.core import paths
from salign.workspace.load import load_workspace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(paths.PROJECT_ROOT))  # the test module's loader is the one the suite uses
    from tests.test_database import ENV, db_workspace, load_files_into

    installed = any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    folder = tempfile.mkdtemp(prefix="salign-pg-")
    t0 = time.perf_counter()
    done = subprocess.run(["make", "-s", "-C", str(paths.PROJECT_ROOT), "postgres", f"PG_DIR={folder}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        print(f"skipped: make postgres failed: {done.stderr.strip()}")
        return
    url = done.stdout.strip().splitlines()[-1]
    print(f"make postgres ({'already installed' if installed else 'installed with apt-get'}, initdb + start): "
          f"{time.perf_counter() - t0:.1f} s")
    try:
        t0 = time.perf_counter()
        names = load_files_into(url, paths.SAMPLE_WORKSPACE, "sample")
        print(f"COPY data/sample into PostgreSQL: {time.perf_counter() - t0:.2f} s")
        os.environ[ENV] = url
        with tempfile.TemporaryDirectory() as tmp:
            ws = db_workspace(Path(tmp) / "ws", paths.SAMPLE_WORKSPACE, "sample", names)
            for label, where in (("files", paths.SAMPLE_WORKSPACE), ("database", ws)):
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    load_workspace(where)
                    times.append(time.perf_counter() - t0)
                print(f"load_workspace from {label:8}: median {statistics.median(times):.2f} s of {args.repeat}")
    finally:
        t0 = time.perf_counter()
        subprocess.run(["make", "-s", "-C", str(paths.PROJECT_ROOT), "postgres-stop", f"PG_DIR={folder}"])
        shutil.rmtree(folder, ignore_errors=True)
        print(f"make postgres-stop: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
