"""The autograded notebook nbgrader's formgrader opens for manual review.

It is the student's notebook with every graded test cell restored from the source (like
nbgrader's own autograde, hidden tests included: this folder is instructor-only) and, as the
cell's output, the judge's verdict. Scores themselves come from the gradebook.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import nbformat

from autograder.assignment import Assignment, SourceNotebook
from autograder.results import write_atomic


def _grade_id(cell) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader", {}) or {}).get("grade_id")


@functools.cache
def _source_cells(path: Path) -> dict:
    """grade_id -> cell of a source notebook, parsed once per batch (cells are copied on use)."""
    return {_grade_id(c): c for c in nbformat.read(path, as_version=4).cells}


def _verdict_outputs(cell_result: dict) -> list:
    if cell_result["score"] >= cell_result["points"]:
        return [nbformat.v4.new_output("stream", name="stdout", text=f"{cell_result['message']}\n")]
    return [
        nbformat.v4.new_output(
            "error",
            ename="AutograderFailure",
            evalue=cell_result["message"],
            traceback=[cell_result["message"]],
        )
    ]


def autograded_notebook(student_nb, source: SourceNotebook, notebook_result: dict):
    """Student cells kept (outputs cleared); test cells replaced by the source's (or appended
    if deleted), with the verdict as their only output."""
    source_cells = _source_cells(source.path)
    verdicts = {c["grade_id"]: c for c in notebook_result["cells"]}
    nb = copy.deepcopy(student_nb)
    placed, cells = set(), []
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        if grade_id in source.tests:
            if grade_id in placed:
                continue  # a duplicated test cell: keep the first copy only
            cell = copy.deepcopy(source_cells[grade_id])
            placed.add(grade_id)
        cells.append(cell)
    cells += [copy.deepcopy(source_cells[g]) for g in source.tests if g not in placed]
    for cell in cells:
        if cell.cell_type != "code":
            continue
        # The student's own outputs are not re-created here (nothing runs outside the
        # sandbox), and kept ones could carry script into the instructor's browser: drop them.
        verdict = verdicts.get(_grade_id(cell))
        cell.outputs = _verdict_outputs(verdict) if verdict else []
        cell.execution_count = None
    nb.cells = cells
    return nb


def write_autograded(assignment: Assignment, student_id: str, student_nbs: dict, result) -> None:
    """``student_nbs``: notebook name -> the student's parsed notebook, for those that parsed."""
    folder = assignment.autograded_folder(student_id)
    for source, notebook_result in zip(assignment.notebooks, result.notebooks, strict=True):
        if source.name in student_nbs:
            nb = autograded_notebook(student_nbs[source.name], source, notebook_result)
            write_atomic(folder / f"{source.name}.ipynb", nbformat.writes(nb))
