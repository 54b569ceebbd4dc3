"""Loading a workspace from its files (read, type, validate) vs from its typed snapshot: time and peak memory.

Usage: .venv/bin/python benchmarks/bench_snapshot.py [--workspace DIR ...] [--leads N] [--repeat 1]
Each measurement runs in a fresh Python process (peak memory = its peak resident set, after the imports it
needs: "base"; CPU = user + system seconds of the step, steadier than wall time on a busy machine). Steps: ``files`` (load_workspace, what every kernel did before), ``write`` (files plus writing
the snapshot: a review's first run on new data), ``cache`` (snapshot.load finding it: the parent of a review,
or a notebook in JupyterLab) and ``kernel`` (open_snapshot with the path a review passes). ``--leads N``
also generates an N-lead sample workspace (``salign sample``) and measures it.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = ("files", "write", "cache", "kernel")


def _child(step: str, workspace: str, cache: str) -> None:
    """One measurement in this process; prints seconds, base and peak MiB as JSON."""
    os.environ["SALIGN_CACHE"] = cache
    from salign.workspace import snapshot
    from salign.workspace.load import load_workspace

    snapshot.code_digest = lambda: "bench"  # the key part for salign's code: an edit between steps is no new key

    before = resource.getrusage(resource.RUSAGE_SELF)
    base = before.ru_maxrss / 1024
    t0 = time.perf_counter()
    if step == "files":
        tables = load_workspace(workspace)
    elif step == "write":
        loaded = snapshot.load(workspace)
        assert loaded.path is not None and not loaded.hit, "expected to build the snapshot"
        tables = loaded.tables
    elif step == "cache":
        loaded = snapshot.load(workspace)
        assert loaded.hit, "expected the cached snapshot"
        tables = loaded.tables
    else:
        tables = snapshot.open_snapshot(snapshot.snapshots_dir() / snapshot.inputs(workspace).key, workspace)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(json.dumps({"seconds": seconds, "cpu": cpu, "base_mib": base, "peak_mib": after.ru_maxrss / 1024,
                      "leads": len(tables.leads)}))


def measure(step: str, workspace: str, cache: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", step, workspace, cache], capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"{step} on {workspace} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench(workspace: str, repeat: int, steps=STEPS) -> None:
    size = sum(f.stat().st_size for f in Path(workspace).rglob("*") if f.is_file()) / 2**20
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="salign-bench-cache-") as cache:
            rows = {step: measure(step, workspace, cache) for step in steps}
            disk = sum(f.stat().st_size for f in Path(cache).rglob("*.parquet")) / 2**20
        leads = next(iter(rows.values()))["leads"]
        print(f"{workspace} ({leads:,} leads, {size:.0f} MiB of files; snapshot {disk:.0f} MiB), run {i + 1}:")
        for step, r in rows.items():
            print(f"  {step:7s} {r['seconds']:7.2f} s (CPU {r['cpu']:6.2f} s)   peak {r['peak_mib']:7.0f} MiB "
                  f"(+{r['peak_mib'] - r['base_mib']:.0f} MiB over the imports)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:5])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", action="append", help="a workspace folder (repeatable; default data/sample)")
    ap.add_argument("--leads", type=int, help="also generate and measure a sample workspace of this many leads")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--steps", default=",".join(STEPS), help="which of files,write,cache,kernel (cache and kernel "
                                                             "need write before them)")
    args = ap.parse_args()
    from salign.core import paths

    workspaces = args.workspace or [str(paths.SAMPLE_WORKSPACE)]
    with tempfile.TemporaryDirectory(prefix="salign-bench-ws-") as tmp:
        if args.leads:
            out = Path(tmp) / f"sample-{args.leads}"
            subprocess.run([sys.executable, "-c", "import sys\nfrom salign import cli\nsys.exit(cli.main(sys.argv[1:]))",
                            "sample", "--out", str(out), "--leads", str(args.leads)], check=True, capture_output=True)
            workspaces.append(str(out))
        for ws in workspaces:
            bench(ws, args.repeat, args.steps.split(","))


if __name__ == "__main__":
    main()
