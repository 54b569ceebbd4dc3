"""The Jupyter kernels one review started, so that a timeout or a signal can kill every one of them.

papermill runs notebooks in worker threads; a thread stuck waiting for a hung
kernel cannot be stopped from outside, but its kernel can. Killing the kernel
(and its process group: the kernel is started in a session of its own, so
worker processes of joblib and the like go with it) makes papermill in that
thread fail with "Kernel died" within a second or two, and the thread ends.
"""
from __future__ import annotations

import os
import signal
import threading

from jupyter_client import AsyncKernelManager


class Kernels:
    """A registry of live kernels; :meth:`manager_class` is given to papermill as ``kernel_manager_class``."""

    def __init__(self):
        self._processes: list = []
        self._lock = threading.Lock()
        self.closed = False
        registry = self

        class Managed(AsyncKernelManager):
            async def _async_launch_kernel(self, kernel_cmd, **kw):
                await super()._async_launch_kernel(kernel_cmd, **kw)
                registry._started(self.provisioner.process)

        self.manager_class = Managed

    def _started(self, process) -> None:
        with self._lock:
            self._processes.append(process)
            late = self.closed
        if late:  # started after kill_all: it must not outlive the run either
            _kill_group(process.pid)

    def kill_all(self) -> int:
        """Kill every kernel still running and any started from now on; return how many were signalled.

        A kernel whose process was already reaped is skipped (its pid may belong to someone else by now).
        """
        with self._lock:
            self.closed = True
            live = [p for p in self._processes if p.poll() is None]
        return sum(_kill_group(p.pid) for p in live)


def _kill_group(pid: int) -> bool:
    """SIGKILL the kernel and, when it leads a process group of its own, the whole group."""
    try:
        if os.getpgid(pid) == pid != os.getpgid(0):
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False
