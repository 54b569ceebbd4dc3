"""Running the workbook: parameters, the notebook context, papermill execution, kernels, lock, lineage.

>>> from salign.runner import review
>>> review(workspace="data/sample", out="reports")   # doctest: +SKIP
"""
from salign.runner.execute import review

__all__ = ["review"]
