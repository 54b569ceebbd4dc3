"""salign: one set of facts for sales and marketing.

The rooms of the package, bottom to top (each imports only from rooms below it; see README, Development):

>>> from salign.workspace import load_workspace
>>> tables = load_workspace("data/sample")                 # validated canonical tables
>>> from salign.runner.execute import review
>>> review(workspace="data/sample", out="reports")           # the whole quarterly run  # doctest: +SKIP
"""

from salign.core.version import __version__

__all__ = ["__version__"]
