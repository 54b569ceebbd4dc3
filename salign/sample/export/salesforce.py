"""The sample workspace written as salesforce export files (to be built: issue 12)."""
from __future__ import annotations

from pathlib import Path


def write(workspace: Path, out: Path) -> None:
    """Write the canonical workspace ``workspace`` as salesforce export files into ``out``."""
    raise NotImplementedError("the salesforce export of the sample is not built yet")
