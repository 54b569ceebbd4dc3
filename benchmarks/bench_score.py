"""Scoring throughput of a signed qualification definition at 1M leads, excluding file I/O.

Usage: .venv/bin/python benchmarks/bench_score.py [--leads 1000000] [--repeat 3] [--generate]

The definition is fitted on data/sample (the notebook's study). The 1M leads are the sample's
decision-time lead facts (attributes and activity counts) resampled with a fixed seed, written
to a CSV file and read back the way ``salign score`` reads a file (every value as Arrow-backed
text), so the timed call sees what the command sees. ``--generate``
scores a freshly generated 1M-lead workspace instead (``salign.sample.generate``, about 30 s
more). Timed: ``Scorer.score`` (bins, points, calibrated probability, band, disqualification
and minimum-information rules, top three reasons); not timed: reading and writing files.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from salign import qualify
from salign.common.facts import lead_facts
from salign.core import paths
from salign.scoring.files import read_leads
from salign.scoring.score import Scorer
from salign.workspace.load import load_workspace


def definition():
    """The definition notebook 03 writes for data/sample."""
    tables = load_workspace(paths.SAMPLE_WORKSPACE)
    data = qualify.prepare(tables)
    fit = qualify.fit_scorecard(data)
    comparison = qualify.compare_models(tables, data, fit)
    threshold = qualify.choose_threshold(tables, data, fit)
    criteria = qualify.find_criteria(tables, data)
    return qualify.build_definition(tables, data, fit, comparison, threshold, criteria)


def resampled(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` leads drawn from the sample's lead facts, as text read back from CSV."""
    facts = lead_facts(load_workspace(paths.SAMPLE_WORKSPACE))
    facts = facts[[c for c in facts.columns if not c.startswith("at_")]]
    rows = np.random.default_rng(seed).integers(0, len(facts), n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leads.csv"
        facts.iloc[rows].to_csv(path, index=False)
        return read_leads(path)


def generated(n: int) -> pd.DataFrame:
    """``n`` leads of a freshly generated workspace, with their decision-time activity counts."""
    from salign.sample import generate

    with tempfile.TemporaryDirectory() as tmp:
        return lead_facts(load_workspace(generate(tmp, n_leads=n, seed=11)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--generate", action="store_true", help="score a generated workspace instead of resampled leads")
    args = ap.parse_args()
    scorer = Scorer(definition())
    frame = generated(args.leads) if args.generate else resampled(args.leads)
    scorer.score(frame.head(1000))  # warm-up (first-call imports)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        scored = scorer.score(frame)
        times.append(time.perf_counter() - t0)
    best, median = min(times), statistics.median(times)
    d = scorer.definition
    print(f"scored {len(frame):,} leads ({len(d.scorecard.features)} features, {len(d.disqualify)} disqualification "
          f"rules, {len(d.minimum_information)} required fields; {'generated' if args.generate else 'resampled'}): "
          f"best {best:.2f} s = {len(frame) / best / 1e6:.2f} M leads/s, median {median:.2f} s = "
          f"{len(frame) / median / 1e6:.2f} M leads/s; {int(scored['qualified'].sum()):,} qualified")


if __name__ == "__main__":
    main()
