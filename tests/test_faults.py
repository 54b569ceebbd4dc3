"""Faults of an unattended run: each leaves the previous report byte-identical and says clearly what happened.

A report of the tiny workspace is published once per session (conftest.tiny_reports); every
test copies it and breaks a run on its copy in one way (a fault planted in a copy of the
notebooks, a signal, a held lock, a read-only folder) and checks the previous report, the
message and that no kernel outlives the run. A run runs only the notebook its fault is in.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from salign import cli
from salign.core import paths
from salign.runner import publish
from salign.runner.execute import RunError, RunLocked, RunTimeout, review
from salign.runner.lock import LOCK_NAME, RunLock
from tests.conftest import copy_reports

pytestmark = pytest.mark.slow

PERIOD = "2025Q4"
#: runs the CLI on notebook argv[2] only, read from argv[1] (a copy with a planted fault)
CLI_WITH_NOTEBOOKS = """\
import functools, sys
from salign import cli
from salign.runner import execute as run
run.review = functools.partial(run.review, notebooks_dir=sys.argv[1], notebooks=(sys.argv[2],))
sys.exit(cli.main(sys.argv[3:]))
"""
#: runs the CLI on 03_qualification only but dies (SIGKILL, no clean-up at all) once the staging report is
#: complete, before it is swapped in
CLI_DYING_IN_PUBLISH = """\
import functools, os, signal, sys
from salign import cli
from salign.runner import execute
execute.review = functools.partial(execute.review, notebooks=("03_qualification",))
real_build = execute.build
def build_then_die(*args, **kwargs):
    real_build(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
execute.build = build_then_die
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.fixture
def published(tiny_reports, tmp_path):
    """(workspace, reports folder) with a good report of 2025Q4 already published: a copy of the shared one."""
    ws, out = tiny_reports
    return ws, copy_reports(out, tmp_path / "reports")


def snapshot(out: Path) -> dict[str, bytes]:
    """Every published byte: the period's folder and the index of all periods."""
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in (out / PERIOD).rglob("*") if p.is_file()}
    files["index.html"] = (out / "index.html").read_bytes()
    return files


def plant(tmp: Path, notebook: str, source: str, after: int = 4) -> Path:
    """A copy of the notebooks where ``notebook`` runs ``source`` in a new cell after cell ``after``."""
    folder = tmp / "notebooks"
    if not folder.exists():
        shutil.copytree(paths.NOTEBOOKS_DIR, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    nb = nbformat.read(folder / f"{notebook}.ipynb", as_version=4)
    cell = nbformat.v4.new_code_cell(source)
    cell.id = "planted-fault"
    nb.cells.insert(after + 1, cell)
    nbformat.write(nb, folder / f"{notebook}.ipynb")
    return folder


def hang(pidfile: Path) -> str:
    """A cell that records its kernel's pid, then hangs."""
    return f"import os, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\ntime.sleep(3600)"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_dead(pid: int, seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.2)
    return False


def assert_clean(out: Path, before: dict[str, bytes]) -> None:
    """The previous report is byte-identical, the lock is released, no staging folder is left."""
    assert snapshot(out) == before
    assert (out / LOCK_NAME).read_text() == ""
    assert not [p for p in out.iterdir() if p.name.startswith(".staging-")]


def kept_notebook(message: str, out: Path) -> Path:
    """The executed notebook the message points to: it exists, under ``<out>/.failed/``."""
    kept = Path(re.search(r"executed notebook kept at (\S+)", message).group(1))
    assert kept.exists() and kept.is_relative_to(out / ".failed")
    return kept


def test_exception_mid_notebook(published, tmp_path):
    ws, out = published
    before = snapshot(out)
    nbs = plant(tmp_path, "01_personas", "raise RuntimeError('planted failure in the middle of the notebook')")
    with pytest.raises(RunError) as err:
        review(ws, PERIOD, out, notebooks=["01_personas"], notebooks_dir=nbs, progress=lambda m: None)
    message = str(err.value)
    assert "notebook 01_personas failed" in message and "planted failure in the middle" in message
    assert "previous report of 2025Q4, if any, is unchanged" in message
    kept = kept_notebook(message, out)
    assert kept.name == "01_personas.ipynb" and "planted failure" in kept.read_text()
    assert_clean(out, before)


def test_kernel_killed(published, tmp_path):
    ws, out = published
    before = snapshot(out)
    nbs = plant(tmp_path, "03_qualification", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", after=2)
    with pytest.raises(RunError) as err:
        review(ws, PERIOD, out, notebooks=["03_qualification"], notebooks_dir=nbs, progress=lambda m: None)
    message = str(err.value)
    assert "notebook 03_qualification failed: its kernel died" in message
    assert kept_notebook(message, out).name == "03_qualification.ipynb"
    assert_clean(out, before)


def test_cell_hang_stopped_by_the_cell_timeout(published, tmp_path):
    ws, out = published
    before = snapshot(out)
    pidfile = tmp_path / "kernel.pid"
    nbs = plant(tmp_path, "03_qualification", hang(pidfile), after=1)  # right after the parameters
    t0 = time.monotonic()
    with pytest.raises(RunTimeout) as err:
        review(ws, PERIOD, out, notebooks=["03_qualification"], notebooks_dir=nbs, cell_timeout=8,
               progress=lambda m: None)
    assert time.monotonic() - t0 < 40
    message = str(err.value)
    assert "notebook 03_qualification failed: a cell ran longer than --cell-timeout" in message
    assert "after 8 seconds" in message and "time.sleep(3600)" in message, "the message shows the hung cell"
    assert kept_notebook(message, out).name == "03_qualification.ipynb"
    assert wait_dead(int(pidfile.read_text())), "the hung kernel is still running"
    assert_clean(out, before)


def test_overall_timeout_kills_every_kernel(published, tmp_path):
    ws, out = published
    before = snapshot(out)
    pidfile = tmp_path / "kernel.pid"
    nbs = plant(tmp_path, "01_personas", hang(pidfile), after=1)  # right after the parameters
    t0 = time.monotonic()
    with pytest.raises(RunTimeout) as err:  # no cell limit: only the overall one can stop it
        review(ws, PERIOD, out, notebooks=["01_personas"], notebooks_dir=nbs, cell_timeout=0, timeout=20,
               progress=lambda m: None)
    assert time.monotonic() - t0 < 60
    message = str(err.value)
    assert "took longer than --timeout 20 s" in message and "01_personas" in message
    assert pidfile.exists(), "the hung cell never ran within 20 s: kernels start too slowly on this machine"
    assert kept_notebook(message, out).name == "01_personas.ipynb"
    assert wait_dead(int(pidfile.read_text())), "the hung kernel is still running"
    assert_clean(out, before)


def test_concurrent_run_exits_at_once_and_sigterm_stops_the_first(published, tmp_path, capsys):
    ws, out = published
    before = snapshot(out)
    pidfile = tmp_path / "kernel.pid"
    nbs = plant(tmp_path, "01_personas", hang(pidfile), after=1)  # right after the parameters
    first = subprocess.Popen([sys.executable, "-c", CLI_WITH_NOTEBOOKS, str(nbs), "01_personas", "review",
                              "--workspace", str(ws), "--out", str(out), "--period", PERIOD], cwd=paths.PROJECT_ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 60
        while not pidfile.exists() and time.monotonic() < end and first.poll() is None:
            time.sleep(0.2)
        assert pidfile.exists(), first.communicate(timeout=5)
        t0 = time.monotonic()
        code = cli.main(["review", "--workspace", str(ws), "--out", str(out), "--period", PERIOD])
        assert code == cli.EXIT_LOCKED and time.monotonic() - t0 < 5
        err = capsys.readouterr().err
        assert "another salign review is running" in err and f"pid {first.pid}" in err
        assert "exits without changing anything" in err
        first.send_signal(signal.SIGTERM)  # what cron's or systemd's stop sends
        _, first_err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 128 + signal.SIGTERM
    assert "stopped by SIGTERM" in first_err and "previous report is unchanged" in first_err
    assert wait_dead(int(pidfile.read_text())), "the kernel outlived the stopped run"
    assert_clean(out, before)


def test_lock_held_in_this_process_is_refused_too(published):
    ws, out = published
    with RunLock(out, "test"):
        with pytest.raises(RunLocked, match=f"pid {os.getpid()}"):
            review(ws, PERIOD, out, progress=lambda m: None)


def test_interrupted_publish(published, tmp_path):
    ws, out = published
    before = snapshot(out)
    dying = subprocess.Popen([sys.executable, "-c", CLI_DYING_IN_PUBLISH, "review", "--workspace", str(ws),
                              "--out", str(out), "--period", PERIOD], cwd=paths.PROJECT_ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = dying.communicate(timeout=300)
    assert dying.returncode == -signal.SIGKILL, err
    assert snapshot(out) == before
    leftovers = [p for p in out.iterdir() if p.name.startswith(".staging-")]
    assert leftovers and (leftovers[0] / "metrics.json").exists(), "the run died with its staging complete"
    # the lock still names the dead process (the kernel released its flock); the next run clears what it left
    assert json.loads((out / LOCK_NAME).read_text())["pid"] == dying.pid
    with RunLock(out, "next run") as lock:
        assert lock.stale_["pid"] == dying.pid
        notes = publish.recover(out)
    assert any("removed .staging-" in n for n in notes) and snapshot(out) == before


def test_commit_interrupted_between_its_two_renames_is_repaired(tmp_path):
    """Where the atomic exchange is unavailable, a report moved aside by a dead run is put back by the next."""
    out = tmp_path / "reports"
    (out / f".old-{PERIOD}-4242").mkdir(parents=True)
    (out / f".old-{PERIOD}-4242" / "index.html").write_text("previous report")
    notes = publish.recover(out)
    assert (out / PERIOD / "index.html").read_text() == "previous report"
    assert notes == [f"restored the report of {PERIOD} that an interrupted run had moved aside"]


def test_output_folder_not_writable(published):
    ws, out = published
    before = snapshot(out)
    modes = {p: p.stat().st_mode for p in (out, out / PERIOD)}
    command = [sys.executable, "-m", "salign.cli", "review", "--workspace", str(ws), "--out", str(out),
               "--period", PERIOD]
    if os.geteuid() == 0:  # root writes anywhere; without its capabilities, permission bits apply to it too
        command = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"] + command
    try:
        for p in modes:
            p.chmod(0o555)
        done = subprocess.run(command, cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    assert done.returncode == cli.EXIT_RUN_FAILED, done.stderr
    assert f"cannot write to the reports folder {out}: Permission denied" in done.stderr
    assert "previous report of 2025Q4, if any, is unchanged" in done.stderr
    assert snapshot(out) == before


def test_rerun_takes_over_a_stale_lock_and_gives_the_same_metrics(published, capsys):
    """The rerun notebook's metrics equal the published ones (that a whole rerun gives byte-identical
    metrics is tested on the sample in tests/test_end_to_end.py)."""
    ws, out = published
    before = json.loads((out / PERIOD / "metrics.json").read_text())
    dead = subprocess.Popen(["true"])
    dead.wait()
    (out / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": "here", "period": PERIOD,
                                             "started": "2026-01-01T03:00:00+00:00"}) + "\n")
    (out / f".staging-{PERIOD}-deadbeef").mkdir()
    review(ws, PERIOD, out, notebooks=["03_qualification"])
    said = capsys.readouterr().out
    assert f"taking over the lock left by pid {dead.pid}" in said
    assert f"removed .staging-{PERIOD}-deadbeef" in said
    after = json.loads((out / PERIOD / "metrics.json").read_text())
    assert after["notebooks"] == {"03_qualification": before["notebooks"]["03_qualification"]}
    assert (out / LOCK_NAME).read_text() == ""


#: runs the CLI on 03_qualification only and sends itself SIGTERM right after the period folder was swapped in
CLI_SIGTERM_AFTER_SWAP = """\
import functools, os, signal, sys
from salign import cli
from salign.runner import execute, publish
execute.review = functools.partial(execute.review, notebooks=("03_qualification",))
real_commit = publish.commit
def commit_then_sigterm(*args, **kwargs):
    real_commit(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGTERM)
publish.commit = commit_then_sigterm
sys.exit(cli.main(sys.argv[1:]))
"""


def test_sigterm_between_the_swap_and_the_index(published):
    """Issue 15: the period and the index change together, and the message never says "unchanged" when it changed."""
    ws, out = published
    (out / "index.html").write_text("stale index")
    run = subprocess.run([sys.executable, "-c", CLI_SIGTERM_AFTER_SWAP, "review", "--workspace", str(ws),
                          "--out", str(out), "--period", PERIOD], cwd=paths.PROJECT_ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 128 + signal.SIGTERM, run.stderr
    assert "unchanged" not in run.stderr and "had been published" in run.stderr
    assert f"{PERIOD}/index.html" in (out / "index.html").read_text(), "the index was not rewritten with the period"
    assert not [p for p in out.iterdir() if p.name.startswith((".staging-", ".index.html.", ".notebooks-"))]
    assert (out / ".internal" / PERIOD / "03_qualification.ipynb").exists()


def test_pii_in_an_output_the_page_leaves_out_refuses_the_publish(published, tmp_path):
    """Issue 15: e-mail addresses in text/plain outputs and streams published inside the executed notebooks."""
    ws, out = published
    before = snapshot(out)
    nbs = plant(tmp_path, "03_qualification", "print('write to boss.person@corp.example')\n'+49 30 5550101'")
    with pytest.raises(RunError) as caught:
        review(ws, PERIOD, out, notebooks=["03_qualification"], notebooks_dir=nbs, progress=lambda m: None)
    message = str(caught.value)
    assert "e-mail address (bo***le) in notebook 03_qualification, section '" in message, message
    assert "phone number" in message and "cell planted-fault" in message and "boss.person" not in message
    assert snapshot(out) == before
