"""The three ways in: a mapping file, a Salesforce export, a HubSpot export; each writes a workspace."""
from __future__ import annotations

from pathlib import Path

from salign.core import paths
from salign.core.problems import Problem, WorkspaceError
from salign.imports import hubspot, salesforce
from salign.imports.mapping import apply
from salign.imports.write import write_workspace


def import_mapping(mapping: str | Path, out: str | Path, source: str | Path | None = None, name: str | None = None):
    """Apply a mapping file and write the workspace ``out``; return ``(tables, report)``.

    Relative source paths resolve against the mapping file's folder (or ``source``);
    relative ``mapping``/``out`` paths resolve against the project root, as everywhere in salign.
    """
    return _reported(lambda: apply(paths.resolve(mapping), None if source is None else paths.resolve(source)),
                     paths.resolve(out), name)


def import_salesforce(folder: str | Path, out: str | Path, settings: str | Path | None = None,
                      name: str | None = None):
    """Import Salesforce exports (see :mod:`salign.imports.salesforce`); return ``(tables, report)``."""
    return _import_vendor(salesforce, folder, out, settings, name)


def import_hubspot(folder: str | Path, out: str | Path, settings: str | Path | None = None, name: str | None = None):
    """Import HubSpot exports (see :mod:`salign.imports.hubspot`); return ``(tables, report)``."""
    return _import_vendor(hubspot, folder, out, settings, name)


def _import_vendor(vendor, folder, out, settings, name):

    settings = vendor.load_settings(None if settings is None else paths.resolve(settings))
    tables, report = _reported(lambda: vendor.apply(paths.resolve(folder), settings), paths.resolve(out), name)
    return tables, report


def _reported(build, out: Path, name):
    """Build and write; a failed import still writes its report where it can (see
    :meth:`~salign.imports.report.ImportReport.write_failed`) and says where, never harming a previous workspace."""
    built = None
    try:
        built = build()
        return write_workspace(built, out, name), built.report
    except WorkspaceError as exc:
        report = built.report if built is not None else getattr(exc, "report", None)
        if report is None:  # the mapping or settings file itself is wrong: nothing was read yet
            raise
        stage = f"{out.parent}/.{out.name}.importing-"
        problems = [Problem(str(out / p.file[len(stage):].split("/", 1)[-1]), p.rule, "in the workspace the import "
                            f"built: {p.message}", p.column, p.line, p.value) if p.file.startswith(stage) else p
                    for p in exc.problems]
        where = report.write_failed(out, problems)
        what = str(report.source) + (f" (the failed import's report: {where})" if where else "")
        raise WorkspaceError(problems, what) from None
