"""Where a report came from: data fingerprint, parameters, package versions, git revision."""
from __future__ import annotations

import platform
import subprocess
from importlib import metadata

from salign.core import paths

PACKAGES = ("salign", "pandas", "numpy", "scikit-learn", "matplotlib", "statsmodels", "lifelines", "papermill",
            "nbconvert", "pydantic", "pyarrow", "ibis-framework", "duckdb", "psycopg", "pyspark")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_revision() -> str:
    """The checkout's git commit (with ``+dirty`` if the tree has changes), or ``unknown`` (an installed package)."""
    if paths.CHECKOUT is None:
        return "unknown"
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.CHECKOUT, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=paths.CHECKOUT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def lineage(tables, period, parameters: dict, started: str, finished: str, durations: dict,
            snapshot: str = "", engine: dict | None = None) -> dict:
    """What ``lineage.json`` says; ``snapshot`` is the key of the typed snapshot the notebooks read the tables from
    (:mod:`salign.workspace.snapshot`: a digest of the table files, workspace.yaml and the reading code);
    ``engine``: per notebook, the engine that computed its event-level facts, what it read and how many results it
    sent back (:mod:`salign.workspace.engine`)."""
    return {
        "engine": engine or {},
        "workspace": {"name": tables.config.name, "path": str(tables.folder), "fingerprint": tables.fingerprint,
                      "as_of": tables.as_of.isoformat(), "snapshot": snapshot},
        "period": str(period), "parameters": parameters, "versions": versions(), "git_revision": git_revision(),
        "started": started, "finished": finished, "notebook_seconds": durations,
    }
