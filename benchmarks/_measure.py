"""Shared by the benchmarks: the papermill floor, and wall time, CPU and peak memory of a whole process tree.

``floor(tmp)`` runs four one-cell notebooks that only import what the real ones import, through the runner's own
``execute`` (same papermill call, kernel manager and waves of two as ``salign review``), so a review minus the floor
is the work the notebooks do. ``run_tree(cmd)`` runs a command and polls ``/proc`` (Linux) every ``interval`` seconds
over it and every descendant (the Jupyter kernels and anything they start): per process its peak resident set
(``VmHWM``, the kernel's own high-water mark, so a peak between two polls is not missed unless the process ends
within ``interval`` of it) and CPU seconds, and the peak of the tree's summed resident set.
``python benchmarks/_measure.py floor DIR`` prints the floor's seconds as JSON (to measure it in a tree of its own).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

IMPORTS = ("import pandas, numpy, sklearn, matplotlib, statsmodels.api, lifelines\n"
           "from salign import content, personas, qualify\nfrom salign.review import funnel, sla, winloss\n"
           "from salign.runner import notebook")

_TICK = os.sysconf("SC_CLK_TCK")


def floor(tmp: Path) -> float:
    """Seconds to run the four notebooks' import-only stand-ins the way a review runs the real ones."""
    import nbformat

    from salign.runner.execute import DEPENDS, execute, waves
    from salign.runner.kernels import Kernels

    tmp = Path(tmp)
    src = tmp / "import-only"
    src.mkdir(parents=True, exist_ok=True)
    (tmp / "notebooks").mkdir(exist_ok=True)
    for name in DEPENDS:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(IMPORTS)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, src / f"{name}.ipynb")
    kernels = Kernels()
    t0 = time.perf_counter()
    for wave in waves():
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda n: execute(n, {}, tmp, 0, kernels, notebooks_dir=src, progress=lambda m: None),
                          wave))
    return time.perf_counter() - t0


def _tree(root: int) -> list[int]:
    """``root`` and its descendants now (one pass over /proc)."""
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, ()))
    return out


def _sample(pid: int) -> dict | None:
    """Start tick, CPU seconds, resident and peak resident KiB and command line of ``pid`` (None if gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (OSError, IndexError):
        return None
    kib = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
           if line.startswith(("VmRSS:", "VmHWM:"))}
    return {"ppid": int(fields[1]), "start": int(fields[19]), "cpu": (int(fields[11]) + int(fields[12])) / _TICK,
            "rss": kib.get("VmRSS", 0), "hwm": kib.get("VmHWM", 0), "cmd": cmd}


def kind(cmd: str, ppid: int, root: int) -> str:
    """``root``; ``kernel`` for a Jupyter kernel the root started; else ``other`` (a kernel's workers, and a kernel's
    fork caught before it exec'd something else, which still shows the kernel's command line)."""
    if ppid == 0:
        return "root"
    return "kernel" if "ipykernel_launcher" in cmd and ppid == root else "other"


def run_tree(cmd: list[str], env: dict | None = None, cwd: str | Path | None = None, interval: float = 0.2) -> dict:
    """Run ``cmd``; return wall seconds, return code, timestamped output lines and what every process of it used.

    ``processes``: one entry per process seen (pid, kind, command, seconds from the start when first and last
    seen, peak resident MiB, CPU seconds); ``peak_tree_mib``: the largest sum of resident sets at one poll;
    ``peak_process_mib``: the largest peak of one process (also cross-checked with wait4's ru_maxrss).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            bufsize=1)
    lines: list[tuple[float, str]] = []

    def read():
        for line in proc.stdout:
            lines.append((round(time.perf_counter() - t0, 2), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: dict[tuple[int, int], dict] = {}
    peak_tree = 0
    status = rusage = None
    while True:
        now = round(time.perf_counter() - t0, 2)
        total = 0
        for pid in _tree(proc.pid):
            got = _sample(pid)
            if got is None:
                continue
            total += got["rss"]
            rec = seen.setdefault((pid, got["start"]), {"pid": pid, "first_s": now, "cmd": got["cmd"],
                                                        "ppid": 0 if pid == proc.pid else got["ppid"]})
            if got["cmd"] and got["cmd"] != rec["cmd"]:  # exec'd: a new program, a new high-water mark
                rec.update(cmd=got["cmd"], peak_kib=0)
            rec.update(last_s=now, peak_kib=max(rec.get("peak_kib", 0), got["hwm"]), cpu_s=got["cpu"])
        peak_tree = max(peak_tree, total)
        done, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if done:
            break
        time.sleep(interval)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=5)
    processes = []
    for rec in sorted(seen.values(), key=lambda r: r["first_s"]):
        k = kind(rec["cmd"], rec["ppid"], proc.pid)
        processes.append({"pid": rec["pid"], "ppid": rec["ppid"], "kind": k, "cmd": rec["cmd"][:160], "first_s": rec["first_s"],
                          "last_s": rec["last_s"], "peak_mib": round(rec["peak_kib"] / 1024, 1),
                          "cpu_s": round(rec["cpu_s"], 2)})
    return {"wall_s": round(wall, 2), "returncode": proc.returncode, "lines": lines, "processes": processes,
            "peak_tree_mib": round(peak_tree / 1024, 1),
            "peak_process_mib": round(max([p["peak_mib"] for p in processes] + [rusage.ru_maxrss / 1024]), 1),
            "cpu_s": round(sum(p["cpu_s"] for p in processes), 2)}


def measured_floor(tmp: Path, env: dict | None = None) -> dict:
    """The floor in a process tree of its own (its kernels' memory counted like a review's)."""
    got = run_tree([sys.executable, __file__, "floor", str(tmp)], env=env)
    if got["returncode"]:
        raise SystemExit("the floor failed:\n" + "\n".join(line for _, line in got["lines"][-30:]))
    got["floor_s"] = json.loads(got["lines"][-1][1])["seconds"]
    return got


if __name__ == "__main__":
    if sys.argv[1:2] == ["floor"] and len(sys.argv) == 3:
        print(json.dumps({"seconds": round(floor(Path(sys.argv[2])), 2)}))
    else:
        raise SystemExit("usage: python benchmarks/_measure.py floor DIR")
