"""02_content_audit runs on a workspace without a content table and says what the audit needs."""
import json

import nbformat
import papermill
import pytest

from salign.core import paths
from salign.workspace.schema import TABLES

pytestmark = pytest.mark.slow


def test_notebook_without_content_table_lists_the_expected_columns(tiny_workspace, tmp_path):
    executed = tmp_path / "02.ipynb"
    papermill.execute_notebook(str(paths.NOTEBOOKS_DIR / "02_content_audit.ipynb"), str(executed),
                               parameters={"workspace": str(tiny_workspace), "output_dir": str(tmp_path)},
                               kernel_name="python3", progress_bar=False, cwd=str(paths.PROJECT_ROOT))
    metrics = json.loads((tmp_path / "02_content_audit.metrics.json").read_text())
    reason = metrics["skipped"]["content_inventory"]
    assert "needs the 'content' table" in reason
    assert all(c.name in reason for c in TABLES["content"].columns)
    assert {"content_matrix", "usage", "influence", "write_gaps", "messaging_plan"} <= set(metrics["skipped"])
    assert "personas_used" not in metrics["skipped"]
    shown = "".join(o.get("data", {}).get("text/html", "") for c in nbformat.read(executed, 4).cells
                    if c.cell_type == "code" for o in c.outputs)
    assert "Skipped: content inventory" in shown and "content_id (required)" in shown
    assert not (tmp_path / "content_gaps.csv").exists()
