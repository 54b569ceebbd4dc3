"""Time ``salign.sample.generate`` for a large sample (default 1,000,000 leads).

Usage: ``python benchmarks/bench_sample.py [n_leads]``; prints the seconds taken.
"""

import sys
import tempfile
import time

from salign.sample import generate


def main(n_leads=1_000_000):
    """Generate ``n_leads`` leads into a temporary folder and print the seconds taken.

    Parameters
    ----------
    n_leads : int
        Number of leads.
    """
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        generate(folder, n_leads, 7)
        print(f"generate({n_leads} leads): {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
