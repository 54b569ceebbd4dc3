"""A leads-and-stages-only workspace derived from data/sample: the funnel is lead -> mql -> won.

It is what a CRM export often looks like: no activities, opportunities, accounts or content, and a stage
history that records only when a lead was created, became an MQL and was won (no SAL, SQL or opportunity
events, no exits). Built by filtering the sample's files, so its expected figures can be computed from the
sample's CSVs with plain pandas, independently of salign.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

from salign.core import paths

#: the stages this workspace records
KEPT = ("lead", "mql", "won")

WORKSPACE_YAML = """\
name: Leads and stages only (derived from the sample)
timezone: Europe/Berlin
fiscal_year_start_month: 1
currency: EUR
as_of: "2026-10-01"
tables:
  leads: leads.csv
  stages: stages.csv
"""


def build(folder: Path, kept: tuple[str, ...] = KEPT, extra_yaml: str = "", sla: bool = True) -> Path:
    """Write the workspace into ``folder`` (created) and return it.

    ``kept`` are the stage events kept from the sample's history; ``extra_yaml`` is appended to
    workspace.yaml (e.g. ``outcome: won``); ``sla`` copies the sample's definitions/sla.yaml (the
    commitments a threshold is chosen from), the only definition kept.
    """
    src = paths.SAMPLE_WORKSPACE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workspace.yaml").write_text(WORKSPACE_YAML + extra_yaml, encoding="utf-8")
    shutil.copyfile(src / "leads.csv", folder / "leads.csv")
    with open(src / "stages.csv", newline="", encoding="utf-8") as f_in, \
            open(folder / "stages.csv", "w", newline="", encoding="utf-8") as f_out:
        reader = csv.reader(f_in)
        writer = csv.writer(f_out, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        stage = header.index("stage")
        writer.writerows(row for row in reader if row[stage] in kept)
    if sla:
        (folder / "definitions").mkdir(exist_ok=True)
        shutil.copyfile(src / "definitions" / "sla.yaml", folder / "definitions" / "sla.yaml")
    return folder
