"""Step 3: what really identifies a sales-ready lead, as a formal, signable definition.

The study, section by section (each a function the notebook calls)::

    data = prepare(tables, outcome="sql", window_days=90)   # outcome, features, holdout, leakage check
    rules = team_rules(tables, data)                         # each team's current rule measured
    fit = fit_scorecard(data)                                # the signable scorecard
    check = against_personas(data, fit, markers_of, tables)  # points rewarding a warning sign of the personas page
    comparison = compare_models(tables, data, fit)           # challengers and rules on the same holdout
    factors = top_factors(data, fit)
    threshold = choose_threshold(tables, data, fit)          # from sla.yaml (else a stated default)
    criteria = find_criteria(tables, data)                   # minimum information, disqualification
    signoff = write_definition(tables, data, fit, comparison, threshold, criteria, out_dir)

Scoring with a signed definition (``salign score``; the quarterly review monitors a signed
definition the same way)::

    from salign.definitions.qualification import load_definition
    from salign.scoring import score_leads
    scored = score_leads(load_definition("definitions/qualification.yaml"), leads)

The model of ``qualification.yaml`` itself lives in :mod:`salign.definitions.qualification`.
"""
from salign.qualify.compare import compare_models
from salign.qualify.criteria import find_criteria
from salign.qualify.crosscheck import against_personas
from salign.qualify.dataset import Dataset, leakage_report, prepare
from salign.qualify.factors import top_factors
from salign.qualify.scorecard import fit_scorecard
from salign.qualify.signoff import build_definition, write_definition
from salign.qualify.target import holdout_split, outcomes
from salign.qualify.teams import team_rules
from salign.qualify.threshold import choose_threshold

__all__ = ["Dataset", "against_personas", "build_definition", "choose_threshold", "compare_models", "fit_scorecard",
           "find_criteria", "holdout_split", "leakage_report", "outcomes", "prepare", "team_rules",
           "top_factors", "write_definition"]
