"""Putting a built report in place: the atomic swap of a period's folder, the index of all periods, tidying up.

The report room renders (:mod:`salign.report.build`, :mod:`salign.report.index`); this module
only moves finished files into ``reports/`` so that a reader sees the old report or the new one,
never a mix, and repairs what a run killed half-way left behind.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import signal
import threading
from pathlib import Path

from salign.report.index import index_page


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` in one step: into ``.<name>.<pid>`` next to it, then renamed over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_index(out: Path, tables) -> Path:
    """``reports/index.html``: every published period with its headline figures and trends (written atomically)."""
    return write_atomic(Path(out) / "index.html", index_page(out, tables))


#: signals held back while a period and the index change together (delivered right after)
DEFERRED_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def deferred_signals():
    """Hold back SIGINT and SIGTERM inside the block (main thread); they are raised again when it ends.

    Their handlers are swapped for one that only records them (blocking them in this thread
    would not do: the process's other threads would take them).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in received:
            signal.raise_signal(signum)


def publish_period(staging: Path, out: Path, period, tables, metrics: dict) -> Path:
    """Swap ``staging`` in as ``<out>/<period>`` and replace ``<out>/index.html`` right after; return the period.

    The new index is written to a temporary file first, so that only two renames remain;
    run them inside :func:`deferred_signals` so that a stop never lands between them.
    """
    out, target = Path(out), Path(out) / str(period)
    tmp = out / f".index.html.{os.getpid()}"
    tmp.write_text(index_page(out, tables, {str(period): metrics}), encoding="utf-8")
    try:
        commit(staging, target)
        os.replace(tmp, out / "index.html")
    finally:
        tmp.unlink(missing_ok=True)
    return target


def keep_internal(notebooks: Path, out: Path, period) -> Path:
    """Move a published run's executed notebooks to ``<out>/.internal/<period>/`` (replacing the previous ones).

    They hold raw outputs (``text/plain`` reprs, streams) that the pages leave out: the team may
    open them, but they stay out of the period folder that people forward.
    """
    dest = Path(out) / ".internal" / str(period)
    dest.parent.mkdir(mode=0o700, exist_ok=True)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(notebooks, dest)
    return dest


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def commit(staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging`` so that a reader sees the old report or the new one, never a mix.

    On Linux the two folders are exchanged in one atomic step; the old report
    (now in ``staging``) is removed afterwards. Elsewhere the old report is
    moved aside to ``.old-<name>-<pid>`` first and restored if the swap fails;
    if the process dies between the two renames, :func:`recover` puts it back
    at the start of the next run.
    """
    staging, target = Path(staging), Path(target)
    if target.exists() and _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)
        return
    aside = target.with_name(f".old-{target.name}-{os.getpid()}")
    if target.exists():
        os.replace(target, aside)
    try:
        os.replace(staging, target)
    except BaseException:
        if aside.exists():
            os.replace(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def recover(out: Path) -> list[str]:
    """Tidy what dead runs left in ``out`` (call while holding the run lock); return what was done.

    A report moved aside by an interrupted :func:`commit` is restored if its
    period is missing; staging folders, executed notebooks on their way to ``.internal/``
    and temporary index files are removed.
    """
    notes = []
    for p in sorted(Path(out).iterdir()):
        m = re.match(r"^\.old-(\d{4}Q[1-4])-\d+$", p.name)
        if m and p.is_dir():
            target = p.with_name(m.group(1))
            if not target.exists():
                os.replace(p, target)
                notes.append(f"restored the report of {m.group(1)} that an interrupted run had moved aside")
            else:
                shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(".staging-") and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            notes.append(f"removed {p.name}, left by a run that did not finish")
        elif p.name.startswith(".notebooks-") and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(".index.html."):
            p.unlink(missing_ok=True)
    return notes
