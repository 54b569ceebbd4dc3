"""What a notebook calls: validate parameters, load the workspace, run sections, write metrics."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from IPython import get_ipython
from IPython.core.pylabtools import retina_figure
from matplotlib.figure import Figure

from salign.common import periods
from salign.common.result import Result, Skipped
from salign.core import paths
from salign.report.html import result_html
from salign.runner import params as params_mod
from salign.workspace import snapshot
from salign.workspace.tables import MissingData, Tables


@dataclass
class Context:
    """One notebook run: its parameters, tables, period, output folder and collected metrics."""

    name: str
    params: params_mod.CommonParams
    tables: Tables
    period: periods.Quarter
    out: Path
    metrics: dict = field(default_factory=dict)
    headline: dict = field(default_factory=dict)

    def attempt(self, fn, *args, key: str, **kwargs):
        """Run one analysis; on missing data return a :class:`Skipped` that says why.

        A :class:`Skipped` argument propagates (the dependent section is skipped too).
        The result's ``metrics()`` are recorded under ``key``, the section's name in metrics.json
        (declared by the notebook, so renaming a function does not rename a metric), and its
        ``headline()`` figures, if it has any, go to the overview page.
        """
        upstream = next((a for a in list(args) + list(kwargs.values()) if isinstance(a, Skipped)), None)
        if upstream is not None:
            result = Skipped(key.replace("_", " "), f"depends on '{upstream.what}', which was skipped")
        else:
            try:
                result = fn(*args, **kwargs)
            except MissingData as exc:
                result = Skipped(key.replace("_", " "), f"this workspace {exc}")
        if hasattr(result, "metrics"):
            self.metrics[key] = result.metrics()
        if hasattr(result, "headline"):
            self.headline.update(result.headline())
        return result

    def finish(self) -> Path:
        """Write ``<out>/<name>.metrics.json`` (sorted keys, so identical inputs give identical bytes)."""
        doc = {"notebook": self.name, "period": str(self.period), "workspace_fingerprint": self.tables.fingerprint,
               "headline": self.headline, "sections": self.metrics,
               "skipped": {k: v["skipped"] for k, v in self.metrics.items() if isinstance(v, dict) and "skipped" in v}}
        path = self.out / f"{self.name}.metrics.json"
        path.write_text(json.dumps(doc, indent=1, sort_keys=True, default=_jsonable) + "\n", encoding="utf-8")
        return path


def _jsonable(value):
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to metrics JSON")


def start(name: str, **values) -> Context:
    """Validate the parameters of notebook ``name`` and load its workspace and period.

    Called from the first code cell of every notebook.
    """
    p = params_mod.validate(name, **values)
    _show_results()
    tables = load_tables(p.workspace, p.snapshot)
    period = periods.resolve(p.period, tables)
    out = paths.resolve(p.output_dir) if p.output_dir else paths.PROJECT_ROOT / "build" / "lab"
    out.mkdir(parents=True, exist_ok=True)
    return Context(name, p, tables, period, out)


def load_tables(workspace: str, snapshot_path: str = "") -> Tables:
    """The validated tables of ``workspace``: from ``snapshot_path`` (the snapshot ``salign review`` wrote for its
    kernels), else from the cache's snapshot of these inputs (built when missing: the analyst's loop of editing
    definitions and rerunning a notebook reads the CSVs once). A snapshot the cache dropped meanwhile is rebuilt.
    """
    if snapshot_path and Path(snapshot_path).is_dir():
        return snapshot.open_snapshot(snapshot_path, workspace)
    return snapshot.load(workspace).tables


def _show_results() -> None:
    """In a kernel, display a :class:`Result` as the report shows it and a bare ``Figure`` as PNG."""
    shell = get_ipython()
    if shell is None:  # plain Python: nothing to display into
        return
    shell.display_formatter.formatters["text/html"].for_type(Result, result_html)
    # its plain form is its title, not a repr of its frames (raw rows, free text): the kept notebook is PII-checked too
    shell.display_formatter.mimebundle_formatter.for_type(Result, lambda r, include=None, exclude=None: {
        "text/plain": f"{type(r).__name__}: {r.title}"})
    shell.display_formatter.formatters["image/png"].for_type(Figure, _png)


def _png(fig: Figure):
    """A figure as a PNG at twice its dpi, shown at its own size (sharp on screens of high density and in print),
    with its label (the result's description of it) as the image's alternative text, or else what it plots."""
    shown = retina_figure(fig, base64=True)
    if shown is None:  # an empty figure shows nothing
        return None
    data, size = shown
    return data, dict(size, alt=fig.get_label() or described(fig))


def described(fig: Figure) -> str:
    """What a figure without a description plots, in words, from its titles and axes.

    E.g. ``Chart with 2 panels: "Win rate" (bars of win rate by product); "Cycle" (lines of share open by days)``.
    """
    panels = []
    for ax in fig.get_axes():
        marks = [kind for kind, shown in (("lines", ax.get_lines()), ("bars", ax.patches),
                                          ("points or areas", ax.collections), ("images", ax.images)) if shown]
        y, x = ax.get_ylabel().strip(), ax.get_xlabel().strip()
        said = " and ".join(marks) or "a plot"
        said += (f" of {y}" if y else "") + (f" by {x}" if x else "")
        title = ax.get_title().strip()
        panels.append(f'"{title}" ({said})' if title else said)
    whole = fig.get_suptitle().strip() if hasattr(fig, "get_suptitle") else ""
    head = f'Chart "{whole}"' if whole else "Chart"
    if not panels:
        return f"{head} (no axes)"
    return f"{head}: {panels[0]}" if len(panels) == 1 else f"{head} with {len(panels)} panels: " + "; ".join(panels)
