"""Scores into the course's nbgrader gradebook, through nbgrader's own API, so that
``nbgrader export`` and formgrader see exactly what grades.csv says."""

from __future__ import annotations

import warnings

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning

from autograder.assignment import Assignment
from autograder.results import StudentResult


def open_gradebook(assignment: Assignment) -> Gradebook:
    """Open the gradebook and make sure it knows the assignment's notebooks and graded cells
    (``nbgrader generate_assignment`` records them; a bare ``db assignment add`` does not)."""
    gb = Gradebook(assignment.db_url, course_id=assignment.course_id)
    gb.update_or_create_assignment(assignment.name)
    for notebook in assignment.notebooks:
        gb.update_or_create_notebook(notebook.name, assignment.name)
        for grade_id, points in notebook.tests.items():
            gb.update_or_create_grade_cell(
                grade_id, notebook.name, assignment.name, max_score=points, cell_type="code"
            )
        for grade_id in notebook.answers:  # nbgrader's feedback looks up a comment for each
            gb.update_or_create_solution_cell(grade_id, notebook.name, assignment.name)
    return gb


def record(gb: Gradebook, result: StudentResult) -> None:
    """Auto scores for every graded cell; a grader's manual override is kept and flagged."""
    gb.update_or_create_student(result.student_id)
    with warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy 2's cascade warning; the rows are fine
        # (nbgrader export reads them back), so keep the progress bar readable.
        warnings.simplefilter("ignore", SAWarning)
        submission = gb.update_or_create_submission(result.assignment, result.student_id)
    if result.timestamp:  # nbgrader export's late penalty needs it
        try:
            submission.timestamp = parse_utc(result.timestamp)
        except (ValueError, OverflowError):
            pass  # an unreadable timestamp.txt: leave the submission untimed
    for notebook in result.notebooks:
        for cell in notebook["cells"]:
            try:
                grade = gb.find_grade(
                    cell["grade_id"], notebook["notebook"], result.assignment, result.student_id
                )
            except MissingEntry:
                continue  # a cell added to the assignment after this submission was recorded
            grade.auto_score = cell["score"]
            grade.needs_manual_grade = grade.manual_score is not None
    gb.db.commit()
