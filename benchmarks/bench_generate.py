"""Time ``salign.sample.generate`` at scale: by default 1,000,000 leads with 10 events per lead.

Usage: ``python benchmarks/bench_generate.py [n_leads] [events_per_lead]`` (``0`` as
events_per_lead: the sample as it is, about 4 per lead).  Prints the wall and CPU seconds,
the peak memory of the process, the rows written and the load average of the machine
(on a shared, loaded machine wall time is CPU time stretched by the load).
"""

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from salign.sample import generate


def main(n_leads=1_000_000, events_per_lead=10.0):
    """Generate the sample into a temporary folder and print what it cost.

    Parameters
    ----------
    n_leads : int
        Number of leads.
    events_per_lead : float
        Mean stage events plus activities per lead; 0 for the sample as it is.
    """
    with tempfile.TemporaryDirectory(prefix="salign-bench-generate-") as folder:
        wall, cpu = time.perf_counter(), time.process_time()
        generate(folder, n_leads, 7, events_per_lead=events_per_lead or None)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows = {name: sum(1 for _ in open(Path(folder) / f"{name}.csv", "rb")) - 1 for name in ("stages", "activities")}
        size = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    events = rows["stages"] + rows["activities"]
    print(f"generate({n_leads:,} leads, events_per_lead={events_per_lead or 'default'}): "
          f"{events:,} events ({rows['stages']:,} stage events, {rows['activities']:,} activities, "
          f"{events / n_leads:.2f} per lead), {size / 1e6:,.0f} MB written")
    print(f"wall {wall:.1f} s, cpu {cpu:.1f} s, peak memory {peak:,.0f} MB, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000, float(sys.argv[2]) if len(sys.argv) > 2 else 10.0)
