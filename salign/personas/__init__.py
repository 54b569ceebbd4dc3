"""Step 1: one common persona set, built from the best and worst customers.

The notebook ``01_personas`` calls, in order::

    value = customer_value(tables, best_share, worst_share)     # value.py: value from named components
    marks = markers(value, fdr, bins)                            # markers.py: lift, interval, BH per level
    combos = conjunctions(value, marks)                          # conjunctions.py: short AND rules
    segs = segments(value, marks, k_min, k_max, random_state)    # segments.py: k-means + silhouette + rules
    teams = team_personas(tables, value)                         # compare.py: both teams vs the data
    where = team_segments(teams, segs, coverage_threshold)       # compare.py: right / wrong / missed
    common = common_set(tables, value, segs, out_dir)            # common.py: personas.common.yaml
    mine = adopted_set(tables, value)                            # common.py: definitions/personas.common.yaml
    summary(value, marks, combos, segs, common)                  # summary.py: what the data says, the proposal
    team_summary(teams, where)                                   # summary.py: where the teams agree, disagree
"""
from salign.personas.common import AdoptedSet, CommonSet, adopted_set, common_set
from salign.personas.compare import (
           TeamPersonas,
           TeamSegments,
           team_personas,
           team_segments,
)
from salign.personas.conjunctions import Conjunctions, conjunctions
from salign.personas.markers import Markers, markers, markers_of
from salign.personas.profiles import customer_profiles
from salign.personas.segments import Segments, segments
from salign.personas.summary import Summary, summary, team_summary
from salign.personas.value import CustomerValue, customer_value

__all__ = ["AdoptedSet", "CommonSet", "Conjunctions", "CustomerValue", "Markers", "Segments", "Summary",
           "TeamPersonas", "TeamSegments", "adopted_set", "common_set", "conjunctions", "customer_profiles",
           "customer_value", "markers", "markers_of", "segments", "summary", "team_personas", "team_segments",
           "team_summary"]
