"""Committed notebooks: no outputs, one literal parameters cell, validated first, no logic, kernelspec python3."""
import ast

import nbformat
import papermill
import pytest

from salign.core import paths
from salign.runner.params import MODELS

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
