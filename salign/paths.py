"""Where things live: every path is derived from this file, never from the current directory."""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
SAMPLE_WORKSPACE = PROJECT_ROOT / "data" / "sample"
REPORTS_DIR = PROJECT_ROOT / "reports"
TEMPLATES_DIR = PACKAGE_DIR / "templates"


def resolve(path: str | Path) -> Path:
    """Resolve a user path: absolute as given, relative paths against the project root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (PROJECT_ROOT / p).resolve()
