"""salign: one set of facts for sales and marketing.

The public API is small:

>>> import salign
>>> tables = salign.load_workspace("data/sample")      # validated canonical tables
>>> salign.review(workspace="data/sample", out="reports")  # the whole quarterly run
"""
from salign.problems import Problem, WorkspaceError
from salign.workspace import load_workspace
from salign.tables import Tables

__version__ = "0.1.0"


def review(*args, **kwargs):
    """Run the quarterly review; see :func:`salign.run.review`."""
    from salign.run import review as _review

    return _review(*args, **kwargs)


__all__ = ["Problem", "WorkspaceError", "Tables", "load_workspace", "review", "__version__"]
