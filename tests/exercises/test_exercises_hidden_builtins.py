"""The test cells pass, hidden tests included, after a student cell rebinds common builtins.

A beginner's scratch cell may well say ``max = ...`` or ``min = ...`` at top level. The hidden
tests must not then fail a correct answer, nor print their own lines in a traceback.
"""

from __future__ import annotations

import contextlib
import io

import nbformat
import pytest
from exercises_course import hidden_test_lines, solution_functions, source_notebooks

from testkit.notebooks import graded_cells, hidden_delimiters

# What a student cell might rebind: every builtin the test cells call, turned into a number.
REBOUND_BUILTINS = {"int": 3, "max": 3, "min": 3, "range": 3, "len": 3, "tuple": 3, "abs": 3}


def grade_cells() -> list[nbformat.NotebookNode]:
    begin_hidden, _ = hidden_delimiters()
    return [
        cell
        for notebook in source_notebooks()
        for cell in graded_cells(notebook)
        if begin_hidden in cell.source
    ]


@pytest.mark.parametrize("cell", grade_cells(), ids=lambda c: c.metadata.nbgrader.grade_id)
def test_test_cell_passes_with_builtins_rebound(cell):
    answers = {k: v for k, v in solution_functions().items() if callable(v)}
    notebook_globals = {**answers, **REBOUND_BUILTINS}  # the answers keep their own globals
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(shown):
        exec(compile(cell.source, cell.metadata.nbgrader.grade_id, "exec"), notebook_globals)
    # What the student sees: the cell's own message, and no line of its hidden tests.
    assert "✓" in shown.getvalue()
    leaked = [line for line in hidden_test_lines() if line in shown.getvalue()]
    assert not leaked, leaked
