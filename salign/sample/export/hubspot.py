"""The sample workspace written as hubspot export files (to be built: issue 12)."""
from __future__ import annotations

from pathlib import Path


def write(workspace: Path, out: Path) -> None:
    """Write the canonical workspace ``workspace`` as hubspot export files into ``out``."""
    raise NotImplementedError("the hubspot export of the sample is not built yet")
