"""Committed notebooks: no outputs, one literal parameters cell, validated first, no logic, kernelspec python3.

A notebook's parameters are declared once, in salign.runner.params; its ``parameters`` cell (which
papermill reads), its ``notebook.start`` call and the CLI's defaults must say the same.
"""
import ast
import io
import tokenize

import nbformat
import papermill
import pytest

from salign import cli
from salign.core import paths
from salign.runner.params import MODELS, CommonParams

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb"))


def test_the_four_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == sorted(MODELS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_conventions(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "committed with outputs"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0]
    tree = ast.parse(tagged[0].source)
    assert all(isinstance(n, ast.AnnAssign) and isinstance(n.value, ast.Constant) for n in tree.body), \
        "parameters are 'name: type = literal  # help'"
    declared = {n.target.id for n in tree.body}
    inspected = papermill.inspect_notebook(str(path))
    assert set(inspected) == declared, "papermill could not parse every parameter line"
    assert all(v["help"] for v in inspected.values()), "every parameter has a help comment"
    assert declared == set(MODELS[path.stem].model_fields), "parameters cell and salign.runner.params disagree"
    assert f"notebook.start({path.stem!r}" in code[1].source, "the first code cell validates the parameters"
    for c in code:
        for node in ast.walk(ast.parse(c.source)):
            assert not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef, ast.Lambda)), \
                "logic belongs in the salign package"
    assert "ctx.finish()" in code[-1].source, "the notebook ends by writing its metrics"


def _declared(source: str) -> list[tuple]:
    """``name: type = value  # help`` lines as (name, type, value, type of value, help)."""
    comments = {tok.start[0]: tok.string.lstrip("#").strip()
                for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT}
    return [(n.target.id, ast.unparse(n.annotation), n.value.value, type(n.value.value).__name__,
             comments.get(n.lineno)) for n in ast.parse(source).body]


def _fields(model) -> list[tuple]:
    return [(name, f.annotation.__name__, f.default, type(f.default).__name__, f.description)
            for name, f in model.model_fields.items()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_parameters_cell_says_what_the_model_says(path):
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    model = MODELS[path.stem]
    assert _declared(code[0].source) == _fields(model), "name, type, default and help as in salign.runner.params"
    start = next(n for n in ast.walk(ast.parse(code[1].source))
                 if isinstance(n, ast.Call) and ast.unparse(n.func) == "notebook.start")
    assert [(k.arg, ast.unparse(k.value)) for k in start.keywords] == [(f, f) for f in model.model_fields], \
        "notebook.start gets every parameter, by its own name"


def test_the_cli_defaults_are_the_models():
    args = cli._parser().parse_args(["review"])
    assert args.period == CommonParams.model_fields["period"].default
    assert args.workspace == str(paths.resolve(CommonParams.model_fields["workspace"].default))
