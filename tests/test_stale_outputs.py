"""The notebooks are checked by nbval in strict mode: a committed output that no longer matches
what the code prints must fail `make test`. This runs nbval, with the Makefile's options, on two
tiny notebooks: one whose saved output is right, and one whose saved output is stale."""

import subprocess
import sys

import nbformat
from conftest import REPO, subprocess_env

SOURCE = "import charrnn_core\nprint(charrnn_core.softmax([[0.0], [0.0]]).ravel())"


def notebook(saved_output: str):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(SOURCE, execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=saved_output)]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_nbval_fails_on_a_stale_committed_output_and_passes_a_fresh_one(tmp_path):
    nbformat.write(notebook("[0.5 0.5]\n"), tmp_path / "fresh.ipynb")
    nbformat.write(notebook("[0.4 0.6]\n"), tmp_path / "stale.ipynb")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider",
         "--nbval-sanitize-with", str(REPO / "tests" / "nbval_sanitize.cfg"), "-q", "-rf",
         "fresh.ipynb", "stale.ipynb"],
        cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    out = result.stdout
    assert result.returncode == 1, out
    assert "1 failed, 1 passed" in out, out
    assert "Cell outputs differ" in out and "[0.4 0.6]" in out, out  # the stale one failed
