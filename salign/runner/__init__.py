"""Running the workbook: parameters, the notebook context, papermill execution, kernels, lock, lineage.

>>> from salign.runner.execute import review
>>> review(workspace="data/sample", out="reports")   # doctest: +SKIP

Nothing is imported here: a notebook's kernel imports ``salign.runner.notebook`` alone, without papermill.
"""
