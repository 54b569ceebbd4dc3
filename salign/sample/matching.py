"""Rule evaluation for the generator, through salign's own rule interpreter (one implementation of the language)."""

import numpy as np

from salign.definitions.rules import evaluate


def rule_mask(rule, frame) -> np.ndarray:
    """Boolean array, one value per row of ``frame``: the rows that satisfy ``rule`` (a condition dict)."""
    return evaluate(rule, frame).to_numpy(bool)
