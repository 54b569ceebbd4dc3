"""Monitoring the signed definition of a sales-ready lead (``definitions/qualification.yaml``) on a quarter's leads.

Without a signed definition there is nothing to monitor and the section says so.
"""
from __future__ import annotations

from salign.tables import MissingData

DEFINITION = "qualification.yaml"


def qualification_monitor(tables, period, cutoff=None):
    """Calibration of the signed definition's scores on the period's leads, and drift of its inputs.

    Raises
    ------
    MissingData
        The workspace has no ``definitions/qualification.yaml``, or salign cannot score with it yet.
    """
    path = tables.folder / "definitions" / DEFINITION
    if not path.is_file():
        raise MissingData(f"has no signed qualification definition (definitions/{DEFINITION}); monitoring starts "
                          "once marketing and sales have signed one (written by 03_qualification)")
    raise MissingData(f"has definitions/{DEFINITION}, but salign.qualify does not yet offer the public "
                      "load-definition and score functions this section needs (the package is being rebuilt)")
