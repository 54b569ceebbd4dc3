"""Import speed: the two committed mappings on the real data, and rows per second on a scaled copy.

Usage: .venv/bin/python benchmarks/bench_import.py [--scale 20]
The real data lives in ../shared/data/real (skipped when absent). The scaled copy repeats
X Education's Leads.csv ``scale`` times with new ids, so the work per row is that of real data.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from salign.core import paths
from salign.imports import import_mapping

REAL = paths.PROJECT_ROOT.parent / "shared" / "data" / "real"
MAPPINGS = paths.PROJECT_ROOT / "data" / "mappings"


def timed(mapping: Path, out: Path, source: Path | None = None) -> tuple[float, dict]:
    t0 = time.perf_counter()
    _, report = import_mapping(mapping, out, source=source)
    return time.perf_counter() - t0, report.as_dict()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=20, help="copies of Leads.csv in the scaled run (default 20)")
    args = ap.parse_args()
    if not REAL.is_dir():
        print(f"skipped: {REAL} is absent")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in ("maven_crm", "x_education"):
            seconds, report = timed(MAPPINGS / f"{name}.yaml", tmp / name)
            for table, t in report["tables"].items():
                print(f"{name:12} {table:14} rows in {t['rows_in']:>7,}  loaded {t['loaded']:>7,}  quarantined "
                      f"{t['quarantined']:>4,}  dropped {sum(t['dropped'].values()):>4,}  -> {t['rows_out']:>7,}")
            print(f"{name:12} import + validation: {seconds:.2f} s")
        src = tmp / "scaled"
        src.mkdir()
        leads = pd.read_csv(REAL / "x_education_leads" / "Leads.csv", dtype=str, keep_default_na=False)
        copies = [leads.assign(**{"Prospect ID": leads["Prospect ID"] + f"-{i}"}) for i in range(args.scale)]
        pd.concat(copies).to_csv(src / "Leads.csv", index=False)
        shutil.copy(MAPPINGS / "x_education.yaml", tmp / "x_education.yaml")
        seconds, report = timed(tmp / "x_education.yaml", tmp / "scaled_ws", source=src)
        n = report["tables"]["leads"]["rows_in"]
        print(f"scaled x{args.scale}: {n:,} leads (+{report['tables']['stages']['rows_out']:,} stage events) "
              f"in {seconds:.1f} s = {n / seconds:,.0f} source rows/s")


if __name__ == "__main__":
    main()
