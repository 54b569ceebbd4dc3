"""What a notebook calls: validate parameters, load the workspace, run sections, write metrics."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from IPython import get_ipython
from IPython.core.pylabtools import retina_figure
from matplotlib.figure import Figure

from salign.common import periods, personaset
from salign.common.result import Paragraph, Result, Skipped, Strong
from salign.core import paths
from salign.report.html import result_html
from salign.runner import params as params_mod
from salign.workspace import engine, snapshot
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
    #: the tables up to the data's ``as_of`` (``tables`` holds what was known at the period's end), for
    #: :meth:`follow_up`; None: the same as ``tables``
    all_tables: Tables | None = None

    @property
    def cutoff(self):
        """The moment this run reads the data up to (UTC): the period's end, or the data's ``as_of`` when the period
        is not over in the data (:func:`salign.common.periods.cutoff`). ``tables`` is cut there."""
        return self.tables.as_of

    @property
    def follow_up_to(self):
        """The data's ``as_of`` (UTC) when it is later than :attr:`cutoff` (the data goes on after the period),
        else None."""
        later = self.all_tables.as_of if self.all_tables is not None else None
        return later if later is not None and later > self.cutoff else None

    def follow_up(self, fn, *args, key: str, **kwargs):
        """Run a cohort analysis ``fn(tables, *args, cutoff=...)`` again on all the data up to ``as_of``: the
        period's cohorts followed after the period ended. Labelled as such on the page and recorded in metrics.json
        under ``<key>_followed_up`` with ``followed_up_to``, apart from the figures as they stood at the period's
        end. None (nothing shown or recorded) when there is no data after the period.
        """
        to = self.follow_up_to
        if to is None:
            return None
        result = self.attempt(_FollowedUp.run, fn, self.all_tables, *args, key=f"{key}_followed_up",
                              period=self.period, cutoff=to, timezone=self.tables.config.timezone, **kwargs)
        return result

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
        """Write ``<out>/<name>.metrics.json`` (sorted keys, so identical inputs give identical bytes), and
        ``<out>/<name>.engine.json``: which engine computed the event-level facts and how many results it sent
        back (the runner moves it into lineage.json; metrics.json is the same whatever the engine)."""
        used = list({id(e): e for e in (engine.engine_of(t) for t in (self.tables, self.all_tables)
                                        if t is not None)}.values())
        said = {"engine": used[0].kind, "reads": used[0].reads, "queries": sum(e.queries for e in used)}
        (self.out / f"{self.name}{ENGINE_SUFFIX}").write_text(json.dumps(said, sort_keys=True) + "\n",
                                                              encoding="utf-8")
        doc = {"notebook": self.name, "period": str(self.period), "workspace_fingerprint": self.tables.fingerprint,
               "headline": self.headline, "sections": self.metrics,
               "skipped": {k: v["skipped"] for k, v in self.metrics.items() if isinstance(v, dict) and "skipped" in v}}
        path = self.out / f"{self.name}.metrics.json"
        path.write_text(json.dumps(doc, indent=1, sort_keys=True, default=_jsonable) + "\n", encoding="utf-8")
        return path


@dataclass
class _FollowedUp(Result):
    """A cohort result measured on the data after its period ended, labelled so (see :meth:`Context.follow_up`)."""

    inner: Result
    period: periods.Quarter
    to: object
    timezone: str

    @classmethod
    def run(cls, fn, tables, *args, period, cutoff, timezone, **kwargs):
        return cls(fn(tables, period, *args, cutoff=cutoff, **kwargs), period, cutoff, timezone)

    @property
    def date(self) -> str:
        return f"{self.to.tz_convert(self.timezone):%Y-%m-%d}"

    @property
    def title(self) -> str:
        return f"{self.inner.title}: followed up to {self.date}"

    @property
    def figure_description(self) -> str:
        return f"{self.inner.figure_description} Followed up to {self.date}, after the quarter ended."

    def blocks(self) -> list:
        end = self.period.end.tz_convert(self.timezone)
        return [Paragraph(Strong(f"Cohort follow-up to {self.date}:"),
                          f" the cohorts of {self.period} followed with the data that came in after the quarter "
                          f"ended ({end:%Y-%m-%d}). The figures above are as they stood at the quarter's end and do "
                          "not change; these do, until every cohort has had its whole window.")] + self.inner.blocks()

    def metrics(self) -> dict:
        return {"followed_up_to": self.date, **self.inner.metrics()}

    def methods(self) -> list:
        return self.inner.methods()

    def draw(self):
        fig = self.inner.draw()
        if fig is not None and fig.get_axes():
            ax = fig.get_axes()[0]
            ax.set_title(f"{ax.get_title()}, followed up to {self.date}")
        return fig


def _jsonable(value):
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to metrics JSON")


#: the file a notebook's kernel writes next to its metrics, naming the engine that ran (:meth:`Context.finish`)
ENGINE_SUFFIX = ".engine.json"


#: the notebooks that run after 01_personas and use its proposed persona set when none is adopted
READS_PROPOSAL = ("02_content_audit", "04_quarterly_review")


def start(name: str, **values) -> Context:
    """Validate the parameters of notebook ``name`` and load its workspace and period.

    Called from the first code cell of every notebook.
    """
    p = params_mod.validate(name, **values)
    _show_results()
    everything = load_tables(p.workspace, p.snapshot, p.engine)
    period = periods.resolve(p.period, everything)
    tables = periods.known_at(everything, periods.cutoff(period, everything))  # what was known at the period's end
    out = paths.resolve(p.output_dir) if p.output_dir else paths.PROJECT_ROOT / "build" / "lab"
    out.mkdir(parents=True, exist_ok=True)
    if name in READS_PROPOSAL:  # one persona set across the pages: the adopted one, else the personas page's proposal
        tables, everything = personaset.with_proposal(tables, out), personaset.with_proposal(everything, out)
    return Context(name, p, tables, period, out, all_tables=everything)


def load_tables(workspace: str, snapshot_path: str = "", engine: str = "") -> Tables:
    """The validated tables of ``workspace``: from ``snapshot_path`` (the snapshot ``salign review`` wrote for its
    kernels), else from the cache's snapshot of these inputs (built when missing: the analyst's loop of editing
    definitions and rerunning a notebook reads the CSVs once). A snapshot the cache dropped meanwhile is rebuilt.

    The event-level facts of the tables are computed by ``engine`` (empty: the workspace's), over the Parquet files
    of that snapshot or in the workspace's database (:func:`salign.workspace.snapshot.with_engine`).
    """
    if snapshot_path and Path(snapshot_path).is_dir():
        return snapshot.open_snapshot(snapshot_path, workspace, engine)
    loaded = snapshot.load(workspace)
    return snapshot.with_engine(loaded.tables, loaded.path, engine)


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
