"""The autograded notebook nbgrader's formgrader opens for manual review.

It is the student's notebook with every graded test cell restored from the source (like
nbgrader's own autograde, hidden tests included: this folder is instructor-only) and, as the
cell's output, the judge's verdict. Scores themselves come from the gradebook.

Formgrader and ``nbgrader generate_feedback`` render it into pages, with the student's
strings copied into their HTML unescaped in places, so nothing of the student's reaches it
raw: markdown and raw cells are cleaned (``autograder.markup``), outputs are not kept, a
cell's metadata is the source's for its grade_id (or none), and the notebook's metadata (where
widget state would be) is the source notebook's.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import nbformat

from autograder.assignment import Assignment, SourceNotebook
from autograder.markup import safe_markdown, safe_raw
from autograder.mistakes import hint_texts
from autograder.results import write_atomic
from autograder.submissions import cell_grade_id


@functools.cache
def _source_notebook(path: Path):
    """A source notebook, parsed once per batch (its parts are copied on use)."""
    return nbformat.read(path, as_version=4)


def _source_cells(path: Path) -> dict:
    """grade_id -> cell of a source notebook, for its cells that have one."""
    return {cell_grade_id(c): c for c in _source_notebook(path).cells if cell_grade_id(c)}


def _reviewable(cell, source_cells: dict):
    """A copy of a student's cell that a reviewer's browser can render safely."""
    cell = copy.deepcopy(cell)
    origin = source_cells.get(cell_grade_id(cell))
    # Cell metadata reaches the page's HTML unescaped (grade_id in an id attribute, tags in a
    # class): only the source's nbgrader metadata for a known grade_id is kept.
    cell.metadata = {"nbgrader": copy.deepcopy(origin.metadata.nbgrader)} if origin else {}
    if cell.cell_type == "markdown":
        cell.source = safe_markdown(cell.source, cell.pop("attachments", None))
    elif cell.cell_type == "raw":
        cell.source = safe_raw(cell.source)
    return cell


def _verdict_outputs(cell_result: dict) -> list:
    if cell_result["score"] >= cell_result["points"]:
        return [nbformat.v4.new_output("stream", name="stdout", text=f"{cell_result['message']}\n")]
    # The diagnosis's sentences, as the students' own checks print them ("Hint: ...").
    hints = [f"Hint: {text}" for text in hint_texts(cell_result)]
    return [
        nbformat.v4.new_output(
            "error",
            ename="AutograderFailure",
            evalue=cell_result["message"],
            traceback=[cell_result["message"], *hints],
        )
    ]


def autograded_notebook(student_nb, source: SourceNotebook, notebook_result: dict):
    """Student cells kept (outputs cleared); test cells replaced by the source's (or appended
    if deleted), with the verdict as their only output."""
    source_cells = _source_cells(source.path)
    verdicts = {c["grade_id"]: c for c in notebook_result["cells"]}
    nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(_source_notebook(source.path).metadata))
    placed, cells = set(), []
    for cell in student_nb.cells:
        grade_id = cell_grade_id(cell)
        if grade_id in source.tests:
            if grade_id in placed:
                continue  # a duplicated test cell: keep the first copy only
            cell = copy.deepcopy(source_cells[grade_id])
            placed.add(grade_id)
        else:
            cell = _reviewable(cell, source_cells)
        cells.append(cell)
    cells += [copy.deepcopy(source_cells[g]) for g in source.tests if g not in placed]
    for cell in cells:
        if cell.cell_type != "code":
            continue
        # The student's own outputs are not re-created here (nothing runs outside the
        # sandbox), and kept ones could carry script into the instructor's browser: drop them.
        verdict = verdicts.get(cell_grade_id(cell))
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
