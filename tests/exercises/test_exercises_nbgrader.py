"""The assignment through the real nbgrader commands, in a temporary copy of the course.

One `nbgrader autograde` call grades a whole class: the source notebooks, the untouched
release, a correct submission and one submission per bug in testkit.mutants.BUGS.
"""

from __future__ import annotations

import filecmp

import nbformat
import pytest
from exercises_course import (
    ASSIGNMENT,
    HIDDEN_BEGIN,
    RELEASE_DIR,
    hidden_test_lines,
    make_course,
    release_notebooks,
    source_notebooks,
)

from autograder.assignment import read_source_notebook
from autograder.contract import CELLS
from testkit.mutants import BUGS, FAILED_CELLS

pytestmark = pytest.mark.slow


def test_committed_release_is_what_generate_assignment_makes(tmp_path):
    fresh = make_course(tmp_path) / "exercises" / ASSIGNMENT
    committed = sorted(p.name for p in RELEASE_DIR.iterdir())
    assert committed == sorted(p.name for p in fresh.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(RELEASE_DIR, fresh, committed, shallow=False)
    assert not mismatch and not errors, (
        f"exercises/{ASSIGNMENT} is stale in {mismatch + errors}: run "
        f"`nbgrader generate_assignment {ASSIGNMENT} --force` from the repo root and commit it"
    )


def test_release_has_no_answers_and_no_hidden_tests():
    for notebook in release_notebooks():
        text = notebook.read_text()
        assert "BEGIN SOLUTION" not in text and HIDDEN_BEGIN not in text
        for line in hidden_test_lines():
            assert line not in text
        nb = nbformat.read(notebook, as_version=4)
        assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def test_source_notebooks_are_committed_without_outputs():
    for notebook in source_notebooks():
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, cell.id


def test_source_notebooks_get_full_marks(graded_course):
    assert graded_course.failed_cells["source"] == []
    full_marks = sum(read_source_notebook(path).max_score for path in source_notebooks())
    assert graded_course.scores["source"] == graded_course.expected["source"] == full_marks


def test_untouched_release_gets_zero_without_crashing(graded_course):
    assert graded_course.scores["release"] == 0
    assert "NotImplementedError" in graded_course.feedback_text("release")


def test_every_bug_fails_exactly_the_cells_it_names(graded_course):
    failed = {bug: graded_course.failed_cells.get(f"bug_{bug}") for bug in BUGS}
    wrong = {bug: (cells, sorted(FAILED_CELLS[bug])) for bug, cells in failed.items()
             if cells != sorted(FAILED_CELLS[bug])}
    assert not wrong, f"(failed cells, expected) per bug: {wrong}"


def test_every_submission_gets_its_expected_score(graded_course):
    got = {student: graded_course.scores.get(student) for student in graded_course.expected}
    wrong = {
        student: (got[student], expected, graded_course.failed_cells.get(student))
        for student, expected in graded_course.expected.items()
        if got[student] != expected
    }
    assert not wrong, f"(score, expected, failed cells) per student: {wrong}"


def test_feedback_never_shows_hidden_test_source(graded_course):
    secret = hidden_test_lines()
    assert len(secret) > len(CELLS)  # each graded cell's hidden calls, named by its grade_id
    for student in graded_course.expected:
        text = graded_course.feedback_text(student)
        assert 'check([1, 2, 0, -1], 10)' in text  # public test source is shown, as it should be
        leaked = [line for line in secret if line in text]
        assert not leaked, f"feedback of {student} shows hidden test lines: {leaked[:5]}"


def test_feedback_explains_failures(graded_course):
    text = graded_course.feedback_text("bug_kernel_flipped")
    assert "CheckFailed: conv_transpose1d(array(1, 1, 4), array(1, 1, 3))" in text
    assert "largest difference" in text
    blocked = graded_course.feedback_text("bug_wraps_torch")
    assert "is blocked while your function is checked" in blocked
