"""House style for every figure: fixed size and dpi, one palette, no ``plt.show()``.

Each report figure comes from one function that returns a matplotlib ``Figure``
built with :func:`figure`.
"""
from __future__ import annotations

import matplotlib
from matplotlib.figure import Figure

DPI = 100
SIZE = (8.0, 4.2)
#: marketing, sales, common/neutral, good, bad, muted
COLORS = {"marketing": "#2f6db5", "sales": "#d9822b", "common": "#4c9a6a", "good": "#2e8b57",
          "bad": "#c0392b", "muted": "#9aa5b1", "ink": "#1f2933"}
CYCLE = ["#2f6db5", "#d9822b", "#4c9a6a", "#8e5ea2", "#c0392b", "#3b9ab2", "#9aa5b1", "#e0b400"]

STYLE = {
    "font.size": 10, "axes.titlesize": 12, "axes.titleweight": "bold", "axes.labelsize": 10,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25,
    "axes.prop_cycle": matplotlib.cycler(color=CYCLE), "legend.frameon": False,
    "figure.dpi": DPI, "savefig.dpi": DPI, "figure.autolayout": False,
    "svg.hashsalt": "salign", "pdf.fonttype": 42,
}


def figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = SIZE, **kwargs):
    """A new Figure in house style (not registered with pyplot, so nothing leaks between cells).

    Returns ``(fig, axes)`` like ``plt.subplots``.
    """
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=size, dpi=DPI, layout="constrained")
        axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes


def percent_axis(ax, axis: str = "y") -> None:
    """Format an axis holding fractions as percentages."""
    from matplotlib.ticker import PercentFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def rate_error(table):
    """Error-bar extents ``[below, above]`` of rates with their 95% intervals.

    ``table`` has columns ``rate``, ``ci_low`` and ``ci_high`` (as from :func:`salign.common.stats.rates`);
    a rate of 0/0 gets no bar.
    """
    return [(table["rate"] - table["ci_low"]).fillna(0), (table["ci_high"] - table["rate"]).fillna(0)]
