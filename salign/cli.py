"""The ``salign`` command line."""
from __future__ import annotations

import argparse
import sys
import textwrap
import time

from salign import paths

#: exit codes (documented in README): 0 ok
EXIT_USAGE = 2          # bad arguments or parameters
EXIT_INVALID_INPUT = 3  # the workspace has problems; nothing was run or written
EXIT_RUN_FAILED = 4     # a notebook failed or publishing was refused; the previous report is intact


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="salign", formatter_class=fmt, description=textwrap.dedent("""\
        salign: one set of facts for sales and marketing.

        examples:
          salign review                                  # latest complete quarter of data/sample
          salign review --period 2026Q3 --workspace data/sample --out reports
          salign validate --workspace path/to/workspace
          salign sample --out /tmp/ws --leads 20000 --seed 7
        """))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("review", formatter_class=fmt, help="run the quarterly review and publish the HTML reports",
                       description=textwrap.dedent("""\
        Execute the four notebooks for one fiscal quarter and publish reports/<period>/
        (one page per notebook, an overview, metrics.json, lineage.json) and reports/index.html.
        A failed run leaves the previous report untouched and prints where the failed notebook is.

        examples:
          salign review --period 2026Q3 --workspace data/sample --out reports
          salign review --period previous     # the quarter before today, for cron
        """))
    r.add_argument("--workspace", default=str(paths.SAMPLE_WORKSPACE), help="workspace folder (default: data/sample)")
    r.add_argument("--period", default="latest",
                   help="fiscal quarter such as 2026Q3; 'latest' (default) = latest complete quarter in the data; "
                        "'previous' = the quarter before today")
    r.add_argument("--out", default=str(paths.REPORTS_DIR), help="reports folder (default: reports/)")
    r.add_argument("--jobs", type=int, default=2, help="notebooks run at once where independent (default: 2)")
    r.add_argument("--cell-timeout", type=float, default=600, help="seconds one cell may run (default: 600)")

    v = sub.add_parser("validate", formatter_class=fmt, help="check a workspace and list every problem",
                       description="Load a workspace with its declared formats and list every problem "
                                   "(file, line, column, value, rule).\n\nexample:\n  salign validate --workspace data/sample")
    v.add_argument("--workspace", default=str(paths.SAMPLE_WORKSPACE), help="workspace folder (default: data/sample)")

    s = sub.add_parser("sample", formatter_class=fmt, help="write a synthetic sample workspace with planted truth",
                       description="Write a complete, plausible B2B workspace and truth.json.\n\n"
                                   "example:\n  salign sample --out /tmp/ws --leads 20000 --seed 7")
    s.add_argument("--out", required=True, help="folder to write (created; existing files are replaced)")
    s.add_argument("--leads", type=int, default=20000, help="number of leads (default: 20000)")
    s.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from salign.params import ParameterError
    from salign.periods import PeriodError
    from salign.problems import WorkspaceError

    try:
        if args.command == "review":
            from salign.run import RunError, review

            t0 = time.perf_counter()
            try:
                review(args.workspace, args.period, args.out, jobs=args.jobs, cell_timeout=args.cell_timeout)
            except RunError as exc:
                print(f"salign review failed: {exc}", file=sys.stderr)
                return EXIT_RUN_FAILED
            print(f"finished in {time.perf_counter() - t0:.1f} s")
        elif args.command == "validate":
            from salign.workspace import load_workspace

            tables = load_workspace(args.workspace)
            print(f"ok: {tables!r}")
        elif args.command == "sample":
            from salign.sample import generate

            out = generate(paths.resolve(args.out), n_leads=args.leads, seed=args.seed)
            print(f"sample workspace written to {out}")
    except WorkspaceError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID_INPUT
    except (ParameterError, PeriodError) as exc:
        print(f"salign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
