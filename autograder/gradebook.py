"""Scores into the course's nbgrader gradebook, through nbgrader's own API, so that
``nbgrader export`` and formgrader see exactly what grades.csv says, late penalties included
(nbgrader's own AssignLatePenalties step, with the course's configured plugin)."""

from __future__ import annotations

import logging
import warnings

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties
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


# nbgrader logs each late submission as a warning; the penalty itself is in the gradebook.
LATE_LOG = logging.getLogger(__name__)
LATE_LOG.addHandler(logging.NullHandler())
LATE_LOG.propagate = False


def record(gb: Gradebook, assignment: Assignment, result: StudentResult) -> None:
    """Auto scores for every graded cell (a grader's manual override is kept and flagged),
    then the late penalty. Nothing is half-recorded: a failure rolls the session back."""
    try:
        _record_scores(gb, result)
        late = _penalty_may_change(gb, result)
        gb.db.commit()  # the scores, and the end of the read: nbgrader's step connects itself
    except BaseException:  # a signal stopping the batch, too
        gb.db.rollback()
        raise
    if late:
        apply_late_penalties(assignment, result.student_id)


def _record_scores(gb: Gradebook, result: StudentResult) -> None:
    gb.update_or_create_student(result.student_id)
    with warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy 2's cascade warning; the rows are fine
        # (nbgrader export reads them back), so keep the progress bar readable.
        warnings.simplefilter("ignore", SAWarning)
        submission = gb.update_or_create_submission(result.assignment, result.student_id)
    if result.timestamp:  # the late penalty needs it; kept as it was when there is none
        try:
            submission.timestamp = parse_utc(result.timestamp)
        except (ValueError, OverflowError):
            pass  # a result file from an older grader, with the text it read: left untimed
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


def _penalty_may_change(gb: Gradebook, result: StudentResult) -> bool:
    """False when nbgrader's step would leave every penalty as it is (on time, none recorded),
    so that on-time submissions do not pay for its database connections."""
    submission = gb.find_submission(result.assignment, result.student_id)
    recorded = any(nb.late_submission_penalty for nb in submission.notebooks)
    return recorded or submission.total_seconds_late > 0


def apply_late_penalties(assignment: Assignment, student_id: str) -> None:
    """Run nbgrader's AssignLatePenalties on each notebook exactly as ``nbgrader autograde``
    does after saving the scores: its plugin (``AssignLatePenalties.plugin_class``, by default
    LateSubmissionPlugin with ``penalty_method``) from the course's config, its clamping to
    [0, score], and its reset when a submission is not late."""
    for notebook in assignment.notebooks:
        step = AssignLatePenalties(config=assignment.config, log=LATE_LOG)
        resources = {
            "nbgrader": {
                "notebook": notebook.name,
                "assignment": assignment.name,
                "student": student_id,
                "db_url": assignment.db_url,
            }
        }
        step.preprocess(nbformat.v4.new_notebook(), resources)
