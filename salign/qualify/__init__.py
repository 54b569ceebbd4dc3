"""Step 3: what really identifies a sales-ready lead, as a formal, signable definition.

The study, section by section (each a function the notebook calls)::

    data = prepare(tables, outcome="sql", window_days=90)   # outcome, features, holdout, leakage check
    rules = team_rules(tables, data)                         # each team's current rule measured
    fit = fit_scorecard(data)                                # the signable scorecard
    comparison = compare_models(tables, data, fit)           # challengers and rules on the same holdout
    factors = top_factors(data, fit)
    threshold = choose_threshold(tables, data, fit)          # from sla.yaml
    criteria = find_criteria(tables, data)                   # minimum information, disqualification
    signoff = write_definition(tables, data, fit, comparison, threshold, criteria, out_dir)

Scoring with a signed definition (``salign score``; the quarterly review monitors a signed
definition the same way)::

    from salign import qualify
    definition = qualify.load_definition("definitions/qualification.yaml")
    scored = qualify.score_leads(definition, leads)   # score, probability, band, qualified, reason_1..3

Submodules load on first use, so importing the package (or validating a workspace, which
reads ``qualification.yaml``) does not import scikit-learn.
"""
from __future__ import annotations

import importlib

#: public name -> submodule that defines it
_API = {
    "prepare": "dataset", "leakage_report": "dataset", "Dataset": "dataset",
    "outcomes": "target", "holdout_split": "target",
    "team_rules": "teams", "fit_scorecard": "scorecard", "compare_models": "compare", "top_factors": "factors",
    "choose_threshold": "threshold", "find_criteria": "criteria",
    "build_definition": "signoff", "write_definition": "signoff",
    "QualificationDefinition": "definition", "load_definition": "definition",
    "score_leads": "score", "Scorer": "score", "BANDS": "score",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(f"salign.qualify.{_API[name]}"), name)
    raise AttributeError(f"module 'salign.qualify' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
