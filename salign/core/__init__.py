"""Errors that name a place, strict YAML, where the package keeps its files."""
