"""A workspace: formats and configuration, the canonical schema, readers, checks, loading, Tables.

>>> from salign.workspace import load_workspace
>>> tables = load_workspace("data/sample")
"""
from salign.workspace.load import load_workspace
from salign.workspace.tables import MissingData, Tables

__all__ = ["MissingData", "Tables", "load_workspace"]
