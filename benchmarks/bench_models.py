"""Holdout AUC of every qualification model, and the scorecard's gap to the best, on three workspaces.

Usage: .venv/bin/python benchmarks/bench_models.py [--only sample,x_education,maven] [--json FILE]

Workspaces: ``data/sample`` (synthetic, time-ordered holdout), X Education and Maven CRM imported
through ``data/mappings/*.yaml`` from ``../shared/data/real`` (skipped, with the reason, when the
real data are absent). Each is run as notebook 03 runs it (``qualify.prepare`` with its defaults,
``fit_scorecard``, ``compare_models``); the table prints every model's holdout AUC, the best model,
the scorecard's AUC minus the best one's with DeLong's paired 95% interval, and (``--verbose``)
which candidate features the scorecard leaves out and why.

Maven has no leads (only accounts and opportunities), so notebook 03 skips it. Its row is the same
study on deals instead: every closed opportunity is a case, success is "won", features are the
deal's fields known at engagement (product, sales agent, manager, office) and its account's
attributes, and the holdout is the newest quarter of deals by engage date (``split`` reads
``time/deals``). ``amount`` (known only once a deal closes) is left in to show the leakage check
excluding it.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from salign import qualify
from salign.core import paths
from salign.imports import import_mapping
from salign.qualify import leakage
from salign.qualify.dataset import Dataset
from salign.qualify.features import candidates
from salign.qualify.target import holdout_split
from salign.workspace.load import load_workspace
from salign.workspace.tables import MissingData

MAPPINGS = {"x_education": paths.PROJECT_ROOT / "data" / "mappings" / "x_education.yaml",
            "maven": paths.PROJECT_ROOT / "data" / "mappings" / "maven_crm.yaml"}
REAL = paths.PROJECT_ROOT.parent / "shared" / "data" / "real"
MODELS = ("scorecard", "gradient_boosting", "logistic_regression", "naive_bayes")


def workspace(name: str, tmp: Path):
    """Tables of a benchmark workspace (imports the real data into ``tmp``)."""
    if name == "sample":
        return load_workspace(paths.SAMPLE_WORKSPACE)
    if not REAL.is_dir():
        raise FileNotFoundError(f"no real data at {REAL}")
    folder = tmp / name
    import_mapping(MAPPINGS[name], folder)
    return load_workspace(folder)


class NoRules:
    """The deals study has no team rules to measure."""

    def definition(self, name):
        raise MissingData(name)


def deals(tables) -> Dataset:
    """Closed opportunities as the cases of a qualification study (for a workspace without leads)."""
    o = tables.opportunities
    o = o[o["outcome"].isin(["won", "lost"])].sort_values(["created_at", "opportunity_id"], kind="stable")
    accounts = tables.accounts.drop(columns=["name", "created_at"], errors="ignore")
    facts = o.merge(accounts, on="account_id", how="left", suffixes=("", "_account")).reset_index(drop=True)
    facts = facts.drop(columns=["opportunity_id", "stage", "outcome", "closed_at"]).assign(
        lead_id=o["opportunity_id"].to_numpy(), decided_at=facts["created_at"], y=(o["outcome"] == "won").to_numpy(int))
    cands = candidates(facts)
    y = facts["y"].to_numpy()
    split = holdout_split(facts["created_at"], y, 0.25, 0)
    report = leakage.check(cands, y, split.train, facts["decided_at"], ())
    return Dataset(facts, cands, report, split, "won", 0, tables.fingerprint, tables.as_of, 0)


def study(name: str, tmp: Path) -> dict:
    """One workspace's holdout figures."""
    t0 = time.perf_counter()
    tables = workspace(name, tmp)
    if tables.leads is None and tables.opportunities is not None:
        data, split = deals(tables), "time/deals"
        tables = NoRules()
    else:
        data = qualify.prepare(tables)
        split = data.split.kind
    fit = qualify.fit_scorecard(data)
    comparison = qualify.compare_models(tables, data, fit)
    d, lo, hi = comparison.scorecard_gap
    unused = getattr(fit, "unused", None) or {}
    return {"workspace": name, "split": split, "n_holdout": int(data.test.sum()),
            "auc": {m.key: round(m.auc.value, 4) for m in comparison.models}, "best": comparison.best.key,
            "gap": round(d, 4), "gap_ci": [round(lo, 4), round(hi, 4)], "card_features": fit.card.fields,
            "unused": dict(unused), "leaking": sorted(data.leakage.excluded), "not_features": data.cands.dropped,
            "points_from": getattr(fit, "points_from", "logistic regression"),
            "min_level": getattr(fit, "min_level", None), "seconds": round(time.perf_counter() - t0, 1)}


def table(rows: list[dict]) -> str:
    head = f"{'workspace':<12} {'split':<10} {'holdout':>7} " + " ".join(f"{m[:12]:>12}" for m in MODELS) + \
        f" {'best':>12} {'card-best (95% CI)':>26}"
    lines = [head, "-" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['workspace']:<12} skipped: {r['error']}")
            continue
        aucs = " ".join(f"{r['auc'].get(m, float('nan')):>12.4f}" for m in MODELS)
        gap = f"{r['gap']:+.4f} ({r['gap_ci'][0]:+.3f} to {r['gap_ci'][1]:+.3f})"
        lines.append(f"{r['workspace']:<12} {r['split']:<10} {r['n_holdout']:>7} {aucs} {r['best'][:12]:>12} {gap:>26}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="sample,x_education,maven", help="comma-separated workspaces")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--verbose", action="store_true", help="also list each workspace's features left off the card")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in [n.strip() for n in args.only.split(",") if n.strip()]:
            try:
                rows.append(study(name, Path(tmp)))
            except Exception as exc:  # a workspace the study cannot run on is reported, not fatal
                rows.append({"workspace": name, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"})
    print(table(rows))
    if args.verbose:
        for r in rows:
            if "error" in r:
                continue
            print(f"{r['workspace']}: points from {r['points_from']}, category values need {r['min_level']} leads; "
                  f"leakage check excluded {', '.join(r['leaking']) or 'nothing'}")
            for field, why in r["not_features"].items():
                print(f"  not a feature: {field}: {why}")
            for field, why in (r.get("unused") or {}).items():
                print(f"  not on the card: {field}: {why}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
