"""salign installs as a wheel and runs from it, anywhere, without its checkout.

How the test installs it, and why that is honest and fast:

1. The wheel is built (``pip wheel --no-deps``, with build isolation like any user's build) from a copy
   of the checkout's sources in a temporary folder, so that setuptools' ``build/`` and ``*.egg-info``
   do not land in the checkout. The copy keeps the link ``salign/notebooks -> ../notebooks``: the wheel
   must hold copies of the notebooks (package-data in pyproject.toml).
2. A clean virtualenv is made outside the checkout (``python -m venv --without-pip``) and the wheel is
   installed into it with ``pip --python ... install --no-deps --no-index``: only salign's own files.
3. Its dependencies are not downloaded again: a ``.pth`` file puts the test interpreter's site-packages
   at the end of the new environment's ``sys.path``. A path line in a ``.pth`` file adds the folder
   but does not run the ``.pth`` files inside it, so the checkout's editable install (an import hook
   started from such a file) stays off, and the wheel's salign is the only one. nbconvert keeps its
   HTML templates outside site-packages, under ``<prefix>/share/jupyter/nbconvert``, where ``pip install
   nbconvert`` would have put them in the new environment: that one folder is linked there. Not the
   ``kernels/`` beside it, whose ``python3`` spec would start the checkout's interpreter; without it
   Jupyter starts the kernel with the running interpreter, the new environment's.
4. Every Python process of the run (the CLI and each notebook's kernel) logs the interpreter it runs
   and starts an audit hook that logs each file or folder it opens, lists, creates, renames or removes inside the checkout. Reading
   the dependencies in the checkout's virtualenv is expected; anything else in the checkout is a
   failure: the run must take its notebooks and templates from the wheel and write only where told.

Then, in a temporary folder outside the checkout, ``salign sample --out ws --leads 3000`` and
``salign review --workspace ws --out reports`` must publish reports/<period>/ with its pages and metrics.
"""
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from salign.core import paths

pytestmark = pytest.mark.slow

#: started by a ``.pth`` file in every Python process of the new environment
AUDIT = '''\
import os, sys, threading
LOG, ROOT = os.environ.get("SALIGN_AUDIT_LOG"), os.environ.get("SALIGN_AUDIT_ROOT", "") + os.sep
EVENTS = {"open", "os.listdir", "os.scandir", "os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir",
          "os.chdir", "os.chmod", "os.utime", "os.symlink", "shutil.copyfile", "shutil.rmtree"}
local = threading.local()

def hook(event, args):
    if event not in EVENTS or getattr(local, "busy", False) or not args \\
            or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    local.busy = True  # the log's own open() is an event too
    try:
        path = os.path.realpath(os.fsdecode(args[0]))
        if (path + os.sep).startswith(ROOT):
            with open(LOG, "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()} {event} {path}\\n")
    finally:
        local.busy = False

if LOG:
    with open(LOG, "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} start {sys.executable}\\n")
    sys.addaudithook(hook)
'''


def _run(*args, **kw) -> subprocess.CompletedProcess:
    run = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900, **kw)
    assert run.returncode == 0, f"{' '.join(map(str, args))}\n{run.stdout}\n{run.stderr}"
    return run


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtualenv outside the checkout with the freshly built wheel installed; returns its bin/."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(paths.PROJECT_ROOT / name, src)
    for name in ("salign", "notebooks"):
        shutil.copytree(paths.PROJECT_ROOT / name, src / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", tmp / "dist", src)
    wheel, = (tmp / "dist").glob("salign-*.whl")

    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    ours = sysconfig.get_paths()
    (site / "dependencies.pth").write_text("\n".join(dict.fromkeys([ours["purelib"], ours["platlib"]])) + "\n")
    (site / "_salign_audit.py").write_text(AUDIT)
    (site / "_salign_audit.pth").write_text("import _salign_audit\n")
    (venv / "share" / "jupyter").mkdir(parents=True)
    (venv / "share" / "jupyter" / "nbconvert").symlink_to(Path(sys.prefix) / "share" / "jupyter" / "nbconvert")
    return venv / "bin"


def test_the_wheel_runs_a_review_outside_the_checkout(installed, tmp_path):
    log = tmp_path / "audit.log"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"SALIGN_AUDIT_LOG": str(log), "SALIGN_AUDIT_ROOT": str(paths.PROJECT_ROOT)}
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()

    where = _run(installed / "python", "-c", "from salign.core import paths; print(paths.PACKAGE_DIR, paths.CHECKOUT)",
                 cwd=cwd, env=env).stdout.split()
    assert Path(where[0]).is_relative_to(installed.parent) and where[1] == "None", "salign comes from the wheel"
    _run(installed / "salign", "sample", "--out", "ws", "--leads", "3000", cwd=cwd, env=env)
    _run(installed / "salign", "review", "--workspace", "ws", "--out", "reports", cwd=cwd, env=env)

    published = [p for p in (cwd / "reports").iterdir() if re.fullmatch(r"\d{4}Q[1-4]", p.name)]
    assert len(published) == 1
    assert (published[0] / "index.html").is_file() and (published[0] / "metrics.json").is_file()
    assert (cwd / "reports" / "index.html").is_file()
    events = [line.split(" ", 2) for line in log.read_text().splitlines()]
    started = [path for _, event, path in events if event == "start"]
    assert len(started) >= 7 and set(started) == {str(installed / "python")}, \
        "the check, the CLI twice and the four kernels ran the new environment's interpreter"
    dependencies = Path(sys.prefix).resolve()
    outside = [" ".join(e) for e in events if e[1] != "start" and not Path(e[2]).is_relative_to(dependencies)]
    assert outside == [], "the installed salign used or wrote files of the checkout"
