"""Scores into the course's nbgrader gradebook, through nbgrader's own API, so that
``nbgrader export`` and formgrader see exactly what grades.csv says, late penalties included
(nbgrader's own AssignLatePenalties step, with the course's configured plugin)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import nbformat
from nbgrader import api as db  # its tables, for reading a whole group's rows at once
from nbgrader.api import Gradebook
from nbgrader.preprocessors import AssignLatePenalties
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import scoped_session, selectinload, sessionmaker

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


# Students per transaction: every result that finished while the previous group was being
# stored, at most this many (a bound on one transaction's size and on its IN lists).
GROUP_SIZE = 100


def record(gb: Gradebook, assignment: Assignment, results: Sequence[StudentResult]) -> None:
    """Every result's auto scores (a grader's manual override is kept and flagged) in ONE
    transaction, then nbgrader's late penalty where it may change. Students the gradebook
    already holds (a regrade, a resumed run) cost a few statements per group, whatever their
    number and their cells'; one seen for the first time adds nbgrader's creation of their rows
    (about 8 statements, none per cell). Nothing is half-recorded: a failure rolls the whole
    group back."""
    with _one_transaction(gb):
        submissions = _submissions(gb, assignment.name, results)
        _record_scores(gb, assignment.name, results)
        late = [r.student_id for r in results if _penalty_may_change(submissions[r.student_id])]
    for student_id in late:  # after the commit: nbgrader's step connects itself
        apply_late_penalties(assignment, student_id)


@contextmanager
def _one_transaction(gb: Gradebook) -> Iterator[None]:
    """nbgrader's methods commit after each change (a new student, a new submission). Inside
    this block they share one transaction, committed when it ends: their session is joined to
    it in SQLAlchemy's "rollback_only" mode, where a commit only flushes and a rollback (theirs
    or ours) ends the whole transaction. No savepoints, which SQLite's driver mishandles."""
    own_session = gb.db
    with gb.engine.connect() as connection:
        transaction = connection.begin()
        gb.db = scoped_session(
            sessionmaker(
                bind=connection,
                join_transaction_mode="rollback_only",
                expire_on_commit=False,  # nothing is committed until the end: keep what was read
            )
        )
        try:
            yield
            gb.db.flush()
            transaction.commit()
        except BaseException:  # a signal stopping the batch, too
            if transaction.is_active:  # not already ended by nbgrader's own rollback
                transaction.rollback()
            raise
        finally:
            gb.db.remove()
            gb.db = own_session


def _submissions(
    gb: Gradebook, assignment_name: str, results: Sequence[StudentResult]
) -> dict[str, db.SubmittedAssignment]:
    """The group's submissions, one query; those seen for the first time are added through
    nbgrader's own API (which creates a grade row for each of the assignment's cells), and each
    gets the time the student submitted."""
    ids = [r.student_id for r in results]
    found = dict(
        gb.db.query(db.Student.id, db.SubmittedAssignment)
        .join(db.SubmittedAssignment.student)
        .join(db.SubmittedAssignment.assignment)
        .filter(db.Assignment.name == assignment_name, db.Student.id.in_(ids))
        .options(selectinload(db.SubmittedAssignment.notebooks))
        .all()
    )
    for student_id in ids:
        if student_id not in found:
            gb.update_or_create_student(student_id)
            with warnings.catch_warnings():
                # nbgrader's add_submission trips SQLAlchemy 2's cascade warning; the rows are
                # fine (nbgrader export reads them back), so keep the progress bar readable.
                warnings.simplefilter("ignore", SAWarning)
                found[student_id] = gb.add_submission(assignment_name, student_id)
    for result in results:
        _set_timestamp(found[result.student_id], result.timestamp)
    return found


def _set_timestamp(submission: db.SubmittedAssignment, timestamp: str | None) -> None:
    if timestamp:  # the late penalty needs it; kept as it was when there is none
        try:
            submission.timestamp = parse_utc(timestamp)
        except (ValueError, OverflowError):
            pass  # a result file from an older grader, with the text it read: left untimed


def _record_scores(
    gb: Gradebook, assignment_name: str, results: Sequence[StudentResult]
) -> None:
    """Every graded cell of the group, read in one query (nbgrader's find_grade, for many
    students at once) and updated in one flush. Setting a value a row already holds writes
    nothing, so recording a result again neither costs a write nor waits for a row a grader
    is editing."""
    ids = [r.student_id for r in results]
    rows = (
        gb.db.query(db.Grade, db.GradeCell.name, db.Notebook.name, db.Student.id)
        .join(db.GradeCell, db.GradeCell.id == db.Grade.cell_id)
        .join(db.SubmittedNotebook, db.SubmittedNotebook.id == db.Grade.notebook_id)
        .join(db.Notebook, db.Notebook.id == db.SubmittedNotebook.notebook_id)
        .join(db.SubmittedAssignment, db.SubmittedNotebook.assignment)
        .join(db.Assignment, db.Assignment.id == db.SubmittedAssignment.assignment_id)
        .join(db.Student, db.Student.id == db.SubmittedAssignment.student_id)
        .filter(db.Assignment.name == assignment_name, db.Student.id.in_(ids))
        .all()
    )
    grades = {(student, notebook, cell): grade for grade, cell, notebook, student in rows}
    for result in results:
        for notebook in result.notebooks:
            for cell in notebook["cells"]:
                grade = grades.get((result.student_id, notebook["notebook"], cell["grade_id"]))
                if grade is None:
                    continue  # a cell added to the assignment after this submission was recorded
                grade.auto_score = cell["score"]
                grade.needs_manual_grade = grade.manual_score is not None


def _penalty_may_change(submission: db.SubmittedAssignment) -> bool:
    """False when nbgrader's step would leave every penalty as it is (on time, none recorded),
    so that on-time submissions do not pay for its database connections."""
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
