"""Shared by every step: statistics, fiscal periods, per-lead facts, figures, results."""
