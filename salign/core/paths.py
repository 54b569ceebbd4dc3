"""Where things live: every path is derived from this file, never from the current directory.

The notebooks and templates ship inside the package (``salign/notebooks`` is a link to the
checkout's top-level ``notebooks/``; a wheel holds copies), so an installed salign finds them
wherever it is. The *project root* is the checkout when salign runs from one; an installed
package has none, and relative paths then mean what they mean at the shell: relative to the
current directory.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = PACKAGE_DIR / "notebooks"
TEMPLATES_DIR = PACKAGE_DIR / "report" / "templates"


def _checkout() -> Path | None:
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir() else None


#: the checkout salign runs from, or None for an installed package
CHECKOUT = _checkout()
#: what relative paths are relative to: the checkout, else the current directory (fixed at start-up)
PROJECT_ROOT = CHECKOUT or Path.cwd().resolve()
#: the embedded sample workspace (in a checkout; ``salign sample`` writes one anywhere)
SAMPLE_WORKSPACE = PROJECT_ROOT / "data" / "sample"
REPORTS_DIR = PROJECT_ROOT / "reports"


def resolve(path: str | Path) -> Path:
    """Resolve a user path: absolute as given, relative paths against the project root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (PROJECT_ROOT / p).resolve()
