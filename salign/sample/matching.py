"""Rule evaluation for the generator, through salign's own rule interpreter (one implementation of the language).

The generator evaluates rules on up to millions of leads whose fields take few distinct
values, so each condition on one field is evaluated by the interpreter on that field's
distinct values only and spread back to the rows; ``all`` and ``any`` combine those as the
interpreter does (and, or).  :class:`RuleFrame` keeps the distinct values of each field for
the next rule on the same frame.
"""

import numpy as np
import pandas as pd

from salign.definitions.rules import Condition, evaluate


class RuleFrame:
    """A frame to evaluate many rules on.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with the fields the rules use (not changed while this object is used).
    """

    def __init__(self, frame):
        self.frame = frame
        self._distinct = {}

    def mask(self, rule) -> np.ndarray:
        """Boolean array, one value per row: the rows that satisfy ``rule`` (a condition or its dict)."""
        return self._mask(rule if isinstance(rule, Condition) else Condition.model_validate(rule))

    def _mask(self, condition):
        if condition.all is not None:
            return np.logical_and.reduce([self._mask(c) for c in condition.all])
        if condition.any is not None:
            return np.logical_or.reduce([self._mask(c) for c in condition.any])
        if condition.field not in self.frame.columns:
            return evaluate(condition, self.frame).to_numpy(bool)  # the interpreter's error naming the field
        if condition.field not in self._distinct:
            codes, _ = pd.factorize(self.frame[condition.field], use_na_sentinel=False)
            first = np.unique(codes, return_index=True)[1]
            self._distinct[condition.field] = (codes, self.frame[[condition.field]].iloc[first].reset_index(drop=True))
        codes, distinct = self._distinct[condition.field]
        return evaluate(condition, distinct).to_numpy(bool)[codes]


def rule_mask(rule, frame) -> np.ndarray:
    """Boolean array, one value per row of ``frame``: the rows that satisfy ``rule`` (a condition dict)."""
    return RuleFrame(frame).mask(rule)
