"""One review at a time per reports folder: an advisory lock that dies with its holder.

The lock is ``<out>/.salign-review.lock``, held with ``flock(2)``. The kernel
releases it when the holding process exits for any reason (even ``kill -9`` or
a crash), so a lock left by a dead process is never mistaken for a live one:
the next run simply acquires it. The file also records who holds it (pid,
host, period, start time) so that a refused run can say whom it waited for,
and so that a run taking over can say that the previous holder died without
cleaning up (the record was still there).
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from pathlib import Path

LOCK_NAME = ".salign-review.lock"


class LockHeld(RuntimeError):
    """Another run holds the lock of this reports folder."""


class RunLock:
    """``with RunLock(out, period) as lock:`` holds ``out/.salign-review.lock`` or raises :class:`LockHeld`.

    Parameters
    ----------
    folder : Path
        The reports folder (must exist).
    period : str
        Recorded in the lock for the message another run prints.

    Attributes
    ----------
    stale_ : dict or None
        The record a dead holder left behind, if the lock was taken over.
    """

    def __init__(self, folder: Path, period: str = ""):
        self.path = Path(folder) / LOCK_NAME
        self.period = str(period)
        self.stale_: dict | None = None
        self._fd: int | None = None
        self._record: dict = {}

    def __enter__(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            who = (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, period {holder.get('period', '?')}, "
                   f"started {holder.get('started', '?')}") if holder else "a process that is starting up"
            raise LockHeld(f"another salign review is running on {self.path.parent} ({who}); "
                           f"this run exits without changing anything. The lock is {self.path}; it is released "
                           f"when that process ends.") from None
        self.stale_ = _read(fd) or None
        self._fd = fd
        self._record = {"pid": os.getpid(), "host": socket.gethostname(), "period": self.period,
                        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        self.describe()
        return self

    def describe(self, **fields) -> None:
        """Update what the lock says about its holder (e.g. the period once it is resolved)."""
        self._record.update({k: str(v) for k, v in fields.items()})
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, (json.dumps(self._record) + "\n").encode(), 0)

    def __exit__(self, *exc) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.ftruncate(fd, 0)  # an empty record = released cleanly; the file stays (unlinking it would race)
            os.close(fd)  # closing releases the flock


def _read(fd: int) -> dict:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        return json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}
