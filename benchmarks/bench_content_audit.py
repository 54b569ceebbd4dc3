"""Wall time of ``02_content_audit`` on a workspace (default: the embedded sample).

Usage: ``python benchmarks/bench_content_audit.py [workspace] [repeats]``.

Prints the wall time of each papermill execution of the notebook (kernel start included, driven
from this one Python process as ``salign review`` does), the floor (a one-cell notebook that only
imports and loads the workspace with ``notebook.start``), and an in-process breakdown of the
analysis sections so a slow section can be found.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

from salign import content
from salign.common import periods
from salign.core import paths
from salign.workspace.load import load_workspace


def _floor_notebook(folder, workspace):
    src = Path(folder) / "floor.ipynb"
    code = (f"from salign import content\nfrom salign.runner import notebook\n"
            f"ctx = notebook.start('02_content_audit', workspace={str(workspace)!r}, output_dir={str(folder)!r})")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, src)
    return src


def notebook_runs(workspace, repeats):
    """Execute the notebook and the floor ``repeats`` times each; return both lists of wall times in seconds."""
    times, floors = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            for source, params, into in ((paths.NOTEBOOKS_DIR / "02_content_audit.ipynb",
                                          {"workspace": str(workspace), "output_dir": out}, times),
                                         (_floor_notebook(out, workspace), {}, floors)):
                start = time.perf_counter()
                papermill.execute_notebook(str(source), str(Path(out) / "executed.ipynb"), parameters=params,
                                           kernel_name="python3", progress_bar=False, cwd=str(paths.PROJECT_ROOT))
                into.append(time.perf_counter() - start)
    return times, floors


def sections(workspace):
    """Seconds per step: workspace load, then each analysis with its HTML and figure."""
    out = {}
    start = time.perf_counter()
    tables = load_workspace(workspace)
    period = periods.resolve("latest", tables)
    out["load workspace"] = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        steps = [("inventory", lambda: content.inventory(tables, period.end)),
                 ("personas", lambda: content.choose_personas(tables))]
        done = {}
        for name, fn in steps:
            start = time.perf_counter()
            done[name] = fn()
            done[name]._repr_html_()
            out[name] = time.perf_counter() - start
        inv, choice = done["inventory"], done["personas"]
        for name, fn in (("usage", lambda: content.usage(tables, inv, choice, period)),
                         ("influence", lambda: content.influence(tables, inv, choice, period)),
                         ("matrix", lambda: content.content_matrix(tables, inv, choice, period))):
            start = time.perf_counter()
            done[name] = fn()
            done[name]._repr_html_()
            done[name].figure().savefig(Path(folder) / f"{name}.png")
            out[name] = time.perf_counter() - start
        start = time.perf_counter()
        content.write_gaps(done["matrix"], folder)
        content.messaging_plan(done["matrix"], inv, done["usage"], choice)._repr_html_()
        out["gaps file and plan"] = time.perf_counter() - start
    return out


def main(workspace=paths.SAMPLE_WORKSPACE, repeats=3):
    """Print the notebook's wall times and the in-process breakdown."""
    times, floors = notebook_runs(workspace, repeats)
    print(f"02_content_audit on {workspace}: " + ", ".join(f"{t:.1f} s" for t in times)
          + f" (median {statistics.median(times):.1f} s)")
    print("floor (kernel, imports, notebook.start): " + ", ".join(f"{t:.1f} s" for t in floors)
          + f" (median {statistics.median(floors):.1f} s); the audit's own work: "
          f"{statistics.median(times) - statistics.median(floors):.1f} s")
    for name, seconds in sections(workspace).items():
        print(f"  {name:<20} {seconds:6.2f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else paths.SAMPLE_WORKSPACE,
         int(sys.argv[2]) if len(sys.argv) > 2 else 3)
