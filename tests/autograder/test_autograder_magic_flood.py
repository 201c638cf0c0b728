"""A notebook full of IPython magics must not keep the grader busy beyond the submission's time
limit: IPython's transformer runs in the judge (outside the sandbox's limits) and is quadratic
in the magics of a cell, so 20 MB of ``a = !ls`` lines would take hours."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from grading_helpers import source_notebook

from autograder.assignment import read_source_notebook
from autograder.judge import cells_to_run

MAGIC_CELL = "".join(f"a{i} = !ls\n" for i in range(499))


def _notebook(cells: int) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(MAGIC_CELL) for _ in range(cells)]
    return nb


def test_magics_are_not_transformed_after_the_deadline(course: Path):
    source = read_source_notebook(source_notebook(course))
    cells = cells_to_run(_notebook(200), source, deadline=time.monotonic() - 1)
    assert [c["source"] for c in cells] == [MAGIC_CELL] * 200


def test_magics_are_transformed_within_the_deadline(course: Path):
    source = read_source_notebook(source_notebook(course))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("files = !ls\n%time x = 1\n")]
    (cell,) = cells_to_run(nb, source, deadline=time.monotonic() + 3600)
    assert "get_ipython()" in cell["source"] and "!ls" not in cell["source"]
