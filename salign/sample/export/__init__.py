"""The sample written as a vendor's export files, for a round trip through ``salign import``.

``export_sample(vendor, out)`` generates the sample workspace (same ``n_leads``/``seed`` as
``salign sample``) in a temporary folder and writes it as that vendor's exports into ``out``;
``export(vendor, workspace, out)`` does the same from an existing workspace folder.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from salign.sample import generate
from salign.sample.export import hubspot, salesforce


def export(vendor: str, workspace: str | Path, out: str | Path) -> Path:
    """Write the workspace ``workspace`` as ``vendor``'s export files into ``out``; return ``out``."""
    writers = {"salesforce": salesforce, "hubspot": hubspot}
    if vendor not in writers:
        raise ValueError(f"unknown vendor {vendor!r}; one of {', '.join(writers)}")
    writer = writers[vendor]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    writer.write(Path(workspace), out)
    return out


def export_sample(vendor: str, out: str | Path, n_leads: int = 20000, seed: int = 7) -> Path:
    """Generate the sample and write it as ``vendor``'s export files into ``out``; return ``out``."""
    with tempfile.TemporaryDirectory(prefix="salign-sample-") as tmp:
        workspace = generate(Path(tmp) / "sample", n_leads=n_leads, seed=seed)
        return export(vendor, workspace, out)
