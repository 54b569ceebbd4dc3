"""Run the workbook: validated parameters, papermill execution in dependency order, then an atomic publish."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

import papermill

from salign import params as params_mod
from salign import paths, periods, publish
from salign.lineage import lineage
from salign.workspace import load_workspace

#: notebook -> the notebooks whose outputs it reads; independent ones run two at a time.
DEPENDS: dict[str, tuple[str, ...]] = {
    "01_personas": (),
    "03_qualification": (),
    "02_content_audit": ("01_personas",),
    "04_quarterly_review": ("01_personas", "03_qualification"),
}


class RunError(RuntimeError):
    """A notebook failed; the message says which cell and where the executed notebook is kept."""


def waves(names=tuple(DEPENDS)) -> list[list[str]]:
    """Group notebooks so that each group only needs earlier groups."""
    done, out, todo = set(), [], list(names)
    while todo:
        ready = [n for n in todo if set(DEPENDS[n]) & set(names) <= done]
        if not ready:
            raise ValueError(f"circular dependencies among {todo}")
        out.append(ready)
        done |= set(ready)
        todo = [n for n in todo if n not in ready]
    return out


def check_parameters(name: str, values: dict) -> None:
    """Fail before execution if ``values`` names a parameter the notebook does not declare, or has a bad value."""
    declared = papermill.inspect_notebook(str(paths.NOTEBOOKS_DIR / f"{name}.ipynb"))
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise params_mod.ParameterError(f"{name} has no parameter(s) {', '.join(unknown)}; it takes "
                                        f"{', '.join(sorted(declared))}")
    params_mod.validate(name, **values)


def execute(name: str, values: dict, staging: Path, cell_timeout: float, progress=print) -> float:
    """Execute one notebook into ``staging/notebooks``; return its wall time in seconds."""
    t0 = time.perf_counter()
    progress(f"  running {name} ...")
    papermill.execute_notebook(
        str(paths.NOTEBOOKS_DIR / f"{name}.ipynb"), str(staging / "notebooks" / f"{name}.ipynb"),
        parameters=values, kernel_name="python3", progress_bar=False, log_output=False,
        execution_timeout=cell_timeout, cwd=str(paths.PROJECT_ROOT), request_save_on_cell_execute=False,
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],  # kernel start/stop chatter is not the user's concern
    )
    seconds = time.perf_counter() - t0
    progress(f"  done    {name} in {seconds:.1f} s")
    return seconds


def _printer(lock=threading.Lock()):
    def say(message: str) -> None:
        with lock:
            print(message, flush=True)

    return say


def review(workspace: str | Path = paths.SAMPLE_WORKSPACE, period: str = "latest", out: str | Path = paths.REPORTS_DIR,
           notebooks=tuple(DEPENDS), jobs: int = 2, cell_timeout: float = 600, progress=None) -> Path:
    """Execute the notebooks for one period and publish ``<out>/<period>/``; return that folder.

    The workspace is validated first (nothing runs on bad input). The report is
    built in a staging folder and swapped in only when every notebook ran and
    every page passed the publishing checks; on failure the previous report of
    the period is untouched and the executed notebooks are kept under
    ``<out>/.failed/`` (the error message gives the path).
    """
    progress = progress or _printer()
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    tables = load_workspace(workspace)
    quarter = periods.resolve(period, tables)
    out = paths.resolve(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{quarter}-", dir=out))
    staging.chmod(0o755)  # mkdtemp makes it private; a published report is readable like its siblings
    (staging / "notebooks").mkdir()
    values = {"workspace": str(tables.folder), "period": str(quarter), "output_dir": str(staging)}
    for name in notebooks:
        check_parameters(name, values)
    progress(f"salign review {quarter} of {tables.config.name} ({tables.fingerprint})")
    durations: dict[str, float] = {}
    try:
        for wave in waves(notebooks):
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                futures = {pool.submit(execute, n, values, staging, cell_timeout, progress): n for n in wave}
                finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
                for f in futures:
                    if f.done() and f.exception() is None:
                        durations[futures[f]] = round(f.result(), 2)
                failed = [(futures[f], f.exception()) for f in finished if f.exception() is not None]
                if failed:
                    raise _failure(failed[0][0], failed[0][1], staging, out, quarter)
        publish.build(staging, tables, quarter, list(notebooks))
        finished_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        (staging / "lineage.json").write_text(json.dumps(
            lineage(tables, quarter, values | {"output_dir": f"{out}/{quarter}"}, started, finished_at, durations),
            indent=1, sort_keys=True) + "\n", encoding="utf-8")
        target = out / str(quarter)
        publish.commit(staging, target)
        publish.write_index(out, tables)
        progress(f"published {target / 'index.html'}")
        progress(f"all periods: {out / 'index.html'}")
        return target
    except publish.PublishError as exc:
        raise RunError(f"{exc}\n(the previous report of {quarter}, if any, is unchanged)") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _failure(name: str, exc: BaseException, staging: Path, out: Path, quarter) -> RunError:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    keep = out / ".failed" / f"{quarter}-{stamp}"
    keep.mkdir(parents=True, exist_ok=True)
    kept = keep / f"{name}.ipynb"
    if (staging / "notebooks" / f"{name}.ipynb").exists():
        shutil.copy2(staging / "notebooks" / f"{name}.ipynb", kept)
    detail = str(exc).strip().splitlines()
    summary = "\n".join(detail[-12:]) if detail else type(exc).__name__
    return RunError(f"notebook {name} failed:\n{summary}\n\nexecuted notebook kept at {kept}\n"
                    f"(the previous report of {quarter}, if any, is unchanged)")
