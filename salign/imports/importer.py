"""The three ways in: a mapping file, a Salesforce export, a HubSpot export; each writes a workspace."""
from __future__ import annotations

from pathlib import Path

from salign.core import paths
from salign.imports import hubspot, salesforce
from salign.imports.mapping import apply
from salign.imports.write import write_workspace


def import_mapping(mapping: str | Path, out: str | Path, source: str | Path | None = None, name: str | None = None):
    """Apply a mapping file and write the workspace ``out``; return ``(tables, report)``.

    Relative source paths resolve against the mapping file's folder (or ``source``);
    relative ``mapping``/``out`` paths resolve against the project root, as everywhere in salign.
    """
    built = apply(paths.resolve(mapping), None if source is None else paths.resolve(source))
    tables = write_workspace(built, paths.resolve(out), name)
    return tables, built.report


def import_salesforce(folder: str | Path, out: str | Path, settings: str | Path | None = None,
                      name: str | None = None):
    """Import Salesforce exports (see :mod:`salign.imports.salesforce`); return ``(tables, report)``."""
    return _import_vendor(salesforce, folder, out, settings, name)


def import_hubspot(folder: str | Path, out: str | Path, settings: str | Path | None = None, name: str | None = None):
    """Import HubSpot exports (see :mod:`salign.imports.hubspot`); return ``(tables, report)``."""
    return _import_vendor(hubspot, folder, out, settings, name)


def _import_vendor(vendor, folder, out, settings, name):

    built = vendor.apply(paths.resolve(folder), vendor.load_settings(None if settings is None else paths.resolve(settings)))
    return write_workspace(built, paths.resolve(out), name), built.report
