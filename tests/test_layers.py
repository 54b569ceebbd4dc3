"""The rooms keep their order: import contracts (pyproject.toml), no hidden imports, no markup outside the report.

The contracts are import-linter's (``[tool.importlinter]`` in pyproject.toml): a room imports only from
the rooms below it, the four analyses do not import each other, and neither do the importers and the
sample generator. ``make lint`` runs the same check.
"""
import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from salign.core import paths

PACKAGE = paths.PROJECT_ROOT / "salign"
#: salign.cli defers its imports into the command that needs them: ``salign --help`` starts in a blink
DEFERS_IMPORTS = {PACKAGE / "cli.py"}
#: an HTML tag a result, a notebook or a docstring might carry
MARKUP = re.compile(r"<(p|div|ul|li|strong|em|code|table|tr|td|th|h[1-6]|br|span|svg)\b[^>]*>")


def lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``lint-imports`` on the pyproject.toml in ``cwd``; ``pythonpath`` puts another salign first."""
    exe = Path(sys.executable).with_name("lint-imports")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(exe), "--no-cache", "--no-logo"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_import_contracts_are_kept():
    run = lint_imports(paths.PROJECT_ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"Contracts: (\d+) kept, 0 broken", run.stdout).group(1) == "3"


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "salign", ignore=shutil.ignore_patterns("__pycache__", "notebooks"))
    shutil.copy(paths.PROJECT_ROOT / "pyproject.toml", tmp_path)
    stats = tmp_path / "salign" / "common" / "stats.py"
    stats.write_text(stats.read_text() + "\nfrom salign.report import html  # noqa: E402\n")

    run = lint_imports(tmp_path, pythonpath=tmp_path)

    assert run.returncode == 1, run.stdout + run.stderr
    assert "A room imports only from the rooms below it BROKEN" in run.stdout
    assert "salign.common.stats -> salign.report.html" in run.stdout


def _imports_in_functions(path: Path) -> list[str]:
    found = []
    for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    ["." * node.level + (node.module or "")] if isinstance(node, ast.ImportFrom) else []
                if any(n.startswith((".", "salign")) for n in names):
                    found.append(f"{path.relative_to(paths.PROJECT_ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_imports_salign_inside_a_function():
    assert "defers" in ast.get_docstring(ast.parse((PACKAGE / "cli.py").read_text())), \
        "salign/cli.py says why it imports inside functions"
    found = [hit for p in sorted(PACKAGE.rglob("*.py")) if p not in DEFERS_IMPORTS for hit in _imports_in_functions(p)]
    assert found == [], "import at the top of the module (a cycle means a room is in the wrong place)"


def _sources():
    """The package outside salign/report/, the benchmarks and every cell of the notebooks.

    tests/ is not searched: the report's tests build pages and compare HTML on purpose.
    """
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "report" not in path.parents:
            yield path, path.read_text(encoding="utf-8")
    for path in sorted((paths.PROJECT_ROOT / "benchmarks").glob("*.py")):
        yield path, path.read_text(encoding="utf-8")
    for path in sorted((paths.PROJECT_ROOT / "notebooks").glob("*.ipynb")):
        yield path, "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)


def test_no_html_markup_outside_the_report():
    found = [f"{path.relative_to(paths.PROJECT_ROOT)}: {m.group(0)}" for path, text in _sources()
             for m in [MARKUP.search(text)] if m]
    assert found == [], "results return data (salign.common.result); only salign/report/ writes HTML"


def test_a_notebook_kernel_does_not_import_the_runner_machinery():
    """Every kernel imports salign.runner.notebook; papermill and nbconvert belong to the process that drives them."""
    code = ("import sys; import salign.runner.notebook, salign.personas, salign.content, salign.qualify, salign.review; "
            "print(sorted(m for m in ('papermill', 'nbconvert', 'nbclient') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
