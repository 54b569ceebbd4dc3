"""Run the workbook: validated parameters, papermill execution in dependency order, then an atomic publish."""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

import papermill
from nbclient.exceptions import DeadKernelError

from salign.common import periods
from salign.core import paths
from salign.report.build import PublishError, build
from salign.runner import params as params_mod
from salign.runner import publish
from salign.runner.kernels import Kernels
from salign.runner.lineage import lineage
from salign.runner.lock import LockHeld, RunLock
from salign.runner.notebook import ENGINE_SUFFIX
from salign.workspace import engine as engine_mod
from salign.workspace import snapshot

#: notebook -> the notebooks whose outputs it reads; independent ones run two at a time.
DEPENDS: dict[str, tuple[str, ...]] = {
    "01_personas": (),
    "03_qualification": (),
    "02_content_audit": ("01_personas",),
    "04_quarterly_review": ("01_personas", "03_qualification"),
}


class RunError(RuntimeError):
    """A notebook failed or publishing was refused; the message says which and where the executed notebook is kept."""


class RunLocked(RunError):
    """Another review holds the lock of the reports folder; nothing was done."""


class RunTimeout(RunError):
    """A cell or the whole run took longer than allowed; its kernels were killed."""


class StoppedAfterPublish(KeyboardInterrupt):
    """An interrupt (args: the signal number) that arrived once the new report and the index were in place."""


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


def check_parameters(name: str, values: dict, notebooks_dir: Path = paths.NOTEBOOKS_DIR) -> None:
    """Fail before execution if ``values`` names a parameter the notebook does not declare, or has a bad value."""
    declared = papermill.inspect_notebook(str(Path(notebooks_dir) / f"{name}.ipynb"))
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise params_mod.ParameterError(f"{name} has no parameter(s) {', '.join(unknown)}; it takes "
                                        f"{', '.join(sorted(declared))}")
    params_mod.validate(name, **values)


def execute(name: str, values: dict, staging: Path, cell_timeout: float, kernels: Kernels,
            notebooks_dir: Path = paths.NOTEBOOKS_DIR, progress=print) -> float:
    """Execute one notebook into ``staging/notebooks``; return its wall time in seconds.

    Its kernel is registered in ``kernels`` so that the run can kill it on a timeout or a signal.
    """
    t0 = time.perf_counter()
    progress(f"  running {name} ...")
    papermill.execute_notebook(
        str(Path(notebooks_dir) / f"{name}.ipynb"), str(staging / "notebooks" / f"{name}.ipynb"),
        parameters=values, kernel_name="python3", progress_bar=False, log_output=False,
        execution_timeout=cell_timeout or None, cwd=str(paths.PROJECT_ROOT),
        request_save_on_cell_execute=True,  # a killed or timed-out run still leaves its partial notebook
        kernel_manager_class=kernels.manager_class,
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],  # kernel start/stop chatter is not the user's concern
    )
    seconds = time.perf_counter() - t0
    progress(f"  done    {name} in {seconds:.1f} s")
    return seconds


_PRINT_LOCK = threading.Lock()


def _printer():
    """Progress lines on stdout, one whole line at a time (two notebooks run at once)."""
    def say(message: str) -> None:
        with _PRINT_LOCK:
            print(message, flush=True)

    return say


def review(workspace: str | Path = paths.SAMPLE_WORKSPACE, period: str = "latest", out: str | Path = paths.REPORTS_DIR,
           notebooks=tuple(DEPENDS), jobs: int = 2, cell_timeout: float = 600, timeout: float | None = None,
           progress=None, notebooks_dir: str | Path = paths.NOTEBOOKS_DIR, engine: str = "") -> Path:
    """Execute the notebooks for one period and publish ``<out>/<period>/``; return that folder.

    The workspace and parameters are validated first (nothing runs or is written
    on bad input). One review at a time holds ``<out>/.salign-review.lock``
    (:class:`RunLocked` otherwise, at once). The report is built in a staging
    folder and swapped in only when every notebook ran and every page passed
    the publishing checks; on failure the previous report of the period is
    untouched and the executed notebooks are kept under ``<out>/.failed/``
    (the error message gives the path); on success they go to ``<out>/.internal/<period>/``,
    outside the period folder that people forward. Building the pages counts against ``timeout``.

    Parameters
    ----------
    cell_timeout : float
        Seconds one cell may run (0: no limit); then its kernel is stopped and :class:`RunTimeout` raised.
    timeout : float, optional
        Seconds the whole run may take; when they are up every kernel of the run is killed and
        :class:`RunTimeout` raised. An interrupt (SIGINT, or SIGTERM turned into one by the CLI)
        kills the kernels the same way before it propagates.
    notebooks_dir : path
        Where the notebooks are read from (tests use copies with faults planted in them).
    engine : str
        Where the notebooks compute the event-level facts (``duckdb``, ``postgres``, ``spark``); empty: the
        workspace's (:func:`salign.workspace.engine.choose`). Checked before anything runs; recorded in lineage.json.
    """
    deadline = None if not timeout else time.monotonic() + timeout
    progress = progress or _printer()
    logging.getLogger("papermill").setLevel(logging.CRITICAL)  # its errors reach the user through RunError
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    notebooks_dir = Path(notebooks_dir)
    out = paths.resolve(out)
    shown = period
    try:
        with contextlib.ExitStack() as held:
            # under cron the reports folder exists: refuse a concurrent run before loading anything
            lock = held.enter_context(_locked(out, period, progress)) if out.is_dir() else None
            loaded = snapshot.load(workspace)  # validated once here; the kernels open its snapshot
            tables = loaded.tables
            quarter = shown = periods.resolve(period, tables)
            try:
                kind = engine_mod.choose(tables.config, engine)
                engine_mod.check(kind)
            except engine_mod.EngineError as exc:
                raise params_mod.ParameterError(str(exc)) from None
            values = {"workspace": str(tables.folder), "period": str(quarter), "output_dir": str(out / str(quarter)),
                      "snapshot": "", "engine": kind}
            for name in notebooks:
                check_parameters(name, values, notebooks_dir)
            out.mkdir(parents=True, exist_ok=True)  # only now: bad input writes nothing
            lock = lock or held.enter_context(_locked(out, quarter, progress))
            lock.describe(period=str(quarter))
            for note in publish.recover(out):
                progress(note)
            for left in out.glob(".snapshot-*"):  # a run-private snapshot of a run that was killed
                shutil.rmtree(left, ignore_errors=True)
            return _run(loaded, quarter, out, list(notebooks), jobs, cell_timeout, deadline, timeout, progress,
                        notebooks_dir, values, started)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT):
            raise
        raise RunError(f"cannot write to the reports folder {out}: {exc.strerror} ({exc.filename or out}); "
                       f"the previous report of {shown}, if any, is unchanged") from None


@contextlib.contextmanager
def _locked(out: Path, period, progress):
    """Hold the reports folder's :class:`RunLock` (:class:`RunLocked` if another run has it)."""
    try:
        lock = RunLock(out, period).__enter__()
    except LockHeld as exc:
        raise RunLocked(str(exc)) from None
    try:
        if lock.stale_:
            progress(f"taking over the lock left by pid {lock.stale_.get('pid', '?')} (started "
                     f"{lock.stale_.get('started', '?')}), which ended without releasing it")
        yield lock
    finally:
        lock.__exit__(None, None, None)


def _snapshot_for_kernels(loaded: snapshot.Loaded, out: Path, progress) -> tuple[Path | None, Path | None]:
    """The snapshot the kernels open, and the run-private folder to remove afterwards (or ``None``).

    Tables from files are in the cache already (:func:`salign.workspace.snapshot.load`); tables read from a
    database, or when the cache cannot be written, get a snapshot in ``<out>/.snapshot-*`` for this run only.
    Without one (values Parquet would not give back exactly) each kernel loads the workspace itself.
    """
    if loaded.path is not None:
        progress(f"tables {'from the snapshot' if loaded.hit else 'validated; snapshot written to'} {loaded.path}")
        return loaded.path, None
    private = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=out))
    try:
        return snapshot.write(loaded, private, keep=1), private
    except (OSError, snapshot.Unsupported) as exc:
        shutil.rmtree(private, ignore_errors=True)
        progress(f"no snapshot of the tables ({exc}); each notebook loads the workspace itself")
        return None, None


def _run(loaded: snapshot.Loaded, quarter, out: Path, notebooks: list[str], jobs: int, cell_timeout: float, deadline,
         timeout, progress, notebooks_dir: Path, values: dict, started: str) -> Path:
    tables = loaded.tables
    private = None
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{quarter}-", dir=out))
    staging.chmod(0o755)  # mkdtemp makes it private; a published report is readable like its siblings
    (staging / "notebooks").mkdir()
    progress(f"salign review {quarter} of {tables.config.name} ({tables.fingerprint}); event facts on "
             f"{values['engine']}")
    durations: dict[str, float] = {}
    kernels, published = Kernels(), None
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        snap, private = _snapshot_for_kernels(loaded, out, progress)
        if snap is not None:
            snapshot.leave_on_disk(tables, snap)  # this process needs no activities frame while the kernels run
        values = values | {"output_dir": str(staging), "snapshot": str(snap or "")}
        for wave in waves(notebooks):
            futures = {pool.submit(execute, n, values, staging, cell_timeout, kernels, notebooks_dir, progress): n
                       for n in wave}
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            finished, pending = wait(futures, timeout=remaining, return_when=FIRST_EXCEPTION)
            failed = [(futures[f], f.exception()) for f in finished if f.exception() is not None]
            if failed or pending:
                _stop(kernels, futures)
            for f in futures:
                if f.done() and not f.cancelled() and f.exception() is None:
                    durations[futures[f]] = round(f.result(), 2)
            if pending and not failed:
                names = sorted(futures[f] for f in pending)
                raise RunTimeout(_kept(f"the run took longer than --timeout {timeout:g} s; its kernels were killed "
                                       f"while {', '.join(names)} ran", names, staging, out, quarter))
            if failed:
                raise _failure(failed[0][0], failed[0][1], staging, out, quarter)
        ran = _engines_that_ran(staging, notebooks)
        with _publishing_deadline(deadline, timeout, quarter):
            metrics = build(staging, tables, quarter, notebooks, out=out)
            finished_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            (staging / "lineage.json").write_text(json.dumps(
                lineage(tables, quarter, {k: v for k, v in values.items() if k != "snapshot"}
                        | {"output_dir": f"{out}/{quarter}"}, started, finished_at, durations, snapshot=loaded.key,
                        engine=ran),
                indent=1, sort_keys=True) + "\n", encoding="utf-8")
        executed = Path(tempfile.mkdtemp(prefix=f".notebooks-{quarter}-", dir=out))
        os.replace(staging / "notebooks", executed / "notebooks")  # not in the folder people forward
        with publish.deferred_signals():  # a stop lands before the period and the index change, or after both
            target = published = publish.publish_period(staging, out, quarter, tables, metrics)
            kept = publish.keep_internal(executed / "notebooks", out, quarter)
            shutil.rmtree(executed, ignore_errors=True)
        progress(f"published {target / 'index.html'} (executed notebooks: {kept})")
        progress(f"all periods: {out / 'index.html'}")
        return target
    except PublishError as exc:
        raise RunError(f"{exc}\n(the previous report of {quarter}, if any, is unchanged)") from None
    except KeyboardInterrupt as exc:  # an interrupt while notebooks run: no kernel may outlive the run
        kernels.kill_all()
        if published is not None:
            raise StoppedAfterPublish(*exc.args) from None
        raise
    except BaseException:
        kernels.kill_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(staging, ignore_errors=True)
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)


def _engines_that_ran(staging: Path, notebooks: list[str]) -> dict:
    """``{notebook: {"engine", "reads", "queries"}}`` as each kernel wrote it (:meth:`~salign.runner.notebook.Context.
    finish`), taken out of ``staging`` (it is no artifact of the report)."""
    out = {}
    for name in notebooks:
        f = staging / f"{name}{ENGINE_SUFFIX}"
        if f.exists():
            out[name] = json.loads(f.read_text(encoding="utf-8"))
            f.unlink()
    return out


@contextlib.contextmanager
def _publishing_deadline(deadline, timeout, quarter):
    """Raise :class:`RunTimeout` in the block (building the pages) once ``--timeout`` is up (main thread only)."""
    if deadline is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def up(signum, frame):
        raise RunTimeout(f"the run took longer than --timeout {timeout:g} s while it built the pages\n"
                         f"(the previous report of {quarter}, if any, is unchanged)")

    previous = signal.signal(signal.SIGALRM, up)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, deadline - time.monotonic()))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _stop(kernels: Kernels, futures, grace: float = 60) -> None:
    """Kill the run's kernels and give the worker threads ``grace`` seconds to notice and end."""
    end = time.monotonic() + grace
    while time.monotonic() < end:
        kernels.kill_all()
        if not wait(futures, timeout=1)[1]:
            return


#: how many failed runs ``<out>/.failed/`` keeps (the oldest go first)
KEEP_FAILED = 10


def _kept(headline: str, names: list[str], staging: Path, out: Path, quarter) -> str:
    """Copy the executed notebooks ``names`` to ``<out>/.failed/`` and return the message saying where they are."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    keep = out / ".failed" / f"{quarter}-{stamp}"
    where = []
    try:
        keep.mkdir(parents=True, exist_ok=True)
        for name in names:
            src = staging / "notebooks" / f"{name}.ipynb"
            if src.exists():
                shutil.copy2(src, keep / src.name)
                where.append(f"executed notebook kept at {keep / src.name}")
            else:
                where.append(f"{name} had not written its executed notebook yet")
        old = sorted(p for p in keep.parent.iterdir() if p.is_dir())[:-KEEP_FAILED]
        for p in old:
            shutil.rmtree(p, ignore_errors=True)
    except OSError as exc:
        where.append(f"the executed notebook could not be kept ({exc.strerror}: {exc.filename})")
    return f"{headline}\n\n" + "\n".join(where) + f"\n(the previous report of {quarter}, if any, is unchanged)"


def _failure(name: str, exc: BaseException, staging: Path, out: Path, quarter) -> RunError:
    if isinstance(exc, TimeoutError):  # nbclient's CellTimeoutError
        detail = str(exc).strip().splitlines()
        return RunTimeout(_kept(f"notebook {name} failed: a cell ran longer than --cell-timeout; its kernel was "
                                f"stopped.\n" + "\n".join(detail[-12:]), [name], staging, out, quarter))
    if isinstance(exc, DeadKernelError):
        return RunError(_kept(f"notebook {name} failed: its kernel died (killed, or out of memory) while a cell ran",
                              [name], staging, out, quarter))
    detail = str(exc).strip().splitlines()
    summary = "\n".join(detail[-12:]) if detail else type(exc).__name__
    return RunError(_kept(f"notebook {name} failed:\n{summary}", [name], staging, out, quarter))
