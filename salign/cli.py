"""The ``salign`` command line.

The only module that imports salign inside functions: it defers each command's imports (pandas,
papermill, scikit-learn ...) into the branch that runs it, so that ``salign --help`` and a usage
error answer at once. Everything else imports at the top (tests/test_layers.py checks).
"""
from __future__ import annotations

import argparse
import signal
import sys
import textwrap
import time
from pathlib import Path

from salign.core import paths

#: exit codes (documented in README): 0 ok
EXIT_USAGE = 2          # bad arguments or parameters
EXIT_INVALID_INPUT = 3  # the workspace has problems; nothing was run or written
EXIT_RUN_FAILED = 4     # a notebook failed or publishing was refused; the previous report is intact
EXIT_LOCKED = 5         # another review holds the lock of the reports folder; nothing was done
EXIT_TIMEOUT = 6        # a cell or the whole run took too long; its kernels were killed; the previous report is intact
# 128 + signal number (130 SIGINT, 143 SIGTERM): stopped; kernels killed; the previous report is intact


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="salign", formatter_class=fmt, description=textwrap.dedent("""\
        salign: one set of facts for sales and marketing.

        examples:
          salign review                                  # latest complete quarter of data/sample
          salign review --period 2026Q3 --workspace data/sample --out reports
          salign validate --workspace path/to/workspace
          salign sample --out /tmp/ws --leads 20000 --seed 7
          salign import --mapping data/mappings/maven_crm.yaml --out build/maven
          salign score --definition reports/2026Q3/qualification.yaml --leads new_leads.csv --out scored.csv
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
    r.add_argument("--force", action="store_true",
                   help="publish into a non-empty --out folder that holds no salign report yet")
    r.add_argument("--jobs", type=int, default=2, help="notebooks run at once where independent (default: 2)")
    r.add_argument("--engine", choices=ENGINES, default="",
                   help="where the event-level facts (stage entries, activity counts) are computed: duckdb (in "
                        "process), postgres (the workspace's own database) or spark (SALIGN_SPARK_MASTER, else "
                        "local); default: engine in workspace.yaml, else postgres for a workspace whose event "
                        "tables are in its database, else duckdb")
    r.add_argument("--cell-timeout", type=float, default=600, help="seconds one cell may run; 0: no limit (default: 600)")
    r.add_argument("--timeout", type=float, default=3600,
                   help="seconds the whole run may take; then every kernel is killed; 0: no limit (default: 3600)")

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
    s.add_argument("--events-per-lead", type=float, metavar="K",
                   help="mean stage events plus activities per lead, at least 4.5 (default: the sample as it is, "
                        "about 4); engagement after each lead's qualification window makes up the rest, "
                        "e.g. --leads 1000000 --events-per-lead 10")
    s.add_argument("--export", choices=("salesforce", "hubspot"),
                   help="write the sample as that vendor's export files into --out instead of a workspace "
                        "(for a round trip through salign import)")

    i = sub.add_parser("import", formatter_class=fmt, help="turn CRM exports into a workspace (with an import report)",
                       description=textwrap.dedent("""\
        Read CRM exports with their declared formats and write a canonical workspace with
        import_report.json (rows in, loaded, quarantined, dropped, repairs) and quarantine.csv
        (every quarantined source row with its reason). Exit code 3 when the input cannot be read
        as declared; every problem is listed with file, line, column, value and rule.
          salesforce DIR   one CSV per object (Lead.csv, Account.csv, Opportunity.csv, LeadHistory.csv ...)
          hubspot DIR      contacts.csv, companies.csv, deals.csv
          --mapping FILE   any CSV/Parquet files, described by a mapping file
        Relative paths resolve against the project root; a mapping's own source paths resolve
        against the mapping file's folder (or --source). See docs/bring-your-own-data.md.

        examples:
          salign import --mapping data/mappings/maven_crm.yaml --out build/maven
          salign import --mapping my_crm.yaml --source /exports/2026-10 --out build/my_crm
          salign import salesforce /exports/sfdc --settings sfdc.yaml --out build/sfdc
          salign import hubspot /exports/hubspot --out build/hubspot
        """))
    i.add_argument("kind", nargs="?", choices=("salesforce", "hubspot"), help="a vendor export folder (or use --mapping)")
    i.add_argument("folder", nargs="?", help="the folder of the vendor's export files")
    i.add_argument("--mapping", help="mapping file (YAML) describing the source files")
    i.add_argument("--source", help="with --mapping: folder of the source files (default: the mapping's 'source', "
                                    "relative to the mapping file)")
    i.add_argument("--settings", help="with salesforce/hubspot: YAML declaring formats, time zone, currency and "
                                      "stage names (default: the vendor's standard values)")
    i.add_argument("--out", required=True, help="workspace folder to write (a previous import there is replaced; "
                                               "its definitions/ are kept)")
    i.add_argument("--name", help="workspace name (default: from the mapping or settings)")

    sc = sub.add_parser("score", formatter_class=fmt, help="score leads with a signed qualification.yaml",
                        description=textwrap.dedent("""\
        Add score, probability, band (sales-ready, nurture, low, incomplete, disqualified), qualified
        (yes/no) and the top three reasons to every lead of a CSV or Parquet file. The definition file
        is the model (strictly validated; exit code 3 lists its problems with file and line). Columns
        are matched by name (activity counts as n_<type>); a field the file lacks counts as missing.
        A file from which most of the scorecard's columns cannot be read (absent, empty, no number
        where numbers belong: often a file saved with semicolons) is refused with exit code 3 naming
        the columns, unless --allow-missing is given; a column named twice is refused.
        The leads file is never modified; the output is written to a new file atomically.

        examples:
          salign score --definition reports/2026Q3/qualification.yaml --leads new_leads.csv --out scored.csv
          salign score --definition data/sample/definitions/qualification.yaml --leads leads.parquet --out s.parquet
        """))
    sc.add_argument("--definition", required=True, help="the signed definition (qualification.yaml)")
    sc.add_argument("--leads", required=True, help="leads to score: CSV (UTF-8, comma-separated) or Parquet")
    sc.add_argument("--out", required=True, help="file to write: the leads plus the score columns (.csv or .parquet)")
    sc.add_argument("--allow-missing", action="store_true",
                    help="score even when most of the scorecard's columns are absent or empty (they count as missing)")
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt(signum)


#: what marks a folder as a salign reports folder (besides period folders such as 2026Q3)
REPORT_MARKS = ("index.html", ".salign-review.lock")
PERIOD_FOLDERS = "[12][0-9][0-9][0-9]Q[1-4]"
#: a note about the folder (the checkout's reports/README.md) does not make it somebody else's folder
KEEP_NOTES = ("README.md", "README")
#: the choices of ``salign review --engine`` (salign.workspace.config.ENGINES, written out: ``--help`` imports nothing)
ENGINES = ("duckdb", "postgres", "spark")
PATH_ARGS = ("workspace", "out", "mapping", "source", "settings", "definition", "folder")


def _absolute(args: argparse.Namespace) -> argparse.Namespace:
    """Paths typed at a shell are relative to the current directory (defaults are already absolute)."""
    names = PATH_ARGS + (("leads",) if args.command == "score" else ())
    for name in names:
        value = getattr(args, name, None)
        if isinstance(value, str):
            setattr(args, name, str(Path(value).expanduser().resolve()))
    return args


def _bad_out(args: argparse.Namespace) -> str | None:
    """Why ``--out`` cannot be written, or ``None``: a file where a folder is meant (or a folder for ``score``);
    for ``review``, a folder whose files a run would mix with its own and whose stale staging it would clean up."""
    out = Path(args.out)
    if args.command == "score":
        return f"--out {out} is a folder; give the file to write (.csv or .parquet)" if out.is_dir() else None
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file; give a folder"
    if out == Path(out.anchor) or out == Path.home().resolve():
        return f"--out {out} is the {'root' if out == Path(out.anchor) else 'home'} folder; give a folder of its own"
    if args.command != "review":
        return None
    workspace = Path(args.workspace)
    if out.is_relative_to(workspace):
        where = "is the workspace" if out == workspace else f"is inside the workspace {workspace}"
        return f"--out {out} {where}; give a reports folder outside it"
    if out.is_dir() and any(p.name not in KEEP_NOTES for p in out.iterdir()) and not args.force and not (
            any((out / name).exists() for name in REPORT_MARKS) or any(out.glob(PERIOD_FOLDERS))):
        return (f"--out {out} holds files but no salign report (no index.html, period folder or "
                f"{REPORT_MARKS[-1]}); give an empty or a reports folder, or add --force to publish there anyway")
    return None


def main(argv: list[str] | None = None) -> int:
    args = _absolute(_parser().parse_args(argv))
    if args.command in ("review", "import", "sample", "score") and (problem := _bad_out(args)):
        print(f"salign {args.command}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from salign.common.periods import PeriodError
    from salign.core.problems import WorkspaceError
    from salign.runner.params import ParameterError

    try:
        if args.command == "review":
            from salign.runner.execute import RunError, RunLocked, RunTimeout, StoppedAfterPublish, review

            t0 = time.perf_counter()
            previous = signal.signal(signal.SIGTERM, _interrupt)  # cron/systemd stop: clean up like Ctrl-C
            try:
                review(args.workspace, args.period, args.out, jobs=args.jobs, cell_timeout=args.cell_timeout,
                       timeout=args.timeout, engine=args.engine)
            except RunLocked as exc:
                print(f"salign review: {exc}", file=sys.stderr)
                return EXIT_LOCKED
            except RunTimeout as exc:
                print(f"salign review timed out: {exc}", file=sys.stderr)
                return EXIT_TIMEOUT
            except RunError as exc:
                print(f"salign review failed: {exc}", file=sys.stderr)
                return EXIT_RUN_FAILED
            except KeyboardInterrupt as exc:
                signum = exc.args[0] if exc.args else signal.SIGINT
                outcome = ("the new report and the index of all periods had been published" if isinstance(
                    exc, StoppedAfterPublish) else "its kernels were killed and the previous report is unchanged")
                print(f"salign review stopped by {signal.Signals(signum).name}; {outcome}", file=sys.stderr)
                return 128 + signum
            finally:
                signal.signal(signal.SIGTERM, previous)
            print(f"finished in {time.perf_counter() - t0:.1f} s")
        elif args.command == "validate":
            from salign.workspace.load import load_workspace

            tables = load_workspace(args.workspace)
            for warning in tables.warnings:
                print(f"warning: {warning}")
            n = len(tables.warnings)
            print(f"ok: {tables!r}" + (f" ({n} warning{'s' if n != 1 else ''} above)" if n else ""))
        elif args.command == "sample":
            from salign.sample import events_per_lead_problem, generate

            if args.events_per_lead is not None and (problem := events_per_lead_problem(args.events_per_lead)):
                print(f"salign sample: {problem}", file=sys.stderr)
                return EXIT_USAGE
            if args.export and args.events_per_lead is not None:
                print("salign sample: --events-per-lead applies to a workspace, not to --export", file=sys.stderr)
                return EXIT_USAGE
            if args.export:
                from salign.sample.export import export_sample

                out = export_sample(args.export, paths.resolve(args.out), n_leads=args.leads, seed=args.seed)
                print(f"{args.export} export of the sample written to {out}")
            else:
                out = generate(paths.resolve(args.out), n_leads=args.leads, seed=args.seed,
                               events_per_lead=args.events_per_lead)
                print(f"sample workspace written to {out}")
        elif args.command == "import":
            from salign import imports

            if (args.kind is None) == (args.mapping is None) or (args.kind is not None and args.folder is None):
                print("salign import: give either 'salesforce DIR', 'hubspot DIR' or --mapping FILE", file=sys.stderr)
                return EXIT_USAGE
            if args.mapping is not None:
                tables, report = imports.import_mapping(args.mapping, args.out, source=args.source, name=args.name)
            else:
                run = imports.import_salesforce if args.kind == "salesforce" else imports.import_hubspot
                tables, report = run(args.folder, args.out, settings=args.settings, name=args.name)
            print(report.text())
            print(f"workspace written to {tables.folder}: {tables!r}")
        elif args.command == "score":
            from salign.scoring.files import score_file

            out = paths.resolve(args.out)
            try:
                scored, notes = score_file(paths.resolve(args.definition), paths.resolve(args.leads), out,
                                           allow_missing=args.allow_missing)
            except ValueError as exc:
                print(f"salign score: {exc}", file=sys.stderr)
                return EXIT_USAGE
            for note in notes:
                print(f"note: {note}", file=sys.stderr)
            bands = scored["band"].value_counts()
            print(f"{len(scored):,} leads scored, {int((scored['qualified'] == 'yes').sum()):,} qualified ("
                  + ", ".join(f"{b} {n:,}" for b, n in bands.items()) + f"); written to {out}")
    except WorkspaceError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID_INPUT
    except (ParameterError, PeriodError) as exc:
        print(f"salign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
