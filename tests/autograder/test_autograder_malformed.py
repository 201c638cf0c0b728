"""Malformed and edited notebooks, generated: whatever a student does to the JSON, the grader
gives a status of its own (never a grader error), runs no student version of a test cell, and
shows nbgrader (the gradebook, formgrader, generate_feedback) exactly the source's graded cells
with the source's points, so no claimed cell can raise a score or break a page.

The property test drives the judge's parsing path directly (reading the file, choosing the
cells the sandbox runs, the autograded notebook nbgrader reads), where the sandbox adds nothing;
one real batch then grades a named instance of each class, and nbgrader renders its feedback.
Set HYPOTHESIS_SUBMISSION_PROFILE=thorough to fuzz longer than CI does."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from grading_helpers import (
    ASSIGNMENT,
    REPO,
    grade,
    grader_env,
    nbgrader,
    read_grades,
    read_result,
    write_student,
)
from hypothesis import HealthCheck, given, settings
from nbgrader.utils import is_grade
from notebook_mutations import (
    SMALL_CELL,
    add_cells,
    copy_cell,
    deep,
    graded_cell_claim,
    huge,
    mutated_notebooks,
    replace,
    serialise,
    set_nbgrader,
)

from autograder.assignment import read_source_notebook
from autograder.autograded import autograded_notebook
from autograder.judge import cells_to_run
from autograder.results import STATUSES
from autograder.sandbox import Limits
from autograder.submissions import InvalidNotebook, cell_grade_id, read_notebook
from testkit.mutants import EXPECTED_SCORES, MAX_SCORE, make_submission

SOURCE_PATH = REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SOURCE = read_source_notebook(SOURCE_PATH)
SOURCE_METADATA = {
    cell_grade_id(c): c.metadata.nbgrader
    for c in nbformat.read(SOURCE_PATH, 4).cells
    if cell_grade_id(c)
}


def _json(nb: nbformat.NotebookNode) -> dict:
    return json.loads(nbformat.writes(nb))


SUBMITTED = _json(make_submission(SOURCE_PATH, None))

# The generated notebooks are large (thousands of cells, megabyte strings): hypothesis's speed
# checks do not apply, and CI runs a number of examples it can afford.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", settings.get_profile("ci"), max_examples=2000)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_SUBMISSION_PROFILE", "ci"))


def check_parsing_path(raw: bytes, tmp: Path) -> None:
    """What the grader does with a student's file before and around the sandbox."""
    path = tmp / f"{ASSIGNMENT}.ipynb"
    path.write_bytes(raw)
    try:
        nb = read_notebook(path)
    except InvalidNotebook as refused:  # its own status, with a reason
        assert str(refused)
        return
    # The sandbox runs the student's cells, never a student's version of a test cell, and the
    # source's code for read-only setup cells.
    for sent in cells_to_run(nb, SOURCE):
        assert isinstance(sent["source"], str)
        grade_id = cell_grade_id(nb.cells[sent["index"]])
        assert grade_id not in SOURCE.tests
        assert bool(sent.get("statementwise")) == (grade_id in SOURCE.locked)
    # What nbgrader sees of the notebook: exactly the source's graded cells, worth the source's
    # points, and for any cell no nbgrader metadata but the source's for its grade_id.
    verdicts = [
        {"grade_id": g, "points": p, "score": p, "message": "passed"}
        for g, p in SOURCE.tests.items()
    ]
    graded = autograded_notebook(nb, SOURCE, {"cells": verdicts})
    nbformat.validate(graded)
    claimed = {
        c.metadata.nbgrader.grade_id: float(c.metadata.nbgrader.points)
        for c in graded.cells
        if is_grade(c)
    }
    assert claimed == SOURCE.tests
    for cell in graded.cells:
        assert cell.metadata in ({}, {"nbgrader": SOURCE_METADATA.get(cell_grade_id(cell))})
    nbformat.writes(graded)


@pytest.mark.filterwarnings("ignore::nbformat.warnings.DuplicateCellId")
@PROFILE
@given(mutated_notebooks(SUBMITTED))
def test_any_mutated_notebook_is_read_or_refused_and_claims_nothing(tmp_path_factory, mutated):
    what, raw = mutated
    check_parsing_path(raw, tmp_path_factory.mktemp("fuzz"))


# --- One real batch: a named instance of each class ----------------------------------------

CORRECT = make_submission(SOURCE_PATH, None)
BUGGY = "kernel_flipped"  # answers worth EXPECTED_SCORES[BUGGY]: a claim must not add to them
BUGGY_JSON = _json(make_submission(SOURCE_PATH, BUGGY))
TEST_CELL = next(i for i, c in enumerate(SUBMITTED["cells"]) if cell_grade_id(c) in SOURCE.tests)
FIRST_ANSWER = next(
    i for i, c in enumerate(SUBMITTED["cells"]) if cell_grade_id(c) == SOURCE.answers[0]
)
CLAIM_CELL = {**SMALL_CELL, "source": "x = 1"}

MALFORMED: dict[str, tuple[bytes, set[str], float]] = {
    # student -> (the file, the statuses it may get, its score)
    "deep_nesting": (
        b'{"nbformat": 4, "cells": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
        {"invalid_notebook"},
        0.0,
    ),
    "deep_metadata": (
        serialise(replace(SUBMITTED, ("cells", 1, "metadata", "deep"), deep(900))),
        {"invalid_notebook"},
        0.0,
    ),
    "grade_id_a_list": (
        serialise(replace(SUBMITTED, ("cells", FIRST_ANSWER, "metadata", "nbgrader", "grade_id"),
                          ["conv1d_matrix"])),
        {"graded"},
        MAX_SCORE,
    ),
    "nbgrader_metadata_a_string": (
        serialise(replace(SUBMITTED, ("cells", FIRST_ANSWER, "metadata", "nbgrader"), "grade")),
        {"graded"},
        MAX_SCORE,
    ),
    "claims_a_new_cell": (
        serialise(set_nbgrader(add_cells(BUGGY_JSON, CLAIM_CELL, 1), -1,
                               graded_cell_claim("extra_credit", 1000))),
        {"graded"},
        EXPECTED_SCORES[BUGGY],
    ),
    "answer_made_a_test_cell": (
        serialise(set_nbgrader(BUGGY_JSON, FIRST_ANSWER,
                               graded_cell_claim("conv1d_matrix_answer", 1000, solution=True))),
        {"graded"},
        EXPECTED_SCORES[BUGGY],
    ),
    "test_cell_claims_more": (
        serialise(replace(BUGGY_JSON, ("cells", TEST_CELL, "metadata", "nbgrader", "points"),
                          1000)),
        {"graded"},
        EXPECTED_SCORES[BUGGY],
    ),
    "duplicate_grade_ids": (
        serialise(copy_cell(copy_cell(BUGGY_JSON, FIRST_ANSWER, 0), TEST_CELL + 1, 0, times=2)),
        {"graded"},
        EXPECTED_SCORES[BUGGY],
    ),
    "thousands_of_cells": (
        serialise(add_cells(SUBMITTED, CLAIM_CELL, 3000)),
        {"graded"},
        MAX_SCORE,
    ),
    "huge_strings": (
        serialise(replace(SUBMITTED, ("metadata", "notes"), [huge(2_000_000), huge(2_000_000)])),
        {"graded"},
        MAX_SCORE,
    ),
    "source_a_number": (
        serialise(replace(SUBMITTED, ("cells", FIRST_ANSWER, "source"), 7)),
        {"invalid_notebook"},
        0.0,
    ),
}


@pytest.fixture(scope="module")
def graded_malformed(course: Path, tmp_path_factory):
    """The class graded by the real command with the grader's default limits (nothing here is
    about time: a loaded machine must not turn a status into a timeout)."""
    work = tmp_path_factory.mktemp("malformed")
    folder, out = work / "submitted", work / "out"
    for student, (raw, _, _) in MALFORMED.items():
        write_student(folder, f"malformed_{student}", raw)
    defaults = Limits()
    env = grader_env(
        AUTOGRADER_CELL_TIMEOUT=str(defaults.cell_seconds),
        AUTOGRADER_SUBMISSION_TIMEOUT=str(defaults.submission_seconds),
    )
    run = grade(course, folder, out, "--workers", "2", env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("student", MALFORMED)
def test_each_malformed_notebook_gets_its_status_and_never_more_than_its_answers(
    graded_malformed: Path, student: str
):
    _, statuses, score = MALFORMED[student]
    assert statuses <= set(STATUSES) - {"error"}
    rows = read_grades(graded_malformed)
    row = rows[f"malformed_{student}"]
    assert len(rows) == len(MALFORMED)
    assert row["status"] in statuses, row
    assert float(row["score"]) == score, row
    assert float(row["max_score"]) == MAX_SCORE
    result = read_result(graded_malformed, f"malformed_{student}")
    assert [c["grade_id"] for nb in result["notebooks"] for c in nb["cells"]] == list(SOURCE.tests)


# nbgrader's feedback page: the notebook's score, then each graded cell's.
PAGE_SCORE = re.compile(r"<h4>\S+ \(Score: ([\d.]+) / ([\d.]+)\)")
CELL_SCORE = re.compile(r'<li><a href="#([^"]+)">Test cell</a> \(Score: [\d.]+ / ([\d.]+)\)')


@pytest.mark.slow
def test_nbgrader_renders_feedback_for_every_malformed_notebook(graded_malformed, course: Path):
    """generate_feedback reads each autograded notebook against the gradebook: a cell the
    source does not have, or a claim of points, would make it fail (NoResultFound) or show."""
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--student", "malformed_*", "--force")
    for student, (_, statuses, score) in MALFORMED.items():
        page = course / "feedback" / f"malformed_{student}" / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert page.is_file() == ("invalid_notebook" not in statuses), student
        if page.is_file():
            html = page.read_text("utf-8")
            assert PAGE_SCORE.search(html).groups() == (f"{score:.1f}", f"{MAX_SCORE:.1f}")
            cells = {grade_id: float(points) for grade_id, points in CELL_SCORE.findall(html)}
            assert cells == SOURCE.tests, student
