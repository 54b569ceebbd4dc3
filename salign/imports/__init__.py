"""Bring your own CRM: importers that turn foreign exports into a canonical workspace.

>>> from salign.imports import import_mapping
>>> tables = import_mapping("data/mappings/maven_crm.yaml", out="/tmp/maven")   # doctest: +SKIP

Every import writes ``import_report.json`` (rows in, loaded, quarantined, dropped
with reasons, repairs with counts) and ``quarantine.csv`` (one row per quarantined
source row, with the reason and the original record) into the workspace.
"""
from salign.imports.importer import import_hubspot, import_mapping, import_salesforce

__all__ = ["import_hubspot", "import_mapping", "import_salesforce"]
